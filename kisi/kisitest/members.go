package kisitest

// The /members API is deprecated in favour of /users. The fake serves it as
// another view of the organization's users: a member has its user's id and
// carries the user as an embedded reference.

type wireMember struct {
	ID                  int64          `json:"id"`
	ResourceType        string         `json:"resource_type"`
	Name                string         `json:"name"`
	Image               *string        `json:"image"`
	PasswordFlowEnabled bool           `json:"password_flow_enabled"`
	AccessEnabled       bool           `json:"access_enabled"`
	ScimAccessEnabled   bool           `json:"scim_access_enabled"`
	LastAccessedAt      *string        `json:"last_accessed_at"`
	CreatedAt           string         `json:"created_at"`
	UpdatedAt           string         `json:"updated_at"`
	RoleID              *string        `json:"role_id"`
	Notes               *string        `json:"notes"`
	Metadata            map[string]any `json:"metadata"`
	OrganizationID      int64          `json:"organization_id"`
	UserID              int64          `json:"user_id"`
	User                memberUser     `json:"user"`
	PlaceID             *int64         `json:"place_id"`
	SharesCount         int            `json:"shares_count"`
	Confirmed           *bool          `json:"confirmed,omitempty"`
}

type memberUser struct {
	ID                  int64  `json:"id"`
	ResourceType        string `json:"resource_type"`
	Email               string `json:"email"`
	Name                string `json:"name"`
	OTPRequiredForLogin bool   `json:"otp_required_for_login"`
}

func (st *state) renderMember(u *user) wireMember {
	w := st.renderUser(u)
	return wireMember{
		ID: u.id, ResourceType: "Member", Name: u.name, Image: u.image, PasswordFlowEnabled: u.passwordFlowEnabled,
		AccessEnabled: u.accessEnabled, ScimAccessEnabled: true, LastAccessedAt: w.LastAccessedAt,
		CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt, Notes: u.notes, Metadata: w.Metadata,
		OrganizationID: st.org.id, UserID: u.id,
		User:      memberUser{ID: u.id, ResourceType: "User", Email: u.email, Name: u.name},
		Confirmed: w.Confirmed,
	}
}

func (st *state) routeMembers(c *call) response {
	return serve(st, c, resource[user, wireMember]{
		key: "member", items: st.users, render: st.renderMember,
		pageSize: 50, maxPageSize: 100, filter: st.userFilter, order: orderUsers,
		create: func(f *fields) (*user, response) { return st.newUser(c, f), response{} },
		update: applyUserFields,
		remove: func(u *user) response {
			if u == st.owner {
				return invalid("base", "the organization owner cannot be deleted")
			}
			st.deleteUser(u)
			return noContent()
		},
	})
}
