package fleet_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/examples/fleet"
	"github.com/kisisync/kisisync/kisi/kisitest"
)

func TestLimitersSharePerKisiUser(t *testing.T) {
	l := fleet.NewLimiters(5)
	require.Same(t, l.For("user-1"), l.For("user-1"))
	require.NotSame(t, l.For("user-1"), l.For("user-2"))
	require.InDelta(t, 5, float64(l.For("user-2").Limit()), 0)
}

// TestWake checks that a wake during a run makes the next run start when
// it ends, and that a wake brings a scheduled run forward.
func TestWake(t *testing.T) {
	dsn := testDatabase(t)
	srv := kisitest.NewServer()
	t.Cleanup(srv.Close)
	cfg, err := fleet.ParseConfig([]byte(`{"floor": "10ms", "ceiling": "1h", "workers": 2,
		"organizations": [{"id": "org-a", "kisi_user": "u1", "api_key": "` + srv.APIKey + `", "base_url": "` + srv.URL + `"}]}`))
	require.NoError(t, err)

	var calls atomic.Int32
	started := make(chan int32, 10)
	release := make(chan struct{})
	loader := fleet.LoaderFunc(func(ctx context.Context, _ string) (access.Snapshot, error) {
		n := calls.Add(1)
		started <- n
		if n == 1 {
			select {
			case <-release:
			case <-ctx.Done():
			}
		}
		return access.Snapshot{}, nil
	})
	w, err := fleet.New(testPool(t, dsn), cfg, access.NewMemoryStore(), loader, fleet.Options{ID: "w1"})
	require.NoError(t, err)
	ctx := t.Context()
	require.NoError(t, w.Start(ctx))
	t.Cleanup(func() { _ = w.Stop(context.Background()) })

	waitRun := func(want int32, within time.Duration) {
		t.Helper()
		select {
		case n := <-started:
			require.Equal(t, want, n)
		case <-time.After(within):
			t.Fatalf("run %d did not start within %v", want, within)
		}
	}
	waitRun(1, 10*time.Second)
	require.NoError(t, w.Wake(ctx, "org-a", false)) // during run 1
	close(release)
	waitRun(2, 10*time.Second) // at once, not at the one-hour ceiling

	select {
	case n := <-started:
		t.Fatalf("run %d started without a wake", n)
	case <-time.After(1500 * time.Millisecond):
	}
	require.NoError(t, w.Wake(ctx, "org-a", false)) // the next run is scheduled an hour ahead
	waitRun(3, 10*time.Second)
	require.ErrorIs(t, w.Wake(ctx, "org-z", false), fleet.ErrUnknownOrganization)

	// The three runs are in the metrics.
	require.Eventually(t, func() bool {
		rw := httptest.NewRecorder()
		fleet.NewHandler(w).ServeHTTP(rw, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		body := rw.Body.String()
		return strings.Contains(body, `kisisync_fleet_runs_total{result="ok"} 3`) &&
			strings.Contains(body, "kisisync_fleet_run_duration_seconds_count 3") &&
			strings.Contains(body, "kisisync_fleet_next_run_lag_seconds_count 3")
	}, 10*time.Second, 50*time.Millisecond)
}

// TestWakeFloor: wakes coalesce and keep the floor: twenty wakes right
// after a run make one run, no sooner than the floor after the last one
// finished.
func TestWakeFloor(t *testing.T) {
	dsn := testDatabase(t)
	srv := kisitest.NewServer()
	t.Cleanup(srv.Close)
	const floor = 2 * time.Second
	cfg, err := fleet.ParseConfig([]byte(`{"floor": "2s", "ceiling": "1h", "workers": 2,
		"organizations": [{"id": "org-a", "kisi_user": "u1", "api_key": "` + srv.APIKey + `", "base_url": "` + srv.URL + `"}]}`))
	require.NoError(t, err)
	started := make(chan time.Time, 10)
	loader := fleet.LoaderFunc(func(context.Context, string) (access.Snapshot, error) {
		started <- time.Now()
		return access.Snapshot{}, nil
	})
	pool := testPool(t, dsn)
	w, err := fleet.New(pool, cfg, access.NewMemoryStore(), loader, fleet.Options{ID: "w1"})
	require.NoError(t, err)
	ctx := t.Context()
	require.NoError(t, w.Start(ctx))
	t.Cleanup(func() { _ = w.Stop(context.Background()) })

	next := func() time.Time {
		t.Helper()
		select {
		case at := <-started:
			return at
		case <-time.After(10 * time.Second):
			t.Fatal("no run")
			return time.Time{}
		}
	}
	next() // the first run, at start
	var finished time.Time
	require.Eventually(t, func() bool {
		return pool.QueryRow(ctx, `SELECT last_finished FROM fleet_org WHERE org = 'org-a' AND last_finished IS NOT NULL`).Scan(&finished) == nil
	}, 10*time.Second, 10*time.Millisecond)
	for range 20 {
		require.NoError(t, w.Wake(ctx, "org-a", false))
	}
	second := next()
	require.False(t, second.Before(finished.Add(floor)), "run at %v, %v after the last finished", second, second.Sub(finished))
	select {
	case at := <-started:
		t.Fatalf("a third run at %v: the wakes did not coalesce", at)
	case <-time.After(floor + time.Second):
	}
}
