package schedule

// This file keeps the first implementation of Expand, which stepped the calendar one day at a
// time with time.Date, resolved every wall time with a binary search and sorted its output, as
// a reference the current Expand must agree with exactly (TestExpandMatchesReference).

import (
	"fmt"
	"math"
	"math/bits"
	"slices"
	"sort"
	"time"
)

// refNormalize sorts ivs (non-empty, monotonic readings stripped) in place and joins overlapping
// or touching intervals, returning the prefix that holds the result.
func refNormalize(ivs []Interval) []Interval {
	if len(ivs) == 0 {
		return nil
	}
	if !slices.IsSortedFunc(ivs, refCmpStart) {
		slices.SortFunc(ivs, refCmpStart)
	}
	n := 0
	for _, iv := range ivs[1:] {
		cur := &ivs[n]
		if !iv.Start.After(cur.End) {
			if iv.End.After(cur.End) {
				cur.End = iv.End
			}
			continue
		}
		n++
		ivs[n] = iv
	}
	ivs = ivs[:n+1]
	if cap(ivs) > 2*len(ivs)+16 {
		ivs = slices.Clone(ivs)
	}
	return ivs
}

func refCmpStart(a, b Interval) int { return a.Start.Compare(b.Start) }

func referenceExpand(rules []Rule, loc *time.Location, window Interval) (Set, error) {
	if window.End.Before(window.Start) {
		return Set{}, invalid(fmt.Sprintf("schedule: expand: window end %s before start %s",
			window.End.Format(time.RFC3339), window.Start.Format(time.RFC3339)))
	}
	if len(rules) == 0 {
		return Set{}, nil
	}
	if loc == nil {
		return Set{}, invalid("schedule: expand: nil location")
	}
	prepared := make([]refRule, len(rules))
	perWeek := 0
	for i, r := range rules {
		if msg := r.check(); msg != "" {
			return Set{}, invalid(fmt.Sprintf("schedule: expand: rules[%d] %s", i, msg))
		}
		p := refRule{from: int64(r.From.Minutes()) * 60, to: int64(r.To.Minutes()) * 60}
		p.overnight = p.to <= p.from
		for _, d := range r.Days {
			p.mask |= 1 << uint(d)
		}
		perWeek += bits.OnesCount8(p.mask)
		prepared[i] = p
	}

	ws, we := window.Start.Round(0), window.End.Round(0)
	if ws.Before(time.Time{}) {
		ws = time.Time{}
	}
	if we.After(Forever) {
		we = Forever
	}
	if !ws.Before(we) {
		return Set{}, nil
	}

	// Occurrences that start two local days before ws can still reach into it (an overnight
	// rule lengthened by a DST change); those starting the day after we's date cannot.
	y, m, d := ws.In(loc).Date()
	firstDay := time.Date(y, m, d-2, 0, 0, 0, 0, time.UTC)
	ey, em, ed := we.In(loc).Date()
	lastDay := time.Date(ey, em, ed+1, 0, 0, 0, 0, time.UTC)
	days := (lastDay.Unix()-firstDay.Unix())/refSecondsPerDay + 1 // exact: both are UTC midnights
	estimate := days*int64(perWeek)/7 + int64(perWeek)
	if estimate > MaxOccurrences {
		return Set{}, invalid(fmt.Sprintf("schedule: expand: window %s too long: about %d occurrences, more than %d",
			window, estimate, MaxOccurrences))
	}

	res := refNewResolver(loc, firstDay.Unix()-refZoneMargin, lastDay.Unix()+2*refSecondsPerDay+refZoneMargin)
	out := make([]Interval, 0, estimate)
	day := firstDay
	for i := int64(0); i < days; i++ {
		next := time.Date(y, m, d-2+int(i)+1, 0, 0, 0, 0, time.UTC)
		bit := uint8(1) << uint(day.Weekday())
		dayWall, nextWall := day.Unix(), next.Unix()
		for _, r := range prepared {
			if r.mask&bit == 0 {
				continue
			}
			endWall := dayWall + r.to
			if r.overnight {
				endWall = nextWall + r.to
			}
			s, e := res.resolve(dayWall+r.from), res.resolve(endWall)
			if s >= e {
				continue // wholly inside a spring-forward gap
			}
			iv := Interval{Start: time.Unix(s, 0).In(loc), End: time.Unix(e, 0).In(loc)}
			if !iv.Start.Before(we) || !ws.Before(iv.End) {
				continue
			}
			if iv.End.After(Forever) {
				iv.End = Forever
			}
			out = append(out, iv)
		}
		day = next
	}
	return NewSet(refNormalize(out)...), nil
}

