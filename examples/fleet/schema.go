package fleet

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/kisisync/kisisync/access/pgstore"
)

// Migrations are the versions of the fleet's own tables, next to River's
// and the Store's, applied in order by [Migrate]; the version reached is
// kept in fleet_schema. A new version is appended, never edited:
//
//  1. fleet_org: per organization, how many wakes and Verify requests it
//     received and how many Verify requests it has served, and its last
//     run; fleet_webhook_delivery: the uuid (or body hash) of every Kisi
//     webhook delivery that woke an organization, so that a repeat wakes
//     nothing in any process. (Written with IF NOT EXISTS: databases
//     created before versions existed hold these tables already.)
//  2. fleet_rate: per Kisi user, the pace of the [SharedLimiter] (its next
//     free slot and its last sends); unlogged, so that a reservation does not wait for
//     the disk (after a crash of PostgreSQL it starts empty, which at worst
//     lets one request per Kisi user through early). fleet_org.verify_due:
//     when the organization's next periodic Verify is due; not_before: the
//     floor, before which a wake does not start a run; last_ok: the end of
//     the last clean run; held and parked: the cuts the revoke guard held
//     and the changes parked with back-off at the last run.
//     fleet_organization: the organizations of a [DatabaseDirectory].
//  3. fleet_org.failing_scopes and parked_scopes: the failures and the
//     parked changes of the last run, counted by failure scope (a JSON
//     object, scope → count; see [ScopeGroup] and the others).
var Migrations = []string{
	1: `
CREATE TABLE IF NOT EXISTS fleet_org (
	org            text PRIMARY KEY,
	wakes          bigint NOT NULL DEFAULT 0,
	verify_wanted  bigint NOT NULL DEFAULT 0,
	verify_done    bigint NOT NULL DEFAULT 0,
	last_started   timestamptz,
	last_finished  timestamptz,
	last_result    text,
	next_run       timestamptz
);
CREATE TABLE IF NOT EXISTS fleet_webhook_delivery (
	uuid        text PRIMARY KEY,
	org         text NOT NULL,
	received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS fleet_webhook_delivery_received_at ON fleet_webhook_delivery (received_at);
`,
	2: `
CREATE UNLOGGED TABLE fleet_rate (
	kisi_user text PRIMARY KEY,
	tat       timestamptz NOT NULL DEFAULT '-infinity',
	sends     timestamptz[] NOT NULL DEFAULT '{}'
);
ALTER TABLE fleet_org ADD COLUMN verify_due timestamptz;
ALTER TABLE fleet_org ADD COLUMN not_before timestamptz;
ALTER TABLE fleet_org ADD COLUMN last_ok timestamptz;
ALTER TABLE fleet_org ADD COLUMN held int NOT NULL DEFAULT 0;
ALTER TABLE fleet_org ADD COLUMN parked int NOT NULL DEFAULT 0;
CREATE TABLE fleet_organization (
	id     text PRIMARY KEY,
	config jsonb NOT NULL
);
`,
	3: `
ALTER TABLE fleet_org ADD COLUMN failing_scopes jsonb NOT NULL DEFAULT '{}';
ALTER TABLE fleet_org ADD COLUMN parked_scopes jsonb NOT NULL DEFAULT '{}';
`,
}

// migrateLock is the key of the PostgreSQL advisory lock Migrate holds, so
// that deploys that migrate at once take turns.
const migrateLock = 0x6b697369_666c6565 // "kisiflee"

// Migrate brings the Store's tables (pgstore), River's and the fleet's
// ([Migrations]) up to date, under a PostgreSQL advisory lock: processes
// that migrate at once wait for each other, and the later ones find
// nothing left to do. Run it once per deploy (the worker's -migrate flag).
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("fleet: migrate: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, int64(migrateLock)); err != nil {
		return fmt.Errorf("fleet: migrate: lock: %w", err)
	}
	defer func() {
		_, _ = conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, int64(migrateLock))
	}()

	if err := pgstore.New(pool).Migrate(ctx); err != nil {
		return fmt.Errorf("fleet: migrate store: %w", err)
	}
	m, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return fmt.Errorf("fleet: migrate: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("fleet: migrate river: %w", err)
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS fleet_schema (version int NOT NULL)`); err != nil {
		return fmt.Errorf("fleet: migrate fleet tables: %w", err)
	}
	var version int
	err = conn.QueryRow(ctx, `SELECT version FROM fleet_schema`).Scan(&version)
	if err == pgx.ErrNoRows {
		_, err = conn.Exec(ctx, `INSERT INTO fleet_schema (version) VALUES (0)`)
	}
	if err != nil {
		return fmt.Errorf("fleet: migrate fleet tables: %w", err)
	}
	for v := version + 1; v < len(Migrations); v++ {
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, Migrations[v]); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `UPDATE fleet_schema SET version = $1`, v)
			return err
		})
		if err != nil {
			return fmt.Errorf("fleet: migrate fleet tables to version %d: %w", v, err)
		}
	}
	return nil
}
