package schedule_test

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/kisisync/kisisync/schedule"
)

// TestExtremeInputsDoNotPanic feeds out-of-range values to every entry point.
func TestExtremeInputsDoNotPanic(t *testing.T) {
	t.Parallel()
	ny := loadLocation(t, "America/New_York")
	extremes := []int{math.MinInt, math.MinInt32, -1, 0, 1, 24, 60, math.MaxInt32, math.MaxInt}
	for _, y := range extremes {
		for _, v := range extremes {
			schedule.WallTime(ny, y, time.Month(v), v, v, v)
			schedule.WallTime(nil, y, 1, 1, v, v)
		}
	}
	times := []time.Time{
		{}, time.Unix(math.MinInt64/2, 0), time.Unix(math.MaxInt64/2, 0), time.Unix(0, 0),
		schedule.Forever, schedule.Forever.Add(time.Hour), time.Date(-5000, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	rules := []schedule.Rule{rule(everyDay, 22, 0, 2, 0), rule(weekdays, 9, 0, 9, 0)}
	buffers := []schedule.Buffer{{}, schedule.DefaultBuffer, {Before: math.MaxInt64, After: math.MaxInt64}, {Before: math.MinInt64}}
	for _, a := range times {
		schedule.EndOfDay(a, ny)
		for _, b := range times {
			w := schedule.Interval{Start: a, End: b}
			_, _ = schedule.Expand(rules, ny, w)
			_, _ = schedule.Expand(rules, time.UTC, w)
			for _, buf := range buffers {
				_, _ = buf.Widen(w)
			}
			s := schedule.NewSet(w, schedule.Interval{Start: b, End: a})
			_ = s.Union(s).Subtract(s).Intersect(s).Clip(w).Overlapping(w).String()
			_, _ = s.NextEdge(a)
			_, _ = json.Marshal(w)
			_ = w.String()
		}
	}
}
