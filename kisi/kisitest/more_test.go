package kisitest_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/kisi/kisitest"
)

func TestPathPrefix(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		opts   []kisitest.Option
		suffix string
	}{
		{name: "default", suffix: "/kisi"},
		{name: "custom", opts: []kisitest.Option{kisitest.WithPathPrefix("api/v1/")}, suffix: "/api/v1"},
		{name: "root", opts: []kisitest.Option{kisitest.WithPathPrefix("")}, suffix: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, tc.opts...)
			require.False(t, strings.HasSuffix(srv.URL, "/"), "URL %q ends in a slash", srv.URL)
			base := strings.TrimSuffix(srv.URL, tc.suffix)
			require.Equal(t, base+tc.suffix, srv.URL)
			must(t, srv, 200, "GET", "/organization", "")

			// A client that drops the prefix gets 404.
			if tc.suffix != "" {
				req, err := http.NewRequestWithContext(t.Context(), "GET", base+"/organization", nil)
				require.NoError(t, err)
				req.Header.Set("Authorization", "KISI-LOGIN "+srv.APIKey)
				resp, err := srv.Client().Do(req)
				require.NoError(t, err)
				require.Equal(t, 404, readResult(t, resp).Status)
			}
		})
	}
}

func TestUserUpdateAndDelete(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	w := seed(t, srv)
	path := fmt.Sprintf("/users/%d", w.user)
	must(t, srv, 204, "PATCH", path, `{"user":{"name":"Ada L.","access_enabled":false,"notes":"front desk","metadata":{"plan":"gold","seats":3,"vip":true,"gone":null},"email":"ignored@example.com"}}`)
	got := must(t, srv, 200, "GET", path, "").Object(t)
	require.Equal(t, "Ada L.", got["name"])
	require.Equal(t, false, got["access_enabled"])
	require.Equal(t, "front desk", got["notes"])
	require.Equal(t, "Ada@Example.com", got["email"], "email cannot be changed")
	require.Equal(t, map[string]any{"plan": "gold", "seats": 3.0, "vip": true, "gone": nil}, got["metadata"])

	var many []string
	for i := range 51 {
		many = append(many, fmt.Sprintf(`"k%d":%d`, i, i))
	}
	tests := []struct{ name, body string }{
		{"51 keys", `{"user":{"metadata":{` + strings.Join(many, ",") + `}}}`},
		{"long key", `{"user":{"metadata":{"` + strings.Repeat("k", 51) + `":1}}}`},
		{"long value", `{"user":{"metadata":{"k":"` + strings.Repeat("v", 501) + `"}}}`},
		{"array value", `{"user":{"metadata":{"k":[1]}}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := owner(t, srv, "PATCH", path, tc.body)
			require.Equal(t, 422, r.Status)
			require.Contains(t, r.Object(t)["errors"], "metadata")
		})
	}

	// A disabled user cannot unlock even with a role.
	must(t, srv, 200, "POST", "/role_assignments", w.expand(`{"role_assignment":{"role_id":"group_basic","applies_to_type":"Group","applies_to_id":{group},"assignee_type":"User","assignee_id":{user}}}`))
	key, err := srv.NewUserKey("ada@example.com", "")
	require.NoError(t, err)
	require.Equal(t, "fcd8ff", call(t, srv, key, "POST", w.expand("/locks/{lock}/unlock"), "").Object(t)["code"])

	// Deleting the user removes its roles and its keys.
	must(t, srv, 204, "DELETE", path, "")
	r := must(t, srv, 200, "GET", w.expand("/role_assignments?applies_to_type=Group&applies_to_id={group}"), "")
	require.Equal(t, "*/0", r.Header.Get("X-Collection-Range"))
	require.Equal(t, 401, call(t, srv, key, "GET", "/user", "").Status)
	must(t, srv, 404, "GET", path, "")
}

func TestTeamRoleOpensDoor(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	w := seed(t, srv)
	team := must(t, srv, 200, "POST", "/teams", `{"team":{"name":"Acme"}}`).ID(t)
	must(t, srv, 200, "POST", "/team_memberships", w.expand(fmt.Sprintf(`{"team_membership":{"team_id":%d,"member_type":"User","member_id":{user}}}`, team)))
	must(t, srv, 422, "POST", "/team_memberships", w.expand(fmt.Sprintf(`{"team_membership":{"team_id":%d,"member_type":"User","member_id":{user}}}`, team)))
	must(t, srv, 200, "POST", "/role_assignments", w.expand(fmt.Sprintf(`{"role_assignment":{"role_id":"group_basic","applies_to_type":"Group","applies_to_id":{group},"assignee_type":"Team","assignee_id":%d}}`, team)))
	key, err := srv.NewUserKey("ada@example.com", "")
	require.NoError(t, err)
	require.Equal(t, 200, call(t, srv, key, "POST", w.expand("/locks/{lock}/unlock"), "").Status)
	r := must(t, srv, 200, "GET", fmt.Sprintf("/team_memberships?team_id=%d", team), "")
	require.Equal(t, "0-9/1", r.Header.Get("X-Collection-Range"))
}

func TestSeedHelpers(t *testing.T) {
	t.Parallel()
	srv := newServer(t, kisitest.WithGroups("Members", "Night"))
	groups := must(t, srv, 200, "GET", "/groups", "").JSON(t).([]any)
	require.Len(t, groups, 2)
	require.Equal(t, "Members", groups[0].(map[string]any)["name"])

	place, err := srv.AddPlace("HQ", "Europe/Berlin")
	require.NoError(t, err)
	_, err = srv.AddPlace("Bad", "Mars/Olympus")
	require.Error(t, err)
	lock, err := srv.AddLock(place, "Door")
	require.NoError(t, err)
	_, err = srv.AddLock(999, "Door")
	require.Error(t, err)
	group, err := srv.AddGroup("Day", place)
	require.NoError(t, err)
	_, err = srv.AddGroupLock(group, lock)
	require.NoError(t, err)
	_, err = srv.AddGroupLock(group, lock)
	require.Error(t, err)
	user, err := srv.AddUser("m@example.com", "M", true)
	require.NoError(t, err)
	_, err = srv.AddUser("M@example.com", "M", false)
	require.Error(t, err)
	_, err = srv.NewUserKey("x@example.com", "group_basic")
	require.Error(t, err, "not an organization role")
	admin, err := srv.NewUserKey("admin@example.com", "organization_administrator")
	require.NoError(t, err)
	require.Equal(t, 200, call(t, srv, admin, "POST", "/groups", `{"group":{"name":"by admin"}}`).Status)

	u := must(t, srv, 200, "GET", fmt.Sprintf("/users/%d", user), "").Object(t)
	require.Equal(t, true, u["confirmed"])
	g := must(t, srv, 200, "GET", fmt.Sprintf("/groups/%d", group), "").Object(t)
	require.InDelta(t, place, g["place_id"], 0)
	require.InDelta(t, 1, g["locks_count"], 0)
	org := must(t, srv, 200, "GET", "/organization", "").Object(t)
	require.InDelta(t, srv.OrganizationID(), org["id"], 0)
	require.InDelta(t, srv.OwnerID(), org["user_id"], 0)
}

// TestWritesFollowRolePermissions: a key may write when its organization
// role has role_assignments_write and users_write as GET /roles lists
// them, built-in or custom, so that a client deciding by permissions (the
// connection check) agrees with the fake.
func TestWritesFollowRolePermissions(t *testing.T) {
	t.Parallel()
	writes := map[string]bool{"locks_unlock": true, "users_write": true, "role_assignments_write": true, "group_links_write": true}
	srv := newServer(t, kisitest.WithCustomRoles(
		kisitest.CustomRole{ID: "front_desk", AppliesTo: "Organization", Name: "Front desk", Permissions: writes},
		kisitest.CustomRole{ID: "viewer", AppliesTo: "Organization", Name: "Viewer"},
	))
	listed := map[string]any{}
	for _, r := range must(t, srv, 200, "GET", "/roles", "").JSON(t).([]any) {
		m := r.(map[string]any)
		listed[m["id"].(string)] = m["permissions"]
	}
	require.Equal(t, map[string]any{"locks_unlock": true, "users_write": true, "role_assignments_write": true, "group_links_write": true}, listed["front_desk"])
	require.Equal(t, map[string]any{"locks_unlock": true}, listed["viewer"])
	for _, tc := range []struct {
		role   string
		status int
	}{{"front_desk", 200}, {"viewer", 403}, {"organization_administrator", 200}, {"user_manager", 200}, {"observer", 403}} {
		key, err := srv.NewUserKey(tc.role+"@example.com", tc.role)
		require.NoError(t, err)
		require.Equal(t, tc.status, call(t, srv, key, "POST", "/groups", `{"group":{"name":"by `+tc.role+`"}}`).Status, tc.role)
	}
}
