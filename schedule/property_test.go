package schedule_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kisisync/kisisync/schedule"
)

// randomSet returns a set of up to n random intervals on a 500-minute grid.
func randomSet(r *rand.Rand, n int) schedule.Set {
	ivs := make([]schedule.Interval, r.IntN(n+1))
	for i := range ivs {
		a := r.IntN(500)
		ivs[i] = iv(a, a+r.IntN(40))
	}
	return schedule.NewSet(ivs...)
}

func TestSetProperties(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(2026, 1))
	eq := func(t *testing.T, law string, want, got schedule.Set) {
		t.Helper()
		if !want.Equal(got) {
			t.Fatalf("%s (-want +got):\n%s", law, cmp.Diff(want.Intervals(), got.Intervals()))
		}
	}
	for i := range 300 {
		a, b, c := randomSet(r, 12), randomSet(r, 12), randomSet(r, 12)
		w := iv(r.IntN(500), r.IntN(500))
		for _, s := range []schedule.Set{a, b, c, a.Union(b), a.Intersect(b), a.Subtract(b), a.Clip(w)} {
			requireNormalized(t, s)
		}
		eq(t, "union commutative", a.Union(b), b.Union(a))
		eq(t, "intersect commutative", a.Intersect(b), b.Intersect(a))
		eq(t, "union associative", a.Union(b).Union(c), a.Union(b.Union(c)))
		eq(t, "intersect associative", a.Intersect(b).Intersect(c), a.Intersect(b.Intersect(c)))
		eq(t, "distributive", a.Intersect(b.Union(c)), a.Intersect(b).Union(a.Intersect(c)))
		eq(t, "union idempotent", a, a.Union(a))
		eq(t, "intersect idempotent", a, a.Intersect(a))
		eq(t, "A-A empty", schedule.Set{}, a.Subtract(a))
		eq(t, "A-B disjoint from B", schedule.Set{}, a.Subtract(b).Intersect(b))
		eq(t, "(A-B) ∪ (A∩B) = A", a, a.Subtract(b).Union(a.Intersect(b)))
		eq(t, "A-(B∪C) = (A-B)-C", a.Subtract(b.Union(c)), a.Subtract(b).Subtract(c))
		eq(t, "normalization idempotent", a, schedule.NewSet(a.Intervals()...))
		eq(t, "Clip is Intersect with the window", a.Intersect(schedule.NewSet(w)), a.Clip(w))
		eq(t, "Overlapping covers Clip", a.Clip(w), a.Overlapping(w).Clip(w))

		union, diff := a.Union(b), a.Subtract(b)
		for m := -5; m < 560; m += 1 + r.IntN(3) {
			for _, p := range []time.Time{at(m), at(m).Add(30 * time.Second)} {
				inAny := false
				for v := range a.All() {
					inAny = inAny || v.Contains(p)
				}
				if got := a.Contains(p); got != inAny {
					t.Fatalf("case %d: %v.Contains(%v) = %v, intervals say %v", i, a, p, got, inAny)
				}
				if got, want := union.Contains(p), a.Contains(p) || b.Contains(p); got != want {
					t.Fatalf("case %d: union contains %v = %v, want %v", i, p, got, want)
				}
				if got, want := diff.Contains(p), a.Contains(p) && !b.Contains(p); got != want {
					t.Fatalf("case %d: difference contains %v = %v, want %v", i, p, got, want)
				}
				if edge, ok := a.NextEdge(p); ok {
					if !edge.After(p) || a.Contains(edge) == a.Contains(p) {
						t.Fatalf("case %d: %v.NextEdge(%v) = %v does not change membership", i, a, p, edge)
					}
				}
			}
		}
	}
}

// TestNewSetLarge checks the keyed sort NewSet uses for large inputs against unions of small
// sets, which NewSet normalizes directly.
func TestNewSetLarge(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(7, 7))
	for _, n := range []int{255, 256, 257, 1000, 5000} {
		ivs := make([]schedule.Interval, n)
		for i := range ivs {
			a := r.IntN(20 * n)
			ivs[i] = schedule.Interval{Start: at(a).Add(time.Duration(r.IntN(3)) * time.Second), End: at(a + r.IntN(30))}
			if n == 1000 && i%7 == 0 {
				ivs[i].Start = ivs[i].Start.Add(time.Millisecond) // sub-second starts order too
			}
			if n == 5000 && i == 0 {
				ivs[i] = schedule.Interval{Start: time.Time{}, End: time.Time{}.Add(time.Hour)}
			}
		}
		var want schedule.Set
		for i := 0; i < n; i += 50 {
			want = want.Union(schedule.NewSet(ivs[i:min(i+50, n)]...))
		}
		got := schedule.NewSet(ivs...)
		requireNormalized(t, got)
		if !want.Equal(got) {
			t.Fatalf("n=%d: NewSet differs from the union of chunks (-want +got):\n%s", n, cmp.Diff(want.Intervals(), got.Intervals()))
		}
		sorted := got.Intervals()
		if again := schedule.NewSet(append(sorted, sorted...)...); !again.Equal(got) {
			t.Fatalf("n=%d: normalization not idempotent", n)
		}
	}
}
