package schedule

import (
	"cmp"
	"encoding/json"
	"fmt"
	"iter"
	"slices"
	"sort"
	"strings"
	"time"
)

// Set is a set of instants held as intervals that are always normalized: sorted by Start,
// non-empty, disjoint and non-touching (intervals that touch or overlap are joined).
//
// A Set is an immutable value: every operation returns a new Set and never modifies its
// operands, so a Set may be shared between goroutines freely. The zero Set is empty.
type Set struct {
	// ivs holds the intervals without pointers, so that building, merging and collecting
	// sets takes no write barriers and no scanning; the time.Time values are made on read.
	ivs  []ival // normalized; never modified after construction
	locs locTable
}

// inst is an instant without its location: the seconds since January 1, year 1, UTC (as
// [time.Time] counts them), the nanoseconds, and the index of its location in a Set's table.
type inst struct {
	sec  int64
	nsec int32
	loc  uint32
}

// ival is an interval of a Set.
type ival struct{ start, end inst }

// unixToInternal is the number of seconds from January 1, year 1 to January 1, 1970.
const unixToInternal int64 = (1969*365 + 1969/4 - 1969/100 + 1969/400) * secondsPerDay

// instOf returns t as an instant whose location has index loc. The seconds wrap around where
// Unix seconds would overflow and come back exactly, so every time.Time is represented.
func instOf(t time.Time, loc uint32) inst {
	return inst{sec: t.Unix() + unixToInternal, nsec: int32(t.Nanosecond()), loc: loc}
}

// before reports whether a is before b.
func (a inst) before(b inst) bool { return a.sec < b.sec || (a.sec == b.sec && a.nsec < b.nsec) }

func (a inst) compare(b inst) int {
	if c := cmp.Compare(a.sec, b.sec); c != 0 {
		return c
	}
	return cmp.Compare(a.nsec, b.nsec)
}

// time returns a as a time.Time in its location.
func (l *locTable) time(a inst) time.Time {
	loc := l.first
	if a.loc != 0 {
		loc = l.rest[a.loc-1]
	}
	return time.Unix(a.sec-unixToInternal, int64(a.nsec)).In(loc)
}

// interval returns v as an Interval.
func (l *locTable) interval(v *ival) Interval {
	return Interval{Start: l.time(v.start), End: l.time(v.end)}
}

// locTable is the list of the locations the instants of a Set refer to by index: index 0 is
// first, index i is rest[i-1]. Most sets hold one location, which takes no allocation.
type locTable struct {
	first *time.Location
	rest  []*time.Location
}

func (l locTable) at(i uint32) *time.Location {
	if i == 0 {
		return l.first
	}
	return l.rest[i-1]
}

func (l locTable) len() int {
	if l.first == nil {
		return 0
	}
	return 1 + len(l.rest)
}

// same reports whether l and o list the same locations in the same order.
func (l locTable) same(o locTable) bool { return l.first == o.first && slices.Equal(l.rest, o.rest) }

// locIndexer adds locations to a table, finding those already in it. It never modifies the
// backing array of a table it started from.
type locIndexer struct {
	t     locTable
	owned bool                      // t.rest may be appended to in place
	index map[*time.Location]uint32 // once the table is long
}

// locIndexMin is the table length from which locations are found by map, not by scanning.
const locIndexMin = 8

func (x *locIndexer) add(loc *time.Location) uint32 {
	t := &x.t
	if t.first == loc {
		return 0
	}
	if t.first == nil {
		t.first = loc
		return 0
	}
	if n := len(t.rest); n > 0 && t.rest[n-1] == loc {
		return uint32(n)
	}
	if x.index != nil {
		if i, ok := x.index[loc]; ok {
			return i
		}
	} else {
		for i, l := range t.rest {
			if l == loc {
				return uint32(i + 1)
			}
		}
	}
	if !x.owned {
		t.rest = slices.Clone(t.rest)
		x.owned = true
	}
	t.rest = append(t.rest, loc)
	i := uint32(len(t.rest))
	switch {
	case x.index != nil:
		x.index[loc] = i
	case len(t.rest) >= locIndexMin:
		x.index = make(map[*time.Location]uint32, 2*len(t.rest))
		for j, l := range t.rest {
			x.index[l] = uint32(j + 1)
		}
	}
	return i
}

// inst returns t as an instant of the table.
func (x *locIndexer) inst(t time.Time) inst { return instOf(t, x.add(t.Location())) }

// joinLocs returns a table holding the locations of a and then those of b that a lacks, and
// for each index of b its index in that table; remap is nil when b's indices stand as they are.
func joinLocs(a, b locTable) (locTable, []uint32) {
	if a.same(b) || b.len() == 0 {
		return a, nil
	}
	if a.len() == 0 {
		return b, nil
	}
	x := locIndexer{t: a}
	remap := make([]uint32, b.len())
	for i := range remap {
		remap[i] = x.add(b.at(uint32(i)))
	}
	return x.t, remap
}

// moved returns v with the location indices of its instants looked up in remap (nil: kept).
func moved(v ival, remap []uint32) ival {
	if remap != nil {
		v.start.loc, v.end.loc = remap[v.start.loc], remap[v.end.loc]
	}
	return v
}

