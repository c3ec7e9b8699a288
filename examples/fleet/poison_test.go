package fleet_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/state"
	"github.com/kisisync/kisisync/examples/fleet"
	"github.com/kisisync/kisisync/kisi/kisitest"
)

// forgetfulStore keeps no park records: a back-off lives only as long as
// the Reconciler of one run, as when the worker made a new Reconciler per
// run and the back-off was kept in it.
type forgetfulStore struct{ access.Store }

func (s forgetfulStore) Load(ctx context.Context, org string) ([]state.Record, error) {
	recs, err := s.Store.Load(ctx, org)
	return slices.DeleteFunc(recs, func(r state.Record) bool { return r.Kind == state.KindPark }), err
}

func (s forgetfulStore) Put(ctx context.Context, org string, token int64, rec state.Record) error {
	if rec.Kind == state.KindPark {
		return nil
	}
	return s.Store.Put(ctx, org, token, rec)
}

// TestPoisonOrganizationBacksOff (issue 29): Kisi refuses an
// organization's API key (401) on every request. Two worker processes run
// it one after the other, each run with a new Reconciler. Each run asks
// Kisi once and schedules the next after a back-off that doubles from
// RetryAfter (1 s: 1, 2, 4, 8 s), whichever process ran the one before,
// since the back-off is kept in the Store. With a Store that forgets it, every run
// schedules the next RetryAfter later, forever. (River makes a job
// scheduled ahead available every 5 s, so the runs come at most that
// often either way; the waits they schedule tell.)
func TestPoisonOrganizationBacksOff(t *testing.T) {
	for _, tc := range []struct {
		name      string
		forgetful bool
	}{
		{"back-off in the Store", false},
		{"back-off forgotten between runs", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dsn := testDatabase(t)
			srv := kisitest.NewServer()
			t.Cleanup(srv.Close)
			g, err := srv.AddGroup("Members", 0)
			require.NoError(t, err)
			srv.Intercept(func(*http.Request) kisitest.Fault { return kisitest.Fault{Status: http.StatusUnauthorized} })
			cfg, err := fleet.ParseConfig(fmt.Appendf(nil, `{"floor": "50ms", "ceiling": "1h", "retry_after": "1s", "verify_every": "-1s",
				"organizations": [{"id": "org-p", "kisi_user": "u1", "api_key": %q, "base_url": %q, "mapping": {"plans": {"flex": [%d]}}}]}`,
				srv.APIKey, srv.URL, g))
			require.NoError(t, err)
			now := time.Now()
			loader := fleet.LoaderFunc(func(context.Context, string) (access.Snapshot, error) {
				return access.Snapshot{
					Members: []access.Member{{ID: "m1", Email: "ann@example.com", Name: "Ann", Managed: true}},
					Plans:   []access.Plan{{ID: "p1", PlanID: "flex", MemberID: "m1", Status: access.PlanActive, Start: now.Add(-time.Hour)}},
				}, nil
			})
			pool := testPool(t, dsn)
			logs := &logBuffer{}
			start := func(id string) *fleet.Worker {
				var store access.Store = openStore(t, dsn)
				if tc.forgetful {
					store = forgetfulStore{store}
				}
				w, err := fleet.New(pool, cfg, store, loader, fleet.Options{ID: id, Logger: slog.New(slog.NewJSONHandler(logs, nil))})
				require.NoError(t, err)
				require.NoError(t, w.Start(t.Context()))
				t.Cleanup(func() { _ = w.Stop(context.Background()) })
				return w
			}
			var waits []time.Duration // from each run's start to the next run it scheduled
			var ran []string          // which process ran each
			runs := func(n int) {
				t.Helper()
				require.Eventually(t, func() bool {
					waits, ran = nil, nil
					for _, l := range logs.lines(`"msg":"run finished"`, `"organization":"org-p"`) {
						var r struct {
							Time     time.Time `json:"time"`
							Run      string    `json:"run"`
							Result   string    `json:"result"`
							Requests int       `json:"kisi_requests"`
							Duration int64     `json:"duration_ms"`
							Next     time.Time `json:"next_run"`
						}
						require.NoError(t, json.Unmarshal([]byte(l), &r))
						require.Equal(t, "systemic", r.Result, l)
						require.Equal(t, 1, r.Requests, "one request, refused, stops the run: %s", l)
						// From the run's start: the back-off is set during
						// the run, so the wait is the back-off plus part of
						// the run's time (a few milliseconds; allowed up to
						// 750 ms, and 250 ms for the log's millisecond).
						started := r.Time.Add(-time.Duration(r.Duration) * time.Millisecond)
						waits = append(waits, (r.Next.Sub(started) + 250*time.Millisecond).Truncate(time.Second))
						ran = append(ran, strings.SplitN(r.Run, "/", 2)[0])
					}
					return len(waits) >= n
				}, 40*time.Second, 50*time.Millisecond, "fewer than %d runs", n)
			}
			// Two runs by w1, then w1 stops and w2 (a new process, new
			// Reconcilers) runs the next two.
			w1 := start("w1")
			runs(2)
			require.NoError(t, w1.Stop(t.Context()))
			start("w2")
			runs(4)
			require.Equal(t, []string{"w1", "w1", "w2", "w2"}, ran[:4])
			t.Logf("runs by %v scheduled the next after %v", ran, waits)
			if tc.forgetful {
				require.Equal(t, []time.Duration{time.Second, time.Second, time.Second, time.Second}, waits[:4],
					"a Store that forgets the back-off: every run waits RetryAfter")
				return
			}
			require.Equal(t, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}, waits[:4],
				"the back-off doubles from run to run")
		})
	}
}
