package schedule

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// sameIntervals describes the first difference between got and want, comparing instants and
// locations, or returns "".
func sameIntervals(got, want []Interval) string {
	for i := range min(len(got), len(want)) {
		g, w := got[i], want[i]
		if !g.Start.Equal(w.Start) || !g.End.Equal(w.End) ||
			g.Start.Location() != w.Start.Location() || g.End.Location() != w.End.Location() {
			return fmt.Sprintf("interval %d: got %v (%p, %p), want %v (%p, %p)", i,
				g, g.Start.Location(), g.End.Location(), w, w.Start.Location(), w.End.Location())
		}
	}
	if len(got) != len(want) {
		return fmt.Sprintf("got %d intervals, want %d", len(got), len(want))
	}
	return ""
}

// TestSetMatchesReference checks every operation of Set against the first implementation
// (refSet), on random operands whose instants carry many locations: named zones, UTC, Local,
// and more fixed zones than the table keeps without a map. Within one operand the location
// of an instant depends on the instant only, so NewSet's choice among equal instants cannot
// differ; between operands it does not, so the operations' choice on ties is checked.
func TestSetMatchesReference(t *testing.T) {
	t.Parallel()
	zones := []*time.Location{time.UTC, time.Local}
	for _, name := range []string{"Europe/Berlin", "America/New_York", "Australia/Lord_Howe"} {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatalf("load %s: %v", name, err)
		}
		zones = append(zones, loc)
	}
	for i := range 12 { // distinct pointers, as time.Parse makes for each offset it reads
		zones = append(zones, time.FixedZone("", 3600*(i%3)))
	}
	base := time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC)
	r := rand.New(rand.NewPCG(17, 2))
	operand := func(n, nzones int, salt int64) ([]Interval, Set, refSet) {
		at := func(m int64) time.Time {
			t := base.Add(time.Duration(m) * time.Minute)
			if m%7 == 0 {
				t = t.Add(time.Duration(m%1000) * time.Nanosecond)
			}
			return t.In(zones[((m*31+salt)%int64(nzones)+int64(nzones))%int64(nzones)])
		}
		ivs := make([]Interval, r.IntN(n+1))
		for i := range ivs {
			a := r.Int64N(2000)
			ivs[i] = Interval{Start: at(a), End: at(a + r.Int64N(90) - 10)}
		}
		return ivs, NewSet(ivs...), refNewSet(ivs...)
	}
	check := func(t *testing.T, what string, got Set, want refSet) {
		t.Helper()
		if d := sameIntervals(got.Intervals(), want.Intervals()); d != "" {
			t.Fatalf("%s: %s", what, d)
		}
		if got.String() != want.String() {
			t.Fatalf("%s: String() = %s, want %s", what, got, want.String())
		}
	}
	for i := range 400 {
		n := []int{3, 20, 300}[i%3] // 300 takes the reference's keyed sort
		nzones := 1 + r.IntN(len(zones))
		_, a, ra := operand(n, nzones, r.Int64N(100))
		bivs, b, rb := operand(n, 1+r.IntN(len(zones)), r.Int64N(100))
		check(t, "NewSet a", a, ra)
		check(t, "NewSet b", b, rb)
		check(t, "Union", a.Union(b), ra.Union(rb))
		check(t, "Union reversed", b.Union(a), rb.Union(ra))
		check(t, "Intersect", a.Intersect(b), ra.Intersect(rb))
		check(t, "Intersect reversed", b.Intersect(a), rb.Intersect(ra))
		check(t, "Subtract", a.Subtract(b), ra.Subtract(rb))
		check(t, "Subtract reversed", b.Subtract(a), rb.Subtract(ra))
		check(t, "Union of unions", a.Union(b).Union(a.Intersect(b)), ra.Union(rb).Union(ra.Intersect(rb)))
		if len(bivs) > 0 {
			w := Interval{Start: bivs[0].Start, End: bivs[0].Start.Add(time.Duration(r.IntN(3000)) * time.Minute).In(zones[r.IntN(len(zones))])}
			check(t, "Overlapping", a.Overlapping(w), ra.Overlapping(w))
			check(t, "Clip", a.Clip(w), ra.Clip(w))
			check(t, "Clip of a union", a.Union(b).Clip(w), ra.Union(rb).Clip(w))
		}
		if !a.Equal(NewSet(ra.Intervals()...)) {
			t.Fatalf("Equal: %v and %v", a, ra.String())
		}
		for range 20 {
			q := base.Add(time.Duration(r.Int64N(2200*60)) * time.Second)
			if got, want := a.Contains(q), ra.Contains(q); got != want {
				t.Fatalf("Contains(%v) = %v, want %v", q, got, want)
			}
			gi, gok := a.At(q)
			wi, wok := ra.At(q)
			if d := sameIntervals([]Interval{gi}, []Interval{wi}); gok != wok || d != "" {
				t.Fatalf("At(%v) = %v %v, want %v %v", q, gi, gok, wi, wok)
			}
			gi, gok = a.NextAfter(q)
			wi, wok = ra.NextAfter(q)
			if d := sameIntervals([]Interval{gi}, []Interval{wi}); gok != wok || d != "" {
				t.Fatalf("NextAfter(%v) = %v %v, want %v %v", q, gi, gok, wi, wok)
			}
			ge, gok := a.NextEdge(q)
			we, wok := ra.NextEdge(q)
			if gok != wok || !ge.Equal(we) || ge.Location() != we.Location() {
				t.Fatalf("NextEdge(%v) = %v %v, want %v %v", q, ge, gok, we, wok)
			}
		}
	}
}

// TestSetExtremeInstants checks that instants far outside the range of Unix seconds keep
// their order and come back exactly.
func TestSetExtremeInstants(t *testing.T) {
	t.Parallel()
	ivs := []Interval{
		{Start: time.Unix(math.MinInt64/2, 0), End: time.Unix(math.MinInt64/2, 5)},
		{Start: time.Time{}, End: time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC)},
		{Start: time.Date(-5000, 1, 1, 0, 0, 0, 0, time.UTC), End: time.Date(-4999, 1, 1, 0, 0, 0, 0, time.UTC)},
		{Start: Forever, End: Forever.Add(time.Hour)},
		{Start: time.Unix(math.MaxInt64/2, 0), End: time.Unix(math.MaxInt64/2, 999_999_999)},
	}
	got, want := NewSet(ivs...), refNewSet(ivs...)
	if d := sameIntervals(got.Intervals(), want.Intervals()); d != "" {
		t.Fatal(d)
	}
	for _, iv := range ivs {
		if !got.Contains(iv.Start) || got.Contains(iv.End) {
			t.Errorf("Contains at the ends of %v is wrong", iv)
		}
	}
}