// movedInst is moved for one instant.
func movedInst(a inst, remap []uint32) inst {
	if remap != nil {
		a.loc = remap[a.loc]
	}
	return a
}

// NewSet returns the union of ivs as a normalized [Set]. Empty intervals (End not after Start)
// are dropped. It runs in O(n log n), allocates in proportion to n, and does not modify ivs.
// Monotonic clock readings are stripped, so instants compare by their wall clock only.
func NewSet(ivs ...Interval) Set {
	var x locIndexer
	out := make([]ival, 0, len(ivs))
	for _, iv := range ivs {
		if !iv.IsEmpty() {
			out = append(out, ival{start: x.inst(iv.Start), end: x.inst(iv.End)})
		}
	}
	if len(out) == 0 {
		return Set{}
	}
	if !slices.IsSortedFunc(out, cmpStart) {
		slices.SortFunc(out, cmpStart)
	}
	n := 0
	for _, v := range out[1:] {
		cur := &out[n]
		if !cur.end.before(v.start) { // overlaps or touches
			if cur.end.before(v.end) {
				cur.end = v.end
			}
			continue
		}
		n++
		out[n] = v
	}
	out = out[:n+1]
	if cap(out) > 2*len(out)+16 {
		out = slices.Clone(out)
	}
	return Set{ivs: out, locs: x.t}
}

func cmpStart(a, b ival) int { return a.start.compare(b.start) }

// Intervals returns a copy of the normalized intervals of s, or nil when s is empty.
func (s Set) Intervals() []Interval {
	if len(s.ivs) == 0 {
		return nil
	}
	out := make([]Interval, len(s.ivs))
	// Field by field: copying a whole Interval into the heap takes a bulk write barrier while
	// the collector runs, a time.Time a cheap one.
	if loc := s.locs.first; len(s.locs.rest) == 0 { // one location, the usual case
		for i := range s.ivs {
			v := &s.ivs[i]
			out[i].Start = time.Unix(v.start.sec-unixToInternal, int64(v.start.nsec)).In(loc)
			out[i].End = time.Unix(v.end.sec-unixToInternal, int64(v.end.nsec)).In(loc)
		}
		return out
	}
	for i := range s.ivs {
		out[i].Start = s.locs.time(s.ivs[i].start)
		out[i].End = s.locs.time(s.ivs[i].end)
	}
	return out
}

// All iterates over the intervals of s in order.
func (s Set) All() iter.Seq[Interval] {
	return func(yield func(Interval) bool) {
		for i := range s.ivs {
			if !yield(s.locs.interval(&s.ivs[i])) {
				return
			}
		}
	}
}

// Len returns the number of intervals in s.
func (s Set) Len() int { return len(s.ivs) }

// IsEmpty reports whether s contains no instant.
func (s Set) IsEmpty() bool { return len(s.ivs) == 0 }

// Equal reports whether s and o contain the same instants. Locations do not matter.
func (s Set) Equal(o Set) bool {
	return slices.EqualFunc(s.ivs, o.ivs, func(a, b ival) bool {
		return a.start.compare(b.start) == 0 && a.end.compare(b.end) == 0
	})
}

// String formats s as "{[a, b), [c, d)}", each interval as [Interval.String] does; the empty
// set is "{}".
func (s Set) String() string {
	var b strings.Builder
	b.WriteByte('{')
	for i := range s.ivs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(s.locs.interval(&s.ivs[i]).String())
	}
	b.WriteByte('}')
	return b.String()
}

// Union returns the instants in s or o. It is a linear merge.
func (s Set) Union(o Set) Set {
	switch {
	case len(s.ivs) == 0:
		return o
	case len(o.ivs) == 0:
		return s
	}
	locs, remap := joinLocs(s.locs, o.locs)
	a, b := s.ivs, o.ivs
	out := make([]ival, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		var next ival
		if j >= len(b) || (i < len(a) && a[i].start.before(b[j].start)) {
			next = a[i]
			i++
		} else {
			next = moved(b[j], remap)
			j++
		}
		if n := len(out); n > 0 && !out[n-1].end.before(next.start) {
			if out[n-1].end.before(next.end) {
				out[n-1].end = next.end
			}
			continue
		}
		out = append(out, next)
	}
	return Set{ivs: out, locs: locs}
}

// Intersect returns the instants in both s and o. It is a linear merge.
func (s Set) Intersect(o Set) Set {
	a, b := s.ivs, o.ivs
	if len(a) == 0 || len(b) == 0 {
		return Set{}
	}
	locs, remap := joinLocs(s.locs, o.locs)
	out := make([]ival, 0, len(a)+len(b)-1) // each step adds at most one and leaves a or b
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		// On a tie, the instant of o is taken, as time.Time comparisons would.
		start, end := movedInst(b[j].start, remap), movedInst(b[j].end, remap)
		if b[j].start.before(a[i].start) {
			start = a[i].start
		}
		if a[i].end.before(b[j].end) {
			end = a[i].end
		}
		if start.before(end) {
			out = append(out, ival{start: start, end: end})
		}
		if a[i].end.before(b[j].end) {
			i++
		} else {
			j++
		}
	}
	if len(out) == 0 {
		return Set{}
	}
	return Set{ivs: out, locs: locs}
}

