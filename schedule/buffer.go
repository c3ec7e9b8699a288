package schedule

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Buffer widens an interval: access opens Before its Start and closes After its End. Both are
// absolute durations applied to instants, so a buffer over a DST change stays exact. Negative
// durations are invalid: a buffer never shrinks an interval.
//
// Its JSON form writes both durations as Go duration strings (see [FormatDuration]):
//
//	{"before": "5m", "after": "5m"}
type Buffer struct {
	// Before is how long before an interval's Start access opens; 0 for none.
	Before time.Duration
	// After is how long after an interval's End access stays open; 0 for none.
	After time.Duration
}

// DefaultBuffer is the buffer around bookings and assignment occurrences when an organization
// sets none: five minutes on each side.
var DefaultBuffer = Buffer{Before: 5 * time.Minute, After: 5 * time.Minute}

// Validate returns an error matching [ErrInvalid] naming the negative field.
func (b Buffer) Validate() error {
	if b.Before < 0 {
		return invalid(fmt.Sprintf("schedule: buffer before %v is negative", b.Before))
	}
	if b.After < 0 {
		return invalid(fmt.Sprintf("schedule: buffer after %v is negative", b.After))
	}
	return nil
}

// Widen returns [iv.Start − Before, iv.End + After).
//
// An End at or after [Forever] is kept as it is, and a widened End never passes Forever. The
// widened Start never goes before the zero [time.Time] (unless iv.Start already does). It
// returns an error matching [ErrInvalid] for a negative buffer or an interval whose End is
// before its Start.
func (b Buffer) Widen(iv Interval) (Interval, error) {
	if err := b.Validate(); err != nil {
		return Interval{}, err
	}
	if err := iv.Validate(); err != nil {
		return Interval{}, err
	}
	return b.widen(iv), nil
}

// widen is Widen for a validated buffer and interval.
func (b Buffer) widen(iv Interval) Interval {
	out := iv
	if b.Before > 0 {
		floor := time.Time{}
		if iv.Start.Before(floor) {
			floor = iv.Start
		}
		s := iv.Start.Add(-b.Before)
		if s.Before(floor) || s.After(iv.Start) {
			s = floor
		}
		out.Start = s
	}
	if b.After > 0 && iv.End.Before(Forever) {
		e := iv.End.Add(b.After)
		if e.After(Forever) || e.Before(iv.End) {
			e = Forever
		}
		out.End = e
	}
	return out
}

// WidenSet widens every interval of s by b and returns the union of the results, so
// occurrences that come closer than Before+After join.
func (b Buffer) WidenSet(s Set) (Set, error) {
	if err := b.Validate(); err != nil {
		return Set{}, err
	}
	if b == (Buffer{}) || s.IsEmpty() {
		return s, nil
	}
	out := make([]Interval, len(s.ivs))
	for i := range s.ivs {
		out[i] = b.widen(s.locs.interval(&s.ivs[i]))
	}
	return NewSet(out...), nil
}

// bufferJSON is the wire form of a Buffer. The fields are raw so that a value of the wrong
// JSON type is reported with its field name.
type bufferJSON struct {
	Before json.RawMessage `json:"before"`
	After  json.RawMessage `json:"after"`
}

// MarshalJSON encodes b as {"before": "5m", "after": "5m"}. A negative buffer is an error
// matching [ErrInvalid].
func (b Buffer) MarshalJSON() ([]byte, error) {
	if err := b.Validate(); err != nil {
		return nil, err
	}
	return []byte(`{"before":"` + FormatDuration(b.Before) + `","after":"` + FormatDuration(b.After) + `"}`), nil
}

// UnmarshalJSON decodes the form written by [Buffer.MarshalJSON]. Each side is a Go duration
// string ("5m", "1h30m", "90s"); a side left out is zero. A number, a negative duration or an
// unknown field is an error matching [ErrInvalid] that names the field. JSON null leaves b
// unchanged.
func (b *Buffer) UnmarshalJSON(data []byte) error {
	if bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
		return nil
	}
	var w bufferJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return invalid(fmt.Sprintf("schedule: buffer: want an object such as {\"before\": \"5m\", \"after\": \"5m\"}, got %s", jsonKind(bytes.TrimSpace(data))))
		}
		return invalid("schedule: buffer: " + strings.TrimPrefix(err.Error(), "json: "))
	}
	var out Buffer
	var err error
	if out.Before, err = DecodeDuration(w.Before); err != nil {
		return invalid("schedule: buffer: before: " + err.Error())
	}
	if out.After, err = DecodeDuration(w.After); err != nil {
		return invalid("schedule: buffer: after: " + err.Error())
	}
	*b = out
	return nil
}

// FormatDuration writes d as a Go duration string without zero trailing units, so that
// [time.ParseDuration] reads it back: 5 minutes is "5m", 90 minutes "1h30m", one hour "1h",
// zero "0s".
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// DecodeDuration decodes a JSON Go duration string such as "5m" or "1h30m" (see
// [FormatDuration]); empty data (an absent field) is zero. Anything else is an error matching
// [ErrInvalid] that says what was found: null, a number (its unit would be a guess), an
// unparsable string or a negative duration. The error does not name the field; the caller
// adds it.
func DecodeDuration(data json.RawMessage) (time.Duration, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return 0, nil
	}
	var s string
	if data[0] != '"' || json.Unmarshal(data, &s) != nil {
		return 0, invalid(fmt.Sprintf("want a duration string such as \"5m\" or \"1h30m\", got %s", jsonKind(data)))
	}
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, invalid(fmt.Sprintf("cannot parse %q as a duration such as \"5m\" or \"1h30m\"", s))
	}
	if d < 0 {
		return 0, invalid(fmt.Sprintf("%q is negative", s))
	}
	return d, nil
}

// jsonKind names the JSON value data for error messages.
func jsonKind(data []byte) string {
	switch data[0] {
	case '{':
		return "an object"
	case '[':
		return "a list"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	case '"':
		return "a string"
	}
	return "the number " + string(data)
}
