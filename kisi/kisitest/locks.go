package kisitest

import (
	"maps"
	"net/http"
	"time"
)

type lock struct {
	meta
	placeID             int64
	name                string
	description         *string
	latitude, longitude *float64
	orderID, floorID    *int64
	geofence            bool
	reader              bool
	timeRestriction     bool
}

type lockPlace struct {
	ID        int64    `json:"id"`
	Name      string   `json:"name"`
	Latitude  *float64 `json:"latitude"`
	Longitude *float64 `json:"longitude"`
}

type wireLock struct {
	ID                         int64     `json:"id"`
	ResourceType               string    `json:"resource_type"`
	CreatedAt                  string    `json:"created_at"`
	UpdatedAt                  string    `json:"updated_at"`
	Configured                 bool      `json:"configured"`
	Description                *string   `json:"description"`
	FirstToArriveRequiredUntil *string   `json:"first_to_arrive_required_until"`
	FirstToArriveSatisfied     bool      `json:"first_to_arrive_satisfied"`
	Latitude                   *float64  `json:"latitude"`
	Longitude                  *float64  `json:"longitude"`
	LockedDown                 bool      `json:"locked_down"`
	LockedDownSince            *string   `json:"locked_down_since"`
	Name                       string    `json:"name"`
	OnScheduledUnlock          bool      `json:"on_scheduled_unlock"`
	Online                     *bool     `json:"online"`
	Open                       bool      `json:"open"`
	OrderID                    *int64    `json:"order_id"`
	Unlocked                   bool      `json:"unlocked"`
	GeofenceRestrictionEnabled *bool     `json:"geofence_restriction_enabled"`
	GeofenceRestrictionRadius  float64   `json:"geofence_restriction_radius"`
	ReaderRestrictionEnabled   *bool     `json:"reader_restriction_enabled"`
	TimeRestrictionEnabled     *bool     `json:"time_restriction_enabled"`
	TimeRestrictionTimeZone    *string   `json:"time_restriction_time_zone"`
	PlaceID                    int64     `json:"place_id"`
	Place                      lockPlace `json:"place"`
	FloorID                    *int64    `json:"floor_id"`
	GroupsCount                int       `json:"groups_count"`
	UnlockedUntil              *string   `json:"unlocked_until"`
}

func (st *state) renderLock(l *lock) wireLock {
	n := 0
	for _, gl := range st.groupLocks {
		if gl.lockID == l.id {
			n++
		}
	}
	online := true
	geo, reader, tr := l.geofence, l.reader, l.timeRestriction
	lp := lockPlace{ID: l.placeID}
	if p := st.places[l.placeID]; p != nil {
		lp = lockPlace{ID: p.id, Name: p.name, Latitude: p.latitude, Longitude: p.longitude}
	}
	return wireLock{
		ID: l.id, ResourceType: "Lock", CreatedAt: ts(l.createdAt), UpdatedAt: ts(l.updatedAt),
		Configured: true, Description: l.description, Latitude: l.latitude, Longitude: l.longitude,
		Name: l.name, Online: &online, OrderID: l.orderID, GeofenceRestrictionEnabled: &geo,
		GeofenceRestrictionRadius: 100, ReaderRestrictionEnabled: &reader, TimeRestrictionEnabled: &tr,
		PlaceID: l.placeID, Place: lp, FloorID: l.floorID, GroupsCount: n,
	}
}

