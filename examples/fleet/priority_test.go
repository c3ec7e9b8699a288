package fleet_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/examples/fleet"
	"github.com/kisisync/kisisync/kisi/kisitest"
)

// TestVerifyBacklogWaits: with 10,000 organizations due for their periodic
// Verify at once (the lower priority) and one organization woken for a
// change, the woken one runs first.
func TestVerifyBacklogWaits(t *testing.T) {
	if testing.Short() {
		t.Skip("inserts 10,000 jobs")
	}
	const n = 10_000
	dsn := testDatabase(t)
	srv := kisitest.NewServer(kisitest.WithoutRateLimit())
	t.Cleanup(srv.Close)
	cfg := &fleet.Config{Floor: fleet.Duration(time.Second), VerifyEvery: fleet.Duration(-1), Workers: 1}
	for i := range n + 1 {
		cfg.Organizations = append(cfg.Organizations, fleet.Organization{ID: fmt.Sprintf("org-%05d", i), KisiUser: "u1",
			APIKey: srv.APIKey, BaseURL: srv.URL})
	}
	b, err := json.Marshal(cfg)
	require.NoError(t, err)
	cfg, err = fleet.ParseConfig(b)
	require.NoError(t, err)

	pool := testPool(t, dsn)
	ctx := t.Context()
	rc, err := river.NewClient(riverpgxv5.New(pool), &river.Config{})
	require.NoError(t, err)
	params := make([]river.InsertManyParams, n)
	for i := range n {
		params[i] = river.InsertManyParams{Args: fleet.SyncArgs{Org: fmt.Sprintf("org-%05d", i+1)}, InsertOpts: &river.InsertOpts{Priority: 3}}
	}
	_, err = rc.InsertMany(ctx, params)
	require.NoError(t, err)
	require.NoError(t, pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return fleet.WakeTx(ctx, tx, "org-00000") }))

	var mu sync.Mutex
	var order []string
	loader := fleet.LoaderFunc(func(_ context.Context, org string) (access.Snapshot, error) {
		mu.Lock()
		order = append(order, org)
		mu.Unlock()
		return access.Snapshot{}, nil
	})
	w, err := fleet.New(pool, cfg, access.NewMemoryStore(), loader, fleet.Options{ID: "w1"})
	require.NoError(t, err)
	require.NoError(t, w.Start(ctx))
	t.Cleanup(func() { _ = w.Stop(context.Background()) })
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(order) >= 3 }, 30*time.Second, 20*time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, "org-00000", order[0], "the woken organization waited behind the Verify backlog: %v", order)
}
