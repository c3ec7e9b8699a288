package access

import (
	"hash/fnv"
	"time"

	"github.com/kisisync/kisisync/internal/kisiglue"
	"github.com/kisisync/kisisync/internal/times"
	"github.com/kisisync/kisisync/schedule"
)

// Night hours, in the organization's local time, in which rolling windows
// are preferably renewed: a renewal without PATCH is a delete and a create,
// and at night nobody is likely to stand at the door in between.
const (
	nightFrom = 1 // 01:00
	nightTo   = 5 // 05:00
)

// holding turns desired windows into the windows Kisi holds at now: every
// window bounded to a rolling validity ([Policy.Validity]), renewed when
// less than half of it remains, preferably in the night hours of loc.
type holding struct {
	now      time.Time
	validity time.Duration // negative: unbounded
	loc      *time.Location
}

// hold returns the window Kisi is to hold for the desired window w, and
// whether it is a rolling bound (w itself ends later). The bound is a whole
// minute, so a Kisi that stores minutes holds it exactly.
func (h holding) hold(w schedule.Interval) (schedule.Interval, bool) {
	if h.validity < 0 {
		return w, false
	}
	bound := h.now.Add(h.validity).Truncate(time.Minute)
	if !bound.After(w.Start) {
		// A window starting beyond the bound (a lead longer than the
		// validity) is held for one validity from its start.
		bound = w.Start.Add(h.validity).Truncate(time.Minute)
	}
	if kisiglue.OpenEnded(w) || w.End.After(bound) {
		return schedule.Interval{Start: w.Start, End: bound}, true
	}
	return w, false
}

// keeps reports whether the window Kisi holds for key still serves the
// desired window w: the same window, or a rolling bound of w that is not
// yet due for renewal.
func (h holding) keeps(key string, held, w schedule.Interval) bool {
	if h.validity >= 0 && kisiglue.OpenEnded(held) {
		return false // held without a bound: bound it
	}
	if kisiglue.SameWindow(held, w) {
		return true
	}
	if h.validity < 0 || !kisiglue.SameInstant(held.Start, w.Start) || kisiglue.OpenEnded(held) {
		return false
	}
	return held.End.Before(w.End) && h.now.Before(h.renewAt(key, held.End))
}

// renewAt is when the rolling window of key ending at end is renewed: once
// less than half the validity remains, in the night hours, and in any case
// when a quarter remains. Each key gets its own night and minute within
// that span (from a hash of the key), so the windows of members onboarded
// together do not all come due in one run, week after week.
func (h holding) renewAt(key string, end time.Time) time.Time {
	due := end.Add(-h.validity / 2)
	latest := end.Add(-h.validity / 4)
	var nights []schedule.Interval
	for _, n := range nightsBetween(due, latest, h.loc) {
		if n.End.After(n.Start) {
			nights = append(nights, n)
		}
	}
	if len(nights) == 0 {
		return latest
	}
	f := fnv.New64a()
	_, _ = f.Write([]byte(key)) // a hash never fails
	sum := f.Sum64()
	n := nights[sum%uint64(len(nights))]
	offset := time.Duration(sum>>16%uint64(n.End.Sub(n.Start)/time.Minute)) * time.Minute
	return n.Start.Add(offset)
}

// nightsBetween returns the night hours of loc that fall within [from,
// to), each clipped to it.
func nightsBetween(from, to time.Time, loc *time.Location) []schedule.Interval {
	if loc == nil {
		loc = time.UTC
	}
	var out []schedule.Interval
	y, m, d := from.In(loc).Date()
	for i := 0; i < 64; i++ {
		start := schedule.WallTime(loc, y, m, d+i, nightFrom, 0)
		if !start.Before(to) {
			break
		}
		end := schedule.WallTime(loc, y, m, d+i, nightTo, 0)
		n := schedule.Interval{Start: times.Later(start, from), End: times.Earlier(end, to)}
		if n.Start.Before(n.End) {
			out = append(out, n)
		}
	}
	return out
}
