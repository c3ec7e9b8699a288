package kisi

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// User is a person in the Kisi organization.
type User struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	// Email identifies the user; it cannot be changed.
	Email string `json:"email"`
	// AccessEnabled reports whether the user may unlock doors at all;
	// false cuts off all physical access whatever their roles (unlock
	// error fcd8ff, access disabled).
	AccessEnabled bool `json:"access_enabled"`
	// Confirmed is Kisi's "confirmed" key: whether the user's account is
	// confirmed. A regular user is created unconfirmed; a managed user
	// created with Confirm is confirmed at once. Kisi marks the key
	// deprecated, so it may disappear: false may then only mean "absent"
	// (see ConfirmedReported). Decide with [User.Status] rather than with
	// this field alone.
	Confirmed bool `json:"confirmed"`
	// ConfirmedReported reports whether the response carried the
	// "confirmed" key at all. It is set when decoding and never sent.
	ConfirmedReported bool `json:"-"`
	// Notes is free text; nil when empty.
	Notes *string `json:"notes"`
	// Metadata holds flat values only (string, number, bool or null): at
	// most 50 keys of up to 50 characters, values of up to 500 characters.
	// Kisi enforces these limits (a 422), this package does not. Nil or
	// empty when there is none.
	Metadata map[string]any `json:"metadata"`
	// LastAccessedAt is the user's last door access; nil when never.
	LastAccessedAt *time.Time `json:"last_accessed_at"`
	OrganizationID int64      `json:"organization_id"`
	// CreatedAt and UpdatedAt are Kisi's timestamps of the record.
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// UnmarshalJSON decodes a user and records in ConfirmedReported whether
// the deprecated "confirmed" key was present.
func (u *User) UnmarshalJSON(data []byte) error {
	type plain User
	var probe struct {
		Confirmed *bool `json:"confirmed"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return err
	}
	var p plain
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	*u = User(p)
	u.ConfirmedReported = probe.Confirmed != nil
	return nil
}

// UserStatus is what Kisi's answer tells about whether a user has taken up
// their account; see [User.Status].
type UserStatus int

// Values of UserStatus.
const (
	// UserStatusUnknown: the response carried no "confirmed" key and the
	// user has never accessed a door, so the answer alone cannot tell.
	// Callers fall back on what they know themselves, e.g. that they
	// created the user as a managed user (SendEmails false, Confirm true),
	// which Kisi confirms at creation.
	UserStatusUnknown UserStatus = iota
	// UserStatusPending: Kisi reports the user unconfirmed and they have
	// never accessed a door; an invitation may still be outstanding.
	UserStatusPending
	// UserStatusActive: Kisi reports the user confirmed, or the user has
	// accessed a door (LastAccessedAt is set).
	UserStatusActive
)

// String returns "unknown", "pending" or "active".
func (s UserStatus) String() string {
	switch s {
	case UserStatusPending:
		return "pending"
	case UserStatusActive:
		return "active"
	}
	return "unknown"
}

// Status tells whether u has taken up their account without depending on
// the deprecated "confirmed" key alone: last_accessed_at, which Kisi
// documents without deprecation, proves an active user whatever
// "confirmed" says; "confirmed" decides only while it is still sent; when
// it is absent and the user never accessed a door the answer is
// [UserStatusUnknown]. Kisi documents no other user field (no sign-in time)
// that would tell more.
func (u *User) Status() UserStatus {
	switch {
	case u.LastAccessedAt != nil || (u.ConfirmedReported && u.Confirmed):
		return UserStatusActive
	case u.ConfirmedReported:
		return UserStatusPending
	}
	return UserStatusUnknown
}

// UserListOptions filters GET /users. Pages hold at most 100 users.
type UserListOptions struct {
	Email   string
	GroupID int64
	Query   string // free text over email, name and notes
	PlaceID int64
	Sort    string // name, unlock or access_enabled, "-" prefix to reverse
	ListOptions
}

func (o *UserListOptions) encode(v url.Values) {
	setString(v, "email", o.Email)
	setInt(v, "group_id", o.GroupID)
	setString(v, "query", o.Query)
	setInt(v, "place_id", o.PlaceID)
	setString(v, "sort", o.Sort)
	o.ListOptions.encode(v)
}

// maxLimit is the largest page of users.
func (*UserListOptions) maxLimit() int { return MaxLimitUsers }

// UserCreateRequest is the body of POST /users. A managed user (one who never
// receives Kisi email and needs no confirmation) is created with
// SendEmails=false and Confirm=true.
type UserCreateRequest struct {
	// Email is the only required field.
	Email string `json:"email"`
	Name  string `json:"name,omitempty"`
	// SendEmails false stops Kisi emailing the user; nil means Kisi's
	// default, which sends emails.
	SendEmails *bool `json:"send_emails,omitempty"`
	// Confirm true confirms the user at once; otherwise a new user starts
	// unconfirmed.
	Confirm       *bool   `json:"confirm,omitempty"`
	AccessEnabled *bool   `json:"access_enabled,omitempty"`
	Notes         *string `json:"notes,omitempty"`
	// Metadata is limited as [User].Metadata is.
	Metadata map[string]any `json:"metadata,omitempty"`
}

// UserUpdateRequest is the body of PATCH /users/{id}; nil fields are left as
// they are. The email of a user cannot be changed.
type UserUpdateRequest struct {
	Name          *string        `json:"name,omitempty"`
	AccessEnabled *bool          `json:"access_enabled,omitempty"`
	Notes         *string        `json:"notes,omitempty"`
	Metadata      map[string]any `json:"metadata,omitempty"`
}

// UsersService manages users: /users, /users/{id} and the caller's own
// /user.
type UsersService service

const usersPath = "users"

// List returns one page of users matching opts (nil lists all).
func (s *UsersService) List(ctx context.Context, opts *UserListOptions) ([]*User, *Response, error) {
	return list[User](ctx, s.client, usersPath, opts, defaultLimitLarge)
}

// ListIter returns every user matching opts, reading pages of up to 100
// lazily.
func (s *UsersService) ListIter(ctx context.Context, opts *UserListOptions) iter.Seq2[*User, error] {
	return Items(ctx, s.List, opts)
}

// Get returns one user.
func (s *UsersService) Get(ctx context.Context, id int64) (*User, *Response, error) {
	return getByID[User](ctx, s.client, usersPath, id)
}

// NormalizeEmail returns email as Kisi compares it: without surrounding
// space and in lower case. Kisi treats addresses case-insensitively (a
// second user whose email differs only in case is refused as taken).
func NormalizeEmail(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}

// GetByEmail returns the user whose email equals email, ignoring case and
// surrounding space. It searches with GET /users?query=<normalized email>,
// the filter Kisi's documentation and its own client use (the spec's email
// filter is not documented further), reads every page of matches, and
// accepts only an exact match of the normalized address, since query also
// matches names, notes and parts of longer addresses. It returns an error
// matching ErrNotFound when there is none. Users.List with
// UserListOptions.Email sends the spec's ?email= filter instead.
func (s *UsersService) GetByEmail(ctx context.Context, email string) (*User, *Response, error) {
	want := NormalizeEmail(email)
	if want == "" {
		return nil, nil, fmt.Errorf("kisi: GET /users: empty email")
	}
	opts := UserListOptions{Query: want, ListOptions: ListOptions{Limit: MaxLimitUsers}}
	for {
		users, resp, err := s.List(ctx, &opts)
		if err != nil {
			return nil, resp, err
		}
		for _, u := range users {
			if NormalizeEmail(u.Email) == want {
				return u, resp, nil
			}
		}
		if resp.NextOffset == 0 {
			return nil, resp, &Error{StatusCode: http.StatusNotFound, Message: "no user with this email", Method: http.MethodGet, Endpoint: "/users"}
		}
		if resp.NextOffset > MaxOffset {
			return nil, resp, fmt.Errorf("kisi: GET /users: look up by email: %w", ErrOffsetCap)
		}
		opts.Offset = resp.NextOffset
	}
}

// Current returns the user the API key belongs to (GET /user).
func (s *UsersService) Current(ctx context.Context) (*User, *Response, error) {
	return getOne[User](ctx, s.client, "user", "/user", nil)
}

// Create creates a user. A failure that may have created it anyway matches
// ErrMaybeApplied; look the user up by email before creating again.
//
// An email that already has a Kisi user matches [ErrEmailTaken], whichever
// way Kisi answers (undocumented): a 422 on "email", or a 200 with the
// existing user. The second is told from a new user by req.Metadata: a
// user that lacks a key and value the request sent was not created by it,
// and Create returns an [*EmailTakenError] holding it rather than the user
// as its own. Without Metadata in req the two cannot be told apart.
func (s *UsersService) Create(ctx context.Context, req *UserCreateRequest) (*User, *Response, error) {
	u, resp, err := createOne[User](ctx, s.client, usersPath, "user", req)
	if err == nil && req != nil && !holdsMetadata(u.Metadata, req.Metadata) {
		return nil, resp, &EmailTakenError{Existing: u}
	}
	return u, resp, err
}

// holdsMetadata reports whether got holds every key of sent with the same
// value, compared as JSON.
func holdsMetadata(got, sent map[string]any) bool {
	for k, v := range sent {
		g, ok := got[k]
		if !ok {
			return false
		}
		a, errA := json.Marshal(v)
		b, errB := json.Marshal(g)
		if errA != nil || errB != nil || string(a) != string(b) {
			return false
		}
	}
	return true
}

// Update changes a user (access_enabled, notes, metadata, name).
func (s *UsersService) Update(ctx context.Context, id int64, req *UserUpdateRequest) (*Response, error) {
	return updateByID(ctx, s.client, usersPath, "user", id, req)
}

// Delete removes a user from the organization.
func (s *UsersService) Delete(ctx context.Context, id int64) (*Response, error) {
	return deleteByID(ctx, s.client, usersPath, id)
}
