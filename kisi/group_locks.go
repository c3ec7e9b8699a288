package kisi

import (
	"context"
	"errors"
	"iter"
	"net/url"
	"time"
)

// GroupLock says that a group opens a lock.
type GroupLock struct {
	ID int64 `json:"id"`
	// GroupID, LockID and PlaceID are the group, the door it opens and the
	// door's place; Group, Lock and Place are Kisi's summaries of them,
	// nil when left out.
	GroupID int64 `json:"group_id"`
	Group   *Ref  `json:"group,omitempty"`
	LockID  int64 `json:"lock_id"`
	Lock    *Ref  `json:"lock,omitempty"`
	PlaceID int64 `json:"place_id"`
	Place   *Ref  `json:"place,omitempty"`
	// CreatedAt and UpdatedAt are Kisi's timestamps of the record.
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// GroupLockListOptions filters GET /group_locks. GroupID is required by
// Kisi.
type GroupLockListOptions struct {
	GroupID int64
	LockID  int64
	Query   string
	ListOptions
}

func (o *GroupLockListOptions) encode(v url.Values) {
	setInt(v, "group_id", o.GroupID)
	setInt(v, "lock_id", o.LockID)
	setString(v, "query", o.Query)
	o.ListOptions.encode(v)
}

// GroupLockCreateRequest is the body of POST /group_locks.
type GroupLockCreateRequest struct {
	GroupID int64 `json:"group_id"`
	LockID  int64 `json:"lock_id"`
}

// GroupLocksService manages which locks a group opens. Kisi offers no PATCH.
type GroupLocksService service

const groupLocksPath = "group_locks"

var errGroupIDRequired = errors.New("kisi: GET /group_locks: group id is required")

// List returns one page of the group's locks; opts.GroupID is required.
func (s *GroupLocksService) List(ctx context.Context, opts *GroupLockListOptions) ([]*GroupLock, *Response, error) {
	if opts == nil || opts.GroupID == 0 {
		return nil, nil, errGroupIDRequired
	}
	return list[GroupLock](ctx, s.client, groupLocksPath, opts, defaultLimit)
}

// ListIter returns every group lock matching opts, reading pages of up to 250
// lazily; opts.GroupID is required.
func (s *GroupLocksService) ListIter(ctx context.Context, opts *GroupLockListOptions) iter.Seq2[*GroupLock, error] {
	return Items(ctx, s.List, opts)
}

// Get returns one group lock.
func (s *GroupLocksService) Get(ctx context.Context, id int64) (*GroupLock, *Response, error) {
	return getByID[GroupLock](ctx, s.client, groupLocksPath, id)
}

// Create adds a lock to a group.
func (s *GroupLocksService) Create(ctx context.Context, req *GroupLockCreateRequest) (*GroupLock, *Response, error) {
	return createOne[GroupLock](ctx, s.client, groupLocksPath, "group_lock", req)
}

// Delete removes a lock from a group.
func (s *GroupLocksService) Delete(ctx context.Context, id int64) (*Response, error) {
	return deleteByID(ctx, s.client, groupLocksPath, id)
}
