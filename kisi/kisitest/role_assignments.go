package kisitest

import (
	"strings"
	"time"
)

type roleAssignment struct {
	meta
	roleID                string
	notify                bool
	appliesToType         string // Organization, Place or Group
	appliesToID           int64
	assigneeType          string // User, Team or Guest
	assigneeID            int64
	createdByID           int64 // 0: none
	validFrom, validUntil *time.Time
}

type wireRoleAssignment struct {
	ID            int64   `json:"id"`
	ResourceType  string  `json:"resource_type"`
	CreatedAt     string  `json:"created_at"`
	UpdatedAt     string  `json:"updated_at"`
	RoleID        string  `json:"role_id"`
	Notify        bool    `json:"notify"`
	AppliesToType string  `json:"applies_to_type"`
	AppliesToID   int64   `json:"applies_to_id"`
	AppliesTo     any     `json:"applies_to"`
	AssigneeType  string  `json:"assignee_type"`
	AssigneeID    int64   `json:"assignee_id"`
	Assignee      any     `json:"assignee"`
	CreatedByType *string `json:"created_by_type"`
	CreatedByID   *int64  `json:"created_by_id"`
	UserID        *int64  `json:"user_id"`
	// user, assignee_team and guest are optional objects in the spec,
	// never null: they are left out when they do not apply.
	User           *refUser  `json:"user,omitempty"`
	AssigneeTeamID *int64    `json:"assignee_team_id"`
	AssigneeTeam   *refNamed `json:"assignee_team,omitempty"`
	GuestID        *int64    `json:"guest_id"`
	Guest          any       `json:"guest,omitempty"`
	IssuedByID     *int64    `json:"issued_by_id"`
	Type           string    `json:"type"`
	Scope          string    `json:"scope"`
}

type wireGroupRoleAssignment struct {
	wireRoleAssignment
	ValidFrom  *string   `json:"valid_from"`
	ValidUntil *string   `json:"valid_until"`
	GroupID    int64     `json:"group_id"`
	Group      *refNamed `json:"group"`
}

type wirePlaceRoleAssignment struct {
	wireRoleAssignment
	PlaceID int64     `json:"place_id"`
	Place   *refNamed `json:"place"`
}

type wireOrgRoleAssignment struct {
	wireRoleAssignment
	OrganizationID int64           `json:"organization_id"`
	Organization   refOrganization `json:"organization"`
}

func (st *state) renderRoleAssignment(ra *roleAssignment) any {
	w := wireRoleAssignment{
		ID: ra.id, ResourceType: "RoleAssignment", CreatedAt: ts(ra.createdAt), UpdatedAt: ts(ra.updatedAt),
		RoleID: ra.roleID, Notify: ra.notify, AppliesToType: ra.appliesToType, AppliesToID: ra.appliesToID,
		AssigneeType: ra.assigneeType, AssigneeID: ra.assigneeID,
		Type: strings.ToLower(ra.appliesToType), Scope: strings.ToLower(ra.appliesToType),
	}
	if ra.createdByID != 0 {
		t, id := "User", ra.createdByID
		w.CreatedByType, w.CreatedByID, w.IssuedByID = &t, &id, &id
	}
	id := ra.assigneeID
	switch ra.assigneeType {
	case "User":
		ref := st.userRef(id)
		w.Assignee, w.UserID, w.User = ref, &id, ref
	case "Team":
		ref := st.teamRef(id)
		w.Assignee, w.AssigneeTeamID, w.AssigneeTeam = ref, &id, ref
	default:
		if ref := st.guestRef(id); ref != nil {
			w.Assignee, w.Guest = ref, ref
		}
		w.GuestID = &id
	}
	switch ra.appliesToType {
	case "Group":
		ref := st.groupRef(ra.appliesToID)
		w.AppliesTo = ref
		return wireGroupRoleAssignment{
			wireRoleAssignment: w, ValidFrom: tsPtr(ra.validFrom), ValidUntil: tsPtr(ra.validUntil),
			GroupID: ra.appliesToID, Group: ref,
		}
	case "Place":
		ref := st.placeRef(ra.appliesToID)
		w.AppliesTo = ref
		return wirePlaceRoleAssignment{wireRoleAssignment: w, PlaceID: ra.appliesToID, Place: ref}
	default:
		w.AppliesTo = st.orgRef()
		return wireOrgRoleAssignment{wireRoleAssignment: w, OrganizationID: st.org.id, Organization: st.orgRef()}
	}
}

