package kisitest_test

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/kisi/kisitest"
)

// TestConformanceClientJS (issue 31) covers what Kisi's own JavaScript
// client and Kisi's spec expect of the fake beyond TestConformance: PUT as
// an update, the list filters the spec lists, guests and the deprecated
// members, the default group of a new place, confirm on a regular user,
// times Rails reads, and optional objects left out rather than null.
func TestConformanceClientJS(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		run  func(t *testing.T, srv *kisitest.Server, w world)
	}{
		{"PUT updates like PATCH", func(t *testing.T, srv *kisitest.Server, w world) {
			must(t, srv, 204, "PUT", fmt.Sprintf("/users/%d", w.user), `{"user":{"name":"Ada L."}}`)
			require.Equal(t, "Ada L.", must(t, srv, 200, "GET", fmt.Sprintf("/users/%d", w.user), "").Object(t)["name"])
			must(t, srv, 204, "PUT", fmt.Sprintf("/groups/%d", w.group), `{"group":{"name":"Staff"}}`)
			require.Equal(t, "Staff", must(t, srv, 200, "GET", fmt.Sprintf("/groups/%d", w.group), "").Object(t)["name"])
			must(t, srv, 422, "PUT", fmt.Sprintf("/groups/%d", w.group), `{"group":{"name":""}}`)
			must(t, srv, 404, "PUT", "/group_links/1", `{"group_link":{"name":"x"}}`)
		}},
		{"ids filter in every form", func(t *testing.T, srv *kisitest.Server, w world) {
			other := must(t, srv, 200, "POST", "/groups", `{"group":{"name":"Other"}}`).ID(t)
			for _, q := range []string{
				fmt.Sprintf("ids=%d,%d", w.group, other),
				fmt.Sprintf("ids[]=%d&ids[]=%d", w.group, other),
				fmt.Sprintf("ids=%d&ids=%d", w.group, other),
			} {
				got := must(t, srv, 200, "GET", "/groups?"+q, "").JSON(t).([]any)
				require.Len(t, got, 2, q)
			}
			require.Len(t, must(t, srv, 200, "GET", fmt.Sprintf("/users?ids[]=%d", w.user), "").JSON(t).([]any), 1)
			must(t, srv, 400, "GET", "/groups?ids[]=x", "")
		}},
		{"users by place and sorted", func(t *testing.T, srv *kisitest.Server, w world) {
			bob := must(t, srv, 200, "POST", "/users", `{"user":{"email":"bob@example.com","name":"Bob"}}`).ID(t)
			must(t, srv, 200, "POST", "/role_assignments", jsonf(`{"role_assignment":{"role_id":"group_basic","applies_to_type":"Group","applies_to_id":%d,"assignee_type":"User","assignee_id":%d}}`, w.group, bob))
			atPlace := must(t, srv, 200, "GET", fmt.Sprintf("/users?place_id=%d", w.place), "").JSON(t).([]any)
			require.Equal(t, []string{"Bob"}, names(atPlace))
			sorted := must(t, srv, 200, "GET", "/users?sort=-name", "").JSON(t).([]any)
			require.Equal(t, []string{"Organization Owner", "Bob", "Ada"}, names(sorted))
			must(t, srv, 200, "GET", "/users?sort=unlock", "")
			must(t, srv, 200, "GET", "/users?sort=-access_enabled", "")
			must(t, srv, 400, "GET", "/users?sort=email", "")
		}},
		{"role assignments sorted by user name", func(t *testing.T, srv *kisitest.Server, w world) {
			bob := must(t, srv, 200, "POST", "/users", `{"user":{"email":"bob@example.com","name":"Bob"}}`).ID(t)
			for _, u := range []int64{bob, w.user} {
				must(t, srv, 200, "POST", "/role_assignments", jsonf(`{"role_assignment":{"role_id":"group_basic","applies_to_type":"Group","applies_to_id":%d,"assignee_type":"User","assignee_id":%d}}`, w.group, u))
			}
			path := fmt.Sprintf("/role_assignments?applies_to_type=Group&applies_to_id=%d&sort=", w.group)
			var got []string
			for _, ra := range must(t, srv, 200, "GET", path+"user.name", "").JSON(t).([]any) {
				got = append(got, ra.(map[string]any)["user"].(map[string]any)["name"].(string))
			}
			require.Equal(t, []string{"Ada", "Bob"}, got)
			first := must(t, srv, 200, "GET", path+"-user.name", "").JSON(t).([]any)[0]
			require.Equal(t, float64(bob), first.(map[string]any)["assignee_id"])
			must(t, srv, 400, "GET", path+"created_at", "")
		}},
		{"guests, and optional objects left out", func(t *testing.T, srv *kisitest.Server, w world) {
			g := must(t, srv, 200, "POST", "/guests", `{"guest":{"name":"Visitor","email":"v@example.com"}}`).Object(t)
			require.Equal(t, "Guest", g["resource_type"])
			require.Nil(t, g["phone_number"])
			gid := int64(g["id"].(float64))
			must(t, srv, 422, "POST", "/guests", `{"guest":{"email":"v@example.com"}}`)
			must(t, srv, 422, "POST", "/guests", `{"guest":{"name":"x","phone_number":"+4930123"}}`)
			ra := must(t, srv, 200, "POST", "/role_assignments", jsonf(`{"role_assignment":{"role_id":"group_basic","applies_to_type":"Group","applies_to_id":%d,"assignee_type":"Guest","assignee_id":%d}}`, w.group, gid)).Object(t)
			require.Equal(t, "Visitor", ra["assignee"].(map[string]any)["name"])
			require.Equal(t, "Visitor", ra["guest"].(map[string]any)["name"])
			for _, k := range []string{"user", "assignee_team"} {
				_, present := ra[k]
				require.False(t, present, "%s of a guest's role", k)
			}
			user := must(t, srv, 200, "POST", "/role_assignments", jsonf(`{"role_assignment":{"role_id":"group_basic","applies_to_type":"Group","applies_to_id":%d,"assignee_type":"User","assignee_id":%d}}`, w.group, w.user)).Object(t)
			for _, k := range []string{"guest", "assignee_team"} {
				_, present := user[k]
				require.False(t, present, "%s of a user's role", k)
			}
			require.Len(t, must(t, srv, 200, "GET", "/guests?query=visit", "").JSON(t).([]any), 1)
			must(t, srv, 204, "PUT", fmt.Sprintf("/guests/%d", gid), `{"guest":{"name":"Visitor 2"}}`)
			must(t, srv, 204, "DELETE", fmt.Sprintf("/guests/%d", gid), "")
			require.Len(t, must(t, srv, 200, "GET", fmt.Sprintf("/role_assignments?assignee_type=Guest&assignee_id=%d", gid), "").JSON(t).([]any), 0)
		}},
		{"members are the users", func(t *testing.T, srv *kisitest.Server, w world) {
			m := must(t, srv, 200, "GET", fmt.Sprintf("/members/%d", w.user), "").Object(t)
			require.Equal(t, "Member", m["resource_type"])
			require.Equal(t, "Ada@Example.com", m["user"].(map[string]any)["email"])
			require.Len(t, must(t, srv, 200, "GET", "/members", "").JSON(t).([]any), 2)
			id := must(t, srv, 200, "POST", "/members", `{"member":{"email":"cy@example.com","name":"Cy"}}`).ID(t)
			must(t, srv, 200, "GET", fmt.Sprintf("/users/%d", id), "")
			must(t, srv, 204, "DELETE", fmt.Sprintf("/members/%d", id), "")
		}},
		{"a new place has its default group", func(t *testing.T, srv *kisitest.Server, w world) {
			p := must(t, srv, 200, "POST", "/places", `{"place":{"name":"Annex","address":"2 Main St"}}`).ID(t)
			got := must(t, srv, 200, "GET", fmt.Sprintf("/groups?place_id=%d", p), "").JSON(t).([]any)
			require.Equal(t, []string{kisitest.DefaultPlaceGroup}, names(got))
		}},
		{"a seeded place has its default group too", func(t *testing.T, srv *kisitest.Server, w world) {
			p, err := srv.AddPlace("Annex", "Europe/Berlin")
			require.NoError(t, err)
			got := must(t, srv, 200, "GET", fmt.Sprintf("/groups?place_id=%d", p), "").JSON(t).([]any)
			require.Equal(t, []string{kisitest.DefaultPlaceGroup}, names(got), "Server.AddPlace agrees with POST /places")
		}},
		{"confirm on a regular user", func(t *testing.T, srv *kisitest.Server, w world) {
			regular := must(t, srv, 200, "POST", "/users", `{"user":{"email":"r@example.com","confirm":true}}`).Object(t)
			managed := must(t, srv, 200, "POST", "/users", `{"user":{"email":"m@example.com","confirm":true,"send_emails":false}}`).Object(t)
			require.Equal(t, false, regular["confirmed"], "Kisi's docs: a regular user stays unconfirmed")
			require.Equal(t, true, managed["confirmed"])
		}},
		{"times Rails reads", func(t *testing.T, srv *kisitest.Server, w world) {
			ra := must(t, srv, 200, "POST", "/role_assignments", jsonf(`{"role_assignment":{"role_id":"group_basic","applies_to_type":"Group","applies_to_id":%d,"assignee_type":"User","assignee_id":%d,"valid_from":"2026-03-01T09:00:00","valid_until":"2026-03-02"}}`, w.group, w.user)).Object(t)
			require.Equal(t, "2026-03-01T09:00:00.000Z", ra["valid_from"])
			require.Equal(t, "2026-03-02T00:00:00.000Z", ra["valid_until"])
			must(t, srv, 422, "POST", "/group_links", jsonf(`{"group_link":{"group_id":%d,"name":"x","valid_until":"next week"}}`, w.group))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t)
			tc.run(t, srv, seed(t, srv))
		})
	}
}

func names(items []any) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.(map[string]any)["name"].(string))
	}
	return out
}

// TestEventSetsFinishedAtOnce: with the option, POST /event_sets answers
// the set finished with its first page; by default it is in progress.
func TestEventSetsFinishedAtOnce(t *testing.T) {
	t.Parallel()
	for _, atOnce := range []bool{false, true} {
		t.Run(fmt.Sprint(atOnce), func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, kisitest.WithEventSetsFinishedAtOnce(atOnce))
			seed(t, srv)
			es := must(t, srv, 200, "POST", "/event_sets", `{"event_set":{}}`).Object(t)
			_, hasEvents := es["events"]
			want := map[string]any{"status": "in_progress", "events": false}
			if atOnce {
				want = map[string]any{"status": "finished", "events": true}
			}
			if diff := cmp.Diff(want, map[string]any{"status": es["status"], "events": hasEvents}); diff != "" {
				t.Errorf("event set (-want +got):\n%s", diff)
			}
		})
	}
}
