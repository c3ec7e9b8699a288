package schedule_test

import (
	"testing"
	"time"

	"github.com/kisisync/kisisync/schedule"
)

// TestAllocations pins the allocations of the hot paths: Expand keeps its scratch space on the
// stack and writes its occurrences into one slice; the set operations allocate their result
// only.
func TestAllocations(t *testing.T) {
	berlin := loadLocation(t, "Europe/Berlin")
	year := schedule.Interval{Start: time.Date(2026, 1, 1, 0, 0, 0, 0, berlin), End: time.Date(2027, 1, 1, 0, 0, 0, 0, berlin)}
	office := []schedule.Rule{rule(weekdays, 9, 0, 17, 0)}
	mixed := []schedule.Rule{
		rule(weekdays, 9, 0, 17, 0),
		rule([]time.Weekday{time.Friday}, 22, 0, 2, 0),
		rule([]time.Weekday{time.Sunday}, 2, 30, 4, 0),
	}
	a, b := set(0, 10, 20, 30, 40, 50), set(5, 25, 45, 60)
	tests := []struct {
		name string
		f    func()
		want float64
	}{
		{"Expand office year", func() { _, _ = schedule.Expand(office, berlin, year) }, 1},
		{"Expand mixed year", func() { _, _ = schedule.Expand(mixed, berlin, year) }, 1},
		{"Union", func() { a.Union(b) }, 1},
		{"Intersect", func() { a.Intersect(b) }, 1},
		{"Subtract", func() { a.Subtract(b) }, 1},
		{"Contains", func() { a.Contains(at(7)) }, 0},
		{"All", func() {
			for range a.All() {
			}
		}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := testing.AllocsPerRun(50, tc.f); got != tc.want {
				t.Errorf("%s: %v allocations, want %v", tc.name, got, tc.want)
			}
		})
	}
}
