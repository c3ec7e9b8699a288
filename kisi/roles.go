package kisi

import (
	"context"
	"fmt"
	"strings"
)

// Role is a set of permissions that can be assigned in a scope.
type Role struct {
	ID           string          `json:"id"` // the role_id value, e.g. group_basic
	Name         string          `json:"name"`
	Description  *string         `json:"description"`
	AppliesTo    string          `json:"applies_to"` // Organization, Place or Group
	Custom       bool            `json:"custom"`
	CustomRoleID *int64          `json:"custom_role_id"`
	Permissions  map[string]bool `json:"permissions"`
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
