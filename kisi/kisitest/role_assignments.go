package kisitest

import (
	"net/http"
	"strings"
	"time"
)

type roleAssignment struct {
	id                    int64
	roleID                string
	notify                bool
	appliesToType         string // Organization, Place or Group
	appliesToID           int64
	assigneeType          string // User, Team or Guest
	assigneeID            int64
	createdByID           int64 // 0: none
	validFrom, validUntil *time.Time
	createdAt, updatedAt  time.Time
}

type wireRoleAssignment struct {
	ID             int64     `json:"id"`
	ResourceType   string    `json:"resource_type"`
	CreatedAt      string    `json:"created_at"`
	UpdatedAt      string    `json:"updated_at"`
	RoleID         string    `json:"role_id"`
	Notify         bool      `json:"notify"`
	AppliesToType  string    `json:"applies_to_type"`
	AppliesToID    int64     `json:"applies_to_id"`
	AppliesTo      any       `json:"applies_to"`
	AssigneeType   string    `json:"assignee_type"`
	AssigneeID     int64     `json:"assignee_id"`
	Assignee       any       `json:"assignee"`
	CreatedByType  *string   `json:"created_by_type"`
	CreatedByID    *int64    `json:"created_by_id"`
	UserID         *int64    `json:"user_id"`
	User           *refUser  `json:"user"`
	AssigneeTeamID *int64    `json:"assignee_team_id"`
	AssigneeTeam   *refNamed `json:"assignee_team"`
	GuestID        *int64    `json:"guest_id"`
	Guest          any       `json:"guest"`
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

func (st *state) addRoleAssignment(ra *roleAssignment) *roleAssignment {
	ra.id = st.newID()
	st.roleAssignments[ra.id] = ra
	return ra
}

func (st *state) routeRoleAssignments(c *call) response {
	if c.collection() {
		switch c.method {
		case http.MethodGet:
			return st.listRoleAssignments(c)
		case http.MethodPost:
			return st.createRoleAssignment(c)
		}
		return methodNotFound()
	}
	id, ok := c.member()
	if !ok {
		return notFound()
	}
	ra := st.roleAssignments[id]
	if ra == nil {
		return notFound()
	}
	switch c.method {
	case http.MethodGet:
		return jsonResponse(st.renderRoleAssignment(ra))
	case http.MethodPatch:
		return st.updateRoleAssignment(c, ra)
	case http.MethodDelete:
		if ra.roleID == "organization_owner" {
			return invalid("role_id", "the organization owner role cannot be removed")
		}
		delete(st.roleAssignments, id)
		return noContent()
	}
	return methodNotFound()
}

// scopeExists reports whether the scope or assignee a role assignment names
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
	}
	return false // Guest: the fake keeps no guests
}

func (st *state) createRoleAssignment(c *call) response {
	f, bad, ok := c.decode("role_assignment")
	if !ok {
		return bad
	}
	ra := &roleAssignment{createdByID: c.user.id, createdAt: c.now, updatedAt: c.now}
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
		if scope, ok := lookupRole(ra.roleID); !ok || (ra.appliesToType != "" && scope != ra.appliesToType) {
			f.fail("role_id", "is invalid")
		}
	}
	if ra.roleID == "organization_owner" {
		f.fail("role_id", "the organization owner role cannot be assigned")
	}
	vf, vu := f.time("valid_from"), f.time("valid_until")
	if ra.appliesToType == "Group" {
		ra.validFrom, ra.validUntil = vf, vu
		if vf != nil && vu != nil && !vu.After(*vf) {
			f.fail("valid_until", "must be after valid_from")
		}
	} else if vf != nil || vu != nil {
		f.fail("base", "valid_from and valid_until are only allowed for group role assignments")
	}
	if resp, bad := f.invalid(); bad {
		return resp
	}
	if !st.exists(ra.appliesToType, ra.appliesToID) || !st.exists(ra.assigneeType, ra.assigneeID) {
		return notFound()
	}
	for _, o := range st.roleAssignments {
		if o.assigneeType == ra.assigneeType && o.assigneeID == ra.assigneeID &&
			o.appliesToType == ra.appliesToType && o.appliesToID == ra.appliesToID {
			return invalid("assignee_id", "already has a role in this "+strings.ToLower(ra.appliesToType))
		}
	}
	st.addRoleAssignment(ra)
	return jsonResponse(st.renderRoleAssignment(ra))
}

