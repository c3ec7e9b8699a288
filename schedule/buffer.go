package schedule

import (
	"fmt"
	"time"
)

// Buffer widens an interval: access opens Before its Start and closes After its End. Both are
// absolute durations applied to instants, so a buffer over a DST change stays exact. Negative
// durations are invalid: a buffer never shrinks an interval.
type Buffer struct {
	Before, After time.Duration
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
	for i, iv := range s.ivs {
		out[i] = b.widen(iv)
	}
	return setOf(normalize(out)), nil
}
