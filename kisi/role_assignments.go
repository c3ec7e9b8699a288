package kisi

import "time"

// RoleAssignment is a role given to an assignee (a user, team or guest) in a
// scope (the organization, a place or a group). Only group-scoped assignments
// carry a validity window; Kisi enforces it itself.
type RoleAssignment struct {
	ID            int64      `json:"id"`
	RoleID        string     `json:"role_id"`
	Notify        bool       `json:"notify"`
	AppliesToType string     `json:"applies_to_type"`
	AppliesToID   int64      `json:"applies_to_id"`
	AssigneeType  string     `json:"assignee_type"`
	AssigneeID    int64      `json:"assignee_id"`
	Assignee      *Ref       `json:"assignee,omitempty"`
	AppliesTo     *Ref       `json:"applies_to,omitempty"`
	ValidFrom     *time.Time `json:"valid_from,omitempty"`
	ValidUntil    *time.Time `json:"valid_until,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

// RoleAssignmentListOptions filters GET /role_assignments. The zero value lists
// every assignment the key may read.
type RoleAssignmentListOptions struct {
	RoleID        string `url:"role_id,omitempty"`
	AssigneeType  string `url:"assignee_type,omitempty"` // User, Team or Guest
	AssigneeID    int64  `url:"assignee_id,omitempty"`   // requires AssigneeType
	AppliesToType string `url:"applies_to_type,omitempty"`
	AppliesToID   int64  `url:"applies_to_id,omitempty"` // requires AppliesToType
	ListOptions
}

// RoleAssignmentCreateRequest is the body of POST /role_assignments.
// ValidFrom and ValidUntil apply to group-scoped assignments only; nil means
// "from now" and "never expires".
type RoleAssignmentCreateRequest struct {
	RoleID        string     `json:"role_id"`
	AppliesToType string     `json:"applies_to_type"`
	AppliesToID   int64      `json:"applies_to_id"`
	AssigneeType  string     `json:"assignee_type"`
	AssigneeID    int64      `json:"assignee_id"`
	Notify        bool       `json:"notify"`
	ValidFrom     *time.Time `json:"valid_from,omitempty"`
	ValidUntil    *time.Time `json:"valid_until,omitempty"`
}

// RoleAssignmentUpdateRequest is the body of PATCH /role_assignments/{id}.
// Kisi documents only RoleID and Notify; the validity fields are sent only by
// callers that verified their organization accepts them.
type RoleAssignmentUpdateRequest struct {
	RoleID     *string    `json:"role_id,omitempty"`
	Notify     *bool      `json:"notify,omitempty"`
	ValidFrom  *time.Time `json:"valid_from,omitempty"`
	ValidUntil *time.Time `json:"valid_until,omitempty"`
}
