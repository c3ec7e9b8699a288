package access

import (
	"context"

	"github.com/kisisync/kisisync/kisi"
)

// KisiAPI is the part of the Kisi API the reconciler uses. *kisi.Client
// satisfies it; tests use a real client against kisi/kisitest.
type KisiAPI interface {
	ListUsers(ctx context.Context, opts *kisi.UserListOptions) ([]*kisi.User, *kisi.Response, error)
	CreateUser(ctx context.Context, req *kisi.UserCreateRequest) (*kisi.User, *kisi.Response, error)

	ListRoleAssignments(ctx context.Context, opts *kisi.RoleAssignmentListOptions) ([]*kisi.RoleAssignment, *kisi.Response, error)
	CreateRoleAssignment(ctx context.Context, req *kisi.RoleAssignmentCreateRequest) (*kisi.RoleAssignment, *kisi.Response, error)
	UpdateRoleAssignment(ctx context.Context, id int64, req *kisi.RoleAssignmentUpdateRequest) (*kisi.Response, error)
	DeleteRoleAssignment(ctx context.Context, id int64) (*kisi.Response, error)

	ListGroupLinks(ctx context.Context, opts *kisi.GroupLinkListOptions) ([]*kisi.GroupLink, *kisi.Response, error)
	CreateGroupLink(ctx context.Context, req *kisi.GroupLinkCreateRequest) (*kisi.GroupLink, *kisi.Response, error)
	DeleteGroupLink(ctx context.Context, id int64) (*kisi.Response, error)

	GetGroup(ctx context.Context, id int64) (*kisi.Group, *kisi.Response, error)
}
