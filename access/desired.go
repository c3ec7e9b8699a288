package access

import (
	"errors"
	"fmt"
	"time"

	"github.com/kisisync/kisisync/mapping"
	"github.com/kisisync/kisisync/schedule"
)

// ErrHorizonTooLong reports, inside a [RecordError] for an assignment, that
// [Access] was given a horizon too long to list the occurrences of the
// assignment's weekly rules: typically an unbounded horizon (End
// [schedule.Forever]) with an open-ended assignment. The rules themselves
// are fine; pass a bounded horizon. [Desired], [Explain] and the
// [Reconciler] look only the lead time or about a week ahead, so they meet
// it only with a lead time of centuries.
var ErrHorizonTooLong = errors.New("horizon too long")

// Access returns every merged window of every (member, group) that overlaps
// horizon, whole (not clipped to it), with the Sources that produced it.
// Grants are sorted by Email, GroupID and Window.Start; one (member, group)
// can have several grants with disjoint, non-touching windows.
//
// The windows of all sources are merged per (member, group): overlapping
// and touching windows join. An open-ended window ends at
// [schedule.Forever]. Weekly assignment rules are only expanded around
// horizon (from horizon.Start minus the largest buffer and a day to
// horizon.End plus the largest buffer and a day); a chain of occurrences
// that crosses those bounds is followed: for up to four weeks when the
// rules cover the whole week, else (a clock change can break the chain)
// for about 520 days, after which the assignment counts as continuous up
// to its Start or End. Windows of
// the other sources are always used whole; only a chain that runs from
// occurrences through another source's window to occurrences beyond those
// bounds can come back shorter than it is.
//
// Windows come back in the location of the times the host gave (weekly
// rule occurrences in the resource's zone); compare them with Equal.
//
// Bad records never stop the others: Access returns the grants of every
// valid record and an error joining one [*RecordError] per rejected record
// (see [RecordErrors]). An error that is not a RecordError (an empty
// horizon, [ErrInvalidPolicy]) comes alone, with no grants. A member
// sharing an email with an earlier member is served under the earlier
// member's ID and reported with [ErrSharedEmail].
//
// A horizon may be unbounded (End [schedule.Forever]) to list every window
// to come, except those of an assignment with weekly rules and no End (or
// one centuries away), which cannot be listed: such an assignment is
// reported with [ErrHorizonTooLong] and the other grants still come back.
//
// Access is pure and safe for concurrent use; its cost is linear in the
// snapshot (plus sorting the windows near the horizon).
func Access(s Snapshot, m mapping.Mapping, p Policy, horizon schedule.Interval) ([]Grant, error) {
	if !horizon.Start.Before(horizon.End) {
		return nil, fmt.Errorf("access: horizon %v–%v: %w", horizon.Start, horizon.End, ErrInvalidWindow)
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("access: %w", err)
	}
	e := newEngine(&s, m, p, horizon, -1)
	e.follow = true
	e.generate()
	grants := e.merge(false)
	return grants, errors.Join(e.ix.errs...)
}

// Desired applies the slot rule at `at`: for each (member, group) the merged
// window in force at `at` (Start ≤ at < End), else the next one that starts
// within the lead time (at < Start ≤ at+p.Lead: a window starting exactly
// p.Lead after `at` counts). It returns at most one Grant per (member,
// group), sorted by Email, then GroupID. Windows are whole, as in [Access].
// Errors are reported as by [Access].
func Desired(s Snapshot, m mapping.Mapping, p Policy, at time.Time) ([]Grant, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("access: %w", err)
	}
	e := newEngine(&s, m, p, leadHorizon(at, p), -1)
	e.desired()
	grants := e.merge(true)
	return grants, errors.Join(e.ix.errs...)
}