// addRoleAssignment stores ra, created at now, under a new id.
func (st *state) addRoleAssignment(ra *roleAssignment, now time.Time) {
	ra.meta = st.newMeta(now)
	st.roleAssignments[ra.id] = ra
}

func (st *state) routeRoleAssignments(c *call) response {
	return serve(st, c, resource[roleAssignment, any]{
		key: "role_assignment", items: st.roleAssignments, render: st.renderRoleAssignment,
		pageSize: 10, maxPageSize: 250,
		filter: func(q *query) func(*roleAssignment) bool { return st.roleAssignmentFilter(c, q) },
		order:  st.orderRoleAssignments,
		create: func(f *fields) (*roleAssignment, response) { return st.newRoleAssignment(c, f) },
		update: st.updateRoleAssignment,
		remove: func(ra *roleAssignment) response {
			if ra.roleID == "organization_owner" {
				return invalid("role_id", "the organization owner role cannot be removed")
			}
			delete(st.roleAssignments, ra.id)
			return noContent()
		},
	})
}

// exists reports whether the scope or assignee a role assignment names
// exists.
func (st *state) exists(typ string, id int64) bool {
	switch typ {
	case "Organization":
		return id == st.org.id
	case "Place":
		return st.places[id] != nil
	case "Group":
		return st.groups[id] != nil
	case "User":
		return st.users[id] != nil
	case "Team":
		return st.teams[id] != nil
	case "Guest":
		return st.guests[id] != nil
	}
	return false
}

// newRoleAssignment builds a role assignment from a create body. After the
// body's own validation it answers 404 for an unknown scope or assignee and
// 422 for a second role of one assignee in one scope.
func (st *state) newRoleAssignment(c *call, f *fields) (*roleAssignment, response) {
	ra := &roleAssignment{meta: stamp(c.now), createdByID: c.user.id}
	// The deprecated scope and assignee keys are still accepted.
	for _, dep := range [...]struct{ key, typ string }{{"group_id", "Group"}, {"place_id", "Place"}, {"organization_id", "Organization"}} {
		if !f.has("applies_to_type") && !f.isNull(dep.key) {
			ra.appliesToType, ra.appliesToID = dep.typ, f.id(dep.key)
		}
	}
	if !f.has("assignee_type") && !f.isNull("user_id") {
		ra.assigneeType, ra.assigneeID = "User", f.id("user_id")
	}
	if ra.appliesToType == "" {
		ra.appliesToType = f.required("applies_to_type")
		ra.appliesToID = f.requiredID("applies_to_id")
	}
	if ra.assigneeType == "" {
		ra.assigneeType = f.required("assignee_type")
		ra.assigneeID = f.requiredID("assignee_id")
	}
	ra.roleID = f.required("role_id")
	if b := f.boolean("notify"); b != nil {
		ra.notify = *b
	}
	switch ra.appliesToType {
	case "", "Organization", "Place", "Group":
	default:
		f.fail("applies_to_type", "is not included in the list")
	}
	switch ra.assigneeType {
	case "", "User", "Team", "Guest":
	default:
		f.fail("assignee_type", "is not included in the list")
	}
	if ra.roleID != "" {
		if scope, ok := st.lookupRole(ra.roleID); !ok || (ra.appliesToType != "" && scope != ra.appliesToType) {
			f.fail("role_id", "is invalid")
		}
	}
	if ra.roleID == "organization_owner" {
		f.fail("role_id", "the organization owner role cannot be assigned")
	}
	vf, vu := f.time("valid_from"), f.time("valid_until")
	if ra.appliesToType == "Group" {
		ra.validFrom, ra.validUntil = st.stored(vf), st.stored(vu)
		if vf != nil && vu != nil && !vu.After(*vf) {
			f.fail("valid_until", "must be after valid_from")
		}
	} else if (vf != nil || vu != nil) && st.cfg.rejectNonGroupWindow {
		f.fail("base", "valid_from and valid_until are only allowed for group role assignments")
	}
	if resp, bad := f.invalid(); bad {
		return nil, resp
	}
	if !st.exists(ra.appliesToType, ra.appliesToID) || !st.exists(ra.assigneeType, ra.assigneeID) {
		return nil, notFound()
	}
	for _, o := range st.roleAssignments {
		if o.assigneeType == ra.assigneeType && o.assigneeID == ra.assigneeID &&
			o.appliesToType == ra.appliesToType && o.appliesToID == ra.appliesToID {
			f.fail(st.cfg.duplicateRoleKey, "already has a role in this "+strings.ToLower(ra.appliesToType))
			break
		}
	}
	return ra, response{}
}

