package kisi

import "context"

// The flat methods below forward to the services. They exist so that a
// caller can declare a narrow interface of exactly the calls it makes (as
// access.KisiAPI does) and have *Client satisfy it; interfaces cannot name
// methods of service fields.

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
