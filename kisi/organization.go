package kisi

import (
	"context"
	"time"
)

// Organization is a Kisi customer account.
type Organization struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	// Domain is the organization's short name in Kisi, as in
	// /organizations/{domain}/public.
	Domain string `json:"domain"`
	// TimeZone is the organization's IANA time zone name.
	TimeZone    string `json:"time_zone"`
	PlacesCount int    `json:"places_count"`
	// SCIMEnabled reports user provisioning by SCIM: a SCIM-managed user
	// can unlock only when both User.AccessEnabled and Kisi's
	// scim_access_enabled are true.
	SCIMEnabled bool `json:"scim_enabled"`
	// SSOEnabled reports sign-in by single sign-on (instead of
	// passwords).
	SSOEnabled bool `json:"sso_flow_enabled"`
	// CreatedAt and UpdatedAt are Kisi's timestamps of the record.
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// OrganizationService reads the caller's organization.
type OrganizationService service

// Get returns the organization of the API key (GET /organization); its ID is
// the applies_to_id of organization-scoped role assignments.
func (s *OrganizationService) Get(ctx context.Context) (*Organization, *Response, error) {
	return getOne[Organization](ctx, s.client, "organization", "/organization", nil)
}
