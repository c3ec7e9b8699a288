package fleet

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/kisisync/kisisync/access/pgstore"
)

// Schema is the fleet's own tables, next to River's:
//
//   - fleet_org: per organization, how many wakes and Verify requests it
//     received and how many Verify requests it has served, and its last run;
//   - fleet_webhook_delivery: the uuid of every Kisi webhook delivery
//     accepted, so that a replay is refused by every process;
//   - fleet_rate: per Kisi user, the next free request slot of the
//     [SharedLimiter]; unlogged, so that a reservation does not wait for
//     the disk (after a crash of PostgreSQL it starts empty, which at
//     worst lets one request per Kisi user through early).
const Schema = `
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
CREATE UNLOGGED TABLE IF NOT EXISTS fleet_rate (
	kisi_user text PRIMARY KEY,
	tat       timestamptz NOT NULL
);
`

// Migrate brings River's tables, the Store's (pgstore) and the fleet's
// ([Schema]) up to date. Run it once per deploy (the worker's -migrate
// flag), not from every process at start.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
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
	if _, err := pool.Exec(ctx, Schema); err != nil {
		return fmt.Errorf("fleet: migrate fleet tables: %w", err)
	}
	return nil
}
