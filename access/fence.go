package access

import (
	"context"
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

// unmark deletes the run's mark at its end. A run that lost its lease
// cannot, and leaves the mark for the run that took over.
func (ru *run) unmark(ctx context.Context) {
	if ru.marked {
		_ = ru.del(ctx, runMarkKey)
		ru.marked = false
	}
}

func (f fencedKisi) CreateUser(ctx context.Context, req *kisi.UserCreateRequest) (*kisi.User, *kisi.Response, error) {
	ctx, cancel, err := f.fence(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer cancel()
	return f.KisiAPI.CreateUser(ctx, req)
}

func (f fencedKisi) CreateRoleAssignment(ctx context.Context, req *kisi.RoleAssignmentCreateRequest) (*kisi.RoleAssignment, *kisi.Response, error) {
	ctx, cancel, err := f.fence(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer cancel()
	return f.KisiAPI.CreateRoleAssignment(ctx, req)
}

func (f fencedKisi) UpdateRoleAssignment(ctx context.Context, id int64, req *kisi.RoleAssignmentUpdateRequest) (*kisi.Response, error) {
	ctx, cancel, err := f.fence(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	return f.KisiAPI.UpdateRoleAssignment(ctx, id, req)
}

func (f fencedKisi) DeleteRoleAssignment(ctx context.Context, id int64) (*kisi.Response, error) {
	ctx, cancel, err := f.fence(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	return f.KisiAPI.DeleteRoleAssignment(ctx, id)
}

func (f fencedKisi) CreateGroupLink(ctx context.Context, req *kisi.GroupLinkCreateRequest) (*kisi.GroupLink, *kisi.Response, error) {
	ctx, cancel, err := f.fence(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer cancel()
	return f.KisiAPI.CreateGroupLink(ctx, req)
}

func (f fencedKisi) DeleteGroupLink(ctx context.Context, id int64) (*kisi.Response, error) {
	ctx, cancel, err := f.fence(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	return f.KisiAPI.DeleteGroupLink(ctx, id)
}
