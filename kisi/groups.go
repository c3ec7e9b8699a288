package kisi

import (
	"context"
	"iter"
	"net/url"
	"time"
)

// Group is a set of doors (locks) with the restrictions that apply to
// everyone who holds a role in it.
type Group struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	// Description is nil when there is none.
	Description *string `json:"description"`
	// PlaceID is the place the group belongs to; nil for an
	// organization-wide group. Place is Kisi's summary of it, nil when
	// left out.
	PlaceID *int64 `json:"place_id"`
	Place   *Ref   `json:"place,omitempty"`
	// LoginEnabled reports whether the group's members may unlock from the
	// Kisi app; false refuses app unlocks (error f01337).
	LoginEnabled bool `json:"login_enabled"`
	// The …RestrictionEnabled fields report restrictions on unlocking
	// through this group: geofence (within GeofenceRestrictionRadius of
	// the place; Kisi does not document the unit), primary device only,
	// managed devices only, reader proximity, the group's time schedule,
	// and tap to access (unlock at the reader only).
	GeofenceRestrictionEnabled      bool    `json:"geofence_restriction_enabled"`
	GeofenceRestrictionRadius       float64 `json:"geofence_restriction_radius"`
	PrimaryDeviceRestrictionEnabled bool    `json:"primary_device_restriction_enabled"`
	ManagedDeviceRestrictionEnabled bool    `json:"managed_device_restriction_enabled"`
	ReaderRestrictionEnabled        bool    `json:"reader_restriction_enabled"`
	TimeRestrictionEnabled          bool    `json:"time_restriction_enabled"`
	TapToAccessRestrictionEnabled   bool    `json:"tap_to_access_restriction_enabled"`
	// UsersCount and LocksCount are the numbers of users holding a role in
	// the group and of doors it opens.
	UsersCount int `json:"users_count"`
	LocksCount int `json:"locks_count"`
	// CreatedAt and UpdatedAt are Kisi's timestamps of the record.
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// GroupListOptions filters GET /groups.
type GroupListOptions struct {
	Query   string // over the name
	Scope   string // organization or place
	PlaceID int64
	LockID  int64 // groups that contain this lock
	Sort    string
	ListOptions
}

func (o *GroupListOptions) encode(v url.Values) {
	setString(v, "query", o.Query)
	setString(v, "scope", o.Scope)
	setInt(v, "place_id", o.PlaceID)
	setInt(v, "lock_id", o.LockID)
	setString(v, "sort", o.Sort)
	o.ListOptions.encode(v)
}

// GroupCreateRequest is the body of POST /groups. PlaceID nil makes an
// organization-wide group.
type GroupCreateRequest struct {
	Name                            string  `json:"name"`
	Description                     *string `json:"description,omitempty"`
	PlaceID                         *int64  `json:"place_id,omitempty"`
	LoginEnabled                    *bool   `json:"login_enabled,omitempty"`
	GeofenceRestrictionEnabled      *bool   `json:"geofence_restriction_enabled,omitempty"`
	PrimaryDeviceRestrictionEnabled *bool   `json:"primary_device_restriction_enabled,omitempty"`
	ManagedDeviceRestrictionEnabled *bool   `json:"managed_device_restriction_enabled,omitempty"`
	ReaderRestrictionEnabled        *bool   `json:"reader_restriction_enabled,omitempty"`
	TimeRestrictionEnabled          *bool   `json:"time_restriction_enabled,omitempty"`
	TapToAccessRestrictionEnabled   *bool   `json:"tap_to_access_restriction_enabled,omitempty"`
}

// GroupUpdateRequest is the body of PATCH /groups/{id}; nil fields are left
// as they are. A group cannot move to another place.
type GroupUpdateRequest struct {
	Name                            *string `json:"name,omitempty"`
	Description                     *string `json:"description,omitempty"`
	LoginEnabled                    *bool   `json:"login_enabled,omitempty"`
	GeofenceRestrictionEnabled      *bool   `json:"geofence_restriction_enabled,omitempty"`
	PrimaryDeviceRestrictionEnabled *bool   `json:"primary_device_restriction_enabled,omitempty"`
	ManagedDeviceRestrictionEnabled *bool   `json:"managed_device_restriction_enabled,omitempty"`
	ReaderRestrictionEnabled        *bool   `json:"reader_restriction_enabled,omitempty"`
	TimeRestrictionEnabled          *bool   `json:"time_restriction_enabled,omitempty"`
	TapToAccessRestrictionEnabled   *bool   `json:"tap_to_access_restriction_enabled,omitempty"`
}

// GroupsService manages groups: /groups and /groups/{id}.
type GroupsService service

const groupsPath = "groups"

// List returns one page of groups matching opts (nil lists all).
func (s *GroupsService) List(ctx context.Context, opts *GroupListOptions) ([]*Group, *Response, error) {
	return list[Group](ctx, s.client, groupsPath, opts, defaultLimit)
}

// ListIter returns every group matching opts, reading pages of up to 250
// lazily.
func (s *GroupsService) ListIter(ctx context.Context, opts *GroupListOptions) iter.Seq2[*Group, error] {
	return Items(ctx, s.List, opts)
}

// Get returns one group.
func (s *GroupsService) Get(ctx context.Context, id int64) (*Group, *Response, error) {
	return getByID[Group](ctx, s.client, groupsPath, id)
}

// Create creates a group.
func (s *GroupsService) Create(ctx context.Context, req *GroupCreateRequest) (*Group, *Response, error) {
	return createOne[Group](ctx, s.client, groupsPath, "group", req)
}

// Update changes a group.
func (s *GroupsService) Update(ctx context.Context, id int64, req *GroupUpdateRequest) (*Response, error) {
	return updateByID(ctx, s.client, groupsPath, "group", id, req)
}

// Delete removes a group.
func (s *GroupsService) Delete(ctx context.Context, id int64) (*Response, error) {
	return deleteByID(ctx, s.client, groupsPath, id)
}