// NextChange returns the earliest instant strictly after `at` at which the
// result of [Desired] can change with the same snapshot: a merged window
// entering the lead time (Start − Lead), a merged window ending, or a
// drop-in link's window ending (see [Links]). ok is false when nothing
// changes any more. The instant may be one at which nothing changes after
// all (hosts just run again), never later than the first real change.
func NextChange(s Snapshot, m mapping.Mapping, p Policy, at time.Time) (next time.Time, ok bool) {
	if p.Validate() != nil {
		return time.Time{}, false
	}
	return nextChange(newIndex(&s, m, p), m, p, at, nil, nil)
}

// nextChange is [NextChange] on a validated snapshot, which it only reads;
// p must be valid. With fixed, it takes over the pieces and drop-ins of
// an engine's generateFixed on ix (see [engine.generateOn]) instead of
// admitting those records again. With col, it also collects the edges of
// its first step per identity and drop-in (see [edges]).
func nextChange(ix *index, m mapping.Mapping, p Policy, at time.Time, fixed *engine, col *edges) (next time.Time, ok bool) {
	// Every edge up to a day ahead belongs to a merged window overlapping
	// [at, at+day+Lead]: a short horizon, computed like Desired. Look
	// further only when nothing changes within the day.
	next, ok = nextWithinDay(ix, m, p, at, fixed, col)
	if ok && !next.After(at.Add(edgeDay)) {
		return next, ok
	}
	e := engineOn(ix, m, p, schedule.Interval{Start: at, End: schedule.Forever}, -1)
	e.lookahead = 8 * edgeDay
	e.generate()
	return e.earliestEdge(at, p.Lead, next, ok, nil)
}

// edgeDay is how far ahead nextWithinDay finds every edge.
const edgeDay = 24 * time.Hour

// edges are the edges nextWithinDay found per identity and drop-in.
type edges struct {
	// runs holds, by canonical identity, the earliest edge of its windows
	// (see [engine.runEdge]).
	runs []edge
	// dropIns are the drop-in bookings whose links' ends were considered,
	// links the end of each, when after at (ok).
	dropIns []int32
	links   []edge
}

// edge is an instant found, or not (ok false).
type edge struct {
	t  time.Time
	ok bool
}

// nextWithinDay is the first step of nextChange: the earliest edge strictly
// after at of the merged windows that overlap [at, at+day+Lead] and of the
// drop-in links, links first, then the windows in merge's order (of equal
// instants, the first found). Every edge up to a day ahead is among them;
// an edge it returns beyond a day may not be the earliest.
func nextWithinDay(ix *index, m mapping.Mapping, p Policy, at time.Time, fixed *engine, col *edges) (next time.Time, ok bool) {
	consider := func(t time.Time) bool {
		if t.After(at) && !t.Equal(schedule.Forever) && (!ok || t.Before(next)) {
			next, ok = t, true
		}
		return t.After(at) && !t.Equal(schedule.Forever)
	}
	e := engineOn(ix, m, p, schedule.Interval{Start: at, End: at.Add(edgeDay).Add(p.Lead).Add(time.Nanosecond)}, -1)
	e.follow = true
	if fixed != nil {
		e.generateOn(fixed.pieces, fixed.dropIns)
	} else {
		e.generate()
	}
	if e.wantsLinks() {
		if col != nil {
			col.dropIns, col.links = e.dropIns, make([]edge, len(e.dropIns))
		}
		for k, i := range e.dropIns {
			if w, ok := e.linkWindow(i, at); ok && consider(w.End) && col != nil {
				col.links[k] = edge{t: w.End, ok: true}
			}
		}
	}
	var runs []edge
	if col != nil {
		col.runs = make([]edge, len(ix.email))
		runs = col.runs
	}
	return e.earliestEdge(at, p.Lead, next, ok, runs)
}

// leadHorizon is [at, at+Lead] as a half-open interval: a window starting
// exactly at at+Lead overlaps it. Durations are added one at a time, since
// their sum can overflow time.Duration for a lead near its maximum.
func leadHorizon(at time.Time, p Policy) schedule.Interval {
	return schedule.Interval{Start: at, End: at.Add(max(p.Lead, 0)).Add(time.Nanosecond)}
}
