package access

import (
	"context"

	"github.com/kisisync/kisisync/kisi"
)

// KisiAPI is the part of the Kisi API the reconciler uses. *[kisi.Client]
// satisfies it through its flat methods, which forward to its services
// (ListUsers to Users.List, and so on); tests use a real client against
// [github.com/kisisync/kisisync/kisi/kisitest].
//
// The reconciler tells outcomes apart with errors.Is and errors.As on the
// returned errors ([kisi.ErrNotFound], [kisi.ErrValidation],
// [kisi.ErrMaybeApplied], *[kisi.Error]), so a wrapper must keep them
// wrapped.
type KisiAPI interface {
	// ListUsers returns one page of the organization's users.
	ListUsers(ctx context.Context, opts *kisi.UserListOptions) ([]*kisi.User, *kisi.Response, error)
	// CreateUser creates a Kisi user for a member's email.
	CreateUser(ctx context.Context, req *kisi.UserCreateRequest) (*kisi.User, *kisi.Response, error)

	// ListRoleAssignments returns one page of role assignments.
	ListRoleAssignments(ctx context.Context, opts *kisi.RoleAssignmentListOptions) ([]*kisi.RoleAssignment, *kisi.Response, error)
	// CreateRoleAssignment creates a grant: a group role with a window.
	CreateRoleAssignment(ctx context.Context, req *kisi.RoleAssignmentCreateRequest) (*kisi.RoleAssignment, *kisi.Response, error)
	// UpdateRoleAssignment changes the window of the role assignment id.
	UpdateRoleAssignment(ctx context.Context, id int64, req *kisi.RoleAssignmentUpdateRequest) (*kisi.Response, error)
	// DeleteRoleAssignment deletes the role assignment id.
	DeleteRoleAssignment(ctx context.Context, id int64) (*kisi.Response, error)

	// ListGroupLinks returns one page of group links.
	ListGroupLinks(ctx context.Context, opts *kisi.GroupLinkListOptions) ([]*kisi.GroupLink, *kisi.Response, error)
	// CreateGroupLink creates a drop-in guest's group link.
	CreateGroupLink(ctx context.Context, req *kisi.GroupLinkCreateRequest) (*kisi.GroupLink, *kisi.Response, error)
	// DeleteGroupLink deletes the group link id.
	DeleteGroupLink(ctx context.Context, id int64) (*kisi.Response, error)

	// GetGroup returns the group id: one read tells a group deleted in Kisi
	// from a deleted user after a 404 on a create.
	GetGroup(ctx context.Context, id int64) (*kisi.Group, *kisi.Response, error)
}
