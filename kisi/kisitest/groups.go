package kisitest

import (
	"net/http"
	"strings"
	"time"
)

// groupRestrictions are the boolean restriction keys of a group, in
// response order.
var groupRestrictions = [...]string{
	"geofence_restriction_enabled",
	"primary_device_restriction_enabled",
	"managed_device_restriction_enabled",
	"reader_restriction_enabled",
	"time_restriction_enabled",
	"tap_to_access_restriction_enabled",
}

type group struct {
	id                   int64
	name                 string
	description          *string
	placeID              int64 // 0: organization-scoped
	restrictions         [len(groupRestrictions)]bool
	loginEnabled         bool
	timeZone             *string
	createdAt, updatedAt time.Time
}

type wireGroup struct {
	ID                              int64     `json:"id"`
	ResourceType                    string    `json:"resource_type"`
	Name                            string    `json:"name"`
	Description                     *string   `json:"description"`
	CreatedAt                       string    `json:"created_at"`
	UpdatedAt                       string    `json:"updated_at"`
	GeofenceRestrictionEnabled      bool      `json:"geofence_restriction_enabled"`
	GeofenceRestrictionRadius       float64   `json:"geofence_restriction_radius"`
	PrimaryDeviceRestrictionEnabled bool      `json:"primary_device_restriction_enabled"`
	ManagedDeviceRestrictionEnabled bool      `json:"managed_device_restriction_enabled"`
	ReaderRestrictionEnabled        bool      `json:"reader_restriction_enabled"`
	TimeRestrictionEnabled          bool      `json:"time_restriction_enabled"`
	TapToAccessRestrictionEnabled   bool      `json:"tap_to_access_restriction_enabled"`
	LoginEnabled                    bool      `json:"login_enabled"`
	UsersCount                      int       `json:"users_count"`
	LocksCount                      int       `json:"locks_count"`
	ElevatorStopsCount              int       `json:"elevator_stops_count"`
	PlaceID                         *int64    `json:"place_id"`
	Place                           *refNamed `json:"place"`
	TimeRestrictionTimeZone         *string   `json:"time_restriction_time_zone"`
	MembersCount                    int       `json:"members_count"`
}

func (st *state) renderGroup(g *group) wireGroup {
	users := map[int64]bool{}
	for _, ra := range st.roleAssignments {
		if ra.appliesToType == "Group" && ra.appliesToID == g.id && ra.assigneeType == "User" {
			users[ra.assigneeID] = true
		}
	}
	locks := 0
	for _, gl := range st.groupLocks {
		if gl.groupID == g.id {
			locks++
		}
	}
	w := wireGroup{
		ID: g.id, ResourceType: "Group", Name: g.name, Description: g.description,
		CreatedAt: ts(g.createdAt), UpdatedAt: ts(g.updatedAt),
		GeofenceRestrictionEnabled: g.restrictions[0], GeofenceRestrictionRadius: 100,
		PrimaryDeviceRestrictionEnabled: g.restrictions[1], ManagedDeviceRestrictionEnabled: g.restrictions[2],
		ReaderRestrictionEnabled: g.restrictions[3], TimeRestrictionEnabled: g.restrictions[4],
		TapToAccessRestrictionEnabled: g.restrictions[5], LoginEnabled: g.loginEnabled,
		UsersCount: len(users), LocksCount: locks, TimeRestrictionTimeZone: g.timeZone, MembersCount: len(users),
	}
	if g.placeID != 0 {
		pid := g.placeID
		w.PlaceID = &pid
		w.Place = st.placeRef(pid)
	}
	return w
}

func (st *state) groupRef(id int64) *refNamed {
	g := st.groups[id]
	if g == nil {
		return nil
	}
	return &refNamed{ID: g.id, ResourceType: "Group", Name: g.name}
}

func (st *state) routeGroups(c *call) response {
	if c.collection() {
		switch c.method {
		case http.MethodGet:
			return st.listGroups(c)
		case http.MethodPost:
			f, bad, ok := c.decode("group")
			if !ok {
				return bad
			}
			g := &group{name: f.required("name"), placeID: f.id("place_id"), loginEnabled: true, createdAt: c.now, updatedAt: c.now}
			if g.placeID != 0 && st.places[g.placeID] == nil {
				f.fail("place", "must exist")
			}
			applyGroupFields(f, g)
			if resp, bad := f.invalid(); bad {
				return resp
			}
			g.id = st.newID()
			st.groups[g.id] = g
			return jsonResponse(st.renderGroup(g))
		}
		return methodNotFound()
	}
	id, ok := c.member()
	if !ok {
		return notFound()
	}
	g := st.groups[id]
	if g == nil {
		return notFound()
	}
	switch c.method {
	case http.MethodGet:
		return jsonResponse(st.renderGroup(g))
	case http.MethodPatch:
		f, bad, ok := c.decode("group")
		if !ok {
			return bad
		}
		cp := *g
		if f.has("name") {
			cp.name = f.required("name")
		}
		applyGroupFields(f, &cp)
		if resp, bad := f.invalid(); bad {
			return resp
		}
		cp.updatedAt = c.now
		*g = cp
		return noContent()
	case http.MethodDelete:
		st.deleteGroup(g)
		return noContent()
	}
	return methodNotFound()
}

func applyGroupFields(f *fields, g *group) {
	if f.has("description") {
		g.description = f.str("description")
	}
	if b := f.boolean("login_enabled"); b != nil {
		g.loginEnabled = *b
	}
	for i, k := range groupRestrictions {
		if b := f.boolean(k); b != nil {
			g.restrictions[i] = *b
		}
	}
	if f.has("time_restriction_time_zone") {
		g.timeZone = f.str("time_restriction_time_zone")
	}
}

