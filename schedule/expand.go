package schedule

import (
	"fmt"
	"math"
	"slices"
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
	// The week's occurrences, as wall-clock offsets from Sunday 00:00, sorted by start once.
	var weekBuf [weekStackSlots]slot
	week, err := weekSlots(weekBuf[:0], rules)
	if err != nil {
		return Set{}, err
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

	// Days are numbered from 1970-01-01 in wall-clock time, which has exactly 86,400 seconds a
	// day. Occurrences that start two local days before ws can still reach into it (an
	// overnight rule lengthened by a DST change); those starting the day after we's date cannot.
	firstDay := floorDiv(wallClock(ws, loc), secondsPerDay) - 2
	lastDay := floorDiv(wallClock(we, loc), secondsPerDay) + 1
	days := lastDay - firstDay + 1
	estimate := days*int64(len(week))/7 + int64(len(week))
	if estimate > MaxOccurrences {
		return Set{}, invalid(fmt.Sprintf("schedule: expand: window %s too long: about %d occurrences, more than %d",
			window, estimate, MaxOccurrences))
	}

	var spanBuf [spanStackSlots]span
	res := newResolver(spanBuf[:0], loc, firstDay*secondsPerDay-zoneMargin, (lastDay+2)*secondsPerDay+zoneMargin)
	// An occurrence is kept when it starts before we and ends after ws. Instants are counted
	// in whole seconds from year 1 as a Set holds them, so that is s < hi and e > lo.
	m := merger{lastEnd: math.MinInt64, lo: ws.Unix() + unixToInternal, hi: we.Unix() + unixToInternal}
	if we.Nanosecond() != 0 {
		m.hi++
	}
	m.out = make([]ival, 0, estimate) // estimate is at least the number of occurrences
	// An End past Forever becomes Forever itself, which is in UTC: index 1 of the Set's
	// locations, unless loc is UTC.
	utc := uint32(1)
	if loc == time.UTC {
		utc = 0
	}
	usedUTC := m.expand(week, &res, firstDay, lastDay, utc)
	out := m.out
	if len(out) == 0 {
		return Set{}, nil
	}
	if cap(out) > 2*len(out)+16 {
		out = slices.Clone(out)
	}
	locs := locTable{first: loc}
	if usedUTC && utc == 1 {
		locs.rest = []*time.Location{time.UTC}
	}
	return Set{ivs: out, locs: locs}, nil
}

// weekSlots appends to dst the occurrences of rules in one week, as
// wall-clock offsets from Sunday 00:00, sorted by start. It returns an
// error naming the first invalid rule.
func weekSlots(dst []slot, rules []Rule) ([]slot, error) {
	week := dst
	for i, r := range rules {
		if msg := r.check(); msg != "" {
			return nil, invalid(fmt.Sprintf("schedule: expand: rules[%d] %s", i, msg))
		}
		from, to := int64(r.From.Minutes())*60, int64(r.To.Minutes())*60
		if to <= from {
			to += secondsPerDay
		}
		var mask uint8
		for _, d := range r.Days {
			mask |= 1 << uint(d)
		}
		for d := range int64(7) {
			if mask&(1<<uint(d)) != 0 {
				week = append(week, slot{day: d, start: d*secondsPerDay + from, end: d*secondsPerDay + to})
			}
		}
	}
	sortSlots(week)
	return week, nil
}

// expand adds the occurrences of week on the local days firstDay to
// lastDay, resolved by res, stepping whole weeks: within a period of
// constant UTC offset a week is one shift of the table, and only weeks
// that touch a change resolve each wall time. An end past [Forever]
// becomes Forever, in the location at index utc; usedUTC reports that.
func (m *merger) expand(week []slot, res *resolver, firstDay, lastDay int64, utc uint32) (usedUTC bool) {
	forever := Forever.Unix() + unixToInternal
	weekLo, weekHi := week[0].start, week[0].end
	for _, sl := range week {
		weekHi = max(weekHi, sl.end)
	}
	cursor := 0
	for sunday := firstDay - weekday(firstDay); sunday <= lastDay; sunday += 7 {
		base := sunday * secondsPerDay
		// Within one period of constant offset, every wall time of the week is an instant
		// offset seconds away; weeks that touch a change resolve each wall time exactly.
		off, constant := res.constantOffset(&cursor, base+weekLo, base+weekHi)
		shift := base - off + unixToInternal
		if constant && sunday >= firstDay && sunday+6 <= lastDay && shift+weekHi <= forever {
			m.addWeek(week, shift)
			continue
		}
		for i := range week {
			sl := &week[i]
			if day := sunday + sl.day; day < firstDay {
				continue
			} else if day > lastDay {
				break
			}
			var s, e int64
			if constant {
				s, e = sl.start+shift, sl.end+shift
			} else {
				s, e = res.resolve(base+sl.start)+unixToInternal, res.resolve(base+sl.end)+unixToInternal
			}
			if s >= e {
				continue // wholly inside a spring-forward gap
			}
			end := inst{sec: e}
			if e > forever {
				end, usedUTC = inst{sec: forever, loc: utc}, true
			}
			m.add(s, end)
		}
	}
	return usedUTC
}

// merger collects occurrences that come in the order of their starts, in seconds from
// year 1, keeping those that start before hi and end after lo and joining those that overlap
// or touch: an occurrence either extends the last interval or follows it.
type merger struct {
	out     []ival
	lastEnd int64 // end of the last interval of out; math.MinInt64 when there is none
	lo, hi  int64
}

// addWeek adds the occurrences of a week that lies in one period of constant offset, where
// each is its slot shifted by shift seconds, and none ends after Forever.
func (m *merger) addWeek(week []slot, shift int64) {
	out, lastEnd, lo, hi := m.out, m.lastEnd, m.lo, m.hi
	for i := range week {
		s, e := week[i].start+shift, week[i].end+shift
		if s >= hi || e <= lo {
			continue
		}
		if s <= lastEnd {
			if e > lastEnd {
				out[len(out)-1].end.sec, lastEnd = e, e
			}
			continue
		}
		out = append(out, ival{start: inst{sec: s}, end: inst{sec: e}})
		lastEnd = e
	}
	m.out, m.lastEnd = out, lastEnd
}

// add adds the occurrence from s (in loc) to end, which is after s.
func (m *merger) add(s int64, end inst) {
	if s >= m.hi || end.sec <= m.lo {
		return
	}
	if s <= m.lastEnd {
		if end.sec > m.lastEnd {
			m.out[len(m.out)-1].end, m.lastEnd = end, end.sec
		}
		return
	}
	m.out = append(m.out, ival{start: inst{sec: s}, end: end})
	m.lastEnd = end.sec
}

const (
	// weekStackSlots and spanStackSlots size the scratch space of Expand kept on the stack;
	// larger rule sets and windows spill to the heap.
	weekStackSlots = 64
	spanStackSlots = 16
)

// slot is one occurrence of a rule in the week, in wall-clock seconds after Sunday 00:00.
type slot struct {
	day        int64 // 0 for Sunday
	start, end int64 // end > start; an overnight occurrence ends on the next day
}

// sortSlots sorts a week's occurrences by start: an insertion sort, as a week holds few.
func sortSlots(s []slot) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j].start < s[j-1].start; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// wallClock returns the wall clock of t in loc, as Unix seconds of that wall time read as UTC.
func wallClock(t time.Time, loc *time.Location) int64 {
	_, off := t.In(loc).Zone()
	return t.Unix() + int64(off)
}

