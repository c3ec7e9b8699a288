package kisitest

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
)

type user struct {
	meta
	email, name         string
	image, notes        *string
	metadata            map[string]any
	accessEnabled       bool
	passwordFlowEnabled bool
	confirmed           bool
	sendEmails          bool
	lastAccessedAt      *time.Time
}

type wireUser struct {
	ID                  int64          `json:"id"`
	ResourceType        string         `json:"resource_type"`
	Name                string         `json:"name"`
	Email               string         `json:"email"`
	CreatedAt           string         `json:"created_at"`
	UpdatedAt           string         `json:"updated_at"`
	Metadata            map[string]any `json:"metadata"`
	Image               *string        `json:"image"`
	OTPRequiredForLogin bool           `json:"otp_required_for_login"`
	PasswordFlowEnabled bool           `json:"password_flow_enabled"`
	AccessEnabled       bool           `json:"access_enabled"`
	LastAccessedAt      *string        `json:"last_accessed_at"`
	ScimAccessEnabled   bool           `json:"scim_access_enabled"`
	Notes               *string        `json:"notes"`
	OrganizationID      int64          `json:"organization_id"`
	Confirmed           *bool          `json:"confirmed,omitempty"` // nil: left out (WithConfirmedField)
	GroupsCount         int            `json:"groups_count"`
}

func (st *state) addUser(email, name string, confirmed bool, now time.Time) *user {
	u := &user{
		meta: stamp(now), email: email, name: name, metadata: map[string]any{},
		accessEnabled: true, confirmed: confirmed, sendEmails: !confirmed,
	}
	u.id = st.newID()
	st.users[u.id] = u
	return u
}

func (st *state) userByEmail(email string) *user {
	for _, u := range st.users {
		if strings.EqualFold(u.email, email) {
			return u
		}
	}
	return nil
}

func (st *state) renderUser(u *user) wireUser {
	groups := map[int64]bool{}
	for _, ra := range st.roleAssignments {
		if ra.assigneeType == "User" && ra.assigneeID == u.id && ra.appliesToType == "Group" {
			groups[ra.appliesToID] = true
		}
	}
	md := u.metadata
	if md == nil {
		md = map[string]any{}
	}
	return wireUser{
		ID: u.id, ResourceType: "User", Name: u.name, Email: u.email,
		CreatedAt: ts(u.createdAt), UpdatedAt: ts(u.updatedAt), Metadata: md, Image: u.image,
		PasswordFlowEnabled: u.passwordFlowEnabled, AccessEnabled: u.accessEnabled,
		LastAccessedAt: tsPtr(u.lastAccessedAt), ScimAccessEnabled: true, Notes: u.notes,
		OrganizationID: st.org.id, Confirmed: st.confirmedKey(u), GroupsCount: len(groups),
	}
}

// confirmedKey is the deprecated "confirmed" of u, nil when the server
// leaves the key out.
func (st *state) confirmedKey(u *user) *bool {
	if !st.cfg.confirmedField {
		return nil
	}
	c := u.confirmed
	return &c
}

func (st *state) userRef(id int64) *refUser {
	u := st.users[id]
	if u == nil {
		return nil
	}
	return &refUser{ID: u.id, ResourceType: "User", Email: u.email, Name: u.name}
}

func (st *state) routeCurrentUser(c *call) response {
	if len(c.segs) != 1 || c.method != http.MethodGet {
		return notFound()
	}
	return jsonResponse(st.renderUser(c.user))
}

