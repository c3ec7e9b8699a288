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

	"github.com/kisisync/kisisync/internal/times"
)

// Set is a set of instants held as intervals that are always normalized: sorted by Start,
// non-empty, disjoint and non-touching (intervals that touch or overlap are joined).
//
// A Set is an immutable value: every operation returns a new Set and never modifies its
// operands, so a Set may be shared between goroutines freely. The zero Set is empty.
type Set struct {
	ivs []Interval // normalized; never modified after construction
}

// NewSet returns the union of ivs as a normalized [Set]. Empty intervals (End not after Start)
// are dropped. It runs in O(n log n), allocates in proportion to n, and does not modify ivs.
// Monotonic clock readings are stripped, so instants compare by their wall clock only.
func NewSet(ivs ...Interval) Set {
	if len(ivs) < keyedSortMin {
		out := make([]Interval, 0, len(ivs))
		for _, iv := range ivs {
			if !iv.IsEmpty() {
				out = append(out, Interval{Start: iv.Start.Round(0), End: iv.End.Round(0)})
			}
		}
		return setOf(normalize(out))
	}
	// Large inputs: sort small pointer-free keys rather than the intervals themselves (each
	// holds a *time.Location, so every swap would pay GC write barriers), then merge the
	// intervals in key order.
	keys := make([]startKey, 0, len(ivs))
	for i, iv := range ivs {
		if !iv.IsEmpty() {
			keys = append(keys, startKey{sec: iv.Start.Unix(), nsec: int64(iv.Start.Nanosecond()), idx: i})
		}
	}
	if len(keys) == 0 {
		return Set{}
	}
	slices.SortFunc(keys, cmpKey)
	out := make([]Interval, 0, len(keys))
	for _, k := range keys {
		out = appendMerged(out, ivs[k.idx])
	}
	if cap(out) > 2*len(out)+16 {
		out = slices.Clone(out)
	}
	return setOf(out)
}

// appendMerged adds iv, which starts no earlier than any interval in out, joining it with the
// last interval when they overlap or touch.
func appendMerged(out []Interval, iv Interval) []Interval {
	if n := len(out); n > 0 && !iv.Start.After(out[n-1].End) {
		if iv.End.After(out[n-1].End) {
			out[n-1].End = iv.End.Round(0)
		}
		return out
	}
	return append(out, Interval{Start: iv.Start.Round(0), End: iv.End.Round(0)})
}

// keyedSortMin is the input size from which NewSet sorts keys instead of intervals.
const keyedSortMin = 256

// startKey orders an input interval by its Start.
type startKey struct {
	sec, nsec int64
	idx       int
}

func cmpKey(a, b startKey) int {
	if c := cmp.Compare(a.sec, b.sec); c != 0 {
		return c
	}
	return cmp.Compare(a.nsec, b.nsec)
}

// normalize sorts ivs (non-empty, monotonic readings stripped) in place and joins overlapping
// or touching intervals, returning the prefix that holds the result.
func normalize(ivs []Interval) []Interval {
	if len(ivs) == 0 {
		return nil
	}
	if !slices.IsSortedFunc(ivs, cmpStart) {
		slices.SortFunc(ivs, cmpStart)
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

func cmpStart(a, b Interval) int { return a.Start.Compare(b.Start) }

// Intervals returns a copy of the normalized intervals of s, or nil when s is empty.
func (s Set) Intervals() []Interval {
	if len(s.ivs) == 0 {
		return nil
	}
	return slices.Clone(s.ivs)
}

// setOf wraps normalized intervals, keeping the empty Set nil.
func setOf(ivs []Interval) Set {
	if len(ivs) == 0 {
		return Set{}
	}
	return Set{ivs: ivs}
}

// All iterates over the intervals of s in order without copying them.
func (s Set) All() iter.Seq[Interval] {
	return func(yield func(Interval) bool) {
		for _, iv := range s.ivs {
			if !yield(iv) {
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
	return slices.EqualFunc(s.ivs, o.ivs, func(a, b Interval) bool {
		return a.Start.Equal(b.Start) && a.End.Equal(b.End)
	})
}

// String formats s as "{[a, b), [c, d)}", each interval as [Interval.String] does; the empty
// set is "{}".
func (s Set) String() string {
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
func (s Set) Union(o Set) Set {
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
	return setOf(out)
}

// Intersect returns the instants in both s and o. It is a linear merge.
func (s Set) Intersect(o Set) Set {
	a, b := s.ivs, o.ivs
	var out []Interval
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		start := times.Later(a[i].Start, b[j].Start)
		end := times.Earlier(a[i].End, b[j].End)
		if start.Before(end) {
			out = append(out, Interval{Start: start, End: end})
		}
		if a[i].End.Before(b[j].End) {
			i++
		} else {
			j++
		}
	}
	return setOf(out)
}

// Subtract returns the instants in s that are not in o. It is a linear merge.
func (s Set) Subtract(o Set) Set {
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
	return setOf(out)
}

// search returns the index of the first interval whose End is after t.
func (s Set) search(t time.Time) int {
	return sort.Search(len(s.ivs), func(i int) bool { return s.ivs[i].End.After(t) })
}

// Contains reports whether t lies in one of the intervals of s. It runs in O(log n).
func (s Set) Contains(t time.Time) bool {
	_, ok := s.At(t)
	return ok
}

// At returns the interval of s that contains t.
func (s Set) At(t time.Time) (Interval, bool) {
	i := s.search(t)
	if i < len(s.ivs) && !s.ivs[i].Start.After(t) {
		return s.ivs[i], true
	}
	return Interval{}, false
}

// NextAfter returns the first interval of s that starts strictly after t. The interval that
// contains t, if any, is found with [Set.At].
func (s Set) NextAfter(t time.Time) (Interval, bool) {
	i := sort.Search(len(s.ivs), func(i int) bool { return s.ivs[i].Start.After(t) })
	if i < len(s.ivs) {
		return s.ivs[i], true
	}
	return Interval{}, false
}

// NextEdge returns the first Start or End of an interval of s that is strictly after t: the
// next instant at which membership in s changes.
func (s Set) NextEdge(t time.Time) (time.Time, bool) {
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
func (s Set) Overlapping(window Interval) Set {
	if window.IsEmpty() {
		return Set{}
	}
	i := s.search(window.Start)
	j := i + sort.Search(len(s.ivs)-i, func(k int) bool { return !s.ivs[i+k].Start.Before(window.End) })
	if i == j {
		return Set{}
	}
	return Set{ivs: s.ivs[i:j:j]}
}

// Clip returns the instants of s inside window: the overlapping intervals cut to window.
func (s Set) Clip(window Interval) Set {
	ov := s.Overlapping(window)
	if ov.IsEmpty() {
		return Set{}
	}
	out := slices.Clone(ov.ivs)
	if out[0].Start.Before(window.Start) {
		out[0].Start = window.Start.Round(0)
	}
	if n := len(out) - 1; out[n].End.After(window.End) {
		out[n].End = window.End.Round(0)
	}
	return setOf(out)
}

// MarshalJSON encodes s as a JSON array of intervals (see [Interval.MarshalJSON]); the empty
// set is [].
func (s Set) MarshalJSON() ([]byte, error) {
	ivs := s.ivs
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
