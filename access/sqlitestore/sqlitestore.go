package sqlitestore

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver, registered as "sqlite"

	"github.com/kisisync/kisisync/access/state"
)

// BusyTimeout is how long a statement waits for another connection or
// process to finish writing before it fails with SQLITE_BUSY.
const BusyTimeout = 10 * time.Second

// Store is an [github.com/kisisync/kisisync/access.Store] in one SQLite
// file, safe for concurrent use and for several processes on one file.
type Store struct {
	db *sql.DB

	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

// stmt returns query prepared once for the Store's connections.
func (s *Store) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.stmts[query]; ok {
		return st, nil
	}
	st, err := s.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	s.stmts[query] = st
	return st, nil
}

// exec runs a prepared query.
func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := s.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// queryRow runs a prepared query of one row.
func (s *Store) queryRow(ctx context.Context, dest []any, query string, args ...any) error {
	st, err := s.stmt(ctx, query)
	if err != nil {
		return err
	}
	return st.QueryRowContext(ctx, args...).Scan(dest...)
}

// Open returns the Store kept in the SQLite file at path, creating the file
// (mode 0600) if it does not exist. Each connection runs in WAL mode with
// synchronous=NORMAL (see [WithFullSync]), a busy timeout of [BusyTimeout] and immediate write
// transactions. Open does no other I/O; call [Store.Migrate] before use,
// and [Store.Close] when done.
func Open(path string, opts ...Option) (*Store, error) {
	var o options
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	sync := "NORMAL"
	if o.fullSync {
		sync = "FULL"
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.FormatInt(BusyTimeout.Milliseconds(), 10)+")")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous("+sync+")")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	return &Store{db: db, stmts: map[string]*sql.Stmt{}}, nil
}

// Option configures [Open].
type Option func(*options)

type options struct {
	fullSync bool
}

// WithFullSync makes every commit wait until it is on disk
// (synchronous=FULL), so that a power loss or an operating system crash
// cannot take back a committed write. Without it (synchronous=NORMAL, the
// default) a crash of any process loses nothing committed, but a power
// loss may take back the last commits; see the package doc for what that
// means for the records. It costs one disk flush per write.
func WithFullSync() Option { return func(o *options) { o.fullSync = true } }

// Close closes the Store's connections. Closing twice is harmless.
func (s *Store) Close() error { return s.db.Close() }

//go:embed migrations/*.sql
var migrations embed.FS

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
			return nil, fmt.Errorf("sqlitestore: migration %s: %w", n, err)
		}
		b, err := migrations.ReadFile(n)
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, SQL: string(b)})
	}
	return out, nil
}

// Migration is one version of the schema.
type Migration struct {
	Version int
	SQL     string
}

// Migrate brings the file's schema to the latest version, applying each
// missing version in its own transaction and recording it in the table
// kisisync_schema. It is safe to call on every start and from several
// processes at once.
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := Versions()
	if err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx,
		`CREATE TABLE IF NOT EXISTS kisisync_schema (version INTEGER PRIMARY KEY, applied TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("sqlitestore: migrate: %w", err)
	}
	for _, m := range ms {
		if err := s.apply(ctx, m); err != nil {
			return fmt.Errorf("sqlitestore: migrate to version %d: %w", m.Version, err)
		}
	}
	return nil
}

func (s *Store) apply(ctx context.Context, m Migration) error {
	tx, err := s.db.BeginTx(ctx, nil) // immediate: holds the write lock
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM kisisync_schema WHERE version = ?`, m.Version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO kisisync_schema (version, applied) VALUES (?, datetime('now'))`, m.Version); err != nil {
		return err
	}
	return tx.Commit()
}

// Lease implements access.Store. It compares the callers' now and
// expires: the processes sharing a file share one host's clock.
func (s *Store) Lease(ctx context.Context, org, holder string, now, expires time.Time) (int64, error) {
	if holder == "" {
		return 0, errors.New("sqlitestore: empty lease holder")
	}
	if expires.IsZero() {
		if _, err := s.exec(ctx,
			`UPDATE kisisync_leases SET holder = '', expires = 0 WHERE organization = ? AND holder = ?`, org, holder); err != nil {
			return 0, fmt.Errorf("sqlitestore: release lease of %q: %w", org, err)
		}
		return 0, nil
	}
	var token int64
	err := s.queryRow(ctx, []any{&token}, `
