package kisitest_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/kisi/kisitest"
)

// TestConformanceUnknowns covers each behaviour Kisi does not document
// under both settings of its option: observe reads what a client would see
// and the two settings must give the two expected observations.
func TestConformanceUnknowns(t *testing.T) {
	t.Parallel()
	type setting struct {
		opts []kisitest.Option
		want string
	}
	tests := []struct {
		name    string
		observe func(t *testing.T, srv *kisitest.Server, w world) string
		def     setting // the default (no option) must behave as this one
		other   setting
	}{
		{
			name: "X-Collection-Range of an empty list",
			observe: func(t *testing.T, srv *kisitest.Server, w world) string {
				return must(t, srv, 200, "GET", "/teams", "").Header.Get("X-Collection-Range")
			},
			def:   setting{[]kisitest.Option{kisitest.WithStarEmptyRange(true)}, "*/0"},
			other: setting{[]kisitest.Option{kisitest.WithStarEmptyRange(false)}, "0-9/0"},
		},
		{
			name: "confirmed key of users",
			observe: func(t *testing.T, srv *kisitest.Server, w world) string {
				u := must(t, srv, 200, "GET", fmt.Sprintf("/users/%d", w.user), "").Object(t)
				c, ok := u["confirmed"]
				return fmt.Sprint(ok, c)
			},
			def:   setting{[]kisitest.Option{kisitest.WithConfirmedField(true)}, "true false"},
			other: setting{[]kisitest.Option{kisitest.WithConfirmedField(false)}, "false <nil>"},
		},
		{
			name: "user create with an email taken",
			observe: func(t *testing.T, srv *kisitest.Server, w world) string {
				r := owner(t, srv, "POST", "/users", `{"user":{"email":"ADA@example.com","name":"Other"}}`)
				if r.Status != 200 {
					return fmt.Sprint(r.Status, " ", string(r.Body))
				}
				u := r.Object(t)
				return fmt.Sprint(r.Status, " same user:", int64(u["id"].(float64)) == w.user, " name:", u["name"])
			},
			def:   setting{[]kisitest.Option{kisitest.WithExistingUserOnDuplicateEmail(false)}, `422 {"errors":{"email":["has already been taken"]}}`},
			other: setting{[]kisitest.Option{kisitest.WithExistingUserOnDuplicateEmail(true)}, "200 same user:true name:Ada"},
		},
		{
			name: "email filter of GET /users",
			observe: func(t *testing.T, srv *kisitest.Server, w world) string {
				byEmail := must(t, srv, 200, "GET", "/users?email=ADA%40example.com", "").JSON(t).([]any)
				byQuery := must(t, srv, 200, "GET", "/users?query=ada%40example.com", "").JSON(t).([]any)
				return fmt.Sprintf("email:%d query:%d", len(byEmail), len(byQuery))
			},
			// The owner and Ada exist.
			def:   setting{[]kisitest.Option{kisitest.WithUserEmailFilter(true)}, "email:1 query:1"},
			other: setting{[]kisitest.Option{kisitest.WithUserEmailFilter(false)}, "email:2 query:1"},
		},
		{
			name: "stored precision of valid_from and valid_until",
			observe: func(t *testing.T, srv *kisitest.Server, w world) string {
				id := must(t, srv, 200, "POST", "/role_assignments", w.expand(`{"role_assignment":{"role_id":"group_basic","applies_to_type":"Group","applies_to_id":{group},"assignee_type":"User","assignee_id":{user},"valid_from":"2026-03-01T09:14:45.678Z","valid_until":"2026-03-01T17:59:59Z"}}`)).ID(t)
				ra := must(t, srv, 200, "GET", fmt.Sprintf("/role_assignments/%d", id), "").Object(t)
				return fmt.Sprint(ra["valid_from"], " ", ra["valid_until"])
			},
			def:   setting{[]kisitest.Option{kisitest.WithValidityPrecision(0)}, "2026-03-01T09:14:45.678Z 2026-03-01T17:59:59.000Z"},
			other: setting{[]kisitest.Option{kisitest.WithValidityPrecision(time.Minute)}, "2026-03-01T09:14:00.000Z 2026-03-01T17:59:00.000Z"},
		},
		{
			name: "validity on a place-scoped role",
			observe: func(t *testing.T, srv *kisitest.Server, w world) string {
				r := owner(t, srv, "POST", "/role_assignments", w.expand(`{"role_assignment":{"role_id":"place_door_access","applies_to_type":"Place","applies_to_id":{place},"assignee_type":"User","assignee_id":{user},"valid_until":"2026-03-01T17:00:00Z"}}`))
				if r.Status != 200 {
					return fmt.Sprintf("%d %s", r.Status, r.Body)
				}
				_, has := r.Object(t)["valid_until"]
				return fmt.Sprintf("%d valid_until key: %v", r.Status, has)
			},
			def:   setting{[]kisitest.Option{kisitest.WithNonGroupValidityRejected(true)}, `422 {"errors":{"base":["valid_from and valid_until are only allowed for group role assignments"]}}`},
			other: setting{[]kisitest.Option{kisitest.WithNonGroupValidityRejected(false)}, "200 valid_until key: false"},
		},
		{
			name: "error key of a duplicate role",
			observe: func(t *testing.T, srv *kisitest.Server, w world) string {
				body := w.expand(`{"role_assignment":{"role_id":"group_basic","applies_to_type":"Group","applies_to_id":{group},"assignee_type":"User","assignee_id":{user}}}`)
				must(t, srv, 200, "POST", "/role_assignments", body)
				r := owner(t, srv, "POST", "/role_assignments", body)
				return fmt.Sprintf("%d %s", r.Status, r.Body)
			},
			def:   setting{[]kisitest.Option{kisitest.WithDuplicateRoleErrorKey("assignee_id")}, `422 {"errors":{"assignee_id":["already has a role in this group"]}}`},
			other: setting{[]kisitest.Option{kisitest.WithDuplicateRoleErrorKey("base")}, `422 {"errors":{"base":["already has a role in this group"]}}`},
		},
		{
			name: "reads of a key without an organization role",
			observe: func(t *testing.T, srv *kisitest.Server, w world) string {
				plain, err := srv.NewUserKey("door@example.com", "")
				require.NoError(t, err)
				observer, err := srv.NewUserKey("watch@example.com", "observer")
				require.NoError(t, err)
				var out []string
				for _, k := range []struct{ name, key string }{{"plain", plain}, {"observer", observer}} {
					var st []string
					for _, p := range []string{"/users", "/role_assignments", "/groups", "/group_links", "/integrations", "/user", "/organization", "/roles", "/places", "/locks"} {
						st = append(st, fmt.Sprint(call(t, srv, k.key, "GET", p, "").Status))
					}
					out = append(out, k.name+":"+strings.Join(st, ","))
				}
				return strings.Join(out, " ")
			},
			def: setting{[]kisitest.Option{kisitest.WithReadsNeedOrganizationRole(false)},
				"plain:200,200,200,200,200,200,200,200,200,200 observer:200,200,200,200,200,200,200,200,200,200"},
			other: setting{[]kisitest.Option{kisitest.WithReadsNeedOrganizationRole(true)},
				"plain:403,403,403,403,403,200,200,200,200,200 observer:200,200,200,200,200,200,200,200,200,200"},
		},
		{
			name: "custom role ids come from GET /roles",
			observe: func(t *testing.T, srv *kisitest.Server, w world) string {
				listed := false
				for _, r := range must(t, srv, 200, "GET", "/roles", "").JSON(t).([]any) {
					if m := r.(map[string]any); m["id"] == "night_shift" {
						listed = m["custom"] == true && m["custom_role_id"] != nil
					}
				}
				r := owner(t, srv, "POST", "/role_assignments", w.expand(`{"role_assignment":{"role_id":"night_shift","applies_to_type":"Group","applies_to_id":{group},"assignee_type":"User","assignee_id":{user}}}`))
				return fmt.Sprintf("listed:%v create:%d", listed, r.Status)
			},
			def: setting{nil, "listed:false create:422"},
			other: setting{[]kisitest.Option{kisitest.WithCustomRoles(kisitest.CustomRole{ID: "night_shift", AppliesTo: "Group", Name: "Night shift"})},
				"listed:true create:200"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, s := range []struct {
				name string
				setting
			}{{"default", setting{nil, tc.def.want}}, {"explicit default", tc.def}, {"other setting", tc.other}} {
				t.Run(s.name, func(t *testing.T) {
					srv := newServer(t, s.opts...)
					got := tc.observe(t, srv, seed(t, srv))
					require.Equal(t, s.want, got)
				})
			}
		})
	}
}
