package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Directory is where the worker reads the organizations it syncs, their
// Kisi keys and mappings: at every run, wake and webhook, so that a change
// needs no redeploy. The platform implements it over its own data, or
// uses [DatabaseDirectory]; [StaticDirectory] serves a configuration file.
type Directory interface {
	// Organization returns org's configuration, checked and with its
	// secrets resolved, or an error matching [ErrUnknownOrganization].
	Organization(ctx context.Context, org string) (*Organization, error)
	// Organizations returns the ids of every organization, sorted.
	Organizations(ctx context.Context) ([]string, error)
}

// StaticDirectory serves the organizations of a configuration file. In a
// rolling deploy, processes of the old and the new configuration run at
// once; an organization one of them does not know is left to the others
// (see [Worker]).
type StaticDirectory map[string]*Organization

// NewStaticDirectory returns the organizations of cfg.
func NewStaticDirectory(cfg *Config) StaticDirectory {
	d := make(StaticDirectory, len(cfg.Organizations))
	for i := range cfg.Organizations {
		d[cfg.Organizations[i].ID] = &cfg.Organizations[i]
	}
	return d
}

// Organization implements [Directory].
func (d StaticDirectory) Organization(_ context.Context, org string) (*Organization, error) {
	if o := d[org]; o != nil {
		return o, nil
	}
	return nil, fmt.Errorf("%w %q", ErrUnknownOrganization, org)
}

// Organizations implements [Directory].
func (d StaticDirectory) Organizations(context.Context) ([]string, error) {
	return slices.Sorted(maps.Keys(d)), nil
}

// DatabaseDirectory reads the organizations from the fleet_organization
// table on the fleet's database (see [Migrations]): one row per
// organization, its id and its configuration as the JSON of an
// [Organization] (keys preferably as api_key_env, so the secrets stay in
// the environment). The platform writes it, in the same transaction as the
// change that adds or removes an organization (with [WakeTx] for a new
// one); a removed row stops the organization's runs. Every process sees
// the same organizations at the same moment, so a rolling deploy changes
// nothing about which organizations run.
type DatabaseDirectory struct{ Pool *pgxpool.Pool }

// Organization implements [Directory].
func (d DatabaseDirectory) Organization(ctx context.Context, org string) (*Organization, error) {
	var raw []byte
	err := d.Pool.QueryRow(ctx, `SELECT config FROM fleet_organization WHERE id = $1`, org).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("%w %q", ErrUnknownOrganization, org)
	}
	if err != nil {
		return nil, fmt.Errorf("fleet: read organization %q: %w", org, err)
	}
	o := new(Organization)
	if err := json.Unmarshal(raw, o); err != nil {
		return nil, fmt.Errorf("fleet: organization %q: %w", org, err)
	}
	o.ID = org
	if err := o.normalize(); err != nil {
		return nil, fmt.Errorf("fleet: %w", err)
	}
	return o, nil
}

// Organizations implements [Directory].
func (d DatabaseDirectory) Organizations(ctx context.Context) ([]string, error) {
	rows, err := d.Pool.Query(ctx, `SELECT id FROM fleet_organization ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("fleet: list organizations: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("fleet: list organizations: %w", err)
	}
	return ids, nil
}