func (st *state) listGroups(c *call) response {
	p, bad, ok := c.paging(10, 250)
	if !ok {
		return bad
	}
	ids, ok := c.queryIDs()
	if !ok {
		return badRequest("ids is invalid")
	}
	placeID, byPlace, ok := c.queryID("place_id")
	if !ok {
		return badRequest("place_id is invalid")
	}
	lockID, byLock, ok := c.queryID("lock_id")
	if !ok {
		return badRequest("lock_id is invalid")
	}
	scope := c.query.Get("scope")
	q := strings.ToLower(c.query.Get("query"))
	items := sorted(st.groups, func(g *group) bool {
		if ids != nil && !ids[g.id] || byPlace && g.placeID != placeID {
			return false
		}
		if scope == "organization" && g.placeID != 0 || scope == "place" && g.placeID == 0 {
			return false
		}
		if q != "" && !strings.Contains(strings.ToLower(g.name), q) {
			return false
		}
		if byLock {
			for _, gl := range st.groupLocks {
				if gl.groupID == g.id && gl.lockID == lockID {
					return true
				}
			}
			return false
		}
		return true
	})
	return paginate(items, p, st.renderGroup)
}

// deleteGroup removes the group with its locks, links and role
// assignments.
func (st *state) deleteGroup(g *group) {
	delete(st.groups, g.id)
	for id, gl := range st.groupLocks {
		if gl.groupID == g.id {
			delete(st.groupLocks, id)
		}
	}
	for id, l := range st.groupLinks {
		if l.groupID == g.id {
			delete(st.groupLinks, id)
		}
	}
	for id, ra := range st.roleAssignments {
		if ra.appliesToType == "Group" && ra.appliesToID == g.id {
			delete(st.roleAssignments, id)
		}
	}
}

type groupLock struct {
	id, groupID, lockID  int64
	createdAt, updatedAt time.Time
}

type groupLockLock struct {
	ID          int64   `json:"id"`
	Description *string `json:"description"`
	Name        string  `json:"name"`
}

type wireGroupLock struct {
	ID           int64         `json:"id"`
	ResourceType string        `json:"resource_type"`
	CreatedAt    string        `json:"created_at"`
	UpdatedAt    string        `json:"updated_at"`
	GroupID      int64         `json:"group_id"`
	Group        *refNamed     `json:"group"`
	LockID       int64         `json:"lock_id"`
	Lock         groupLockLock `json:"lock"`
	PlaceID      int64         `json:"place_id"`
	Place        *refNamed     `json:"place"`
}

func (st *state) renderGroupLock(gl *groupLock) wireGroupLock {
	w := wireGroupLock{
		ID: gl.id, ResourceType: "GroupLock", CreatedAt: ts(gl.createdAt), UpdatedAt: ts(gl.updatedAt),
		GroupID: gl.groupID, Group: st.groupRef(gl.groupID), LockID: gl.lockID,
	}
	if l := st.locks[gl.lockID]; l != nil {
		w.Lock = groupLockLock{ID: l.id, Description: l.description, Name: l.name}
		w.PlaceID = l.placeID
		w.Place = st.placeRef(l.placeID)
	}
	return w
}

func (st *state) routeGroupLocks(c *call) response {
	if c.collection() {
		switch c.method {
		case http.MethodGet:
			p, bad, ok := c.paging(10, 250)
			if !ok {
				return bad
			}
			groupID, set, ok := c.queryID("group_id")
			if !set || !ok {
				return badRequest("group_id is missing or invalid")
			}
			if st.groups[groupID] == nil {
				return notFound()
			}
			lockID, byLock, ok := c.queryID("lock_id")
			if !ok {
				return badRequest("lock_id is invalid")
			}
			ids, ok := c.queryIDs()
			if !ok {
				return badRequest("ids is invalid")
			}
			items := sorted(st.groupLocks, func(gl *groupLock) bool {
				return gl.groupID == groupID && (!byLock || gl.lockID == lockID) && (ids == nil || ids[gl.id])
			})
			return paginate(items, p, st.renderGroupLock)
		case http.MethodPost:
			f, bad, ok := c.decode("group_lock")
			if !ok {
				return bad
			}
			gl := &groupLock{groupID: f.requiredID("group_id"), lockID: f.requiredID("lock_id"), createdAt: c.now, updatedAt: c.now}
			if gl.groupID != 0 && st.groups[gl.groupID] == nil {
				f.fail("group", "must exist")
			}
			if gl.lockID != 0 && st.locks[gl.lockID] == nil {
				f.fail("lock", "must exist")
			}
			for _, o := range st.groupLocks {
				if o.groupID == gl.groupID && o.lockID == gl.lockID {
					f.fail("lock_id", "has already been taken")
				}
			}
			if resp, bad := f.invalid(); bad {
				return resp
			}
			gl.id = st.newID()
			st.groupLocks[gl.id] = gl
			return jsonResponse(st.renderGroupLock(gl))
		}
		return methodNotFound()
	}
	id, ok := c.member()
	if !ok || st.groupLocks[id] == nil {
		return notFound()
	}
	switch c.method {
	case http.MethodGet:
		return jsonResponse(st.renderGroupLock(st.groupLocks[id]))
	case http.MethodDelete:
		delete(st.groupLocks, id)
		return noContent()
	}
	return methodNotFound()
}
