package schedule

// This file keeps the first implementation of Set, which held its intervals as []Interval, as
// a reference the current Set must agree with exactly, locations included
// (TestSetMatchesReference).

import (
	"cmp"
	"iter"
	"slices"
	"sort"
	"strings"
	"time"
)

// refSet is a set of instants held as intervals that are always normalized: sorted by Start,
// non-empty, disjoint and non-touching (intervals that touch or overlap are joined).
//
// A refSet is an immutable value: every operation returns a new refSet and never modifies its
// operands, so a refSet may be shared between goroutines freely. The zero refSet is empty.
type refSet struct {
	ivs []Interval // normalized; never modified after construction
}

// refNewSet returns the union of ivs as a normalized refSet. Empty intervals (End not after Start)
// are dropped. It runs in O(n log n), allocates in proportion to n, and does not modify ivs.
// Monotonic clock readings are stripped, so instants compare by their wall clock only.
func refNewSet(ivs ...Interval) refSet {
	if len(ivs) < refKeyedSortMin {
		out := make([]Interval, 0, len(ivs))
		for _, iv := range ivs {
			if !iv.IsEmpty() {
				out = append(out, Interval{Start: iv.Start.Round(0), End: iv.End.Round(0)})
			}
		}
		return refSetOf(refNormalize(out))
	}
	// Large inputs: sort small pointer-free keys rather than the intervals themselves (each
	// holds a *time.Location, so every swap would pay GC write barriers), then merge the
	// intervals in key order.
	keys := make([]refStartKey, 0, len(ivs))
	for i, iv := range ivs {
		if !iv.IsEmpty() {
			keys = append(keys, refStartKey{sec: iv.Start.Unix(), nsec: int64(iv.Start.Nanosecond()), idx: i})
		}
	}
	if len(keys) == 0 {
		return refSet{}
	}
	slices.SortFunc(keys, refCmpKey)
	out := make([]Interval, 0, len(keys))
	for _, k := range keys {
		out = refAppendMerged(out, ivs[k.idx])
	}
	if cap(out) > 2*len(out)+16 {
		out = slices.Clone(out)
	}
	return refSetOf(out)
}

// refAppendMerged adds iv, which starts no refEarlier than any interval in out, joining it with the
// last interval when they overlap or touch.
func refAppendMerged(out []Interval, iv Interval) []Interval {
	if n := len(out); n > 0 && !iv.Start.After(out[n-1].End) {
		if iv.End.After(out[n-1].End) {
			out[n-1].End = iv.End.Round(0)
		}
		return out
	}
	return append(out, Interval{Start: iv.Start.Round(0), End: iv.End.Round(0)})
}

// refKeyedSortMin is the input size from which refNewSet sorts keys instead of intervals.
const refKeyedSortMin = 256

// refStartKey orders an input interval by its Start.
type refStartKey struct {
	sec, nsec int64
	idx       int
}

func refCmpKey(a, b refStartKey) int {
	if c := cmp.Compare(a.sec, b.sec); c != 0 {
		return c
	}
	return cmp.Compare(a.nsec, b.nsec)
}

// Intervals returns a copy of the normalized intervals of s, or nil when s is empty.
func (s refSet) Intervals() []Interval {
	if len(s.ivs) == 0 {
		return nil
	}
	return slices.Clone(s.ivs)
}

// refSetOf wraps normalized intervals, keeping the empty refSet nil.
func refSetOf(ivs []Interval) refSet {
	if len(ivs) == 0 {
		return refSet{}
	}
	return refSet{ivs: ivs}
}

// All iterates over the intervals of s in order without copying them.
func (s refSet) All() iter.Seq[Interval] {
	return func(yield func(Interval) bool) {
		for _, iv := range s.ivs {
			if !yield(iv) {
				return
			}
		}
	}
}

// Len returns the number of intervals in s.
func (s refSet) Len() int { return len(s.ivs) }

// IsEmpty reports whether s contains no instant.
func (s refSet) IsEmpty() bool { return len(s.ivs) == 0 }

// Equal reports whether s and o contain the same instants. Locations do not matter.
func (s refSet) Equal(o refSet) bool {
	return slices.EqualFunc(s.ivs, o.ivs, func(a, b Interval) bool {
		return a.Start.Equal(b.Start) && a.End.Equal(b.End)
	})
}

// String formats s as "{[a, b), [c, d)}", each interval as [Interval.String] does; the empty
// set is "{}".
func (s refSet) String() string {
	var b strings.Builder
	b.WriteByte('{')
	for i, iv := range s.ivs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(iv.String())
	}
	b.WriteByte('}')
	return b.String()
}

