package schedule_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/kisisync/kisisync/schedule"
)

func BenchmarkExpandYearWeekdays(b *testing.B) {
	loc := loadLocation(b, "Europe/Berlin")
	rules := []schedule.Rule{rule(weekdays, 9, 0, 17, 0)}
	window := schedule.Interval{Start: time.Date(2026, 1, 1, 0, 0, 0, 0, loc), End: time.Date(2027, 1, 1, 0, 0, 0, 0, loc)}
	b.ReportAllocs()
	for b.Loop() {
		s, err := schedule.Expand(rules, loc, window)
		if err != nil || s.Len() != 261 {
			b.Fatalf("Expand = %d intervals, %v", s.Len(), err)
		}
	}
}

// randomIntervals returns n intervals of up to one hour (bookings) starting anywhere in ten
// years, in random order; about a third of them overlap another.
func randomIntervals(n int) []schedule.Interval {
	r := rand.New(rand.NewPCG(1, 2))
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ivs := make([]schedule.Interval, n)
	for i := range ivs {
		s := start.Add(time.Duration(r.Int64N(int64(10 * 365 * 24 * time.Hour))))
		ivs[i] = schedule.Interval{Start: s, End: s.Add(time.Duration(1 + r.Int64N(int64(time.Hour))))}
	}
	return ivs
}

func BenchmarkSetUnion100k(b *testing.B) {
	ivs := randomIntervals(100_000)
	b.Run("NewSet", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			schedule.NewSet(ivs...)
		}
	})
	b.Run("merge", func(b *testing.B) {
		x, y := schedule.NewSet(ivs[:50_000]...), schedule.NewSet(ivs[50_000:]...)
		b.ReportAllocs()
		for b.Loop() {
			x.Union(y)
		}
	})
}

func BenchmarkSetSubtract100k(b *testing.B) {
	ivs := randomIntervals(100_000)
	x, y := schedule.NewSet(ivs[:50_000]...), schedule.NewSet(ivs[50_000:]...)
	b.ReportAllocs()
	for b.Loop() {
		x.Subtract(y)
	}
}

func BenchmarkSetIntersect100k(b *testing.B) {
	ivs := randomIntervals(100_000)
	x, y := schedule.NewSet(ivs[:50_000]...), schedule.NewSet(ivs[50_000:]...)
	b.ReportAllocs()
	for b.Loop() {
		x.Intersect(y)
	}
}

func BenchmarkWallTime(b *testing.B) {
	loc := loadLocation(b, "America/New_York")
	b.ReportAllocs()
	for b.Loop() {
		schedule.WallTime(loc, 2026, time.March, 8, 2, 30)
	}
}
