package kisitest

import (
	"maps"
	"time"
)

type place struct {
	meta
	name, address       string
	description, image  *string
	timeZone            *string
	latitude, longitude *float64
}

type wirePlace struct {
	ID                int64           `json:"id"`
	ResourceType      string          `json:"resource_type"`
	Name              string          `json:"name"`
	Description       *string         `json:"description"`
	CreatedAt         string          `json:"created_at"`
	UpdatedAt         string          `json:"updated_at"`
	Latitude          *float64        `json:"latitude"`
	Longitude         *float64        `json:"longitude"`
	Address           string          `json:"address"`
	Image             *string         `json:"image"`
	TimeZone          *string         `json:"time_zone"`
	TZTimeZone        *string         `json:"tz_time_zone"`
	LocksCount        int             `json:"locks_count"`
	IntegrationsCount int             `json:"integrations_count"`
	LockedDown        bool            `json:"locked_down"`
	LockedDownSince   *string         `json:"locked_down_since"`
	OccupancyRate     *float64        `json:"occupancy_rate"`
	OrganizationID    int64           `json:"organization_id"`
	Organization      refOrganization `json:"organization"`
	Color             *string         `json:"color"`
	Logo              *string         `json:"logo"`
	UserID            *int64          `json:"user_id"`
	MembersCount      int             `json:"members_count"`
}

func (st *state) renderPlace(p *place) wirePlace {
	n := 0
	for _, l := range st.locks {
		if l.placeID == p.id {
			n++
		}
	}
	return wirePlace{
		ID: p.id, ResourceType: "Place", Name: p.name, Description: p.description,
		CreatedAt: ts(p.createdAt), UpdatedAt: ts(p.updatedAt), Latitude: p.latitude, Longitude: p.longitude,
		Address: p.address, Image: p.image, TimeZone: p.timeZone, TZTimeZone: p.timeZone, LocksCount: n,
		OrganizationID: st.org.id, Organization: st.orgRef(),
	}
}

func (st *state) placeRef(id int64) *refNamed {
	p := st.places[id]
	if p == nil {
		return nil
	}
	return &refNamed{ID: p.id, ResourceType: "Place", Name: p.name}
}

// DefaultPlaceGroup is the name of the group Kisi creates with each place
// (POST /places).
const DefaultPlaceGroup = "Entire place"

// defaultGroupIDs is where the ids of default place groups start.
const defaultGroupIDs = 900_000

// addDefaultGroup gives the new place p its default group, "Entire place",
// as Kisi does (docs), whether the place came from POST /places or from
// Server.AddPlace. Its id comes from a range of its own, so that the ids of
// the objects a test creates next stay as they were.
func (st *state) addDefaultGroup(p *place, now time.Time) {
	st.defaultGroupN++
	g := &group{meta: meta{id: defaultGroupIDs + st.defaultGroupN, createdAt: now, updatedAt: now},
		name: DefaultPlaceGroup, placeID: p.id, loginEnabled: true}
	st.groups[g.id] = g
}

func (st *state) routePlaces(c *call) response {
	return serve(st, c, resource[place, wirePlace]{
		key: "place", items: st.places, render: st.renderPlace,
		pageSize: 50, maxPageSize: 250,
		filter: func(q *query) func(*place) bool {
			text := q.text()
			return func(p *place) bool { return matches(text, p.name) }
		},
		create: func(f *fields) (*place, response) {
			p := &place{meta: stamp(c.now), name: f.required("name"), address: f.required("address")}
			applyPlaceFields(f, p)
			return p, response{}
		},
		created: func(p *place) response {
			st.addDefaultGroup(p, c.now)
			return jsonResponse(st.renderPlace(p))
		},
		update: func(f *fields, p *place) {
			if f.has("name") {
				p.name = f.required("name")
			}
			if f.has("address") {
				p.address = f.required("address")
			}
			applyPlaceFields(f, p)
		},
		remove: removeWith(st.deletePlace),
	})
}

func applyPlaceFields(f *fields, p *place) {
	if len([]rune(p.address)) > 500 {
		f.fail("address", "is too long (maximum is 500 characters)")
	}
	if f.has("description") {
		p.description = f.str("description")
	}
	if f.has("image") {
		p.image = f.str("image")
	}
	if f.has("time_zone") {
		p.timeZone = f.str("time_zone")
		if p.timeZone != nil {
			if _, err := time.LoadLocation(*p.timeZone); err != nil || *p.timeZone == "" || *p.timeZone == "Local" {
				f.fail("time_zone", "is not included in the list")
			}
		}
	}
	if f.has("latitude") {
		p.latitude = f.number("latitude")
	}
	if f.has("longitude") {
		p.longitude = f.number("longitude")
	}
}

// deletePlace removes the place with its locks and groups and everything
// that hangs off them.
func (st *state) deletePlace(p *place) {
	delete(st.places, p.id)
	for _, l := range st.locks {
		if l.placeID == p.id {
			st.deleteLock(l)
		}
	}
	for _, g := range st.groups {
		if g.placeID == p.id {
			st.deleteGroup(g)
		}
	}
	maps.DeleteFunc(st.roleAssignments, func(_ int64, ra *roleAssignment) bool { return ra.appliesToType == "Place" && ra.appliesToID == p.id })
}
