package pgstore

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kisisync/kisisync/access/state"
)

// Store is an [github.com/kisisync/kisisync/access.Store] in a PostgreSQL
// database, safe for concurrent use by any number of processes and hosts.
type Store struct {
	pool *pgxpool.Pool
}

// New returns a Store on pool, which the caller owns (and closes). New
// does no I/O; call [Store.Migrate] before use. The tables live in the
// schema the pool's connections resolve unqualified names in (search_path).
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

//go:embed migrations/*.sql
var migrations embed.FS

// Migration is one version of the schema.
type Migration struct {
	Version int
	SQL     string
}

// Versions returns the schema versions Migrate knows, in order, with their
// SQL: the files migrations/NNN_name.sql of this module.
func Versions() ([]Migration, error) {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	out := make([]Migration, 0, len(names))
	for _, n := range names {
		v, err := strconv.Atoi(strings.SplitN(path.Base(n), "_", 2)[0])
		if err != nil {
			return nil, fmt.Errorf("pgstore: migration %s: %w", n, err)
		}
		b, err := migrations.ReadFile(n)
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, SQL: string(b)})
	}
	return out, nil
}

// migrateLock is the key of the transaction-level advisory lock that keeps
// concurrent Migrate calls apart.
const migrateLock = 0x6b697369 // "kisi"

// Migrate brings the schema to the latest version in one transaction:
// under an advisory lock, it creates the table kisisync_schema if needed
// and applies every version not recorded there, in order. It is safe to
// call on every start and from several processes at once.
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := Versions()
	if err != nil {
		return err
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrateLock)); err != nil {
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS kisisync_schema (
	version integer PRIMARY KEY,
	applied timestamptz NOT NULL DEFAULT now()
)`); err != nil {
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
	for _, m := range ms {
		var done bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM kisisync_schema WHERE version = $1)`, m.Version).Scan(&done); err != nil {
			return fmt.Errorf("pgstore: migrate: %w", err)
		}
		if done {
			continue
		}
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			return fmt.Errorf("pgstore: migrate to version %d: %w", m.Version, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO kisisync_schema (version) VALUES ($1)`, m.Version); err != nil {
			return fmt.Errorf("pgstore: migrate to version %d: %w", m.Version, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
	return nil
}

// Lease implements access.Store. Expiry is judged by the database
// server's clock: the lease is granted for expires−now from the server's
// present (clock_timestamp()), so the callers' clocks may differ.
func (s *Store) Lease(ctx context.Context, org, holder string, now, expires time.Time) (int64, error) {
	if holder == "" {
		return 0, errors.New("pgstore: empty lease holder")
	}
	if expires.IsZero() {
		if _, err := s.pool.Exec(ctx,
			`UPDATE kisisync_leases SET holder = '', expires = '-infinity' WHERE organization = $1 AND holder = $2`,
			org, holder); err != nil {
			return 0, fmt.Errorf("pgstore: release lease of %q: %w", org, err)
		}
		return 0, nil
	}
	var token int64
	err := s.pool.QueryRow(ctx, `
INSERT INTO kisisync_leases AS l (organization, holder, token, expires)
VALUES ($1, $2, 1, clock_timestamp() + $3::bigint * interval '1 microsecond')
ON CONFLICT (organization) DO UPDATE SET
	token = CASE WHEN l.holder = EXCLUDED.holder THEN l.token ELSE l.token + 1 END,
	holder = EXCLUDED.holder,
	expires = EXCLUDED.expires
WHERE l.holder = EXCLUDED.holder OR l.holder = '' OR l.expires <= clock_timestamp()
RETURNING l.token`, org, holder, expires.Sub(now).Microseconds()).Scan(&token)
	switch {
	case err == nil:
		return token, nil
	case !errors.Is(err, pgx.ErrNoRows):
		return 0, fmt.Errorf("pgstore: lease of %q: %w", org, err)
	}
	var exp time.Time
	if err := s.pool.QueryRow(ctx, `SELECT expires FROM kisisync_leases WHERE organization = $1`, org).Scan(&exp); err != nil {
		return 0, fmt.Errorf("pgstore: lease of %q: %w", org, err)
	}
	return 0, &state.LeaseHeldError{Organization: org, Expires: exp.UTC()}
}

// Load implements access.Store.
func (s *Store) Load(ctx context.Context, org string) ([]state.Record, error) {
	rows, err := s.pool.Query(ctx, `SELECT record FROM kisisync_records WHERE organization = $1 ORDER BY key`, org)
	if err != nil {
		return nil, fmt.Errorf("pgstore: load %q: %w", org, err)
	}
	defer rows.Close()
	out := []state.Record{}
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return nil, fmt.Errorf("pgstore: load %q: %w", org, err)
		}
		var rec state.Record
		if err := json.Unmarshal(b, &rec); err != nil {
			return nil, fmt.Errorf("pgstore: load %q: decode record: %w", org, err)
		}
		out = append(out, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: load %q: %w", org, err)
	}
	return out, nil
}

// Put implements access.Store: one statement that writes only while
// token is org's current term. It share-locks the lease row, so a takeover
// waits for the write to commit, and a write that waited for a takeover
// finds the new term and writes nothing.
func (s *Store) Put(ctx context.Context, org string, token int64, rec state.Record) error {
	if rec.Key == "" {
		return errors.New("pgstore: record with empty key")
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("pgstore: put %s: %w", rec.Key, err)
	}
	tag, err := s.pool.Exec(ctx, `
WITH l AS (
	SELECT 1 FROM kisisync_leases WHERE organization = $1 AND token = $2 AND holder <> '' FOR SHARE
)
INSERT INTO kisisync_records (organization, key, record)
SELECT $1, $3, $4 FROM l
ON CONFLICT (organization, key) DO UPDATE SET record = EXCLUDED.record`, org, token, rec.Key, json.RawMessage(b))
	if err != nil {
		return fmt.Errorf("pgstore: put %s: %w", rec.Key, err)
	}
	if tag.RowsAffected() == 0 {
		return lost(org, token)
	}
	return nil
}

// Delete implements access.Store: one statement fenced like Put; when it
// deleted nothing, a second one tells a missing key from a lost lease (a
// term once over never comes back).
func (s *Store) Delete(ctx context.Context, org string, token int64, key string) error {
	tag, err := s.pool.Exec(ctx, `
WITH l AS (
	SELECT 1 FROM kisisync_leases WHERE organization = $1 AND token = $2 AND holder <> '' FOR SHARE
)
DELETE FROM kisisync_records r USING l WHERE r.organization = $1 AND r.key = $3`, org, token, key)
	if err != nil {
		return fmt.Errorf("pgstore: delete %s: %w", key, err)
	}
	if tag.RowsAffected() > 0 {
		return nil
	}
	var current bool
	if err := s.pool.QueryRow(ctx,
		`SELECT EXISTS (SELECT 1 FROM kisisync_leases WHERE organization = $1 AND token = $2 AND holder <> '')`,
		org, token).Scan(&current); err != nil {
		return fmt.Errorf("pgstore: delete %s: %w", key, err)
	}
	if !current {
		return lost(org, token)
	}
	return nil
}

func lost(org string, token int64) error {
	return fmt.Errorf("pgstore: token %d of %q: %w", token, org, state.ErrLeaseLost)
}
