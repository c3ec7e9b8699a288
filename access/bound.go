package access

import (
	"github.com/kisisync/kisisync/internal/kisiglue"
	"time"

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

// keeps reports whether the window Kisi holds still serves the desired
// window w: the same window, or a rolling bound of w that is not yet due for
// renewal.
func (h holding) keeps(held, w schedule.Interval) bool {
	if h.validity >= 0 && kisiglue.OpenEnded(held) {
		return false // held without a bound: bound it
	}
	if kisiglue.SameWindow(held, w) {
		return true
	}
	if h.validity < 0 || !kisiglue.SameInstant(held.Start, w.Start) || kisiglue.OpenEnded(held) {
		return false
	}
	return held.End.Before(w.End) && h.now.Before(h.renewAt(held.End))
}

// renewAt is when a rolling window ending at end is renewed: once less than
// half the validity remains, at the first night hour, and in any case when
// a quarter remains.
func (h holding) renewAt(end time.Time) time.Time {
	due := end.Add(-h.validity / 2)
	latest := end.Add(-h.validity / 4)
	if n := nightAtOrAfter(due, h.loc); n.Before(latest) {
		return n
	}
	return latest
}

// nightAtOrAfter returns t if it falls in the night hours of loc, else the
// next start of the night hours.
func nightAtOrAfter(t time.Time, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	lt := t.In(loc)
	if h := lt.Hour(); h >= nightFrom && h < nightTo {
		return t
	}
	y, m, d := lt.Date()
	if lt.Hour() >= nightTo {
		d++
	}
	return schedule.WallTime(loc, y, m, d, nightFrom, 0)
}
