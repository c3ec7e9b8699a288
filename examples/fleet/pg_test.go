package fleet_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/examples/fleet"
)

// postgresURL is the environment variable naming the PostgreSQL server the
// tests use; each test creates its own database there and drops it.
const postgresURL = "KISISYNC_POSTGRES_URL"

// testDatabase creates an empty database for this test on the server of
// $KISISYNC_POSTGRES_URL, migrated (River and the fleet's tables), and
// returns its URL. It is dropped when the test ends. Without the variable
// the test is skipped, or fails when CI=true.
func testDatabase(t *testing.T) string {
	t.Helper()
	dsn := emptyDatabase(t)
	require.NoError(t, fleet.Migrate(context.Background(), testPool(t, dsn)))
	return dsn
}

// emptyDatabase creates an empty database for this test, as testDatabase
// does, without migrating it.
func emptyDatabase(t *testing.T) string {
	t.Helper()
	base := os.Getenv(postgresURL)
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set: CI must provide a PostgreSQL server for the fleet tests", postgresURL)
		}
		t.Skipf("%s is not set: no PostgreSQL server to test against (e.g. postgres://postgres@127.0.0.1:5432/postgres)", postgresURL)
	}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, base)
	require.NoError(t, err, "connect to %s", postgresURL)
	defer admin.Close(ctx)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "fleet_test_" + hex.EncodeToString(b)
	_, err = admin.Exec(ctx, "CREATE DATABASE "+name)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Logf("drop database %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			t.Logf("drop database %s: %v", name, err)
		}
	})
	return withDatabase(t, base, name)
}

// withDatabase returns the connection string base with its database
// replaced by name, for URLs and keyword/value strings alike.
func withDatabase(t *testing.T, base, name string) string {
	t.Helper()
	if strings.Contains(base, "://") {
		u, err := url.Parse(base)
		require.NoError(t, err)
		u.Path = "/" + name
		return u.String()
	}
	return base + " dbname=" + name
}

// testPool opens a pool on dsn, closed when the test ends.
func testPool(t *testing.T, dsn string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), dsn)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return pool
}
