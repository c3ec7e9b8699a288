package fleet_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/state"
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

// TestRunBudget: a run that is not done within the run budget stops and
// the next run starts at once, not a floor later.
func TestRunBudget(t *testing.T) {
	dsn := testDatabase(t)
	srv := kisitest.NewServer()
	t.Cleanup(srv.Close)
	cfg, err := fleet.ParseConfig([]byte(`{"floor": "1h", "ceiling": "2h", "run_budget": "300ms", "job_timeout": "5s", "rescue_after": "10s",
		"organizations": [{"id": "org-a", "kisi_user": "u1", "api_key": "` + srv.APIKey + `", "base_url": "` + srv.URL + `"}]}`))
	require.NoError(t, err)
	var calls atomic.Int32
	started := make(chan int32, 10)
	loader := fleet.LoaderFunc(func(ctx context.Context, _ string) (access.Snapshot, error) {
		n := calls.Add(1)
		started <- n
		if n == 1 {
			<-ctx.Done() // a run that takes too long
			return access.Snapshot{}, ctx.Err()
		}
		return access.Snapshot{}, nil
	})
	w, err := fleet.New(testPool(t, dsn), cfg, access.NewMemoryStore(), loader, fleet.Options{ID: "w1"})
	require.NoError(t, err)
	require.NoError(t, w.Start(t.Context()))
	t.Cleanup(func() { _ = w.Stop(context.Background()) })
	for want := int32(1); want <= 2; want++ {
		select {
		case n := <-started:
			require.Equal(t, want, n)
		case <-time.After(10 * time.Second):
			t.Fatalf("run %d did not start", want)
		}
	}
	require.Eventually(t, func() bool {
		rw := httptest.NewRecorder()
		fleet.NewHandler(w).ServeHTTP(rw, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		return strings.Contains(rw.Body.String(), `kisisync_fleet_runs_total{result="budget"} 1`)
	}, 10*time.Second, 50*time.Millisecond)
}

// TestVerifyDue: the periodic Verify is a due time per organization in
// the database: the run at that time verifies and moves it one period on,
// and a restarted process verifies when that time comes.
func TestVerifyDue(t *testing.T) {
	dsn := testDatabase(t)
	srv := kisitest.NewServer()
	t.Cleanup(srv.Close)
	cfg, err := fleet.ParseConfig([]byte(`{"floor": "100ms", "ceiling": "1h", "verify_every": "2s",
		"organizations": [{"id": "org-a", "kisi_user": "u1", "api_key": "` + srv.APIKey + `", "base_url": "` + srv.URL + `"}]}`))
	require.NoError(t, err)
	empty := fleet.LoaderFunc(func(context.Context, string) (access.Snapshot, error) { return access.Snapshot{}, nil })
	pool := testPool(t, dsn)
	due := func() (time.Time, time.Time) {
		var d, f *time.Time
		_ = pool.QueryRow(t.Context(), `SELECT verify_due, last_finished FROM fleet_org WHERE org = 'org-a'`).Scan(&d, &f)
		if d == nil || f == nil {
			return time.Time{}, time.Time{}
		}
		return *d, *f
	}
	start := func(id string) *fleet.Worker {
		w, err := fleet.New(pool, cfg, access.NewMemoryStore(), empty, fleet.Options{ID: id})
		require.NoError(t, err)
		require.NoError(t, w.Start(t.Context()))
		return w
	}
	w := start("w1")
	var first time.Time
	require.Eventually(t, func() bool { first, _ = due(); return !first.IsZero() }, 10*time.Second, 20*time.Millisecond)
	// The run at the due time verifies: the next is due a period after it.
	require.Eventually(t, func() bool {
		d, f := due()
		return d.After(first) && d.Equal(f.Add(2*time.Second))
	}, 10*time.Second, 20*time.Millisecond, "no Verify at its due time")
	require.NoError(t, w.Stop(context.Background()))

	// A new process (a restart) verifies when the kept due time comes, not
	// a whole period after its start.
	kept, _ := due()
	w = start("w2")
	t.Cleanup(func() { _ = w.Stop(context.Background()) })
	require.Eventually(t, func() bool {
		d, f := due()
		return d.After(kept) && d.Equal(f.Add(2*time.Second)) && !f.Before(kept)
	}, 10*time.Second, 20*time.Millisecond, "no Verify after the restart")
}

// TestPruneOnStart: webhook deliveries older than the retention are
// forgotten when a worker starts, however often workers restart.
func TestPruneOnStart(t *testing.T) {
	dsn := testDatabase(t)
	pool := testPool(t, dsn)
	_, err := pool.Exec(t.Context(), `INSERT INTO fleet_webhook_delivery (uuid, org, received_at)
		VALUES ('old', 'org-a', now() - interval '31 days'), ('new', 'org-a', now())`)
	require.NoError(t, err)
	cfg, err := fleet.ParseConfig([]byte(`{"organizations": [{"id": "org-a", "kisi_user": "u1", "api_key": "k", "base_url": "http://127.0.0.1:1"}]}`))
	require.NoError(t, err)
	empty := fleet.LoaderFunc(func(context.Context, string) (access.Snapshot, error) { return access.Snapshot{}, nil })
	w, err := fleet.New(pool, cfg, access.NewMemoryStore(), empty, fleet.Options{ID: "w1"})
	require.NoError(t, err)
	require.NoError(t, w.Start(t.Context()))
	t.Cleanup(func() { _ = w.Stop(context.Background()) })
	require.Eventually(t, func() bool {
		var uuids []string
		rows, err := pool.Query(t.Context(), `SELECT uuid FROM fleet_webhook_delivery`)
		if err != nil {
			return false
		}
		for rows.Next() {
			var u string
			_ = rows.Scan(&u)
			uuids = append(uuids, u)
		}
		return rows.Err() == nil && len(uuids) == 1 && uuids[0] == "new"
	}, 20*time.Second, 100*time.Millisecond)
}

// TestWakeTx: a wake inside the platform's transaction is committed with
// it, or rolled back with it.
func TestWakeTx(t *testing.T) {
	dsn := testDatabase(t)
	pool := testPool(t, dsn)
	ctx := t.Context()
	wakes := func() int {
		var n int
		_ = pool.QueryRow(ctx, `SELECT wakes FROM fleet_org WHERE org = 'org-a'`).Scan(&n)
		return n
	}
	tx, err := pool.Begin(ctx)
	require.NoError(t, err)
	require.NoError(t, fleet.WakeTx(ctx, tx, "org-a"))
	require.NoError(t, tx.Rollback(ctx))
	require.Zero(t, wakes())
	require.Empty(t, jobsOf(t, dsn, "org-a"))

	require.NoError(t, pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return fleet.WakeTx(ctx, tx, "org-a") }))
	require.Equal(t, 1, wakes())
	require.Equal(t, []string{"available"}, jobsOf(t, dsn, "org-a"))

	// A run due an hour ahead only for its Verify, at the lower priority:
	// woken, it is due now at the priority of the others.
	_, err = pool.Exec(ctx, `UPDATE river_job SET state = 'scheduled', scheduled_at = now() + interval '1 hour', priority = 3
		WHERE args->>'org' = 'org-a'`)
	require.NoError(t, err)
	require.NoError(t, pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return fleet.WakeTx(ctx, tx, "org-a") }))
	var state string
	var priority int
	require.NoError(t, pool.QueryRow(ctx, `SELECT state::text, priority FROM river_job WHERE args->>'org' = 'org-a'`).Scan(&state, &priority))
	require.Equal(t, "available", state)
	require.Equal(t, 1, priority)
}

