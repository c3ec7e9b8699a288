package bench_test

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-intervals/timespanset"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/schedule"
)

var setsFull = flag.Bool("sets.full", false, "benchmark go-intervals' quadratic union at 100,000 intervals too")

// randomIntervals returns n bookings of one minute to two hours, starting at random seconds
// spread over n×8 hours from 2026 on, so that the union keeps most of them apart (about 5%
// overlap); seed makes them reproducible.
func randomIntervals(n int, seed uint64) []schedule.Interval {
	r := rand.New(rand.NewPCG(seed, 2))
	start := time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)
	spread := int64(n) * int64(8*time.Hour/time.Second)
	ivs := make([]schedule.Interval, n)
	for i := range ivs {
		s := start.Add(time.Duration(r.Int64N(spread)) * time.Second)
		ivs[i] = schedule.Interval{Start: s, End: s.Add(time.Duration(1+r.Int64N(120)) * time.Minute)}
	}
	return ivs
}

// universe spans every interval randomIntervals makes.
var universe = schedule.Interval{
	Start: time.Date(2025, time.January, 1, 0, 0, 0, 0, time.UTC),
	End:   time.Date(2200, time.January, 1, 0, 0, 0, 0, time.UTC),
}

// tsBuild builds a timespanset holding the union of ivs. timespanset can only add intervals
// one at a time (each Insert rewrites the whole set, O(n)), and its Add inserts the other
// set's intervals one by one, so building a large set that way is quadratic. This builds it in
// O(n log n) from its two linear operations instead: A ∪ B = U − ((U − A) ∩ (U − B)).
func tsBuild(ivs []schedule.Interval) *timespanset.Set {
	if len(ivs) <= 8 {
		s := timespanset.Empty()
		for _, iv := range ivs {
			s.Insert(iv.Start, iv.End)
		}
		return s
	}
	a, b := tsBuild(ivs[:len(ivs)/2]), tsBuild(ivs[len(ivs)/2:])
	return tsUnionLinear(a, b)
}

// tsUnionLinear is A ∪ B computed with timespanset's linear Sub and Intersect.
func tsUnionLinear(a, b *timespanset.Set) *timespanset.Set {
	ca, cb, u := tsUniverse(), tsUniverse(), tsUniverse()
	ca.Sub(a)
	cb.Sub(b)
	ca.Intersect(cb)
	u.Sub(ca)
	return u
}

// setUnionLinear is A ∪ B computed as tsUnionLinear does, with schedule.Set's Subtract and
// Intersect.
func setUnionLinear(a, b schedule.Set) schedule.Set {
	u := schedule.NewSet(universe)
	return u.Subtract(u.Subtract(a).Intersect(u.Subtract(b)))
}

func tsUniverse() *timespanset.Set {
	s := timespanset.Empty()
	s.Insert(universe.Start, universe.End)
	return s
}

// tsIntervals returns the intervals of s in order.
func tsIntervals(s *timespanset.Set) []schedule.Interval {
	var out []schedule.Interval
	s.IntervalsBetween(universe.Start, universe.End, func(start, end time.Time) bool {
		out = append(out, schedule.Interval{Start: start, End: end})
		return true
	})
	return out
}

// setPair is the same two operands in both libraries: n intervals split into halves.
type setPair struct {
	x, y   schedule.Set
	tx, ty *timespanset.Set
}

func newSetPair(n int) setPair {
	ivs := randomIntervals(n, uint64(n))
	half := ivs[: n/2 : n/2]
	rest := ivs[n/2:]
	return setPair{
		x: schedule.NewSet(half...), y: schedule.NewSet(rest...),
		tx: tsBuild(half), ty: tsBuild(rest),
	}
}

