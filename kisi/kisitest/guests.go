package kisitest

import (
	"maps"
	"strings"
)

// guest is a visitor that is not a user: an assignee of role assignments
// and a member of teams (GET, POST /guests, GET, PATCH, DELETE
// /guests/{id}).
type guest struct {
	meta
	name               string
	email, phoneNumber *string
}

type wireGuest struct {
	ID           int64   `json:"id"`
	ResourceType string  `json:"resource_type"`
	Name         string  `json:"name"`
	Email        *string `json:"email"`
	PhoneNumber  *string `json:"phone_number"`
	CreatedAt    string  `json:"created_at"`
	UpdatedAt    string  `json:"updated_at"`
}

type refGuest struct {
	ID           int64   `json:"id"`
	ResourceType string  `json:"resource_type"`
	Name         string  `json:"name"`
	Email        *string `json:"email"`
	PhoneNumber  *string `json:"phone_number"`
}

func renderGuest(g *guest) wireGuest {
	return wireGuest{ID: g.id, ResourceType: "Guest", Name: g.name, Email: g.email, PhoneNumber: g.phoneNumber,
		CreatedAt: ts(g.createdAt), UpdatedAt: ts(g.updatedAt)}
}

func (st *state) guestRef(id int64) *refGuest {
	g := st.guests[id]
	if g == nil {
		return nil
	}
	return &refGuest{ID: g.id, ResourceType: "Guest", Name: g.name, Email: g.email, PhoneNumber: g.phoneNumber}
}

func (st *state) routeGuests(c *call) response {
	return serve(st, c, resource[guest, wireGuest]{
		key: "guest", items: st.guests, render: renderGuest,
		pageSize: 10, maxPageSize: 250,
		filter: func(q *query) func(*guest) bool {
			text := q.text()
			return func(g *guest) bool { return matches(text, g.name) }
		},
		create: func(f *fields) (*guest, response) {
			g := &guest{meta: stamp(c.now), name: f.required("name")}
			applyGuestFields(f, g)
			return g, response{}
		},
		update: func(f *fields, g *guest) {
			if f.has("name") {
				g.name = f.required("name")
			}
			applyGuestFields(f, g)
		},
		remove: removeWith(func(g *guest) {
			delete(st.guests, g.id)
			maps.DeleteFunc(st.roleAssignments, func(_ int64, ra *roleAssignment) bool { return ra.assigneeType == "Guest" && ra.assigneeID == g.id })
		}),
	})
}

func applyGuestFields(f *fields, g *guest) {
	if f.has("email") {
		g.email = f.str("email")
		if g.email != nil && (!strings.Contains(*g.email, "@") || strings.ContainsAny(*g.email, " \t")) {
			f.fail("email", "is invalid")
		}
	}
	if f.has("phone_number") {
		g.phoneNumber = f.str("phone_number")
		if p := g.phoneNumber; p != nil && (!strings.HasPrefix(*p, "+1") || len(*p) != 12) {
			// E.164, and Kisi sends SMS to the US, Canada and Puerto Rico only.
			f.fail("phone_number", "is invalid")
		}
	}
}