// Union returns the instants in s or o. It is a linear merge.
func (s refSet) Union(o refSet) refSet {
	switch {
	case len(s.ivs) == 0:
		return o
	case len(o.ivs) == 0:
		return s
	}
	a, b := s.ivs, o.ivs
	out := make([]Interval, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		var next Interval
		if j >= len(b) || (i < len(a) && a[i].Start.Before(b[j].Start)) {
			next = a[i]
			i++
		} else {
			next = b[j]
			j++
		}
		if n := len(out); n > 0 && !next.Start.After(out[n-1].End) {
			if next.End.After(out[n-1].End) {
				out[n-1].End = next.End
			}
			continue
		}
		out = append(out, next)
	}
	return refSetOf(out)
}

// Intersect returns the instants in both s and o. It is a linear merge.
func (s refSet) Intersect(o refSet) refSet {
	a, b := s.ivs, o.ivs
	var out []Interval
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		start := refLater(a[i].Start, b[j].Start)
		end := refEarlier(a[i].End, b[j].End)
		if start.Before(end) {
			out = append(out, Interval{Start: start, End: end})
		}
		if a[i].End.Before(b[j].End) {
			i++
		} else {
			j++
		}
	}
	return refSetOf(out)
}

// Subtract returns the instants in s that are not in o. It is a linear merge.
func (s refSet) Subtract(o refSet) refSet {
	if len(s.ivs) == 0 || len(o.ivs) == 0 {
		return s
	}
	b := o.ivs
	out := make([]Interval, 0, len(s.ivs))
	j := 0
	for _, iv := range s.ivs {
		cur := iv
		// Skip the parts of o that end before cur starts.
		for j < len(b) && !b[j].End.After(cur.Start) {
			j++
		}
		for k := j; k < len(b) && b[k].Start.Before(cur.End); k++ {
			if b[k].Start.After(cur.Start) {
				out = append(out, Interval{Start: cur.Start, End: b[k].Start})
			}
			if !b[k].End.Before(cur.End) {
				cur.Start = cur.End // consumed
				break
			}
			cur.Start = b[k].End
		}
		if cur.Start.Before(cur.End) {
			out = append(out, cur)
		}
	}
	return refSetOf(out)
}

// search returns the index of the first interval whose End is after t.
func (s refSet) search(t time.Time) int {
	return sort.Search(len(s.ivs), func(i int) bool { return s.ivs[i].End.After(t) })
}

// Contains reports whether t lies in one of the intervals of s. It runs in O(log n).
func (s refSet) Contains(t time.Time) bool {
	_, ok := s.At(t)
	return ok
}

// At returns the interval of s that contains t.
func (s refSet) At(t time.Time) (Interval, bool) {
	i := s.search(t)
	if i < len(s.ivs) && !s.ivs[i].Start.After(t) {
		return s.ivs[i], true
	}
	return Interval{}, false
}

// NextAfter returns the first interval of s that starts strictly after t. The interval that
// contains t, if any, is found with [refSet.At].
func (s refSet) NextAfter(t time.Time) (Interval, bool) {
	i := sort.Search(len(s.ivs), func(i int) bool { return s.ivs[i].Start.After(t) })
	if i < len(s.ivs) {
		return s.ivs[i], true
	}
	return Interval{}, false
}

// NextEdge returns the first Start or End of an interval of s that is strictly after t: the
// next instant at which membership in s changes.
func (s refSet) NextEdge(t time.Time) (time.Time, bool) {
	i := s.search(t)
	if i >= len(s.ivs) {
		return time.Time{}, false
	}
	if s.ivs[i].Start.After(t) {
		return s.ivs[i].Start, true
	}
	return s.ivs[i].End, true
}

// Overlapping returns the intervals of s that overlap window, whole (not clipped). It runs in
// O(log n) and shares memory with s, which is safe because Sets are immutable.
func (s refSet) Overlapping(window Interval) refSet {
	if window.IsEmpty() {
		return refSet{}
	}
	i := s.search(window.Start)
	j := i + sort.Search(len(s.ivs)-i, func(k int) bool { return !s.ivs[i+k].Start.Before(window.End) })
	if i == j {
		return refSet{}
	}
	return refSet{ivs: s.ivs[i:j:j]}
}

// Clip returns the instants of s inside window: the overlapping intervals cut to window.
func (s refSet) Clip(window Interval) refSet {
	ov := s.Overlapping(window)
	if ov.IsEmpty() {
		return refSet{}
	}
	out := slices.Clone(ov.ivs)
	if out[0].Start.Before(window.Start) {
		out[0].Start = window.Start.Round(0)
	}
	if n := len(out) - 1; out[n].End.After(window.End) {
		out[n].End = window.End.Round(0)
	}
	return refSetOf(out)
}

func refLater(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func refEarlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
