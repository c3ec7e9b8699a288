package kisi

import (
	"context"
	"iter"
)

// The flat methods below forward to the services. They exist so that a
// caller can declare a narrow interface of exactly the calls it makes (as
// access.KisiAPI and troubleshoot.Kisi do) and have *Client satisfy it;
// interfaces cannot name methods of service fields. Paginate their List
// methods with [Iterate].

// ListUsers forwards to Users.List.
func (c *Client) ListUsers(ctx context.Context, opts *UserListOptions) ([]*User, *Response, error) {
	return c.Users.List(ctx, opts)
}

// CreateUser forwards to Users.Create.
func (c *Client) CreateUser(ctx context.Context, req *UserCreateRequest) (*User, *Response, error) {
	return c.Users.Create(ctx, req)
}

// ListRoleAssignments forwards to RoleAssignments.List.
func (c *Client) ListRoleAssignments(ctx context.Context, opts *RoleAssignmentListOptions) ([]*RoleAssignment, *Response, error) {
	return c.RoleAssignments.List(ctx, opts)
}

// CreateRoleAssignment forwards to RoleAssignments.Create.
func (c *Client) CreateRoleAssignment(ctx context.Context, req *RoleAssignmentCreateRequest) (*RoleAssignment, *Response, error) {
	return c.RoleAssignments.Create(ctx, req)
}

// UpdateRoleAssignment forwards to RoleAssignments.Update.
func (c *Client) UpdateRoleAssignment(ctx context.Context, id int64, req *RoleAssignmentUpdateRequest) (*Response, error) {
	return c.RoleAssignments.Update(ctx, id, req)
}

// DeleteRoleAssignment forwards to RoleAssignments.Delete.
func (c *Client) DeleteRoleAssignment(ctx context.Context, id int64) (*Response, error) {
	return c.RoleAssignments.Delete(ctx, id)
}

// ListGroupLinks forwards to GroupLinks.List.
func (c *Client) ListGroupLinks(ctx context.Context, opts *GroupLinkListOptions) ([]*GroupLink, *Response, error) {
	return c.GroupLinks.List(ctx, opts)
}

// CreateGroupLink forwards to GroupLinks.Create.
func (c *Client) CreateGroupLink(ctx context.Context, req *GroupLinkCreateRequest) (*GroupLink, *Response, error) {
	return c.GroupLinks.Create(ctx, req)
}

// DeleteGroupLink forwards to GroupLinks.Delete.
func (c *Client) DeleteGroupLink(ctx context.Context, id int64) (*Response, error) {
	return c.GroupLinks.Delete(ctx, id)
}

// GetGroup forwards to Groups.Get.
func (c *Client) GetGroup(ctx context.Context, id int64) (*Group, *Response, error) {
	return c.Groups.Get(ctx, id)
}

// CurrentUser forwards to Users.Current.
func (c *Client) CurrentUser(ctx context.Context) (*User, *Response, error) {
	return c.Users.Current(ctx)
}

// GetUserByEmail forwards to Users.GetByEmail.
func (c *Client) GetUserByEmail(ctx context.Context, email string) (*User, *Response, error) {
	return c.Users.GetByEmail(ctx, email)
}

// GetOrganization forwards to Organization.Get.
func (c *Client) GetOrganization(ctx context.Context) (*Organization, *Response, error) {
	return c.Organization.Get(ctx)
}

// GetPlace forwards to Places.Get.
func (c *Client) GetPlace(ctx context.Context, id int64) (*Place, *Response, error) {
	return c.Places.Get(ctx, id)
}

// ListGroupLocks forwards to GroupLocks.List.
func (c *Client) ListGroupLocks(ctx context.Context, opts *GroupLockListOptions) ([]*GroupLock, *Response, error) {
	return c.GroupLocks.List(ctx, opts)
}

// ListRoles forwards to Roles.List.
func (c *Client) ListRoles(ctx context.Context) ([]*Role, *Response, error) {
	return c.Roles.List(ctx)
}

// EventSetEvents forwards to EventSets.Events.
func (c *Client) EventSetEvents(ctx context.Context, req *EventSetCreateRequest, pageSize int) iter.Seq2[*Event, error] {
	return c.EventSets.Events(ctx, req, pageSize)
}

// ListIntegrations forwards to Integrations.List.
func (c *Client) ListIntegrations(ctx context.Context, opts *IntegrationListOptions) ([]*Integration, *Response, error) {
	return c.Integrations.List(ctx, opts)
}
