package kisitest

import "maps"

type team struct {
	meta
	name string
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
	return serve(st, c, resource[team, wireTeam]{
		key: "team", items: st.teams, render: st.renderTeam,
		pageSize: 10, maxPageSize: 250,
		filter: func(q *query) func(*team) bool {
			text := q.text()
			return func(t *team) bool { return matches(text, t.name) }
		},
		create: func(f *fields) (*team, response) {
			return &team{meta: stamp(c.now), name: f.required("name")}, response{}
		},
		update: func(f *fields, t *team) {
			if f.has("name") {
				t.name = f.required("name")
			}
		},
		remove: removeWith(st.deleteTeam),
	})
}

// deleteTeam removes the team with its memberships and role assignments.
func (st *state) deleteTeam(t *team) {
	delete(st.teams, t.id)
	maps.DeleteFunc(st.memberships, func(_ int64, m *teamMembership) bool { return m.teamID == t.id })
	maps.DeleteFunc(st.roleAssignments, func(_ int64, ra *roleAssignment) bool { return ra.assigneeType == "Team" && ra.assigneeID == t.id })
}

type teamMembership struct {
	meta
	teamID     int64
	memberType string // User (the fake keeps no guests)
	memberID   int64
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
	return serve(st, c, resource[teamMembership, wireTeamMembership]{
		key: "team_membership", items: st.memberships, render: st.renderTeamMembership,
		pageSize: 10, maxPageSize: 250,
		filter: func(q *query) func(*teamMembership) bool {
			teamID, byTeam := q.id("team_id")
			memberID, byMember := q.id("member_id")
			memberType := q.Get("member_type")
			if byMember && memberType == "" {
				q.fail(badRequest("member_id must be used with member_type"))
			}
			return func(m *teamMembership) bool {
				return (!byTeam || m.teamID == teamID) && (memberType == "" || m.memberType == memberType) &&
					(!byMember || m.memberID == memberID)
			}
		},
		create: func(f *fields) (*teamMembership, response) {
			m := &teamMembership{
				meta: stamp(c.now), teamID: f.requiredID("team_id"), memberID: f.requiredID("member_id"),
				memberType: f.required("member_type"),
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
			return m, response{}
		},
		remove: removeWith(func(m *teamMembership) { delete(st.memberships, m.id) }),
	})
}
