package kisi

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"time"
)

// Lock is a door Kisi can open.
type Lock struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	// Description is nil when there is none.
	Description *string `json:"description"`
	// Configured reports whether the door is set up in Kisi.
	Configured bool `json:"configured"`
	// Online reports whether the door's hardware is reachable; nil when
	// Kisi does not know.
	Online *bool `json:"online"`
	// Open and Unlocked are the door's current state as Kisi reports it.
	Open     bool `json:"open"`
	Unlocked bool `json:"unlocked"`
	// LockedDown reports a lockdown of this door (unlock error fad001);
	// LockedDownSince is when it began, nil when not locked down.
	LockedDown      bool       `json:"locked_down"`
	LockedDownSince *time.Time `json:"locked_down_since"`
	// TimeRestrictionEnabled reports a time schedule on the door; nil
	// when Kisi does not say.
	TimeRestrictionEnabled *bool `json:"time_restriction_enabled"`
	PlaceID                int64 `json:"place_id"`
	// FloorID is the door's floor; nil when it has none.
	FloorID *int64 `json:"floor_id"`
	// CreatedAt and UpdatedAt are Kisi's timestamps of the record.
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// LockListOptions filters GET /locks.
type LockListOptions struct {
	Query   string
	PlaceID int64
	FloorID int64
	Online  *bool
	Sort    string
	ListOptions
}

func (o *LockListOptions) encode(v url.Values) {
	setString(v, "query", o.Query)
	setInt(v, "place_id", o.PlaceID)
	setInt(v, "floor_id", o.FloorID)
	setBool(v, "online", o.Online)
	setString(v, "sort", o.Sort)
	o.ListOptions.encode(v)
}

// LockCreateRequest is the body of POST /locks; Name and PlaceID are
// required by Kisi.
type LockCreateRequest struct {
	Name                   string  `json:"name"`
	PlaceID                int64   `json:"place_id"`
	Description            *string `json:"description,omitempty"`
	TimeRestrictionEnabled *bool   `json:"time_restriction_enabled,omitempty"`
	FloorID                *int64  `json:"floor_id,omitempty"`
}

// LockUpdateRequest is the body of PATCH /locks/{id}; nil fields are left as
// they are. A lock cannot move to another place.
type LockUpdateRequest struct {
	Name                   *string `json:"name,omitempty"`
	Description            *string `json:"description,omitempty"`
	TimeRestrictionEnabled *bool   `json:"time_restriction_enabled,omitempty"`
	FloorID                *int64  `json:"floor_id,omitempty"`
}

// LocksService manages locks (doors).
type LocksService service

const locksPath = "locks"

// List returns one page of locks matching opts (nil lists all).
func (s *LocksService) List(ctx context.Context, opts *LockListOptions) ([]*Lock, *Response, error) {
	return list[Lock](ctx, s.client, locksPath, opts, defaultLimitLarge)
}

// ListIter returns every lock matching opts, reading pages of up to 250
// lazily.
func (s *LocksService) ListIter(ctx context.Context, opts *LockListOptions) iter.Seq2[*Lock, error] {
	return Items(ctx, s.List, opts)
}

// Get returns one lock.
func (s *LocksService) Get(ctx context.Context, id int64) (*Lock, *Response, error) {
	return getByID[Lock](ctx, s.client, locksPath, id)
}

// Create creates a lock.
func (s *LocksService) Create(ctx context.Context, req *LockCreateRequest) (*Lock, *Response, error) {
	return createOne[Lock](ctx, s.client, locksPath, "lock", req)
}

// Update changes a lock.
func (s *LocksService) Update(ctx context.Context, id int64, req *LockUpdateRequest) (*Response, error) {
	return updateByID(ctx, s.client, locksPath, "lock", id, req)
}

// Delete removes a lock.
func (s *LocksService) Delete(ctx context.Context, id int64) (*Response, error) {
	return deleteByID(ctx, s.client, locksPath, id)
}

// Unlock opens a lock as the key's user (POST /locks/{id}/unlock). A refusal
// is an *Error whose Code explains it, e.g. CodeAccessNotYetValid or
// CodeAccessDisabled. Like every POST it is not re-sent after a failure that
// may have reached Kisi.
func (s *LocksService) Unlock(ctx context.Context, id int64) (*Response, error) {
	var out struct {
		Message string `json:"message"`
	}
	return s.client.do(ctx, request{method: http.MethodPost, path: idPath(locksPath, id) + "/unlock", endpoint: "/locks/{id}/unlock"}, &out)
}