INSERT INTO kisisync_leases (organization, holder, token, expires) VALUES (?1, ?2, 1, ?3)
ON CONFLICT (organization) DO UPDATE SET
	token = CASE WHEN holder = excluded.holder THEN token ELSE token + 1 END,
	holder = excluded.holder,
	expires = excluded.expires
WHERE holder = excluded.holder OR holder = '' OR expires <= ?4
RETURNING token`, org, holder, expires.UnixNano(), now.UnixNano())
	switch {
	case err == nil:
		return token, nil
	case !errors.Is(err, sql.ErrNoRows):
		return 0, fmt.Errorf("sqlitestore: lease of %q: %w", org, err)
	}
	var exp int64
	if err := s.db.QueryRowContext(ctx, `SELECT expires FROM kisisync_leases WHERE organization = ?`, org).Scan(&exp); err != nil {
		return 0, fmt.Errorf("sqlitestore: lease of %q: %w", org, err)
	}
	return 0, &state.LeaseHeldError{Organization: org, Expires: time.Unix(0, exp).UTC()}
}

// Load implements access.Store.
func (s *Store) Load(ctx context.Context, org string) ([]state.Record, error) {
	st, err := s.stmt(ctx, `SELECT record FROM kisisync_records WHERE organization = ? ORDER BY key`)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: load %q: %w", org, err)
	}
	rows, err := st.QueryContext(ctx, org)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: load %q: %w", org, err)
	}
	defer rows.Close()
	out := []state.Record{}
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return nil, fmt.Errorf("sqlitestore: load %q: %w", org, err)
		}
		var rec state.Record
		if err := json.Unmarshal(b, &rec); err != nil {
			return nil, fmt.Errorf("sqlitestore: load %q: decode record: %w", org, err)
		}
		out = append(out, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: load %q: %w", org, err)
	}
	return out, nil
}

const putSQL = `
INSERT INTO kisisync_records (organization, key, record)
SELECT ?1, ?2, ?3 WHERE EXISTS (
	SELECT 1 FROM kisisync_leases WHERE organization = ?1 AND token = ?4 AND holder <> '')
ON CONFLICT (organization, key) DO UPDATE SET record = excluded.record`

// Put implements access.Store: one statement that writes only while
// token is org's current term.
func (s *Store) Put(ctx context.Context, org string, token int64, rec state.Record) error {
	if rec.Key == "" {
		return errors.New("sqlitestore: record with empty key")
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("sqlitestore: put %s: %w", rec.Key, err)
	}
	res, err := s.exec(ctx, putSQL, org, rec.Key, string(b), token)
	if err != nil {
		return fmt.Errorf("sqlitestore: put %s: %w", rec.Key, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlitestore: put %s: %w", rec.Key, err)
	} else if n == 0 {
		return lost(org, token)
	}
	return nil
}

// Delete implements access.Store: one statement that deletes only while
// token is org's current term; when it deleted nothing, a second one tells
// a missing key from a lost lease (a term once over never comes back).
func (s *Store) Delete(ctx context.Context, org string, token int64, key string) error {
	res, err := s.exec(ctx, `
DELETE FROM kisisync_records WHERE organization = ?1 AND key = ?2 AND EXISTS (
	SELECT 1 FROM kisisync_leases WHERE organization = ?1 AND token = ?3 AND holder <> '')`, org, key, token)
	if err != nil {
		return fmt.Errorf("sqlitestore: delete %s: %w", key, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlitestore: delete %s: %w", key, err)
	} else if n > 0 {
		return nil
	}
	var current int
	if err := s.queryRow(ctx, []any{&current},
		`SELECT count(*) FROM kisisync_leases WHERE organization = ? AND token = ? AND holder <> ''`, org, token); err != nil {
		return fmt.Errorf("sqlitestore: delete %s: %w", key, err)
	}
	if current == 0 {
		return lost(org, token)
	}
	return nil
}

func lost(org string, token int64) error {
	return fmt.Errorf("sqlitestore: token %d of %q: %w", token, org, state.ErrLeaseLost)
}
