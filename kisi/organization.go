package kisi

import (
	"context"
	"time"
)

// Organization is a Kisi customer account.
type Organization struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	Domain      string    `json:"domain"`
	TimeZone    string    `json:"time_zone"`
	PlacesCount int       `json:"places_count"`
	SCIMEnabled bool      `json:"scim_enabled"`
	SSOEnabled  bool      `json:"sso_flow_enabled"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// OrganizationService reads the caller's organization.
type OrganizationService service

// Get returns the organization of the API key (GET /organization); its ID is
// the applies_to_id of organization-scoped role assignments.
func (s *OrganizationService) Get(ctx context.Context) (*Organization, *Response, error) {
	return getOne[Organization](ctx, s.client, "organization", "/organization", nil)
}
