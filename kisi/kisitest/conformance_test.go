package kisitest_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/kisi/kisitest"
)

func (w world) expand(s string) string {
	return strings.NewReplacer(
		"{place}", fmt.Sprint(w.place), "{lock}", fmt.Sprint(w.lock),
		"{group}", fmt.Sprint(w.group), "{user}", fmt.Sprint(w.user),
	).Replace(s)
}

// TestConformance drives Kisi's rules one request at a time through raw
// HTTP against a freshly seeded server.
func TestConformance(t *testing.T) {
	t.Parallel()
	const (
		owner    = "owner"
		observer = "observer"
		none     = "none"
		bad      = "bad"
	)
	tests := []struct {
		name   string
		key    string // owner (default), observer, none, bad or a raw header value
		method string
		path   string
		body   string
		status int
		want   string // exact JSON body when not ""
		keys   []string
	}{
		// Authentication.
		{name: "no auth header", key: none, method: "GET", path: "/groups", status: 401, keys: []string{"code", "error"}},
		{name: "unknown key", key: bad, method: "GET", path: "/groups", status: 401, keys: []string{"code", "error"}},
		{name: "owner key", method: "GET", path: "/organization", status: 200},
		{name: "absolute path outside prefix", method: "GET", path: "/../groups", status: 404},

		// Permissions.
		{name: "observer reads", key: observer, method: "GET", path: "/groups", status: 200},
		{name: "observer cannot create", key: observer, method: "POST", path: "/groups", body: `{"group":{"name":"x"}}`, status: 403, keys: []string{"code", "error"}},
		{name: "observer cannot delete", key: observer, method: "DELETE", path: "/groups/{group}", status: 403},

		// Wrapping and status codes.
		{name: "unwrapped body", method: "POST", path: "/groups", body: `{"name":"x"}`, status: 400, keys: []string{"code", "error"}},
		{name: "malformed body", method: "POST", path: "/groups", body: `{"group":`, status: 400},
		{name: "create is 200", method: "POST", path: "/groups", body: `{"group":{"name":"Staff"}}`, status: 200},
		{name: "patch is 204", method: "PATCH", path: "/groups/{group}", body: `{"group":{"time_restriction_enabled":true}}`, status: 204, want: "-"},
		{name: "delete is 204", method: "DELETE", path: "/groups/{group}", status: 204, want: "-"},
		{name: "patch user is 204", method: "PATCH", path: "/users/{user}", body: `{"user":{"access_enabled":false,"notes":"n","metadata":{"plan":"gold","seats":3}}}`, status: 204, want: "-"},

		// 404.
		{name: "unknown group", method: "GET", path: "/groups/999", status: 404, keys: []string{"code", "error"}},
		{name: "non-numeric id", method: "GET", path: "/groups/abc", status: 404},
		{name: "unknown route", method: "GET", path: "/nope", status: 404},
		{name: "delete unknown role assignment", method: "DELETE", path: "/role_assignments/999", status: 404},
		{name: "no GET of a group link", method: "GET", path: "/group_links/1", status: 404},
		{name: "no PATCH of a group link", method: "PATCH", path: "/group_links/1", body: `{"group_link":{"name":"x"}}`, status: 404},
		{name: "role for unknown user", method: "POST", path: "/role_assignments", body: `{"role_assignment":{"role_id":"group_basic","applies_to_type":"Group","applies_to_id":{group},"assignee_type":"User","assignee_id":999}}`, status: 404},
		{name: "role in unknown group", method: "POST", path: "/role_assignments", body: `{"role_assignment":{"role_id":"group_basic","applies_to_type":"Group","applies_to_id":999,"assignee_type":"User","assignee_id":{user}}}`, status: 404},

		// 422 shapes.
		{name: "place without address", method: "POST", path: "/places", body: `{"place":{"name":"x"}}`, status: 422, want: `{"errors":{"address":["can't be blank"]}}`},
		{name: "group without name", method: "POST", path: "/groups", body: `{"group":{}}`, status: 422, want: `{"errors":{"name":["can't be blank"]}}`},
		{name: "lock without place", method: "POST", path: "/locks", body: `{"lock":{"name":"Door"}}`, status: 422, want: `{"errors":{"place_id":["can't be blank"]}}`},
		{name: "user without email", method: "POST", path: "/users", body: `{"user":{"name":"x"}}`, status: 422, want: `{"errors":{"email":["can't be blank"]}}`},
		{name: "user email taken in another case", method: "POST", path: "/users", body: `{"user":{"email":"ADA@example.COM"}}`, status: 422, want: `{"errors":{"email":["has already been taken"]}}`},
		{name: "user metadata nested", method: "PATCH", path: "/users/{user}", body: `{"user":{"metadata":{"a":{"b":1}}}}`, status: 422, keys: []string{"errors"}},
		{name: "group link without group and name", method: "POST", path: "/group_links", body: `{"group_link":{"email":"g@example.com"}}`, status: 422, want: `{"errors":{"group_id":["can't be blank"],"name":["can't be blank"]}}`},
		{name: "group link bad qr type", method: "POST", path: "/group_links", body: `{"group_link":{"group_id":{group},"name":"G","quick_response_code_type":"paper"}}`, status: 422, want: `{"errors":{"quick_response_code_type":["is not included in the list"]}}`},
		{name: "role assignment without anything", method: "POST", path: "/role_assignments", body: `{"role_assignment":{}}`, status: 422,
			want: `{"errors":{"applies_to_id":["can't be blank"],"applies_to_type":["can't be blank"],"assignee_id":["can't be blank"],"assignee_type":["can't be blank"],"role_id":["can't be blank"]}}`},
		{name: "role assignment window reversed", method: "POST", path: "/role_assignments", body: `{"role_assignment":{"role_id":"group_basic","applies_to_type":"Group","applies_to_id":{group},"assignee_type":"User","assignee_id":{user},"valid_from":"2026-01-02T00:00:00Z","valid_until":"2026-01-01T00:00:00Z"}}`, status: 422, want: `{"errors":{"valid_until":["must be after valid_from"]}}`},
		{name: "role assignment wrong scope role", method: "POST", path: "/role_assignments", body: `{"role_assignment":{"role_id":"observer","applies_to_type":"Group","applies_to_id":{group},"assignee_type":"User","assignee_id":{user}}}`, status: 422, want: `{"errors":{"role_id":["is invalid"]}}`},
		{name: "place role with window", method: "POST", path: "/role_assignments", body: `{"role_assignment":{"role_id":"place_door_access","applies_to_type":"Place","applies_to_id":{place},"assignee_type":"User","assignee_id":{user},"valid_until":"2030-01-01T00:00:00Z"}}`, status: 422, keys: []string{"errors"}},
		{name: "team without name", method: "POST", path: "/teams", body: `{"team":{}}`, status: 422, want: `{"errors":{"name":["can't be blank"]}}`},
		{name: "group lock twice", method: "POST", path: "/group_locks", body: `{"group_lock":{"group_id":{group},"lock_id":{lock}}}`, status: 422, want: `{"errors":{"lock_id":["has already been taken"]}}`},

		// Lists and pagination limits.
		{name: "group locks need group_id", method: "GET", path: "/group_locks", status: 400},
		{name: "group locks of a group", method: "GET", path: "/group_locks?group_id={group}", status: 200},
		{name: "offset cap", method: "GET", path: "/groups?offset=20001", status: 400},
		{name: "offset at cap", method: "GET", path: "/groups?offset=20000", status: 200, want: `[]`},
		{name: "groups limit max", method: "GET", path: "/groups?limit=251", status: 400},
		{name: "users limit max", method: "GET", path: "/users?limit=101", status: 400},
		{name: "group links sorted by last unlock", method: "GET", path: "/group_links?sort=unlock", status: 200, want: `[]`},
		{name: "group links sorted by last unlock reversed", method: "GET", path: "/group_links?sort=-unlock", status: 200, want: `[]`},
		{name: "group links sorted by name reversed", method: "GET", path: "/group_links?sort=-name", status: 200, want: `[]`},
		{name: "group links sort outside kisi's list", method: "GET", path: "/group_links?sort=id", status: 400},
		{name: "group links sort without a key", method: "GET", path: "/group_links?sort=-", status: 400},
		{name: "users limit at max", method: "GET", path: "/users?limit=100", status: 200},
		{name: "places limit at max", method: "GET", path: "/places?limit=250", status: 200},
		{name: "assignee_id needs assignee_type", method: "GET", path: "/role_assignments?assignee_id={user}", status: 400},

		// Singletons.
		{name: "current user", method: "GET", path: "/user", status: 200},
		{name: "role by id", method: "GET", path: "/roles/group_basic", status: 200},
		{name: "unknown role", method: "GET", path: "/roles/nope", status: 404},
		{name: "event types", method: "GET", path: "/events/types", status: 200},

		// Unlocking.
		{name: "owner unlocks", method: "POST", path: "/locks/{lock}/unlock", status: 200, want: `{"message":"Unlocked!"}`},
		{name: "observer without group role cannot unlock", key: observer, method: "POST", path: "/locks/{lock}/unlock", status: 403, want: `{"error":"Access denied.","code":"afc496"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t)
			w := seed(t, srv)
			var auth string
			switch tc.key {
			case "", owner:
				auth = "KISI-LOGIN " + srv.APIKey
			case observer:
				k, err := srv.NewUserKey("observer@example.com", "observer")
				require.NoError(t, err)
				auth = "KISI-LOGIN " + k
			case bad:
				auth = "KISI-LOGIN not-a-key"
			case none:
			}
			req, err := http.NewRequestWithContext(t.Context(), tc.method, srv.URL+w.expand(tc.path), strings.NewReader(w.expand(tc.body)))
			require.NoError(t, err)
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			resp, err := srv.Client().Do(req)
			require.NoError(t, err)
			r := readResult(t, resp)
			require.Equal(t, tc.status, r.Status, "body %s", r.Body)
			switch tc.want {
			case "":
			case "-":
				require.Empty(t, r.Body)
			default:
				want := result{Body: []byte(tc.want)}.JSON(t)
				if diff := cmp.Diff(want, r.JSON(t)); diff != "" {
					t.Errorf("body (-want +got):\n%s", diff)
				}
			}
			if tc.keys != nil {
				got := r.Object(t)
				var names []string
				for k := range got {
					names = append(names, k)
				}
				if diff := cmp.Diff(tc.keys, names, sortStrings); diff != "" {
					t.Errorf("keys (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestRoleAssignmentOnePerGroup(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	w := seed(t, srv)
	body := w.expand(`{"role_assignment":{"role_id":"group_basic","applies_to_type":"Group","applies_to_id":{group},"assignee_type":"User","assignee_id":{user},"valid_from":"2026-03-01T09:00:00Z","valid_until":"2026-03-01T17:00:00Z","notify":true}}`)
	first := must(t, srv, 200, "POST", "/role_assignments", body).Object(t)
	require.Equal(t, "2026-03-01T09:00:00.000Z", first["valid_from"])
	require.Equal(t, "2026-03-01T17:00:00.000Z", first["valid_until"])

	// A second role in the same group, even with another window or role, is refused.
	other := strings.Replace(body, "2026-03-01T", "2026-04-01T", 2)
	r := owner(t, srv, "POST", "/role_assignments", other)
	require.Equal(t, 422, r.Status)
	if diff := cmp.Diff(map[string]any{"errors": map[string]any{"assignee_id": []any{"already has a role in this group"}}}, r.JSON(t)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	r = owner(t, srv, "POST", "/role_assignments", strings.Replace(body, "group_basic", "group_manager", 1))
	require.Equal(t, 422, r.Status)

	// Another group is fine.
	g2 := must(t, srv, 200, "POST", "/groups", `{"group":{"name":"Night"}}`).ID(t)
	must(t, srv, 200, "POST", "/role_assignments", strings.Replace(body, fmt.Sprint(w.group), fmt.Sprint(g2), 1))

	// After a delete the slot is free again.
	must(t, srv, 204, "DELETE", fmt.Sprintf("/role_assignments/%d", int64(first["id"].(float64))), "")
	must(t, srv, 200, "POST", "/role_assignments", other)

	list := must(t, srv, 200, "GET", w.expand("/role_assignments?applies_to_type=Group&applies_to_id={group}"), "").JSON(t).([]any)
	require.Len(t, list, 1)
	g := list[0].(map[string]any)
	require.Equal(t, "2026-04-01T09:00:00.000Z", g["valid_from"])

	// users_count follows the role assignments.
	grp := must(t, srv, 200, "GET", w.expand("/groups/{group}"), "").Object(t)
	require.InDelta(t, 1, grp["users_count"], 0)
	require.InDelta(t, 1, grp["locks_count"], 0)
}

func TestRoleAssignmentShapes(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	w := seed(t, srv)
	grp := must(t, srv, 200, "POST", "/role_assignments", w.expand(`{"role_assignment":{"role_id":"group_basic","applies_to_type":"Group","applies_to_id":{group},"assignee_type":"User","assignee_id":{user}}}`)).Object(t)
	require.Contains(t, grp, "valid_from")
	require.Nil(t, grp["valid_until"])
	plc := must(t, srv, 200, "POST", "/role_assignments", w.expand(`{"role_assignment":{"role_id":"place_door_access","applies_to_type":"Place","applies_to_id":{place},"assignee_type":"User","assignee_id":{user}}}`)).Object(t)
	require.NotContains(t, plc, "valid_from")
	require.NotContains(t, plc, "valid_until")
	require.Equal(t, "place", plc["scope"])

	// Filters.
	tests := []struct {
		query string
		want  int
	}{
		{"applies_to_type=Group&applies_to_id={group}", 1},
		{"applies_to_type=Place", 1},
		{"assignee_type=User&assignee_id={user}", 2},
		{"role_id=place_door_access", 1},
		{"role_id=organization_owner", 1},
		{"applies_to_type=Organization", 1},
		{"user_id=me", 1},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			got := must(t, srv, 200, "GET", "/role_assignments?"+w.expand(tc.query), "").JSON(t).([]any)
			require.Len(t, got, tc.want)
		})
	}
}

func TestPatchValidity(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		opts      []kisitest.Option
		wantUntil string
	}{
		{name: "default ignores the window", wantUntil: "2026-03-01T17:00:00.000Z"},
		{name: "option lets PATCH change it", opts: []kisitest.Option{kisitest.WithPatchableValidity(true)}, wantUntil: "2026-03-01T18:00:00.000Z"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, tc.opts...)
			w := seed(t, srv)
			id := must(t, srv, 200, "POST", "/role_assignments", w.expand(`{"role_assignment":{"role_id":"group_basic","applies_to_type":"Group","applies_to_id":{group},"assignee_type":"User","assignee_id":{user},"valid_from":"2026-03-01T09:00:00Z","valid_until":"2026-03-01T17:00:00Z"}}`)).ID(t)
			path := fmt.Sprintf("/role_assignments/%d", id)
			r := must(t, srv, 204, "PATCH", path, `{"role_assignment":{"valid_until":"2026-03-01T18:00:00Z","notify":"true","role_id":"group_manager"}}`)
			require.Empty(t, r.Body)
			got := must(t, srv, 200, "GET", path, "").Object(t)
			require.Equal(t, tc.wantUntil, got["valid_until"])
			require.Equal(t, "group_manager", got["role_id"])
			require.Equal(t, true, got["notify"])
		})
	}
}

func TestUsersEmailFilterAndConfirmed(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	regular := must(t, srv, 200, "POST", "/users", `{"user":{"email":"Grace.Hopper@Example.com","name":"Grace"}}`).Object(t)
	managed := must(t, srv, 200, "POST", "/users", `{"user":{"email":"kiosk@example.com","send_emails":false,"confirm":true}}`).Object(t)
	require.Equal(t, false, regular["confirmed"])
	require.Equal(t, true, managed["confirmed"])

	tests := []struct {
		email string
		want  []any
	}{
		{"grace.hopper@example.com", []any{"Grace.Hopper@Example.com"}},
		{"GRACE.HOPPER@EXAMPLE.COM", []any{"Grace.Hopper@Example.com"}},
		{"grace", []any{}},              // exact, not a substring
		{"hopper@example.com", []any{}}, // exact, not a suffix
		{"kiosk@example.com", []any{"kiosk@example.com"}},
	}
	for _, tc := range tests {
		t.Run(tc.email, func(t *testing.T) {
			list := must(t, srv, 200, "GET", "/users?email="+urlQueryEscape(tc.email), "").JSON(t).([]any)
			got := []any{}
			for _, u := range list {
				got = append(got, u.(map[string]any)["email"])
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
