package opsim

import (
	"context"
	"time"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/internal/simclock"
	"github.com/kisisync/kisisync/kisi"
)

// The reconciler bounds each Kisi write by its lease: the write's context
// ends when the lease does (context.WithTimeout, on the real clock). In the
// simulator the lease lives on the simulated clock, and a real deadline
// would make a replay depend on how fast the machine runs it. So every
// process's client sees, instead of the real deadline, the same instant on
// the simulated clock: the end of the lease the process last took or
// renewed, which is what the reconciler's timeout measures.

// simDeadline is a context whose deadline is an instant on the simulated
// clock: Err reports it passed once the clock reaches it. Done is never
// closed (nil), so that no select can choose between it and a timer the
// simulated clock already fired: code that must stop at the deadline asks
// Err, as the Kisi client does before each retry.
type simDeadline struct {
	context.Context // the write's context, without its real deadline
	clock           *simclock.Clock
	at              time.Time
}

func (c *simDeadline) Deadline() (time.Time, bool) { return c.at, true }

func (c *simDeadline) Done() <-chan struct{} { return nil }

func (c *simDeadline) Err() error {
	if !c.clock.Now().Before(c.at) {
		return context.DeadlineExceeded
	}
	return c.Context.Err()
}

// simDeadlines is a process's Kisi API with the deadline of every request's
// context moved onto the simulated clock (see simDeadline).
type simDeadlines struct {
	access.KisiAPI
	w *world
	p *process
}

// on returns ctx with its real deadline, if any, replaced by the end of the
// process's lease on the simulated clock.
func (s simDeadlines) on(ctx context.Context) context.Context {
	if _, ok := ctx.Deadline(); !ok {
		return ctx
	}
	return &simDeadline{Context: context.WithoutCancel(ctx), clock: s.w.clock, at: s.p.leaseUntil}
}

func (s simDeadlines) ListUsers(ctx context.Context, o *kisi.UserListOptions) ([]*kisi.User, *kisi.Response, error) {
	return s.KisiAPI.ListUsers(s.on(ctx), o)
}

func (s simDeadlines) CreateUser(ctx context.Context, req *kisi.UserCreateRequest) (*kisi.User, *kisi.Response, error) {
	return s.KisiAPI.CreateUser(s.on(ctx), req)
}

func (s simDeadlines) ListRoleAssignments(ctx context.Context, o *kisi.RoleAssignmentListOptions) ([]*kisi.RoleAssignment, *kisi.Response, error) {
	return s.KisiAPI.ListRoleAssignments(s.on(ctx), o)
}

func (s simDeadlines) CreateRoleAssignment(ctx context.Context, req *kisi.RoleAssignmentCreateRequest) (*kisi.RoleAssignment, *kisi.Response, error) {
	return s.KisiAPI.CreateRoleAssignment(s.on(ctx), req)
}

func (s simDeadlines) UpdateRoleAssignment(ctx context.Context, id int64, req *kisi.RoleAssignmentUpdateRequest) (*kisi.Response, error) {
	return s.KisiAPI.UpdateRoleAssignment(s.on(ctx), id, req)
}

func (s simDeadlines) DeleteRoleAssignment(ctx context.Context, id int64) (*kisi.Response, error) {
	return s.KisiAPI.DeleteRoleAssignment(s.on(ctx), id)
}

func (s simDeadlines) ListGroupLinks(ctx context.Context, o *kisi.GroupLinkListOptions) ([]*kisi.GroupLink, *kisi.Response, error) {
	return s.KisiAPI.ListGroupLinks(s.on(ctx), o)
}

func (s simDeadlines) CreateGroupLink(ctx context.Context, req *kisi.GroupLinkCreateRequest) (*kisi.GroupLink, *kisi.Response, error) {
	return s.KisiAPI.CreateGroupLink(s.on(ctx), req)
}

func (s simDeadlines) DeleteGroupLink(ctx context.Context, id int64) (*kisi.Response, error) {
	return s.KisiAPI.DeleteGroupLink(s.on(ctx), id)
}

func (s simDeadlines) GetGroup(ctx context.Context, id int64) (*kisi.Group, *kisi.Response, error) {
	return s.KisiAPI.GetGroup(s.on(ctx), id)
}
