package access

import (
	"context"
	"fmt"

	"github.com/kisisync/kisisync/kisi"
)

// fencedKisi is the Kisi API of one run with every write fenced by the
// run's lease: a write goes out only with two thirds of the lease left,
// renewed first when less remains (see run.renew). A process that stalled
// past its lease (a frozen VM, a long pause) therefore stops at its next
// write instead of changing what the run that took over just did; a write
// already under way when it stalled is ended by the client's request
// timeout, shorter than the margin.
type fencedKisi struct {
	KisiAPI
	ru *run
}

func (f fencedKisi) fence(ctx context.Context) error {
	if err := f.ru.renew(ctx); err != nil {
		return &storeError{fmt.Errorf("no Kisi write without the lease: %w", err)}
	}
	return nil
}

func (f fencedKisi) CreateUser(ctx context.Context, req *kisi.UserCreateRequest) (*kisi.User, *kisi.Response, error) {
	if err := f.fence(ctx); err != nil {
		return nil, nil, err
	}
	return f.KisiAPI.CreateUser(ctx, req)
}

func (f fencedKisi) CreateRoleAssignment(ctx context.Context, req *kisi.RoleAssignmentCreateRequest) (*kisi.RoleAssignment, *kisi.Response, error) {
	if err := f.fence(ctx); err != nil {
		return nil, nil, err
	}
	return f.KisiAPI.CreateRoleAssignment(ctx, req)
}

func (f fencedKisi) UpdateRoleAssignment(ctx context.Context, id int64, req *kisi.RoleAssignmentUpdateRequest) (*kisi.Response, error) {
	if err := f.fence(ctx); err != nil {
		return nil, err
	}
	return f.KisiAPI.UpdateRoleAssignment(ctx, id, req)
}

func (f fencedKisi) DeleteRoleAssignment(ctx context.Context, id int64) (*kisi.Response, error) {
	if err := f.fence(ctx); err != nil {
		return nil, err
	}
	return f.KisiAPI.DeleteRoleAssignment(ctx, id)
}

func (f fencedKisi) CreateGroupLink(ctx context.Context, req *kisi.GroupLinkCreateRequest) (*kisi.GroupLink, *kisi.Response, error) {
	if err := f.fence(ctx); err != nil {
		return nil, nil, err
	}
	return f.KisiAPI.CreateGroupLink(ctx, req)
}

func (f fencedKisi) DeleteGroupLink(ctx context.Context, id int64) (*kisi.Response, error) {
	if err := f.fence(ctx); err != nil {
		return nil, err
	}
	return f.KisiAPI.DeleteGroupLink(ctx, id)
}
