package fleet_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/kisisync/kisisync/examples/fleet"
)

// TestMigrateConcurrently: three deploys migrating a new database at once
// all succeed (they take turns), and the fleet's tables reach the last
// version; migrating again changes nothing.
func TestMigrateConcurrently(t *testing.T) {
	dsn := emptyDatabase(t)
	var g errgroup.Group
	for range 3 {
		pool := testPool(t, dsn) // one process each
		g.Go(func() error { return fleet.Migrate(context.Background(), pool) })
	}
	require.NoError(t, g.Wait())
	pool := testPool(t, dsn)
	require.NoError(t, fleet.Migrate(t.Context(), pool))
	var version int
	require.NoError(t, pool.QueryRow(t.Context(), `SELECT version FROM fleet_schema`).Scan(&version))
	require.Equal(t, len(fleet.Migrations)-1, version)
}
