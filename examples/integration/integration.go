package integration

import (
	"context"
	"log/slog"
	"time"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/mapping"
)

// sketch:begin

// Platform is your code: what your database knows about one organization.
type Platform interface {
	Snapshot(ctx context.Context, org string) (access.Snapshot, error) // members, plans, bookings, …
	Mapping(ctx context.Context, org string) (mapping.Mapping, error)  // plan/resource/location → Kisi groups
	KisiKey(ctx context.Context, org string) (string, error)           // the organization's Kisi API key
}

// SyncOrganization makes Kisi hold exactly the access org's members have
// now, and returns when to run again. Run it as one job per organization:
// on every change (a booking, a cancelled plan) and at the time it returns.
// store is your access.Store, keyed by organization; log gets one WARN line
// per cause of what the run did not do (see LogUndone).
func SyncOrganization(ctx context.Context, p Platform, store access.Store, org string, log *slog.Logger, opts ...kisi.Option) (time.Time, error) {
	key, err := p.KisiKey(ctx, org)
	if err != nil {
		return time.Time{}, err
	}
	client, err := kisi.NewClient(key, opts...) // paced to 5 requests/second, with retries
	if err != nil {
		return time.Time{}, err
	}
	m, err := p.Mapping(ctx, org)
	if err != nil {
		return time.Time{}, err
	}
	r, err := access.NewReconciler(client, store, m, access.DefaultPolicy(), access.WithOrganization(org))
	if err != nil {
		return time.Time{}, err
	}
	snap, err := p.Snapshot(ctx, org)
	if err != nil {
		return time.Time{}, err
	}
	rep, err := r.Sync(ctx, snap) // revocations first; never touches what it did not create
	if rep == nil {
		return time.Time{}, err // nothing applied: another run holds the lease, or the store failed
	}
	// Records skipped (a typo in an email: err is nil, nobody gets access
	// through them), changes parked, cuts held, failures: never silent.
	LogUndone(ctx, log.With("organization", org), rep)
	return rep.NextRun, err // err: the revoke guard held the run, or some changes failed (retried next run)
}

// sketch:end
