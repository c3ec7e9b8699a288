package kisi

import "time"

// User is a person in the Kisi organization.
type User struct {
	ID             int64          `json:"id"`
	Name           string         `json:"name"`
	Email          string         `json:"email"`
	AccessEnabled  bool           `json:"access_enabled"`
	Confirmed      bool           `json:"confirmed"`
	Notes          *string        `json:"notes"`
	Metadata       map[string]any `json:"metadata"`
	LastAccessedAt *time.Time     `json:"last_accessed_at"`
	OrganizationID int64          `json:"organization_id"`
	CreatedAt      time.Time      `json:"created_at"`
	UpdatedAt      time.Time      `json:"updated_at"`
}

// UserListOptions filters GET /users.
type UserListOptions struct {
	Email   string `url:"email,omitempty"`
	GroupID int64  `url:"group_id,omitempty"`
	Query   string `url:"query,omitempty"`
	ListOptions
}

// UserCreateRequest is the body of POST /users. A managed user (one who never
// receives Kisi email and needs no confirmation) is created with
// SendEmails=false and Confirm=true.
type UserCreateRequest struct {
	Email         string         `json:"email"`
	Name          string         `json:"name,omitempty"`
	SendEmails    *bool          `json:"send_emails,omitempty"`
	Confirm       *bool          `json:"confirm,omitempty"`
	AccessEnabled *bool          `json:"access_enabled,omitempty"`
	Notes         *string        `json:"notes,omitempty"`
	Metadata      map[string]any `json:"metadata,omitempty"`
}

// UserUpdateRequest is the body of PATCH /users/{id}; nil fields are left as
// they are. The email of a user cannot be changed.
type UserUpdateRequest struct {
	Name          *string        `json:"name,omitempty"`
	AccessEnabled *bool          `json:"access_enabled,omitempty"`
	Notes         *string        `json:"notes,omitempty"`
	Metadata      map[string]any `json:"metadata,omitempty"`
}
