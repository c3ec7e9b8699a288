package access

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/kisisync/kisisync/access/state"
	"github.com/kisisync/kisisync/internal/kisiglue"
	"github.com/kisisync/kisisync/mapping"
)

// Metadata key and value that mark a Kisi user created by this SDK, so the
// ownership survives a lost Store.
const (
	MetadataKey   = kisiglue.MetadataKey
	MetadataValue = kisiglue.MetadataValue
)

// ErrStalePlan is returned by [Reconciler.Apply] for [Changes] planned from
// a Store that has changed since (another run applied in between): plan
// again.
var ErrStalePlan = errors.New("access: plan is stale, the store changed since it was made")

// Reconciler makes Kisi hold exactly the desired access of one Kisi
// organization. Each run (Sync, or Plan then Apply) is level-triggered and
// idempotent: it compares the desired slots with the Store's record of what
// it manages and writes only the difference.
//
// Create one with [NewReconciler]; the zero value is not usable. A
// Reconciler is safe for concurrent use, but runs (Sync, Apply, Verify)
// of one organization exclude each other through the Store's lease, and
// runs of one Reconciler through the Reconciler itself: a second concurrent
// run fails fast with an error matching [state.ErrLeaseHeld].
//
// "Now" comes from the Reconciler's clock ([WithClock]); every time it
// reports, such as [Report.NextRun], is an instant, and weekly rules are
// read in the wall clock of each [Location]'s time zone. The errors a run
// returns are listed on [Reconciler.Sync] and [Reconciler.Apply].
type Reconciler struct {
	k  KisiAPI
	st Store
	m  mapping.Mapping
	p  Policy
	o  options

	// running is set while a run of this Reconciler holds the lease: runs
	// of one Reconciler share a lease holder, so the Store alone would not
	// keep them apart.
	running atomic.Bool
	// leased is when the running run last took or renewed the lease, by
	// the reconciler's clock: a real clock's reading carries the monotonic
	// clock, so a jump of the wall clock cannot extend a lease.
	leased atomic.Pointer[time.Time]
	// mappingFP fingerprints the mapping: a group parked as missing under
	// another mapping is tried again.
	mappingFP string
	// token is the Store's token of the running run's lease term (0
	// before it is taken); the run's writes are fenced by it.
	token atomic.Int64
	// written is the count of runs that wrote to Kisi this Reconciler
	// last saw in its Store (see restored).
	written atomic.Int64
	// incremental plans compute again only what changed since the last
	// plan, compiled (see incremental.go).
	incremental bool
	compiled    atomic.Pointer[compiled]
}

// NewReconciler returns a Reconciler that writes through k (a *kisi.Client)
// and records what it created in st, for mapping m and policy p. It does no
// I/O. A mapping that [mapping.Mapping.Validate] rejects (a group ID that is
// not positive, a group listed twice for one item, an empty platform ID) is
// an error: a broken mapping must not revoke valid access.
func NewReconciler(k KisiAPI, st Store, m mapping.Mapping, p Policy, opts ...Option) (*Reconciler, error) {
	if k == nil {
		return nil, errors.New("access: nil kisi client")
	}
	if st == nil {
		return nil, errors.New("access: nil store")
	}
	if err := m.Validate(nil); err != nil {
		return nil, fmt.Errorf("access: invalid mapping: %w", err)
	}
	o := defaultOptions()
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if o.holder == "" {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("access: lease holder id: %w", err)
		}
		o.holder = hex.EncodeToString(b[:])
	}
	return &Reconciler{k: k, st: st, m: m.Clone(), p: p, o: o, mappingFP: mappingFingerprint(m), incremental: incrementalPlans}, nil
}

// mappingFingerprint summarizes m for the keys of group park records.
func mappingFingerprint(m mapping.Mapping) string {
	b, _ := json.Marshal(m) // maps marshal sorted; a Mapping always marshals
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:6])
}

// Organization returns the organization key the reconciler works under.
func (r *Reconciler) Organization() string { return r.o.org }

// Sync plans and applies in one run under the Store's lease: Plan then
// Apply. The Report is non-nil whenever the run got as far as planning,
// also when err is non-nil. err joins the failed changes (each retried next
// run) and may include a *[RevokeLimitError] (the guard held cuts of
// access; everything else was applied); or it is a *[SystemicError] (the
// run stopped at once) or an error matching [state.ErrLeaseHeld] (another run is
// in progress).
func (r *Reconciler) Sync(ctx context.Context, s Snapshot) (*Report, error) {
	release, err := r.lease(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	c, recs, err := r.plan(ctx, s)
	if err != nil {
		return nil, err
	}
	var drift *Drift
	written, restored := r.restored(recs)
	if interrupted(recs) || len(recs) == 0 || restored {
		// A run stopped in the middle of its writes (a crash, or a stall
		// past its lease), or a Store that knows nothing (new, or lost) or
		// less than this Reconciler saw (restored from an older backup):
		// Kisi is read before anything is written, so what this SDK made
		// is adopted, not made again, and what is no longer wanted goes.
		var verr error
		drift, verr = r.verify(ctx, recs)
		if errors.Is(verr, state.ErrLeaseLost) {
			return nil, verr
		}
		if verr == nil {
			r.written.Store(written) // the Store as it is now is the one to go on from
		}
		if verr == nil || classify(verr) != FailureSystemic {
			if c, recs, err = r.plan(ctx, s); err != nil {
				return nil, err
			}
		}
		rep, err := r.applyAfter(ctx, c, recs, verr)
		rep.Adopted += len(drift.Adopted)
		return rep, err
	}
	rep, err := r.apply(ctx, c, recs)
	if drift != nil {
		rep.Adopted += len(drift.Adopted)
	}
	return rep, err
}

// restored returns the count of runs that wrote to Kisi that recs hold,
// and whether it is lower than this Reconciler last saw: the Store was
// restored from an older backup while the process ran on, and objects made
// since then are in Kisi with no record. A higher count (another process's
// runs) is remembered. A process started after the restore cannot tell;
// its host calls Verify after restoring a Store.
func (r *Reconciler) restored(recs []state.Record) (int64, bool) {
	n := writtenIn(recs)
	for {
		seen := r.written.Load()
		if n < seen {
			return n, true
		}
		if r.written.CompareAndSwap(seen, n) {
			return n, false
		}
	}
}

// writtenIn returns the count of runs that wrote to Kisi that recs, sorted
// by key, hold.
func writtenIn(recs []state.Record) int64 {
	i, found := slices.BinarySearchFunc(recs, writtenKey, func(rec state.Record, key string) int { return strings.Compare(rec.Key, key) })
	if !found {
		return 0
	}
	return int64(recs[i].Attempts)
}

// interrupted reports whether recs hold the mark of a run that began
// writing to Kisi and never finished.
func interrupted(recs []state.Record) bool {
	_, found := slices.BinarySearchFunc(recs, runMarkKey, func(rec state.Record, key string) int { return strings.Compare(rec.Key, key) })
	return found // Load returns records sorted by key
}

// load reads the organization's records from the Store.
func (r *Reconciler) load(ctx context.Context) ([]state.Record, error) {
	recs, err := r.st.Load(ctx, r.o.org)
	if err != nil {
		return nil, fmt.Errorf("access: load store of %q: %w", r.o.org, err)
	}
	return recs, nil
}
