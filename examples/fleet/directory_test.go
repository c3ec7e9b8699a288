package fleet_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/examples/fleet"
	"github.com/kisisync/kisisync/kisi/kisitest"
)

// runsSeen is a Loader that records the organizations it was asked for.
type runsSeen struct {
	mu   sync.Mutex
	orgs map[string]int
}

func (r *runsSeen) Load(_ context.Context, org string) (access.Snapshot, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.orgs == nil {
		r.orgs = map[string]int{}
	}
	r.orgs[org]++
	return access.Snapshot{}, nil
}

func (r *runsSeen) runs(org string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.orgs[org]
}

// TestDatabaseDirectory: the platform adds an organization in its own
// transaction (its row and its wake) and a running worker syncs it, with
// no redeploy; a removed organization is unknown at once.
func TestDatabaseDirectory(t *testing.T) {
	dsn := testDatabase(t)
	srv := kisitest.NewServer()
	t.Cleanup(srv.Close)
	cfg, err := fleet.ParseConfig([]byte(`{"organizations_from": "database", "floor": "100ms", "ceiling": "1h"}`))
	require.NoError(t, err)
	pool := testPool(t, dsn)
	seen := &runsSeen{}
	w, err := fleet.New(pool, cfg, access.NewMemoryStore(), seen, fleet.Options{ID: "w1"})
	require.NoError(t, err)
	ctx := t.Context()
	require.NoError(t, w.Start(ctx))
	t.Cleanup(func() { _ = w.Stop(context.Background()) })
	require.ErrorIs(t, w.Wake(ctx, "org-a", false), fleet.ErrUnknownOrganization)

	org, err := json.Marshal(fleet.Organization{KisiUser: "u1", APIKey: srv.APIKey, BaseURL: srv.URL})
	require.NoError(t, err)
	require.NoError(t, pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO fleet_organization (id, config) VALUES ('org-a', $1)`, org); err != nil {
			return err
		}
		return fleet.WakeTx(ctx, tx, "org-a")
	}))
	require.Eventually(t, func() bool { return seen.runs("org-a") == 1 }, 10*time.Second, 20*time.Millisecond)
	st, err := w.Status(ctx, "org-a")
	require.NoError(t, err)
	require.Eventually(t, func() bool { st, err = w.Status(ctx, "org-a"); return err == nil && st.LastResult == "ok" }, 10*time.Second, 20*time.Millisecond)

	_, err = pool.Exec(ctx, `DELETE FROM fleet_organization WHERE id = 'org-a'`)
	require.NoError(t, err)
	require.ErrorIs(t, w.Wake(ctx, "org-a", false), fleet.ErrUnknownOrganization)
}

// TestRollingDeploy: during a rolling deploy a process of the old
// configuration meets the job of an organization only the new one knows;
// it leaves the job (snoozed, not cancelled) and a new process runs it.
func TestRollingDeploy(t *testing.T) {
	dsn := testDatabase(t)
	srv := kisitest.NewServer()
	t.Cleanup(srv.Close)
	org := func(id string) string {
		return `{"id": "` + id + `", "kisi_user": "u1", "api_key": "` + srv.APIKey + `", "base_url": "` + srv.URL + `"}`
	}
	oldCfg, err := fleet.ParseConfig([]byte(`{"floor": "100ms", "ceiling": "1s", "organizations": [` + org("org-a") + `]}`))
	require.NoError(t, err)
	newCfg, err := fleet.ParseConfig([]byte(`{"floor": "100ms", "ceiling": "1s", "organizations": [` + org("org-a") + `,` + org("org-b") + `]}`))
	require.NoError(t, err)
	pool := testPool(t, dsn)
	ctx := t.Context()
	oldSeen, newSeen := &runsSeen{}, &runsSeen{}
	old, err := fleet.New(pool, oldCfg, access.NewMemoryStore(), oldSeen, fleet.Options{ID: "old"})
	require.NoError(t, err)
	require.NoError(t, old.Start(ctx))
	t.Cleanup(func() { _ = old.Stop(context.Background()) })
	// The new process inserts org-b's job as it starts; the old one is
	// free to take it first.
	require.NoError(t, pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return fleet.WakeTx(ctx, tx, "org-b") }))
	require.Eventually(t, func() bool {
		var attempted bool
		_ = pool.QueryRow(ctx, `SELECT attempted_at IS NOT NULL FROM river_job WHERE args->>'org' = 'org-b'`).Scan(&attempted)
		return attempted
	}, 10*time.Second, 20*time.Millisecond, "the old process never took org-b's job")
	jobs := jobsOf(t, dsn, "org-b")
	require.Len(t, jobs, 1)
	require.Contains(t, []string{"scheduled", "available", "running"}, jobs[0], "left for another process, not cancelled")

	w, err := fleet.New(pool, newCfg, access.NewMemoryStore(), newSeen, fleet.Options{ID: "new"})
	require.NoError(t, err)
	require.NoError(t, w.Start(ctx))
	t.Cleanup(func() { _ = w.Stop(context.Background()) })
	require.Eventually(t, func() bool { return newSeen.runs("org-b") > 0 }, 20*time.Second, 50*time.Millisecond)
	require.Zero(t, oldSeen.runs("org-b"))
}