func (st *state) routeUsers(c *call) response {
	return serve(st, c, resource[user, wireUser]{
		key: "user", items: st.users, render: st.renderUser,
		pageSize: 50, maxPageSize: 100, filter: st.userFilter, order: orderUsers,
		create: func(f *fields) (*user, response) {
			if st.cfg.existingUserAnswer {
				if email := f.str("email"); email != nil {
					if u := st.userByEmail(strings.TrimSpace(*email)); u != nil {
						return nil, jsonResponse(st.renderUser(u))
					}
				}
			}
			return st.newUser(c, f), response{}
		},
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

func (st *state) userFilter(q *query) func(*user) bool {
	groupID, byGroup := q.id("group_id")
	placeID, byPlace := q.id("place_id")
	atPlace := map[int64]bool{}
	if byPlace {
		// Users with access to the place: a role in the place or in one of
		// its groups.
		for _, ra := range st.roleAssignments {
			g := st.groups[ra.appliesToID]
			if ra.assigneeType == "User" && ((ra.appliesToType == "Place" && ra.appliesToID == placeID) ||
				(ra.appliesToType == "Group" && g != nil && g.placeID == placeID)) {
				atPlace[ra.assigneeID] = true
			}
		}
	}
	email, text := q.Get("email"), q.text()
	if !st.cfg.userEmailFilter {
		email = ""
	}
	inGroup := map[int64]bool{}
	if byGroup {
		for _, ra := range st.roleAssignments {
			if ra.appliesToType == "Group" && ra.appliesToID == groupID && ra.assigneeType == "User" {
				inGroup[ra.assigneeID] = true
			}
		}
	}
	return func(u *user) bool {
		notes := ""
		if u.notes != nil {
			notes = *u.notes
		}
		return (email == "" || strings.EqualFold(u.email, email)) && (!byGroup || inGroup[u.id]) &&
			(!byPlace || atPlace[u.id]) && matches(text, u.email, u.name, notes)
	}
}

// orderUsers applies the sort parameter of GET /users: name, unlock (the
// last door access, never first) or access_enabled, reversed by a "-"
// prefix.
func orderUsers(q *query, items []*user) {
	sort := q.Get("sort")
	var cmp func(a, b *user) int
	switch strings.TrimPrefix(sort, "-") {
	case "name":
		cmp = func(a, b *user) int { return strings.Compare(a.name, b.name) }
	case "unlock":
		cmp = func(a, b *user) int { return compareTimes(a.lastAccessedAt, b.lastAccessedAt, -1) }
	case "access_enabled":
		cmp = func(a, b *user) int { return compareBools(a.accessEnabled, b.accessEnabled) }
	}
	applySort(q, items, sort, cmp)
}

// applySort sorts items by cmp, the order the sort parameter names (nil
// when it names none: refused unless empty), descending with a "-" prefix.
func applySort[T any](q *query, items []T, sort string, cmp func(a, b T) int) {
	if cmp == nil {
		if sort != "" {
			q.fail(badRequest("sort is invalid"))
		}
		return
	}
	slices.SortStableFunc(items, cmp)
	if sort[0] == '-' {
		slices.Reverse(items)
	}
}

// compareBools orders false before true.
func compareBools(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

func (st *state) newUser(c *call, f *fields) *user {
	email := strings.TrimSpace(f.required("email"))
	if email != "" && (!strings.Contains(email, "@") || strings.ContainsAny(email, " \t")) {
		f.fail("email", "is invalid")
	}
	if email != "" && st.userByEmail(email) != nil {
		f.fail("email", "has already been taken")
	}
	u := &user{meta: stamp(c.now), email: email, accessEnabled: true, sendEmails: true}
	if n := f.str("name"); n != nil {
		u.name = *n
	}
	if b := f.boolean("send_emails"); b != nil {
		u.sendEmails = *b
	}
	// Only a managed user (send_emails false) is confirmed at once: Kisi's
	// docs show a regular user created with confirm true answered with
	// confirmed false.
	if b := f.boolean("confirm"); b != nil {
		u.confirmed = *b && !u.sendEmails
	}
	applyUserFields(f, u)
	return u
}

// applyUserFields sets the fields that create and update share.
func applyUserFields(f *fields, u *user) {
	if f.has("name") && !f.isNull("name") {
		if n := f.str("name"); n != nil {
			u.name = *n
		}
	}
	if f.has("image") {
		u.image = f.str("image")
	}
	if f.has("notes") {
		u.notes = f.str("notes")
	}
	if b := f.boolean("access_enabled"); b != nil {
		u.accessEnabled = *b
	}
	if b := f.boolean("password_flow_enabled"); b != nil {
		u.passwordFlowEnabled = *b
	}
	if f.has("metadata") {
		md, msg := parseMetadata(f.m["metadata"])
		if msg != "" {
			f.fail("metadata", msg)
		} else {
			u.metadata = md
		}
	}
}

// parseMetadata accepts a flat object: at most 50 keys of at most 50
// characters, values string (at most 500 characters), number, bool or null.
func parseMetadata(raw json.RawMessage) (map[string]any, string) {
	if string(raw) == "null" {
		return map[string]any{}, ""
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, "must be an object"
	}
	if len(m) > 50 {
		return nil, "must have at most 50 keys"
	}
	for k, v := range m {
		if len([]rune(k)) > 50 {
			return nil, "keys must be at most 50 characters"
		}
		switch v := v.(type) {
		case nil, bool, float64:
		case string:
			if len([]rune(v)) > 500 {
				return nil, "values must be at most 500 characters"
			}
		default:
			return nil, "values must be strings, numbers, booleans or null"
		}
	}
	return m, ""
}

func (st *state) deleteUser(u *user) {
	delete(st.users, u.id)
	maps.DeleteFunc(st.roleAssignments, func(_ int64, ra *roleAssignment) bool { return ra.assigneeType == "User" && ra.assigneeID == u.id })
	maps.DeleteFunc(st.memberships, func(_ int64, m *teamMembership) bool { return m.memberType == "User" && m.memberID == u.id })
	maps.DeleteFunc(st.keys, func(_ string, ku *user) bool { return ku == u })
}
