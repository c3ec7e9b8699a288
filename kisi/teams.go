package kisi

import (
	"context"
	"iter"
	"net/url"
	"time"
)

// Team is a named set of users and guests that can be an assignee of role
// assignments.
type Team struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// TeamListOptions filters GET /teams.
type TeamListOptions struct {
	Query string
	Scope string // organization or place
	Sort  string
	ListOptions
}

func (o *TeamListOptions) encode(v url.Values) {
	setString(v, "query", o.Query)
	setString(v, "scope", o.Scope)
	setString(v, "sort", o.Sort)
	o.ListOptions.encode(v)
}

// TeamCreateRequest is the body of POST /teams.
type TeamCreateRequest struct {
	Name string `json:"name"`
}

// TeamUpdateRequest is the body of PATCH /teams/{id}.
type TeamUpdateRequest struct {
	Name *string `json:"name,omitempty"`
}

// TeamsService manages teams.
type TeamsService service

const teamsPath = "teams"

// List returns one page of teams matching opts (nil lists all).
func (s *TeamsService) List(ctx context.Context, opts *TeamListOptions) ([]*Team, *Response, error) {
	return list[Team](ctx, s.client, teamsPath, opts, defaultLimit)
}

// ListIter returns every team matching opts, reading pages of up to 250
// lazily.
func (s *TeamsService) ListIter(ctx context.Context, opts *TeamListOptions) iter.Seq2[*Team, error] {
	return Items(ctx, s.List, opts)
}

// Get returns one team.
func (s *TeamsService) Get(ctx context.Context, id int64) (*Team, *Response, error) {
	return getByID[Team](ctx, s.client, teamsPath, id)
}

// Create creates a team.
func (s *TeamsService) Create(ctx context.Context, req *TeamCreateRequest) (*Team, *Response, error) {
	return createOne[Team](ctx, s.client, teamsPath, "team", req)
}

// Update renames a team.
func (s *TeamsService) Update(ctx context.Context, id int64, req *TeamUpdateRequest) (*Response, error) {
	return updateByID(ctx, s.client, teamsPath, "team", id, req)
}

// Delete removes a team.
func (s *TeamsService) Delete(ctx context.Context, id int64) (*Response, error) {
	return deleteByID(ctx, s.client, teamsPath, id)
}