// weekday returns the day of the week of day, numbered from 1970-01-01, a Thursday.
func weekday(day int64) int64 {
	return ((day+int64(time.Thursday))%7 + 7) % 7
}

// floorDiv returns a/b rounded down, for b > 0.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b < 0 {
		q--
	}
	return q
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
	var buf [spanStackSlots]span
	res := newResolver(buf[:0], loc, w-zoneMargin, w+zoneMargin)
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
	// Wall clocks in [safeLo, safeHi) resolve to themselves minus off: this span is the first
	// to reach them and its clocks did not jump past them. The ranges of successive spans are
	// disjoint and ascending; a span overtaken by an earlier one has an empty range.
	safeLo, safeHi int64
}

// resolver maps wall clocks (Unix seconds of the wall time read as UTC) to instants in one
// location, using the zone periods covering a range of instants.
type resolver struct {
	spans []span
}

// newResolver collects the zone periods of loc that cover the instants [lo, hi], appending
// them to buf. It relies on [time.Time.ZoneBounds] and checks it: where the bounds it reports
// do not contain the instant asked about, the next change of offset is searched for directly.
func newResolver(buf []span, loc *time.Location, lo, hi int64) resolver {
	spans := buf[:0]
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
		spans[i].safeLo = max(maxWall, satAdd(spans[i].start, spans[i].off))
		spans[i].safeHi = we
		maxWall = max(maxWall, we)
		spans[i].wallEnd = maxWall
	}
	return resolver{spans: spans}
}

// constantOffset reports whether every wall clock in [lo, hi] resolves to itself minus one
// offset, and returns that offset. Calls must come with ascending lo; *cursor remembers the
// span reached, starting at 0.
func (r resolver) constantOffset(cursor *int, lo, hi int64) (int64, bool) {
	sp := r.spans
	i := *cursor
	for i+1 < len(sp) && sp[i].safeHi <= lo {
		i++
	}
	*cursor = i
	if sp[i].safeLo <= lo && hi < sp[i].safeHi {
		return sp[i].off, true
	}
	return 0, false
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
