package schedule_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/schedule"
)

// base is the reference instant of the minute-based helpers.
var base = time.Date(2026, time.January, 5, 0, 0, 0, 0, time.UTC)

// at returns base plus m minutes.
func at(m int) time.Time { return base.Add(time.Duration(m) * time.Minute) }

// iv returns [at(a), at(b)).
func iv(a, b int) schedule.Interval { return schedule.Interval{Start: at(a), End: at(b)} }

// set returns the normalized set of [at(p[0]), at(p[1])), [at(p[2]), at(p[3])), ….
func set(p ...int) schedule.Set {
	ivs := make([]schedule.Interval, 0, len(p)/2)
	for i := 0; i+1 < len(p); i += 2 {
		ivs = append(ivs, iv(p[i], p[i+1]))
	}
	return schedule.NewSet(ivs...)
}

// loadLocation loads an IANA zone or fails the test.
func loadLocation(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	require.NoError(t, err, "load %s", name)
	return loc
}

// requireNormalized fails unless s is sorted, non-empty, disjoint and non-touching.
func requireNormalized(t testing.TB, s schedule.Set) {
	t.Helper()
	ivs := s.Intervals()
	for i, v := range ivs {
		require.True(t, v.Start.Before(v.End), "interval %d %v is empty", i, v)
		if i > 0 {
			require.True(t, ivs[i-1].End.Before(v.Start), "intervals %d and %d touch or overlap: %v", i-1, i, s)
		}
	}
}
