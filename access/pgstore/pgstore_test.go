package pgstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/pgstore"
	"github.com/kisisync/kisisync/access/state"
	"github.com/kisisync/kisisync/access/storetest"
)

// urlEnv names the environment variable with the URL of the PostgreSQL
// database the tests use.
const urlEnv = "KISISYNC_POSTGRES_URL"

// databaseURL returns the test database's URL. Without one the test is
// skipped, unless CI=true: CI must run it.
func databaseURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv(urlEnv)
	switch {
	case u != "":
		return u
	case os.Getenv("CI") == "true":
		t.Fatalf("%s is not set, and CI=true: CI must run the PostgreSQL tests (.ci/run starts a server and sets it)", urlEnv)
	default:
		t.Skipf("%s is not set: skipping the PostgreSQL tests (set it to a database URL, e.g. postgres://postgres@127.0.0.1:5433/kisisync, to run them)", urlEnv)
	}
	return ""
}

// schema creates a schema of its own for t, dropped when t ends, and
// returns a function that opens a new pool (a new handle, as another
// process would) whose tables live in it.
func schema(t *testing.T) func() *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(databaseURL(t))
	if err != nil {
		t.Fatal(err)
	}
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	name := "kisisync_test_" + hex.EncodeToString(b[:])
	admin, err := pgx.ConnectConfig(t.Context(), cfg.ConnConfig.Copy())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(t.Context(), "CREATE SCHEMA "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background() // t.Context() is done when cleanups run
		if _, err := admin.Exec(ctx, "DROP SCHEMA "+name+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", name, err)
		}
		_ = admin.Close(ctx)
	})
	cfg.ConnConfig.RuntimeParams["search_path"] = name
	cfg.MaxConns = 4
	return func() *pgxpool.Pool {
		pool, err := pgxpool.NewWithConfig(t.Context(), cfg.Copy())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		return pool
	}
}

// TestConformance runs the suite against a real PostgreSQL server, each
// handle a Store on a pool of its own, as separate processes would.
func TestConformance(t *testing.T) {
	databaseURL(t)
	t.Parallel()
	storetest.Run(t, func(t *testing.T) func() access.Store {
		pool := schema(t)
		if err := pgstore.New(pool()).Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
		return func() access.Store { return pgstore.New(pool()) }
	})
}

// TestMigrateTwice: Migrate is idempotent, also when run at once from
// several processes, and records the version.
func TestMigrateTwice(t *testing.T) {
	t.Parallel()
	pool := schema(t)
	errs := make(chan error, 3)
	for range 3 {
		go func() { errs <- pgstore.New(pool()).Migrate(t.Context()) }()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	p := pool()
	var version int
	if err := p.QueryRow(t.Context(), `SELECT max(version) FROM kisisync_schema`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	ms, err := pgstore.Versions()
	if err != nil {
		t.Fatal(err)
	}
	if want := ms[len(ms)-1].Version; version != want {
		t.Fatalf("schema version %d, want %d", version, want)
	}
}

// TestLeaseOnServerClock: the lease's expiry is judged by the server's
// clock, so workers whose clocks disagree by years still exclude each
// other; only the duration expires−now counts.
func TestLeaseOnServerClock(t *testing.T) {
	t.Parallel()
	pool := schema(t)
	st := pgstore.New(pool())
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	slow := time.Date(2001, time.January, 1, 0, 0, 0, 0, time.UTC)
	fast := time.Date(2101, time.January, 1, 0, 0, 0, 0, time.UTC)
	if _, err := st.Lease(t.Context(), "org", "run-1", slow, slow.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	_, err := st.Lease(t.Context(), "org", "run-2", fast, fast.Add(time.Hour))
	if !errors.Is(err, state.ErrLeaseHeld) {
		t.Fatalf("a worker whose clock is a century ahead took a valid lease: %v", err)
	}
	var lhe *state.LeaseHeldError
	if !errors.As(err, &lhe) || time.Until(lhe.Expires) < 50*time.Minute || time.Until(lhe.Expires) > 70*time.Minute {
		t.Fatalf("LeaseHeldError = %+v, want an expiry an hour from the server's now", lhe)
	}
}

// TestOldRecords: records written at schema version 1, as rows of its
// table, load with none of their fields lost.
func TestOldRecords(t *testing.T) {
	t.Parallel()
	pool := schema(t)()
	st := pgstore.New(pool)
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, doc := range storetest.OldRecords() {
		var rec struct{ Key string }
		if err := json.Unmarshal(doc, &rec); err != nil {
			t.Fatal(err)
		}
		if _, err := pool.Exec(t.Context(), `INSERT INTO kisisync_records (organization, key, record) VALUES ($1, $2, $3)`,
			"org", rec.Key, string(doc)); err != nil {
			t.Fatal(err)
		}
	}
	storetest.CheckOldRecords(t, st, "org")
}
