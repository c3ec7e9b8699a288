package kisi

import (
	"context"
	"iter"
	"net/url"
	"time"
)

// Place is a site (a building or floor) with its locks.
type Place struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	// Description is nil when there is none.
	Description *string `json:"description"`
	// Address is free text of at most 500 characters.
	Address string `json:"address"`
	// Latitude and Longitude are in degrees; nil when not set.
	Latitude  *float64 `json:"latitude"`
	Longitude *float64 `json:"longitude"`
	// TimeZone is the IANA name of the place's zone, e.g.
	// "Europe/London"; nil when not set.
	TimeZone *string `json:"time_zone"`
	// LocksCount is the number of doors at the place.
	LocksCount int `json:"locks_count"`
	// LockedDown reports a lockdown: no one can unlock the place's doors
	// (unlock error fad002). LockedDownSince is when it began, nil when
	// not locked down.
	LockedDown      bool       `json:"locked_down"`
	LockedDownSince *time.Time `json:"locked_down_since"`
	OrganizationID  int64      `json:"organization_id"`
	// CreatedAt and UpdatedAt are Kisi's timestamps of the record.
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// PlaceListOptions filters GET /places.
type PlaceListOptions struct {
	Query string
	Sort  string
	ListOptions
}

func (o *PlaceListOptions) encode(v url.Values) {
	setString(v, "query", o.Query)
	setString(v, "sort", o.Sort)
	o.ListOptions.encode(v)
}

// PlaceCreateRequest is the body of POST /places; Name and Address are
// required by Kisi.
type PlaceCreateRequest struct {
	Name        string   `json:"name"`
	Address     string   `json:"address"`
	Description *string  `json:"description,omitempty"`
	Latitude    *float64 `json:"latitude,omitempty"`
	Longitude   *float64 `json:"longitude,omitempty"`
	TimeZone    *string  `json:"time_zone,omitempty"`
}

// PlaceUpdateRequest is the body of PATCH /places/{id}; nil fields are left
// as they are.
type PlaceUpdateRequest struct {
	Name        *string  `json:"name,omitempty"`
	Address     *string  `json:"address,omitempty"`
	Description *string  `json:"description,omitempty"`
	Latitude    *float64 `json:"latitude,omitempty"`
	Longitude   *float64 `json:"longitude,omitempty"`
	TimeZone    *string  `json:"time_zone,omitempty"`
}

// PlacesService manages places.
type PlacesService service

const placesPath = "places"

// List returns one page of places matching opts (nil lists all).
func (s *PlacesService) List(ctx context.Context, opts *PlaceListOptions) ([]*Place, *Response, error) {
	return list[Place](ctx, s.client, placesPath, opts, defaultLimitLarge)
}

// ListIter returns every place matching opts, reading pages of up to 250
// lazily.
func (s *PlacesService) ListIter(ctx context.Context, opts *PlaceListOptions) iter.Seq2[*Place, error] {
	return Items(ctx, s.List, opts)
}

// Get returns one place.
func (s *PlacesService) Get(ctx context.Context, id int64) (*Place, *Response, error) {
	return getByID[Place](ctx, s.client, placesPath, id)
}

// Create creates a place.
func (s *PlacesService) Create(ctx context.Context, req *PlaceCreateRequest) (*Place, *Response, error) {
	return createOne[Place](ctx, s.client, placesPath, "place", req)
}

// Update changes a place.
func (s *PlacesService) Update(ctx context.Context, id int64, req *PlaceUpdateRequest) (*Response, error) {
	return updateByID(ctx, s.client, placesPath, "place", id, req)
}

// Delete removes a place.
func (s *PlacesService) Delete(ctx context.Context, id int64) (*Response, error) {
	return deleteByID(ctx, s.client, placesPath, id)
}
