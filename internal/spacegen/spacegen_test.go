package spacegen_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/internal/spacegen"
	"github.com/kisisync/kisisync/schedule"
)

var start = time.Date(2026, time.March, 1, 0, 0, 0, 0, time.UTC)

func TestDeterministic(t *testing.T) {
	t.Parallel()
	a, am := spacegen.Generate(spacegen.Small(7, start))
	b, bm := spacegen.Generate(spacegen.Small(7, start))
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("same seed, different snapshot (-a +b):\n%s", diff)
	}
	if diff := cmp.Diff(am, bm); diff != "" {
		t.Errorf("same seed, different mapping (-a +b):\n%s", diff)
	}
	c, _ := spacegen.Generate(spacegen.Small(8, start))
	require.NotEqual(t, a.Bookings, c.Bookings, "different seeds give the same bookings")
}

func TestSizesAndValidity(t *testing.T) {
	t.Parallel()
	cfg := spacegen.Large(1, start)
	cfg.Members, cfg.Bookings, cfg.CheckIns, cfg.Assignments = 1000, 5000, 1000, 200
	s, m := spacegen.Generate(cfg)
	require.Len(t, s.Members, cfg.Members)
	require.Len(t, s.Resources, cfg.Resources)
	require.Len(t, s.Bookings, cfg.Bookings)
	require.Len(t, s.Assignments, cfg.Assignments)
	require.Len(t, s.CheckIns, cfg.CheckIns)
	require.NoError(t, m.Validate(nil))
	grants, err := access.Desired(s, m, access.DefaultPolicy(), start.Add(36*time.Hour))
	require.NoError(t, err, "a generated space has no bad records")
	require.NotEmpty(t, grants)
	links, err := access.Links(s, m, access.DefaultPolicy(), start)
	require.NoError(t, err)
	require.NotEmpty(t, links)
}

func TestSmallSpacesAreValid(t *testing.T) {
	t.Parallel()
	for seed := uint64(0); seed < 30; seed++ {
		s, m := spacegen.Generate(spacegen.Small(seed, start))
		_, err := access.Access(s, m, access.DefaultPolicy(), schedule.Interval{Start: start, End: start.AddDate(0, 0, 7)})
		require.NoError(t, err, "seed %d", seed)
	}
}
