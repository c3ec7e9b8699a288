package schedule

import (
	"fmt"
	"math"
	"math/bits"
	"sort"
	"time"
)

// MaxOccurrences bounds the output of [Expand]: a window so long that the rules would produce
// more occurrences than this is an error matching [ErrInvalid] rather than a huge allocation.
// A year of a rule on every day of the week produces 366 at most.
const MaxOccurrences = 1 << 18

// Expand returns every occurrence of rules, in the wall clock of loc, that overlaps window,
// whole (not clipped to window). Occurrences of different rules that overlap or touch are
// joined, as in any [Set].
//
// An occurrence starts on a day of its rule at From and ends at To on the same day, or on the
// next day when To is not after From (To equal to From lasts a whole day). Occurrences that
// started before window (the previous evening's overnight rule) are included when they reach
// into it. Wall times are resolved to instants as [WallTime] does, so across DST changes an
// occurrence may last an hour more or less than its wall-clock length, and one that lies
// wholly inside a spring-forward gap is empty and dropped. Days are stepped on the calendar,
// never by adding 24 hours. No occurrence ends after [Forever].
//
// No rules give an empty set. It returns an error matching [ErrInvalid] for a nil loc, a
// window whose End is before its Start, an invalid rule (the error names it: "rules[1] from:
// hour 24 outside 0-23"), or a window that would give more than [MaxOccurrences].
func Expand(rules []Rule, loc *time.Location, window Interval) (Set, error) {
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
	prepared := make([]preparedRule, len(rules))
	perWeek := 0
	for i, r := range rules {
		if msg := r.check(); msg != "" {
			return Set{}, invalid(fmt.Sprintf("schedule: expand: rules[%d] %s", i, msg))
		}
		p := preparedRule{from: int64(r.From.Minutes()) * 60, to: int64(r.To.Minutes()) * 60}
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
	days := (lastDay.Unix()-firstDay.Unix())/secondsPerDay + 1 // exact: both are UTC midnights
	estimate := days*int64(perWeek)/7 + int64(perWeek)
	if estimate > MaxOccurrences {
		return Set{}, invalid(fmt.Sprintf("schedule: expand: window %s too long: about %d occurrences, more than %d",
			window, estimate, MaxOccurrences))
	}

	res := newResolver(loc, firstDay.Unix()-zoneMargin, lastDay.Unix()+2*secondsPerDay+zoneMargin)
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
	return setOf(normalize(out)), nil
}

type preparedRule struct {
	mask      uint8 // bit d set for time.Weekday d
	from, to  int64 // seconds after local midnight
	overnight bool
}

// WallTime returns the instant at which the wall clock in loc shows y-m-d hour:minute,
// resolving DST changes explicitly rather than as [time.Date] happens to:
//
//   - a wall time that does not exist (a spring-forward gap) means the instant the clocks
//     jump: 02:30 on a 02:00→03:00 night is 03:00 in the new offset;
//   - a wall time that occurs twice (a fall-back overlap) means its first occurrence, in the
//     earlier offset.
//
// In general it returns the earliest instant whose wall clock reads y-m-d hour:minute or
// later. Out-of-range values are normalized as [time.Date] does (hour 24 is midnight of the
// next day). A nil loc means UTC. The result is in loc.
func WallTime(loc *time.Location, y int, m time.Month, d, hour, minute int) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	w := time.Date(y, m, d, hour, minute, 0, 0, time.UTC).Unix()
	res := newResolver(loc, w-zoneMargin, w+zoneMargin)
	return time.Unix(res.resolve(w), 0).In(loc)
}

// EndOfDay returns the start of the local day after the one containing t in loc: the next
// local midnight, resolved as [WallTime] does. A nil loc means UTC.
func EndOfDay(t time.Time, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	y, m, d := t.In(loc).Date()
	end := WallTime(loc, y, m, d+1, 0, 0)
	if !end.After(t) { // a fall-back across midnight repeats the previous date
		end = WallTime(loc, y, m, d+2, 0, 0)
	}
	return end
}

const (
	secondsPerDay = 24 * 60 * 60
	// zoneMargin is how far around a wall time the zone's offsets are examined; it exceeds
	// any UTC offset in use.
	zoneMargin = 3 * secondsPerDay
	// maxSpans bounds the zone periods examined for one resolver.
	maxSpans = 1 << 16
)

// span is a period of constant UTC offset in a location.
type span struct {
	start, end int64 // [start, end) in Unix seconds; end is math.MaxInt64 when unbounded
	off        int64 // UTC offset, seconds east
	wallEnd    int64 // largest end+off of this span and all before it (exclusive wall bound)
}

// resolver maps wall clocks (Unix seconds of the wall time read as UTC) to instants in one
// location, using the zone periods covering a range of instants.
type resolver struct {
	spans []span
}

// newResolver collects the zone periods of loc that cover the instants [lo, hi]. It relies on
// [time.Time.ZoneBounds] and checks it: where the bounds it reports do not contain the instant
// asked about, the next change of offset is searched for directly.
func newResolver(loc *time.Location, lo, hi int64) resolver {
	var spans []span
	t := lo
	for range maxSpans {
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
			end = nextChange(loc, t, off)
		}
		if n := len(spans); n > 0 && spans[n-1].off == off {
			spans[n-1].end = end
		} else {
			spans = append(spans, span{start: start, end: end, off: off})
		}
		if end >= hi || end == math.MaxInt64 {
			break
		}
		t = end
	}
	var maxWall int64 = math.MinInt64
	for i := range spans {
		we := satAdd(spans[i].end, spans[i].off)
		maxWall = max(maxWall, we)
		spans[i].wallEnd = maxWall
	}
	return resolver{spans: spans}
}

// nextChange returns the first instant after t, within a day, at which the offset of loc is not
// off; or t plus one day when there is none.
func nextChange(loc *time.Location, t, off int64) int64 {
	offsetAt := func(u int64) int64 {
		_, o := time.Unix(u, 0).In(loc).Zone()
		return int64(o)
	}
	lo, hi := t, t+secondsPerDay
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
func (r resolver) resolve(w int64) int64 {
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

func satAdd(a, b int64) int64 {
	s := a + b
	if (b > 0 && s < a) || (b < 0 && s > a) {
		if b > 0 {
			return math.MaxInt64
		}
		return math.MinInt64
	}
	return s
}
