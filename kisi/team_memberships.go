package kisi

import (
	"context"
	"iter"
	"net/url"
	"time"
)

// TeamMembership puts a user or guest in a team.
type TeamMembership struct {
	ID int64 `json:"id"`
	// TeamID is the team; Team is Kisi's summary of it, nil when left out.
	TeamID int64 `json:"team_id"`
	Team   *Ref  `json:"team,omitempty"`
	// MemberType is [AssigneeUser] or [AssigneeGuest] and MemberID the ID
	// of that user or guest; Member is Kisi's summary, nil when left out.
	MemberType string `json:"member_type"`
	MemberID   int64  `json:"member_id"`
	Member     *Ref   `json:"member,omitempty"`
	// CreatedAt and UpdatedAt are Kisi's timestamps of the record.
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// TeamMembershipListOptions filters GET /team_memberships.
type TeamMembershipListOptions struct {
	TeamID     int64
	MemberType string // User or Guest
	MemberID   int64  // requires MemberType
	ListOptions
}

func (o *TeamMembershipListOptions) encode(v url.Values) {
	setInt(v, "team_id", o.TeamID)
	setString(v, "member_type", o.MemberType)
	setInt(v, "member_id", o.MemberID)
	o.ListOptions.encode(v)
}

// TeamMembershipCreateRequest is the body of POST /team_memberships.
type TeamMembershipCreateRequest struct {
	TeamID     int64  `json:"team_id"`
	MemberID   int64  `json:"member_id"`
	MemberType string `json:"member_type"`
}

// TeamMembershipsService manages team memberships. Kisi offers no PATCH.
type TeamMembershipsService service

const teamMembershipsPath = "team_memberships"

// List returns one page of team memberships matching opts (nil lists all).
func (s *TeamMembershipsService) List(ctx context.Context, opts *TeamMembershipListOptions) ([]*TeamMembership, *Response, error) {
	return list[TeamMembership](ctx, s.client, teamMembershipsPath, opts, defaultLimit)
}

// ListIter returns every team membership matching opts, reading pages of up
// to 250 lazily.
func (s *TeamMembershipsService) ListIter(ctx context.Context, opts *TeamMembershipListOptions) iter.Seq2[*TeamMembership, error] {
	return Items(ctx, s.List, opts)
}

// Get returns one team membership.
func (s *TeamMembershipsService) Get(ctx context.Context, id int64) (*TeamMembership, *Response, error) {
	return getByID[TeamMembership](ctx, s.client, teamMembershipsPath, id)
}

// Create adds a member to a team.
func (s *TeamMembershipsService) Create(ctx context.Context, req *TeamMembershipCreateRequest) (*TeamMembership, *Response, error) {
	return createOne[TeamMembership](ctx, s.client, teamMembershipsPath, "team_membership", req)
}

// Delete removes a member from a team.
func (s *TeamMembershipsService) Delete(ctx context.Context, id int64) (*Response, error) {
	return deleteByID(ctx, s.client, teamMembershipsPath, id)
}
