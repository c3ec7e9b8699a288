package kisitest

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

type user struct {
	id                   int64
	email, name          string
	image, notes         *string
	metadata             map[string]any
	accessEnabled        bool
	passwordFlowEnabled  bool
	confirmed            bool
	sendEmails           bool
	lastAccessedAt       *time.Time
	createdAt, updatedAt time.Time
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
	Confirmed           bool           `json:"confirmed"`
	GroupsCount         int            `json:"groups_count"`
}

func (st *state) addUser(email, name string, confirmed bool, now time.Time) *user {
	u := &user{
		id: st.newID(), email: email, name: name, metadata: map[string]any{},
		accessEnabled: true, confirmed: confirmed, sendEmails: !confirmed,
		createdAt: now, updatedAt: now,
	}
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
		OrganizationID: st.org.id, Confirmed: u.confirmed, GroupsCount: len(groups),
	}
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
		return methodNotFound()
	}
	return jsonResponse(st.renderUser(c.user))
}

func (st *state) routeUsers(c *call) response {
	if c.collection() {
		switch c.method {
		case http.MethodGet:
			return st.listUsers(c)
		case http.MethodPost:
			return st.createUser(c)
		}
		return methodNotFound()
	}
	id, ok := c.member()
	if !ok {
		return notFound()
	}
	u := st.users[id]
	if u == nil {
		return notFound()
	}
	switch c.method {
	case http.MethodGet:
		return jsonResponse(st.renderUser(u))
	case http.MethodPatch:
		return st.updateUser(c, u)
	case http.MethodDelete:
		if u == st.owner {
			return invalid("base", "the organization owner cannot be deleted")
		}
		st.deleteUser(u)
		return noContent()
	}
	return methodNotFound()
}

func (st *state) listUsers(c *call) response {
	p, bad, ok := c.paging(50, 100)
	if !ok {
		return bad
	}
	ids, ok := c.queryIDs()
	if !ok {
		return badRequest("ids is invalid")
	}
	groupID, byGroup, ok := c.queryID("group_id")
	if !ok {
		return badRequest("group_id is invalid")
	}
	email := c.query.Get("email")
	q := strings.ToLower(c.query.Get("query"))
	inGroup := map[int64]bool{}
	if byGroup {
		for _, ra := range st.roleAssignments {
			if ra.appliesToType == "Group" && ra.appliesToID == groupID && ra.assigneeType == "User" {
				inGroup[ra.assigneeID] = true
			}
		}
	}
	items := sorted(st.users, func(u *user) bool {
		if ids != nil && !ids[u.id] {
			return false
		}
		if email != "" && !strings.EqualFold(u.email, email) {
			return false
		}
		if byGroup && !inGroup[u.id] {
			return false
		}
		if q != "" {
			notes := ""
			if u.notes != nil {
				notes = *u.notes
			}
			if !strings.Contains(strings.ToLower(u.email+"\x00"+u.name+"\x00"+notes), q) {
				return false
			}
		}
		return true
	})
	return paginate(items, p, st.renderUser)
}

func (st *state) createUser(c *call) response {
	f, bad, ok := c.decode("user")
	if !ok {
		return bad
	}
	email := strings.TrimSpace(f.required("email"))
	if email != "" && (!strings.Contains(email, "@") || strings.ContainsAny(email, " \t")) {
		f.fail("email", "is invalid")
	}
	if email != "" && st.userByEmail(email) != nil {
		f.fail("email", "has already been taken")
	}
	u := &user{email: email, accessEnabled: true, sendEmails: true, createdAt: c.now, updatedAt: c.now}
	if n := f.str("name"); n != nil {
		u.name = *n
	}
	if b := f.boolean("send_emails"); b != nil {
		u.sendEmails = *b
	}
	if b := f.boolean("confirm"); b != nil {
		u.confirmed = *b
	}
	applyUserFields(f, u)
	if resp, bad := f.invalid(); bad {
		return resp
	}
	u.id = st.newID()
	st.users[u.id] = u
	return jsonResponse(st.renderUser(u))
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

func (st *state) updateUser(c *call, u *user) response {
	f, bad, ok := c.decode("user")
	if !ok {
		return bad
	}
	cp := *u
	applyUserFields(f, &cp)
	if resp, bad := f.invalid(); bad {
		return resp
	}
	cp.updatedAt = c.now
	*u = cp
	return noContent()
}

func (st *state) deleteUser(u *user) {
	delete(st.users, u.id)
	for id, ra := range st.roleAssignments {
		if ra.assigneeType == "User" && ra.assigneeID == u.id {
			delete(st.roleAssignments, id)
		}
	}
	for id, m := range st.memberships {
		if m.memberType == "User" && m.memberID == u.id {
			delete(st.memberships, id)
		}
	}
	for k, ku := range st.keys {
		if ku == u {
			delete(st.keys, k)
		}
	}
}