func TestSetsMatchTimespanset(t *testing.T) {
	t.Parallel()
	for _, n := range []int{10, 1_000, 5_000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			p := newSetPair(n)
			require.Greater(t, p.x.Len()+p.y.Len(), n*9/10, "operands should keep most intervals apart")
			require.Empty(t, cmp.Diff(p.x.Intervals(), tsIntervals(p.tx)), "operand x differs")

			union := p.tx.Copy()
			if n <= 1_000 { // Add is quadratic; the linear form is checked at every size
				union.Add(p.ty)
			} else {
				union = tsUnionLinear(p.tx, p.ty)
			}
			if diff := cmp.Diff(p.x.Union(p.y).Intervals(), tsIntervals(union)); diff != "" {
				t.Errorf("union (-kisisync +timespanset):\n%s", diff)
			}
			if diff := cmp.Diff(p.x.Union(p.y).Intervals(), setUnionLinear(p.x, p.y).Intervals()); diff != "" {
				t.Errorf("Union and its linear form differ (-Union +linear):\n%s", diff)
			}
			linear := tsUnionLinear(p.tx, p.ty)
			if diff := cmp.Diff(tsIntervals(union), tsIntervals(linear)); diff != "" {
				t.Errorf("timespanset Add and its linear union differ (-Add +linear):\n%s", diff)
			}

			sub := p.tx.Copy()
			sub.Sub(p.ty)
			if diff := cmp.Diff(p.x.Subtract(p.y).Intervals(), tsIntervals(sub)); diff != "" {
				t.Errorf("subtract (-kisisync +timespanset):\n%s", diff)
			}
		})
	}
}

func BenchmarkSets(b *testing.B) {
	sizes := []int{1_000, 10_000, 100_000}
	for _, n := range sizes {
		p := newSetPair(n)
		// The same results, checked once outside the timings.
		if diff := cmp.Diff(p.x.Union(p.y).Intervals(), tsIntervals(tsUnionLinear(p.tx, p.ty))); diff != "" {
			b.Fatalf("n=%d: union (-kisisync +timespanset):\n%s", n, diff)
		}
		sub := p.tx.Copy()
		sub.Sub(p.ty)
		if diff := cmp.Diff(p.x.Subtract(p.y).Intervals(), tsIntervals(sub)); diff != "" {
			b.Fatalf("n=%d: subtract (-kisisync +timespanset):\n%s", n, diff)
		}
		b.Run(fmt.Sprintf("op=union/n=%d/lib=kisisync", n), func(b *testing.B) {
			b.ReportAllocs()
			reportCPU(b)
			for b.Loop() {
				p.x.Union(p.y)
			}
		})
		b.Run(fmt.Sprintf("op=union/n=%d/lib=timespanset-Add", n), func(b *testing.B) {
			if n > 10_000 && !*setsFull {
				b.Skip("quadratic: one union took over 16 CPU-minutes when measured; run with -sets.full")
			}
			b.ReportAllocs()
			reportCPU(b)
			for b.Loop() {
				s := p.tx.Copy()
				s.Add(p.ty)
			}
		})
		b.Run(fmt.Sprintf("op=union/n=%d/lib=timespanset-linear", n), func(b *testing.B) {
			b.ReportAllocs()
			reportCPU(b)
			for b.Loop() {
				tsUnionLinear(p.tx, p.ty)
			}
		})
		// The same four operations as timespanset-linear, with schedule.Set, for a like-for-like
		// comparison of that row.
		b.Run(fmt.Sprintf("op=union/n=%d/lib=kisisync-linear", n), func(b *testing.B) {
			b.ReportAllocs()
			reportCPU(b)
			for b.Loop() {
				setUnionLinear(p.x, p.y)
			}
		})
		b.Run(fmt.Sprintf("op=subtract/n=%d/lib=kisisync", n), func(b *testing.B) {
			b.ReportAllocs()
			reportCPU(b)
			for b.Loop() {
				p.x.Subtract(p.y)
			}
		})
		b.Run(fmt.Sprintf("op=subtract/n=%d/lib=timespanset", n), func(b *testing.B) {
			b.ReportAllocs()
			reportCPU(b)
			for b.Loop() {
				s := p.tx.Copy()
				s.Sub(p.ty)
			}
		})
		b.Run(fmt.Sprintf("op=copy/n=%d/lib=timespanset", n), func(b *testing.B) {
			b.ReportAllocs()
			reportCPU(b)
			for b.Loop() {
				p.tx.Copy()
			}
		})
	}
}
