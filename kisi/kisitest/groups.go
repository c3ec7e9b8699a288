package kisitest

import "maps"

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
	meta
	name         string
	description  *string
	placeID      int64 // 0: organization-scoped
	restrictions [len(groupRestrictions)]bool
	loginEnabled bool
	timeZone     *string
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
	return serve(st, c, resource[group, wireGroup]{
		key: "group", items: st.groups, render: st.renderGroup,
		pageSize: 10, maxPageSize: 250, filter: st.groupFilter,
		create: func(f *fields) (*group, response) {
			g := &group{meta: stamp(c.now), name: f.required("name"), placeID: f.id("place_id"), loginEnabled: true}
			if g.placeID != 0 && st.places[g.placeID] == nil {
				f.fail("place", "must exist")
			}
			applyGroupFields(f, g)
			return g, response{}
		},
		update: func(f *fields, g *group) {
			if f.has("name") {
				g.name = f.required("name")
			}
			applyGroupFields(f, g)
		},
		remove: removeWith(st.deleteGroup),
	})
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

func (st *state) groupFilter(q *query) func(*group) bool {
	placeID, byPlace := q.id("place_id")
	lockID, byLock := q.id("lock_id")
	scope, text := q.Get("scope"), q.text()
	return func(g *group) bool {
		if byPlace && g.placeID != placeID ||
			scope == "organization" && g.placeID != 0 || scope == "place" && g.placeID == 0 ||
			!matches(text, g.name) {
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
	}
}

// deleteGroup removes the group with its locks, links and role
// assignments.
func (st *state) deleteGroup(g *group) {
	delete(st.groups, g.id)
	maps.DeleteFunc(st.groupLocks, func(_ int64, gl *groupLock) bool { return gl.groupID == g.id })
	maps.DeleteFunc(st.groupLinks, func(_ int64, l *groupLink) bool { return l.groupID == g.id })
	maps.DeleteFunc(st.roleAssignments, func(_ int64, ra *roleAssignment) bool { return ra.appliesToType == "Group" && ra.appliesToID == g.id })
}

type groupLock struct {
	meta
	groupID, lockID int64
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
	return serve(st, c, resource[groupLock, wireGroupLock]{
		key: "group_lock", items: st.groupLocks, render: st.renderGroupLock,
		pageSize: 10, maxPageSize: 250,
		filter: func(q *query) func(*groupLock) bool {
			groupID, set := q.id("group_id")
			if !set {
				q.fail(badRequest("group_id is missing or invalid"))
			} else if q.err.status == 0 && st.groups[groupID] == nil {
				q.fail(notFound())
			}
			lockID, byLock := q.id("lock_id")
			return func(gl *groupLock) bool {
				return gl.groupID == groupID && (!byLock || gl.lockID == lockID)
			}
		},
		create: func(f *fields) (*groupLock, response) {
			gl := &groupLock{meta: stamp(c.now), groupID: f.requiredID("group_id"), lockID: f.requiredID("lock_id")}
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
			return gl, response{}
		},
		remove: removeWith(func(gl *groupLock) { delete(st.groupLocks, gl.id) }),
	})
}