func (st *state) updateRoleAssignment(f *fields, cp *roleAssignment) {
	if f.has("role_id") {
		cp.roleID = f.required("role_id")
		if scope, ok := st.lookupRole(cp.roleID); cp.roleID != "" && (!ok || scope != cp.appliesToType || cp.roleID == "organization_owner") {
			f.fail("role_id", "is invalid")
		}
	}
	if !f.isNull("notify") {
		// The spec types notify as a string in PATCH and a bool elsewhere.
		switch strings.Trim(string(f.m["notify"]), `"`) {
		case "true":
			cp.notify = true
		case "false":
			cp.notify = false
		default:
			f.fail("notify", "is invalid")
		}
	}
	if st.cfg.patchableValidity && cp.appliesToType == "Group" {
		if f.has("valid_from") {
			cp.validFrom = st.stored(f.time("valid_from"))
		}
		if f.has("valid_until") {
			cp.validUntil = st.stored(f.time("valid_until"))
		}
		if cp.validFrom != nil && cp.validUntil != nil && !cp.validUntil.After(*cp.validFrom) {
			f.fail("valid_until", "must be after valid_from")
		}
	}
}

// orderRoleAssignments applies the sort parameter of GET
// /role_assignments: user.name or -user.name (assignments of teams and
// guests sort by their name too).
func (st *state) orderRoleAssignments(q *query, items []*roleAssignment) {
	sort := q.Get("sort")
	var cmp func(a, b *roleAssignment) int
	if sort == "user.name" || sort == "-user.name" {
		cmp = func(a, b *roleAssignment) int { return strings.Compare(st.assigneeName(a), st.assigneeName(b)) }
	}
	applySort(q, items, sort, cmp)
}

func (st *state) assigneeName(ra *roleAssignment) string {
	switch ra.assigneeType {
	case "User":
		if u := st.users[ra.assigneeID]; u != nil {
			return u.name
		}
	case "Team":
		if t := st.teams[ra.assigneeID]; t != nil {
			return t.name
		}
	case "Guest":
		if g := st.guests[ra.assigneeID]; g != nil {
			return g.name
		}
	}
	return ""
}

// stored is t as the server keeps a validity bound: truncated to the
// precision set by WithValidityPrecision.
func (st *state) stored(t *time.Time) *time.Time {
	if t == nil || st.cfg.validityPrecision <= 0 {
		return t
	}
	v := t.Truncate(st.cfg.validityPrecision)
	return &v
}

func (st *state) roleAssignmentFilter(c *call, q *query) func(*roleAssignment) bool {
	roleID := q.Get("role_id")
	assigneeType, appliesToType := q.Get("assignee_type"), q.Get("applies_to_type")
	assigneeID, byAssignee := q.id("assignee_id")
	appliesToID, byAppliesTo := q.id("applies_to_id")
	if byAssignee && assigneeType == "" {
		q.fail(badRequest("assignee_id must be used with assignee_type"))
	}
	if byAppliesTo && appliesToType == "" {
		q.fail(badRequest("applies_to_id must be used with applies_to_type"))
	}
	// Deprecated filters.
	if v := q.Get("user_id"); v != "" {
		assigneeType, byAssignee = "User", true
		if v == "me" {
			assigneeID = c.user.id
		} else {
			assigneeID, _ = q.id("user_id")
		}
	}
	for _, dep := range [...]struct{ key, typ string }{{"group_id", "Group"}, {"place_id", "Place"}} {
		if id, set := q.id(dep.key); set {
			appliesToType, appliesToID, byAppliesTo = dep.typ, id, true
		}
	}
	scope, text := q.Get("scope"), q.text()
	return func(ra *roleAssignment) bool {
		switch {
		case roleID != "" && ra.roleID != roleID,
			assigneeType != "" && ra.assigneeType != assigneeType,
			byAssignee && ra.assigneeID != assigneeID,
			appliesToType != "" && ra.appliesToType != appliesToType,
			byAppliesTo && ra.appliesToID != appliesToID,
			scope != "" && strings.ToLower(ra.appliesToType) != scope:
			return false
		}
		if text != "" {
			u := st.users[ra.assigneeID]
			return ra.assigneeType == "User" && u != nil && matches(text, u.email, u.name)
		}
		return true
	}
}
