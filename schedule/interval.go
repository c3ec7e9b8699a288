package schedule

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// Forever is the End of an open-ended [Interval]. It becomes `valid_until: null` in Kisi and
// `"end": null` in JSON. No interval this package builds ends after Forever.
var Forever = time.Date(9999, time.December, 31, 23, 59, 59, 0, time.UTC)

// Interval is the half-open span of instants [Start, End). An interval whose End is not after
// its Start is empty. An End of [Forever] (or later) means open-ended.
//
// The zero Interval is empty.
type Interval struct {
	// Start is the first instant in the interval (inclusive). Any location will do: instants
	// are compared as instants, and the location only changes how they print.
	Start time.Time
	// End is the first instant after the interval (exclusive). [Forever] (or later) means
	// open-ended; a zero End is not open-ended (it is before any real Start).
	End time.Time
}

// Validate reports an error matching [ErrInvalid] when End is before Start. An empty interval
// (End equal to Start) is valid.
func (iv Interval) Validate() error {
	if iv.End.Before(iv.Start) {
		return invalid(fmt.Sprintf("schedule: interval %s: end before start", iv))
	}
	return nil
}

// IsEmpty reports whether iv contains no instant, that is End is not after Start.
func (iv Interval) IsEmpty() bool { return !iv.Start.Before(iv.End) }

// IsOpenEnded reports whether iv ends at (or after) [Forever].
func (iv Interval) IsOpenEnded() bool { return !iv.End.Before(Forever) }

// Duration returns End − Start, or 0 for an empty interval. It saturates at the largest
// [time.Duration] for very long intervals.
func (iv Interval) Duration() time.Duration {
	if iv.IsEmpty() {
		return 0
	}
	return iv.End.Sub(iv.Start)
}

// Contains reports whether t lies in [Start, End).
func (iv Interval) Contains(t time.Time) bool {
	return !t.Before(iv.Start) && t.Before(iv.End)
}

// Overlaps reports whether iv and o share at least one instant. Empty intervals overlap
// nothing; intervals that only touch ([a, b) and [b, c)) do not overlap.
func (iv Interval) Overlaps(o Interval) bool {
	return iv.Start.Before(o.End) && o.Start.Before(iv.End) && !iv.IsEmpty() && !o.IsEmpty()
}

// String formats iv as "[start, end)" with both ends in RFC 3339 in their own location, and
// "forever" for an End of [Forever].
func (iv Interval) String() string {
	return "[" + iv.Start.Format(time.RFC3339) + ", " + formatEnd(iv.End) + ")"
}

func formatEnd(t time.Time) string {
	if !t.Before(Forever) {
		return "forever"
	}
	return t.Format(time.RFC3339)
}

// intervalJSON is the wire form of an Interval; a nil End means Forever.
type intervalJSON struct {
	Start *time.Time `json:"start"`
	End   *time.Time `json:"end"`
}

// MarshalJSON encodes iv as {"start": RFC3339, "end": RFC3339}, with an End of [Forever]
// (or later) written as "end": null.
func (iv Interval) MarshalJSON() ([]byte, error) {
	start := iv.Start
	w := intervalJSON{Start: &start}
	if !iv.IsOpenEnded() {
		end := iv.End
		w.End = &end
	}
	b, err := json.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("schedule: marshal interval: %w", err)
	}
	return b, nil
}

// UnmarshalJSON decodes the form written by [Interval.MarshalJSON]. A null or absent "end"
// reads as [Forever]; "start" is required; an End before Start is an error matching
// [ErrInvalid].
func (iv *Interval) UnmarshalJSON(b []byte) error {
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		return nil
	}
	var w intervalJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("schedule: unmarshal interval: %w", err)
	}
	if w.Start == nil {
		return invalid("schedule: unmarshal interval: missing start")
	}
	out := Interval{Start: *w.Start, End: Forever}
	if w.End != nil {
		out.End = *w.End
	}
	if err := out.Validate(); err != nil {
		return err
	}
	*iv = out
	return nil
}