// TestStatusAndReady: /readyz says whether the worker runs; /status/{org}
// and the metrics show the organization's state from the database.
func TestStatusAndReady(t *testing.T) {
	dsn := testDatabase(t)
	srv := kisitest.NewServer()
	t.Cleanup(srv.Close)
	cfg, err := fleet.ParseConfig([]byte(`{"ceiling": "1h",
		"organizations": [{"id": "org-a", "kisi_user": "u1", "api_key": "` + srv.APIKey + `", "base_url": "` + srv.URL + `"}]}`))
	require.NoError(t, err)
	store := access.NewMemoryStore()
	empty := fleet.LoaderFunc(func(context.Context, string) (access.Snapshot, error) { return access.Snapshot{}, nil })
	w, err := fleet.New(testPool(t, dsn), cfg, store, empty, fleet.Options{ID: "w1"})
	require.NoError(t, err)
	h := fleet.NewHandler(w)
	get := func(path string) (int, string) {
		rw := httptest.NewRecorder()
		h.ServeHTTP(rw, httptest.NewRequest(http.MethodGet, path, nil))
		return rw.Code, rw.Body.String()
	}
	code, _ := get("/readyz")
	require.Equal(t, http.StatusServiceUnavailable, code, "not started")
	require.NoError(t, w.Start(t.Context()))
	t.Cleanup(func() { _ = w.Stop(context.Background()) })
	code, _ = get("/readyz")
	require.Equal(t, http.StatusOK, code)

	require.Eventually(t, func() bool {
		_, body := get("/metrics")
		return strings.Contains(body, `kisisync_fleet_jobs{state="scheduled"} 1`) &&
			strings.Contains(body, "kisisync_fleet_organizations_not_clean 0") &&
			strings.Contains(body, "kisisync_fleet_state_scrape_errors 0")
	}, 10*time.Second, 50*time.Millisecond)

	// A park in the Store shows in the status.
	ctx := t.Context()
	now := time.Now()
	token, err := store.Lease(ctx, "org-a", "seed", now, now.Add(time.Minute))
	require.NoError(t, err)
	require.NoError(t, store.Put(ctx, "org-a", token, state.Record{Key: "park/organization", Kind: state.KindPark,
		Class: "systemic", Attempts: 2, RetryAt: now.Add(time.Hour)}))
	code, body := get("/status/org-a")
	require.Equal(t, http.StatusOK, code, body)
	var st fleet.Status
	require.NoError(t, json.Unmarshal([]byte(body), &st))
	require.Equal(t, "ok", st.LastResult)
	require.Equal(t, "scheduled", st.Job)
	require.NotNil(t, st.LastOK)
	require.Len(t, st.Parked, 1)
	require.Equal(t, 2, st.Parked[0].Attempts)
	code, _ = get("/status/org-z")
	require.Equal(t, http.StatusNotFound, code)
}