func (st *state) updateRoleAssignment(c *call, ra *roleAssignment) response {
	f, bad, ok := c.decode("role_assignment")
	if !ok {
		return bad
	}
	cp := *ra
	if f.has("role_id") {
		cp.roleID = f.required("role_id")
		if scope, ok := lookupRole(cp.roleID); cp.roleID != "" && (!ok || scope != cp.appliesToType || cp.roleID == "organization_owner") {
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
			cp.validFrom = f.time("valid_from")
		}
		if f.has("valid_until") {
			cp.validUntil = f.time("valid_until")
		}
		if cp.validFrom != nil && cp.validUntil != nil && !cp.validUntil.After(*cp.validFrom) {
			f.fail("valid_until", "must be after valid_from")
		}
	}
	if resp, bad := f.invalid(); bad {
		return resp
	}
	cp.updatedAt = c.now
	*ra = cp
	return noContent()
}

func (st *state) listRoleAssignments(c *call) response {
	p, bad, ok := c.paging(10, 250)
	if !ok {
		return bad
	}
	ids, ok := c.queryIDs()
	if !ok {
		return badRequest("ids is invalid")
	}
	roleID := c.query.Get("role_id")
	assigneeType, appliesToType := c.query.Get("assignee_type"), c.query.Get("applies_to_type")
	assigneeID, byAssignee, ok1 := c.queryID("assignee_id")
	appliesToID, byAppliesTo, ok2 := c.queryID("applies_to_id")
	if !ok1 || !ok2 {
		return badRequest("assignee_id and applies_to_id must be integers")
	}
	if byAssignee && assigneeType == "" {
		return badRequest("assignee_id must be used with assignee_type")
	}
	if byAppliesTo && appliesToType == "" {
		return badRequest("applies_to_id must be used with applies_to_type")
	}
	// Deprecated filters.
	if v := c.query.Get("user_id"); v != "" {
		assigneeType, byAssignee = "User", true
		if v == "me" {
			assigneeID = c.user.id
		} else if assigneeID, _, ok = c.queryID("user_id"); !ok {
			return badRequest("user_id is invalid")
		}
	}
	for _, dep := range [...]struct{ key, typ string }{{"group_id", "Group"}, {"place_id", "Place"}} {
		if id, set, ok := c.queryID(dep.key); set {
			if !ok {
				return badRequest(dep.key + " is invalid")
			}
			appliesToType, appliesToID, byAppliesTo = dep.typ, id, true
		}
	}
	scope := c.query.Get("scope")
	q := strings.ToLower(c.query.Get("query"))
	items := sorted(st.roleAssignments, func(ra *roleAssignment) bool {
		switch {
		case ids != nil && !ids[ra.id],
			roleID != "" && ra.roleID != roleID,
			assigneeType != "" && ra.assigneeType != assigneeType,
			byAssignee && ra.assigneeID != assigneeID,
			appliesToType != "" && ra.appliesToType != appliesToType,
			byAppliesTo && ra.appliesToID != appliesToID,
			scope != "" && strings.ToLower(ra.appliesToType) != scope:
			return false
		}
		if q != "" {
			u := st.users[ra.assigneeID]
			if ra.assigneeType != "User" || u == nil || !strings.Contains(strings.ToLower(u.email+"\x00"+u.name), q) {
				return false
			}
		}
		return true
	})
	return paginate(items, p, st.renderRoleAssignment)
}
