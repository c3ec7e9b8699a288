package kisi

import (
	"context"
	"fmt"
	"strings"
)

// Role is a set of permissions that can be assigned in a scope.
type Role struct {
	// ID is the role_id value, e.g. [RoleGroupBasic].
	ID   string `json:"id"`
	Name string `json:"name"`
	// Description is nil when there is none.
	Description *string `json:"description"`
	// AppliesTo is the scope the role is given in: [ScopeOrganization],
	// [ScopePlace] or [ScopeGroup].
	AppliesTo string `json:"applies_to"`
	// Custom reports a role the organization defined; CustomRoleID is its
	// ID, nil for a built-in role.
	Custom       bool   `json:"custom"`
	CustomRoleID *int64 `json:"custom_role_id"`
	// Permissions maps a permission name (e.g. "locks_unlock",
	// "role_assignments_write") to whether the role has it.
	Permissions map[string]bool `json:"permissions"`
}

// RolesService reads roles; Kisi does not paginate them.
type RolesService service

// List returns every role.
func (s *RolesService) List(ctx context.Context) ([]*Role, *Response, error) {
	return listAll[Role](ctx, s.client, "roles")
}

// Get returns one role by its string id, e.g. "group_basic".
func (s *RolesService) Get(ctx context.Context, id string) (*Role, *Response, error) {
	if id == "" || strings.ContainsAny(id, "/?#%") {
		return nil, nil, fmt.Errorf("kisi: GET /roles/{id}: invalid role id %q", id)
	}
	return getOne[Role](ctx, s.client, "roles/"+id, "/roles/{id}", nil)
}
