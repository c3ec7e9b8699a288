package kisitest

import (
	"net/http"
	"strings"
	"time"
)

type team struct {
	id                   int64
	name                 string
	createdAt, updatedAt time.Time
}

type wireTeam struct {
	ID           int64  `json:"id"`
	ResourceType string `json:"resource_type"`
	Name         string `json:"name"`
	CreatedAt    string `json:"created_at"`
	UpdatedAt    string `json:"updated_at"`
}

func (st *state) renderTeam(t *team) wireTeam {
	return wireTeam{ID: t.id, ResourceType: "Team", Name: t.name, CreatedAt: ts(t.createdAt), UpdatedAt: ts(t.updatedAt)}
}

func (st *state) teamRef(id int64) *refNamed {
	t := st.teams[id]
	if t == nil {
		return nil
	}
	return &refNamed{ID: t.id, ResourceType: "Team", Name: t.name}
}

func (st *state) routeTeams(c *call) response {
	if c.collection() {
		switch c.method {
		case http.MethodGet:
			p, bad, ok := c.paging(10, 250)
			if !ok {
				return bad
			}
			ids, ok := c.queryIDs()
			if !ok {
				return badRequest("ids is invalid")
			}
			q := strings.ToLower(c.query.Get("query"))
			items := sorted(st.teams, func(t *team) bool {
				return (ids == nil || ids[t.id]) && (q == "" || strings.Contains(strings.ToLower(t.name), q))
			})
			return paginate(items, p, st.renderTeam)
		case http.MethodPost:
			f, bad, ok := c.decode("team")
			if !ok {
				return bad
			}
			t := &team{name: f.required("name"), createdAt: c.now, updatedAt: c.now}
			if resp, bad := f.invalid(); bad {
				return resp
			}
			t.id = st.newID()
			st.teams[t.id] = t
			return jsonResponse(st.renderTeam(t))
		}
		return methodNotFound()
	}
	id, ok := c.member()
	if !ok || st.teams[id] == nil {
		return notFound()
	}
	t := st.teams[id]
	switch c.method {
	case http.MethodGet:
		return jsonResponse(st.renderTeam(t))
	case http.MethodPatch:
		f, bad, ok := c.decode("team")
		if !ok {
			return bad
		}
		name := t.name
		if f.has("name") {
			name = f.required("name")
		}
		if resp, bad := f.invalid(); bad {
			return resp
		}
		t.name, t.updatedAt = name, c.now
		return noContent()
	case http.MethodDelete:
		delete(st.teams, id)
		for mid, m := range st.memberships {
			if m.teamID == id {
				delete(st.memberships, mid)
			}
		}
		for rid, ra := range st.roleAssignments {
			if ra.assigneeType == "Team" && ra.assigneeID == id {
				delete(st.roleAssignments, rid)
			}
		}
		return noContent()
	}
	return methodNotFound()
}

type teamMembership struct {
	id, teamID           int64
	memberType           string // User (the fake keeps no guests)
	memberID             int64
	createdAt, updatedAt time.Time
}

type wireTeamMembership struct {
	ID           int64     `json:"id"`
	ResourceType string    `json:"resource_type"`
	CreatedAt    string    `json:"created_at"`
	UpdatedAt    string    `json:"updated_at"`
	TeamID       int64     `json:"team_id"`
	Team         *refNamed `json:"team"`
	MemberType   string    `json:"member_type"`
	MemberID     int64     `json:"member_id"`
	Member       *refUser  `json:"member"`
}

func (st *state) renderTeamMembership(m *teamMembership) wireTeamMembership {
	return wireTeamMembership{
		ID: m.id, ResourceType: "TeamMembership", CreatedAt: ts(m.createdAt), UpdatedAt: ts(m.updatedAt),
		TeamID: m.teamID, Team: st.teamRef(m.teamID), MemberType: m.memberType, MemberID: m.memberID,
		Member: st.userRef(m.memberID),
	}
}

func (st *state) routeTeamMemberships(c *call) response {
	if c.collection() {
		switch c.method {
		case http.MethodGet:
			p, bad, ok := c.paging(10, 250)
			if !ok {
				return bad
			}
			ids, ok := c.queryIDs()
			if !ok {
				return badRequest("ids is invalid")
			}
			teamID, byTeam, ok1 := c.queryID("team_id")
			memberID, byMember, ok2 := c.queryID("member_id")
			if !ok1 || !ok2 {
				return badRequest("team_id and member_id must be integers")
			}
			memberType := c.query.Get("member_type")
			if byMember && memberType == "" {
				return badRequest("member_id must be used with member_type")
			}
			items := sorted(st.memberships, func(m *teamMembership) bool {
				return (ids == nil || ids[m.id]) && (!byTeam || m.teamID == teamID) &&
					(memberType == "" || m.memberType == memberType) && (!byMember || m.memberID == memberID)
			})
			return paginate(items, p, st.renderTeamMembership)
		case http.MethodPost:
			f, bad, ok := c.decode("team_membership")
			if !ok {
				return bad
			}
			m := &teamMembership{
				teamID: f.requiredID("team_id"), memberID: f.requiredID("member_id"),
				memberType: f.required("member_type"), createdAt: c.now, updatedAt: c.now,
			}
			if m.memberType != "" && m.memberType != "User" && m.memberType != "Guest" {
				f.fail("member_type", "is not included in the list")
			}
			if m.teamID != 0 && st.teams[m.teamID] == nil {
				f.fail("team", "must exist")
			}
			if m.memberID != 0 && m.memberType != "" && !st.exists(m.memberType, m.memberID) {
				f.fail("member", "must exist")
			}
			for _, o := range st.memberships {
				if o.teamID == m.teamID && o.memberType == m.memberType && o.memberID == m.memberID {
					f.fail("member_id", "has already been taken")
				}
			}
			if resp, bad := f.invalid(); bad {
				return resp
			}
			m.id = st.newID()
			st.memberships[m.id] = m
			return jsonResponse(st.renderTeamMembership(m))
		}
		return methodNotFound()
	}
	id, ok := c.member()
	if !ok || st.memberships[id] == nil {
		return notFound()
	}
	switch c.method {
	case http.MethodGet:
		return jsonResponse(st.renderTeamMembership(st.memberships[id]))
	case http.MethodDelete:
		delete(st.memberships, id)
		return noContent()
	}
	return methodNotFound()
}
