package access

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kisisync/kisisync/access/state"
	"github.com/kisisync/kisisync/kisi"
)

// fencedKisi is the Kisi API of one run with every write fenced by the
// run's lease: a write goes out only with two thirds of the lease left,
// renewed first when less remains (see run.renew), and its context ends
// when the lease does, so that neither the request nor the client's
// retries of it reach Kisi after that. A process that stalled past its
// lease (a frozen VM, a long pause) therefore sends nothing more once it
// resumes, instead of changing what the run that took over just did.
type fencedKisi struct {
	KisiAPI
	ru *run
}

// fence renews the lease if due and returns the context of one write,
// ending with the lease.
func (f fencedKisi) fence(ctx context.Context) (context.Context, context.CancelFunc, error) {
	if err := f.ru.renew(ctx); err != nil {
		return nil, nil, &storeError{fmt.Errorf("no Kisi write without the lease: %w", err)}
	}
	if err := f.ru.mark(ctx); err != nil {
		return nil, nil, err
	}
	r := f.ru.r
	left := r.o.leaseTTL - r.o.clock.Since(*r.leased.Load())
	ctx, cancel := context.WithTimeout(ctx, left)
	return ctx, cancel, nil
}

// inFlight releases the run's lock while a write is in flight, when the
// run applies changes with requests in flight (see applyConcurrently); it
// returns what takes the lock back.
func (f fencedKisi) inFlight() func() {
	if !f.ru.parallel {
		return func() {}
	}
	f.ru.mu.Unlock()
	return f.ru.mu.Lock
}

// mark records, before the run's first Kisi write, that the run is
// writing; the run deletes the record when it ends (unmark), so a later run
// that finds it knows this one was interrupted (see Sync).
func (ru *run) mark(ctx context.Context) error {
	if ru.marked {
		return nil
	}
	err := ru.put(ctx, state.Record{Key: runMarkKey, Kind: state.KindPark,
		Reason: fmt.Sprintf("a run of %s writing to Kisi since %s", ru.r.o.holder, ru.r.o.clock.Now().UTC().Format(time.RFC3339))})
	ru.marked = err == nil
	return err
}

// unmark deletes the run's mark at its end, and counts the run among those
// that wrote to Kisi (see restored). A run that lost its lease cannot, and
// leaves the mark for the run that took over.
func (ru *run) unmark(ctx context.Context) {
	if !ru.marked {
		return
	}
	rec := ru.recs[writtenKey]
	rec.Key, rec.Kind = writtenKey, state.KindPark
	rec.Attempts++
	rec.Reason = fmt.Sprintf("%d runs wrote to Kisi (a Store restored from an older backup holds fewer, and the next run verifies first)", rec.Attempts)
	if ru.put(ctx, rec) == nil {
		ru.r.written.Store(int64(rec.Attempts))
	}
	_ = ru.del(ctx, runMarkKey)
	ru.marked = false
}

func (f fencedKisi) CreateUser(ctx context.Context, req *kisi.UserCreateRequest) (*kisi.User, *kisi.Response, error) {
	ctx, cancel, err := f.fence(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer cancel()
	defer f.inFlight()()
	return f.KisiAPI.CreateUser(ctx, req)
}

func (f fencedKisi) CreateRoleAssignment(ctx context.Context, req *kisi.RoleAssignmentCreateRequest) (*kisi.RoleAssignment, *kisi.Response, error) {
	ctx, cancel, err := f.fence(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer cancel()
	defer f.inFlight()()
	return f.KisiAPI.CreateRoleAssignment(ctx, req)
}

func (f fencedKisi) UpdateRoleAssignment(ctx context.Context, id int64, req *kisi.RoleAssignmentUpdateRequest) (*kisi.Response, error) {
	ctx, cancel, err := f.fence(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	defer f.inFlight()()
	return f.KisiAPI.UpdateRoleAssignment(ctx, id, req)
}

func (f fencedKisi) DeleteRoleAssignment(ctx context.Context, id int64) (*kisi.Response, error) {
	ctx, cancel, err := f.fence(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	defer f.inFlight()()
	return f.KisiAPI.DeleteRoleAssignment(ctx, id)
}

func (f fencedKisi) CreateGroupLink(ctx context.Context, req *kisi.GroupLinkCreateRequest) (*kisi.GroupLink, *kisi.Response, error) {
	ctx, cancel, err := f.fence(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer cancel()
	defer f.inFlight()()
	return f.KisiAPI.CreateGroupLink(ctx, req)
}

func (f fencedKisi) DeleteGroupLink(ctx context.Context, id int64) (*kisi.Response, error) {
	ctx, cancel, err := f.fence(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	defer f.inFlight()()
	return f.KisiAPI.DeleteGroupLink(ctx, id)
}

// lease takes the organization's run lease and returns its release. A run
// of this same Reconciler in progress holds it too.
func (r *Reconciler) lease(ctx context.Context) (func(), error) {
	if !r.running.CompareAndSwap(false, true) {
		return nil, fmt.Errorf("%w: a run of this Reconciler for %q has not finished", state.ErrLeaseHeld, r.o.org)
	}
	r.token.Store(0)
	if err := r.renew(ctx); err != nil {
		r.running.Store(false)
		if errors.Is(err, state.ErrLeaseHeld) {
			return nil, err
		}
		return nil, fmt.Errorf("access: lease of %q: %w", r.o.org, err)
	}
	return func() {
		// Release even when ctx is done; the lease expires anyway.
		_, _ = r.st.Lease(context.WithoutCancel(ctx), r.o.org, r.o.holder, r.o.clock.Now(), time.Time{})
		r.token.Store(0)
		r.running.Store(false)
	}, nil
}

// begin takes the lease and loads the organization's records: the start of
// an Apply or Verify. The caller calls release when done.
func (r *Reconciler) begin(ctx context.Context) (release func(), recs []state.Record, err error) {
	release, err = r.lease(ctx)
	if err != nil {
		return nil, nil, err
	}
	if recs, err = r.load(ctx); err != nil {
		release()
		return nil, nil, err
	}
	return release, recs, nil
}

// renew takes or extends the lease for one lease time from now. A renewal
// that returns another token than the run's means the lease was lost in
// between (another run took it over): the run must stop.
func (r *Reconciler) renew(ctx context.Context) error {
	now := r.o.clock.Now()
	token, err := r.st.Lease(ctx, r.o.org, r.o.holder, now, now.Add(r.o.leaseTTL))
	if err != nil {
		return err
	}
	if old := r.token.Load(); old != 0 && old != token {
		// Keep the old token: the run's writes stay fenced.
		return fmt.Errorf("%w: term %d of %q ended, another run held the lease", state.ErrLeaseLost, old, r.o.org)
	}
	r.token.Store(token)
	r.leased.Store(&now)
	return nil
}