type refRule struct {
	mask      uint8 // bit d set for time.Weekday d
	from, to  int64 // seconds after local midnight
	overnight bool
}

const (
	refSecondsPerDay = 24 * 60 * 60
	// refZoneMargin is how far around a wall time the zone's offsets are examined; it exceeds
	// any UTC offset in use.
	refZoneMargin = 3 * refSecondsPerDay
	// refMaxSpans bounds the zone periods examined for one refResolver.
	refMaxSpans = 1 << 16
)

// span is a period of constant UTC offset in a location.
type refSpan struct {
	start, end int64 // [start, end) in Unix seconds; end is math.MaxInt64 when unbounded
	off        int64 // UTC offset, seconds east
	wallEnd    int64 // largest end+off of this span and all before it (exclusive wall bound)
}

// refResolver maps wall clocks (Unix seconds of the wall time read as UTC) to instants in one
// location, using the zone periods covering a range of instants.
type refResolver struct {
	spans []refSpan
}

// refNewResolver collects the zone periods of loc that cover the instants [lo, hi]. It relies on
// [time.Time.ZoneBounds] and checks it: where the bounds it reports do not contain the instant
// asked about, the next change of offset is searched for directly.
func refNewResolver(loc *time.Location, lo, hi int64) refResolver {
	var spans []refSpan
	t := lo
	for range refMaxSpans {
		tt := time.Unix(t, 0).In(loc)
		_, o := tt.Zone()
		off := int64(o)
		zs, ze := tt.ZoneBounds()
		start, end := int64(math.MinInt64), int64(math.MaxInt64)
		if !zs.IsZero() {
			start = zs.Unix()
		}
		if !ze.IsZero() {
			end = ze.Unix()
		}
		if len(spans) > 0 || start > t {
			start = t
		}
		if end <= t {
			end = refNextChange(loc, t, off)
		}
		if n := len(spans); n > 0 && spans[n-1].off == off {
			spans[n-1].end = end
		} else {
			spans = append(spans, refSpan{start: start, end: end, off: off})
		}
		if end >= hi || end == math.MaxInt64 {
			break
		}
		t = end
	}
	var maxWall int64 = math.MinInt64
	for i := range spans {
		we := refSatAdd(spans[i].end, spans[i].off)
		maxWall = max(maxWall, we)
		spans[i].wallEnd = maxWall
	}
	return refResolver{spans: spans}
}

// refNextChange returns the first instant after t, within a day, at which the offset of loc is not
// off; or t plus one day when there is none.
func refNextChange(loc *time.Location, t, off int64) int64 {
	offsetAt := func(u int64) int64 {
		_, o := time.Unix(u, 0).In(loc).Zone()
		return int64(o)
	}
	lo, hi := t, t+refSecondsPerDay
	if offsetAt(hi) == off {
		return hi
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if offsetAt(mid) == off {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi
}

// resolve returns the earliest instant whose wall clock is at or after w.
func (r refResolver) resolve(w int64) int64 {
	sp := r.spans
	// The first period that reaches a wall clock of w holds the answer: either w itself in that
	// period's offset, or the period's start when its clocks jumped past w.
	i := sort.Search(len(sp), func(i int) bool { return sp[i].wallEnd > w })
	if i == len(sp) {
		return w - sp[len(sp)-1].off
	}
	if c := w - sp[i].off; c >= sp[i].start {
		return c
	}
	return sp[i].start
}

func refSatAdd(a, b int64) int64 {
	s := a + b
	if (b > 0 && s < a) || (b < 0 && s > a) {
		if b > 0 {
			return math.MaxInt64
		}
		return math.MinInt64
	}
	return s
}