func (st *state) routeLocks(c *call) response {
	if len(c.segs) == 3 && c.segs[2] == "unlock" && c.method == http.MethodPost {
		c.segs = c.segs[:2]
		id, ok := c.member()
		if !ok || st.locks[id] == nil {
			return notFound()
		}
		return st.unlock(c, st.locks[id])
	}
	return serve(st, c, resource[lock, wireLock]{
		key: "lock", items: st.locks, render: st.renderLock,
		pageSize: 50, maxPageSize: 250,
		filter: func(q *query) func(*lock) bool {
			placeID, byPlace := q.id("place_id")
			text := q.text()
			return func(l *lock) bool {
				return (!byPlace || l.placeID == placeID) && matches(text, l.name)
			}
		},
		create: func(f *fields) (*lock, response) {
			l := &lock{meta: stamp(c.now), name: f.required("name"), placeID: f.requiredID("place_id")}
			if l.placeID != 0 && st.places[l.placeID] == nil {
				f.fail("place", "must exist")
			}
			applyLockFields(f, l)
			return l, response{}
		},
		update: func(f *fields, l *lock) {
			if f.has("name") {
				l.name = f.required("name")
			}
			applyLockFields(f, l)
		},
		remove: removeWith(st.deleteLock),
	})
}

func applyLockFields(f *fields, l *lock) {
	if f.has("description") {
		l.description = f.str("description")
	}
	if f.has("latitude") {
		l.latitude = f.number("latitude")
	}
	if f.has("longitude") {
		l.longitude = f.number("longitude")
	}
	if b := f.boolean("geofence_restriction_enabled"); b != nil {
		l.geofence = *b
	}
	if b := f.boolean("reader_restriction_enabled"); b != nil {
		l.reader = *b
	}
	if b := f.boolean("time_restriction_enabled"); b != nil {
		l.timeRestriction = *b
	}
	if f.has("order_id") {
		if id := f.id("order_id"); id != 0 {
			l.orderID = &id
		} else {
			l.orderID = nil
		}
	}
	if f.has("floor_id") {
		if id := f.id("floor_id"); id != 0 {
			l.floorID = &id
		} else {
			l.floorID = nil
		}
	}
}

func (st *state) deleteLock(l *lock) {
	delete(st.locks, l.id)
	maps.DeleteFunc(st.groupLocks, func(_ int64, gl *groupLock) bool { return gl.lockID == l.id })
}

// unlock answers POST /locks/{id}/unlock for the caller and records a
// lock.unlock event. Owners and administrators may always unlock; any other
// user needs a group role, valid now, in a group that contains the lock,
// held directly or through a team.
func (st *state) unlock(c *call, l *lock) response {
	code := st.unlockCode(c.user, l, c.now)
	st.recordEvent(&event{
		typ: "lock.unlock", actorType: "User", actorID: c.user.id, objectType: "Lock", objectID: l.id,
		placeID: l.placeID, success: code == "", errorCode: code, at: c.now,
	})
	if code != "" {
		return errorResponse(http.StatusForbidden, errorMessage(code), code)
	}
	t := c.now
	c.user.lastAccessedAt = &t
	return jsonResponse(struct {
		Message string `json:"message"`
	}{"Unlocked!"})
}

func (st *state) unlockCode(u *user, l *lock, now time.Time) string {
	if !u.accessEnabled {
		return "fcd8ff"
	}
	if st.isAdmin(u) {
		return ""
	}
	teams := map[int64]bool{}
	for _, m := range st.memberships {
		if m.memberType == "User" && m.memberID == u.id {
			teams[m.teamID] = true
		}
	}
	code := "afc496"
	for _, ra := range st.roleAssignments {
		mine := ra.assigneeType == "User" && ra.assigneeID == u.id || ra.assigneeType == "Team" && teams[ra.assigneeID]
		if !mine || ra.appliesToType != "Group" {
			continue
		}
		inGroup := false
		for _, gl := range st.groupLocks {
			if gl.groupID == ra.appliesToID && gl.lockID == l.id {
				inGroup = true
				break
			}
		}
		if !inGroup {
			continue
		}
		switch {
		case ra.validFrom != nil && now.Before(*ra.validFrom):
			code = "f358de"
		case ra.validUntil != nil && !now.Before(*ra.validUntil):
			if code != "f358de" {
				code = "f35ade"
			}
		default:
			return ""
		}
	}
	return code
}
