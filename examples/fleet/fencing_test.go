package fleet_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/pgstore"
	"github.com/kisisync/kisisync/access/state"
	"github.com/kisisync/kisisync/examples/fleet"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/kisi/kisitest"
	"github.com/kisisync/kisisync/mapping"
)

// suspendClock is the real clock of a process whose machine was
// suspended: time spent suspended does not count (Linux's monotonic clock
// stops during a suspend), so a run that resumes believes its lease as
// fresh as before.
type suspendClock struct {
	clockwork.Clock
	lost atomic.Int64 // nanoseconds spent suspended
}

func (c *suspendClock) Now() time.Time { return c.Clock.Now().Add(-time.Duration(c.lost.Load())) }

func (c *suspendClock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }

// suspendingStore suspends the machine, once, on the run's first write of
// a created role (its Kisi create went through): it runs during while
// suspended, then resumes the write with the time lost hidden from clock.
type suspendingStore struct {
	access.Store
	clock  *suspendClock
	during func()
	once   sync.Once
}

func (s *suspendingStore) Put(ctx context.Context, org string, token int64, rec state.Record) error {
	if rec.Kind == state.KindRole && rec.State == state.StateSettled && rec.KisiID != 0 {
		s.once.Do(func() {
			start := s.clock.Clock.Now()
			s.during()
			s.clock.lost.Add(int64(s.clock.Clock.Since(start)))
		})
	}
	return s.Store.Put(ctx, org, token, rec)
}

// unfencedStore is pgstore with its fencing taken out: writes land
// whatever the token (the mutation the fencing test must catch).
type unfencedStore struct {
	access.Store
	pool *pgxpool.Pool
}

func (s unfencedStore) Put(ctx context.Context, org string, _ int64, rec state.Record) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO kisisync_records (organization, key, record) VALUES ($1, $2, $3)
		ON CONFLICT (organization, key) DO UPDATE SET record = EXCLUDED.record`, org, rec.Key, json.RawMessage(b))
	return err
}

func (s unfencedStore) Delete(ctx context.Context, org string, _ int64, key string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM kisisync_records WHERE organization = $1 AND key = $2`, org, key)
	return err
}

// TestFencingStopsASuspendedRun (issue 29): a worker's machine is
// suspended right after Kisi created a member's role and before the run
// records it; its monotonic clock stops meanwhile, so when it resumes the
// run believes its lease still fresh and the run's own deadline checks
// pass. Meanwhile the lease expired on the database's clock and another
// run (an operator's apply on the same Store) ended the member's plan: it
// took over, adopted the role and deleted it. The check: afterwards a plan
// is empty and Kisi holds no role for the member. With the Store's fencing
// the resumed write is refused and the check holds; with the fencing taken
// out (unfencedStore) the resumed run records a role Kisi no longer has,
// and the same check fails — so it can catch the fencing's removal.
func TestFencingStopsASuspendedRun(t *testing.T) {
	for _, tc := range []struct {
		name     string
		unfenced bool
	}{{"fenced", false}, {"fencing removed", true}} {
		t.Run(tc.name, func(t *testing.T) {
			dsn := testDatabase(t)
			pool := testPool(t, dsn)
			srv := kisitest.NewServer(kisitest.WithoutRateLimit())
			t.Cleanup(srv.Close)
			g, err := srv.AddGroup("Members", 0)
			require.NoError(t, err)
			m := mapping.Mapping{Plans: map[string][]int64{"flex": {g}}}
			now := time.Now()
			snap := access.Snapshot{
				Members: []access.Member{{ID: "m1", Email: "ann@example.com", Managed: true}},
				Plans:   []access.Plan{{ID: "p1", PlanID: "flex", MemberID: "m1", Status: access.PlanActive, Start: now.Add(-time.Hour)}},
			}
			ended := snap
			ended.Plans = []access.Plan{{ID: "p1", PlanID: "flex", MemberID: "m1", Status: access.PlanCancelled, Start: now.Add(-time.Hour)}}
			const ttl = time.Second
			cfgJSON, err := json.Marshal(fleet.Config{Floor: fleet.Duration(10 * time.Millisecond), Ceiling: fleet.Duration(time.Hour),
				LeaseTTL: fleet.Duration(ttl), Organizations: []fleet.Organization{{ID: "org-a", KisiUser: "u1",
					APIKey: srv.APIKey, BaseURL: srv.URL, Mapping: m}}})
			require.NoError(t, err)
			cfg, err := fleet.ParseConfig(cfgJSON)
			require.NoError(t, err)

			var store access.Store = pgstore.New(pool)
			if tc.unfenced {
				store = unfencedStore{Store: store, pool: pool}
			}
			clock := &suspendClock{Clock: clockwork.NewRealClock()}
			kc, err := kisi.NewClient(srv.APIKey, kisi.WithBaseURL(srv.URL), kisi.WithRateLimit(1000, 100))
			require.NoError(t, err)
			var other *access.Report
			var otherErr error
			suspended := &suspendingStore{Store: store, clock: clock, during: func() {
				time.Sleep(ttl + 500*time.Millisecond) // the lease expires on the database's clock
				r, err := access.NewReconciler(kc, pgstore.New(pool), m, access.DefaultPolicy(),
					access.WithOrganization("org-a"), access.WithHolder("operator"))
				require.NoError(t, err)
				other, otherErr = r.Sync(context.Background(), ended)
			}}
			var runs atomic.Int32
			loader := fleet.LoaderFunc(func(context.Context, string) (access.Snapshot, error) {
				runs.Add(1)
				return snap, nil
			})
			w, err := fleet.New(pool, cfg, suspended, loader, fleet.Options{ID: "w1", Clock: clock})
			require.NoError(t, err)
			require.NoError(t, w.Start(t.Context()))
			t.Cleanup(func() { _ = w.Stop(context.Background()) })
			require.Eventually(t, func() bool {
				var finished bool
				err := pool.QueryRow(t.Context(), `SELECT last_finished IS NOT NULL FROM fleet_org WHERE org = 'org-a'`).Scan(&finished)
				return err == nil && finished
			}, 30*time.Second, 20*time.Millisecond)
			require.NoError(t, w.Stop(context.Background()))
			require.NoError(t, otherErr, "the operator's run")
			require.Equal(t, 1, other.Deleted, "the operator's run ended the member's role")

			err = check(t, kc, pgstore.New(pool), m, ended, g)
			if tc.unfenced {
				require.Error(t, err, "the check missed the stale write of a run without fencing")
				t.Logf("without fencing: %v", err)
				return
			}
			require.NoError(t, err)
		})
	}
}

// check is the safety check after the runs: Kisi holds no role in group g
// (the member's plan ended), and a plan of snap against the Store is empty:
// the Store records what Kisi holds.
func check(t *testing.T, kc *kisi.Client, store access.Store, m mapping.Mapping, snap access.Snapshot, g int64) error {
	t.Helper()
	ras, _, err := kc.ListRoleAssignments(t.Context(), &kisi.RoleAssignmentListOptions{AppliesToType: kisi.ScopeGroup, AppliesToID: g})
	require.NoError(t, err)
	if len(ras) != 0 {
		return fmt.Errorf("Kisi holds %d roles in the group after the member's plan ended", len(ras))
	}
	r, err := access.NewReconciler(kc, store, m, access.DefaultPolicy(), access.WithOrganization("org-a"), access.WithHolder("check"))
	require.NoError(t, err)
	c, err := r.Plan(t.Context(), snap)
	require.NoError(t, err)
	if !c.Empty() {
		return fmt.Errorf("the Store does not record what Kisi holds; a plan:\n%s", c)
	}
	return nil
}
