package access

import (
	"time"

	"github.com/kisisync/kisisync/access/state"
	"github.com/kisisync/kisisync/internal/kisiglue"
	"github.com/kisisync/kisisync/internal/times"
	"github.com/kisisync/kisisync/schedule"
)

// Night hours, in the local time of the location a window comes from, in
// which rolling windows are preferably renewed: a renewal without PATCH is a delete and a create,
// and at night nobody is likely to stand at the door in between.
const (
	nightFrom = 1 // 01:00
	nightTo   = 5 // 05:00
)

// holding turns desired windows into the windows Kisi holds at now: every
// window bounded to a rolling validity ([Policy.Validity]), renewed when
// less than half of it remains, preferably in the night hours of the
// group's location (zones), else of loc.
type holding struct {
	now      time.Time
	validity time.Duration // negative: unbounded
	loc      *time.Location
	// zones are the time zones of the groups whose location is known: the
	// location of the resources or check-ins mapped to them.
	zones map[int64]*time.Location
	// memo, when set, keeps the night hours of the last window end asked
	// about; a holding with a memo is for one goroutine.
	memo *nightsMemo
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
func (h holding) keeps(key string, group int64, held, w schedule.Interval) bool {
	if h.validity >= 0 && kisiglue.OpenEnded(held) {
		return false // held without a bound: bound it
	}
	if kisiglue.SameWindow(held, w) {
		return true
	}
	if h.validity < 0 || !kisiglue.SameInstant(held.Start, w.Start) || kisiglue.OpenEnded(held) {
		return false
	}
	return held.End.Before(w.End) && h.now.Before(h.renewAt(key, group, held.End))
}

// renewAt is when the rolling window of key, in group, ending at end is
// renewed: once less than half the validity remains, in the night hours of
// the group's location, and in any case
// when a quarter remains. Each key gets its own night and minute within
// that span (from a hash of the key), so the windows of members onboarded
// together do not all come due in one run, week after week.
func (h holding) renewAt(key string, group int64, end time.Time) time.Time {
	latest := end.Add(-h.validity / 4)
	loc := h.loc
	if z, ok := h.zones[group]; ok {
		loc = z
	}
	nights := h.nights(end, loc)
	if len(nights) == 0 {
		return latest
	}
	sum := fnv64a(key)
	n := nights[sum%uint64(len(nights))]
	// A night clipped to under a minute (the renewal span starting at
	// 04:59:30) offers only its start.
	minutes := max(uint64(n.End.Sub(n.Start)/time.Minute), 1)
	return n.Start.Add(time.Duration(sum>>16%minutes) * time.Minute)
}

// nightsMemo keeps the night hours of the last window end renewAt was
// asked about: the rolling windows of one plan mostly end at one instant.
type nightsMemo struct {
	end    time.Time
	loc    *time.Location
	ok     bool
	nights []schedule.Interval
}

// nights returns the night hours in which a rolling window ending at end
// may be renewed, from h.memo when it holds them. The result is shared:
// callers only read it.
func (h holding) nights(end time.Time, loc *time.Location) []schedule.Interval {
	// The same instant in the same location: the nights are the same.
	if m := h.memo; m != nil && m.ok && m.end == end && m.loc == loc {
		return m.nights
	}
	var buf [8]schedule.Interval
	due, latest := end.Add(-h.validity/2), end.Add(-h.validity/4)
	nights := appendNights(buf[:0], due, latest, loc)
	if m := h.memo; m != nil {
		m.end, m.loc, m.ok, m.nights = end, loc, true, append(m.nights[:0], nights...)
		return m.nights
	}
	return nights
}

// fnv64a is the 64-bit FNV-1a hash of s, as hash/fnv computes it.
func fnv64a(s string) uint64 {
	const (
		offset64 = 14695981039346656037
		prime64  = 1099511628211
	)
	h := uint64(offset64)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= prime64
	}
	return h
}

// appendNights appends to out the night hours of loc that fall within
// [from, to), each clipped to it (none empty).
func appendNights(out []schedule.Interval, from, to time.Time, loc *time.Location) []schedule.Interval {
	if loc == nil {
		loc = time.UTC
	}
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

// holding is how this run bounds the windows Kisi holds: renewals happen in
// the night hours of each group's location — the location of the
// resources or check-ins the mapping sends to it — and for other groups
// (a plan's) of the snapshot's first location (or [WithLocation]'s zone).
func (r *Reconciler) holding(now time.Time, s Snapshot) holding {
	h := holding{now: now, validity: r.p.validity(), loc: r.location(s), zones: map[int64]*time.Location{}}
	zoneOf := make(map[string]*time.Location, len(s.Locations))
	for _, l := range s.Locations {
		if _, seen := zoneOf[l.ID]; !seen {
			zoneOf[l.ID] = ianaZone(l.TimeZone)
		}
	}
	place := func(groups []int64, loc *time.Location) {
		for _, g := range groups {
			if _, ok := h.zones[g]; !ok && loc != nil {
				h.zones[g] = loc
			}
		}
	}
	for _, res := range s.Resources {
		place(r.m.Resources[res.ID], zoneOf[res.LocationID])
	}
	for _, l := range s.Locations {
		place(r.m.Locations[l.ID], zoneOf[l.ID])
	}
	return h
}

// location is the zone Changes are rendered in.
func (r *Reconciler) location(s Snapshot) *time.Location {
	if r.o.loc != nil {
		return r.o.loc
	}
	for _, l := range s.Locations {
		if l.TimeZone == "" {
			continue
		}
		if loc, err := time.LoadLocation(l.TimeZone); err == nil {
			return loc
		}
	}
	return time.UTC
}

// renewal returns when the rolling window of the wanted grant of p is due
// for renewal, kept from the Store's record rec (nil: none) or created by
// the plan (zero if it is not rolling).
func renewal(p probe, rec *state.Record, h holding) time.Time {
	if h.validity < 0 {
		return time.Time{}
	}
	held := p.held
	if rec != nil && rec.State == state.StateSettled && h.keeps(p.key, p.grant.GroupID, rec.Window, p.desired) {
		held = rec.Window
	}
	if held.End.Before(p.desired.End) && !kisiglue.SameInstant(held.End, p.desired.End) {
		// A rolling bound; an end within the tolerance is the desired one.
		return h.renewAt(p.key, p.grant.GroupID, held.End)
	}
	return time.Time{}
}

// replaceReason says why the settled record rec must be replaced to give
// the wanted create (whose desired, unbounded window is desired), or "" when
// Kisi already holds it.
func replaceReason(rec state.Record, create Change, desired schedule.Interval, h holding) string {
	if create.Object == ObjectLink {
		switch {
		case !kisiglue.SameWindow(rec.Window, *create.Window):
			return "booking moved"
		case rec.Email != create.Email || rec.Name != create.Name || rec.SendLink != create.SendLink || rec.QR != create.QR:
			return "link details changed"
		}
		return ""
	}
	switch {
	case h.keeps(rec.Key, rec.GroupID, rec.Window, desired):
		return ""
	case ended(rec.Window, h.now):
		return "previous window ended; next window"
	case create.Rolling && kisiglue.SameInstant(rec.Window.Start, desired.Start) && kisiglue.OpenEnded(rec.Window):
		return "bound open-ended window to the rolling validity"
	case create.Rolling && kisiglue.SameInstant(rec.Window.Start, desired.Start) && rec.Window.End.Before(desired.End):
		return "renew rolling window"
	}
	return "window changed"
}
