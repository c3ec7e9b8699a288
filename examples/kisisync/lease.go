package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/kisisync/kisisync/access/state"
)

// leaseBusy reports that another run (a scheduler, another apply) holds
// the organization's run lease. It matches state.ErrLeaseHeld.
type leaseBusy struct {
	org   string
	until time.Time // zero: not known
	loc   *time.Location
}

func (e *leaseBusy) Error() string {
	until := ""
	if !e.until.IsZero() {
		until = fmt.Sprintf(" (its lease runs until %s)", e.until.In(e.loc).Format("2006-01-02 15:04 MST"))
	}
	return fmt.Sprintf("another run of organization %q is in progress%s; nothing was done: run again after it", e.org, until)
}

// Is reports whether target is state.ErrLeaseHeld.
func (e *leaseBusy) Is(target error) bool { return target == state.ErrLeaseHeld }

// asLeaseBusy turns a reconciler's lease error into a leaseBusy with times
// in loc, and returns any other error as it is.
func asLeaseBusy(err error, org string, loc *time.Location) error {
	var held *state.LeaseHeldError
	switch {
	case errors.As(err, &held):
		return &leaseBusy{org: org, until: held.Expires, loc: loc}
	case errors.Is(err, state.ErrLeaseHeld):
		return &leaseBusy{org: org, loc: loc}
	}
	return err
}

// leaseHolder reads, without taking it, the run lease of org in the state
// file at path: a *leaseBusy when another run holds it at now, else nil.
// Taking the lease to find out would end an expired lease the next run
// must see as expired (it then verifies before writing), so this only
// reads the sqlitestore's lease table.
func leaseHolder(ctx context.Context, path, org string, now time.Time, loc *time.Location) error {
	db, err := openDB(path)
	if err != nil {
		return err
	}
	defer db.Close()
	var holder string
	var expires int64
	err = db.QueryRowContext(ctx, `SELECT holder, expires FROM kisisync_leases WHERE organization = ?`, org).Scan(&holder, &expires)
	switch {
	case errors.Is(err, sql.ErrNoRows), err != nil && !tableExists(ctx, db, "kisisync_leases"):
		return nil // never leased, or a new file
	case err != nil:
		return err
	}
	if until := time.Unix(0, expires); holder != "" && until.After(now) {
		return &leaseBusy{org: org, until: until, loc: loc}
	}
	return nil
}

// openDB opens the SQLite state file at path for the CLI's own reads and
// writes beside the Store's (the driver is the one sqlitestore registers).
func openDB(path string) (*sql.DB, error) {
	return sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
}

// tableExists reports whether the database has the table name.
func tableExists(ctx context.Context, db *sql.DB, name string) bool {
	var n int
	err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`, name).Scan(&n)
	return err == nil && n > 0
}