// Subtract returns the instants in s that are not in o. It is a linear merge.
func (s Set) Subtract(o Set) Set {
	if len(s.ivs) == 0 || len(o.ivs) == 0 {
		return s
	}
	locs, remap := joinLocs(s.locs, o.locs)
	b := o.ivs
	out := make([]ival, 0, len(s.ivs))
	j := 0
	for _, cur := range s.ivs {
		// Skip the parts of o that end before cur starts.
		for j < len(b) && !cur.start.before(b[j].end) {
			j++
		}
		for k := j; k < len(b) && b[k].start.before(cur.end); k++ {
			if cur.start.before(b[k].start) {
				out = append(out, ival{start: cur.start, end: movedInst(b[k].start, remap)})
			}
			if !b[k].end.before(cur.end) {
				cur.start = cur.end // consumed
				break
			}
			cur.start = movedInst(b[k].end, remap)
		}
		if cur.start.before(cur.end) {
			out = append(out, cur)
		}
	}
	if len(out) == 0 {
		return Set{}
	}
	return Set{ivs: out, locs: locs}
}

// key returns t as an instant for comparisons (its location index is meaningless).
func key(t time.Time) inst { return instOf(t, 0) }

// search returns the index of the first interval whose End is after t.
func (s Set) search(t inst) int {
	return sort.Search(len(s.ivs), func(i int) bool { return t.before(s.ivs[i].end) })
}

// Contains reports whether t lies in one of the intervals of s. It runs in O(log n).
func (s Set) Contains(t time.Time) bool {
	k := key(t)
	i := s.search(k)
	return i < len(s.ivs) && !k.before(s.ivs[i].start)
}

// At returns the interval of s that contains t.
func (s Set) At(t time.Time) (Interval, bool) {
	k := key(t)
	i := s.search(k)
	if i < len(s.ivs) && !k.before(s.ivs[i].start) {
		return s.locs.interval(&s.ivs[i]), true
	}
	return Interval{}, false
}

// NextAfter returns the first interval of s that starts strictly after t. The interval that
// contains t, if any, is found with [Set.At].
func (s Set) NextAfter(t time.Time) (Interval, bool) {
	k := key(t)
	i := sort.Search(len(s.ivs), func(i int) bool { return k.before(s.ivs[i].start) })
	if i < len(s.ivs) {
		return s.locs.interval(&s.ivs[i]), true
	}
	return Interval{}, false
}

// NextEdge returns the first Start or End of an interval of s that is strictly after t: the
// next instant at which membership in s changes.
func (s Set) NextEdge(t time.Time) (time.Time, bool) {
	k := key(t)
	i := s.search(k)
	if i >= len(s.ivs) {
		return time.Time{}, false
	}
	if k.before(s.ivs[i].start) {
		return s.locs.time(s.ivs[i].start), true
	}
	return s.locs.time(s.ivs[i].end), true
}

// Overlapping returns the intervals of s that overlap window, whole (not clipped). It runs in
// O(log n) and shares memory with s, which is safe because Sets are immutable.
func (s Set) Overlapping(window Interval) Set {
	if window.IsEmpty() {
		return Set{}
	}
	ws, we := key(window.Start), key(window.End)
	i := s.search(ws)
	j := i + sort.Search(len(s.ivs)-i, func(k int) bool { return !s.ivs[i+k].start.before(we) })
	if i == j {
		return Set{}
	}
	return Set{ivs: s.ivs[i:j:j], locs: s.locs}
}

// Clip returns the instants of s inside window: the overlapping intervals cut to window.
func (s Set) Clip(window Interval) Set {
	ov := s.Overlapping(window)
	if ov.IsEmpty() {
		return Set{}
	}
	out := slices.Clone(ov.ivs)
	x := locIndexer{t: ov.locs}
	if ws := key(window.Start); out[0].start.before(ws) {
		out[0].start = x.inst(window.Start)
	}
	if n, we := len(out)-1, key(window.End); we.before(out[n].end) {
		out[n].end = x.inst(window.End)
	}
	return Set{ivs: out, locs: x.t}
}

// MarshalJSON encodes s as a JSON array of intervals (see [Interval.MarshalJSON]); the empty
// set is [].
func (s Set) MarshalJSON() ([]byte, error) {
	ivs := s.Intervals()
	if ivs == nil {
		ivs = []Interval{}
	}
	b, err := json.Marshal(ivs)
	if err != nil {
		return nil, fmt.Errorf("schedule: marshal set: %w", err)
	}
	return b, nil
}

// UnmarshalJSON decodes a JSON array of intervals and normalizes it.
func (s *Set) UnmarshalJSON(b []byte) error {
	var ivs []Interval
	if err := json.Unmarshal(b, &ivs); err != nil {
		return fmt.Errorf("schedule: unmarshal set: %w", err)
	}
	*s = NewSet(ivs...)
	return nil
}
