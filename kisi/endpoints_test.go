package kisi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/kisi"
)

var (
	t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	t1 = time.Date(2026, 3, 2, 17, 0, 0, 0, time.UTC)
)

// TestEndpoints drives the happy path of every endpoint: method, path,
// query, wrapped body and decoded result.
func TestEndpoints(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		method    string
		path      string
		wantQuery url.Values
		wantBody  string // JSON, compared semantically; "" means no body
		status    int
		reply     string
		call      func(ctx context.Context, c *kisi.Client) (any, error)
		want      any
	}{
		{
			name: "role assignments list", method: "GET", path: "/role_assignments",
			wantQuery: url.Values{"applies_to_type": {"Group"}, "applies_to_id": {"12"}, "assignee_type": {"User"}, "assignee_id": {"7"}, "role_id": {"group_basic"}, "limit": {"5"}, "offset": {"10"}},
			status:    200, reply: `[{"id":1,"role_id":"group_basic","applies_to_type":"Group","applies_to_id":12,"assignee_type":"User","assignee_id":7,"valid_from":"2026-03-02T09:00:00Z","valid_until":null,"unknown_key":1}]`,
			call: func(ctx context.Context, c *kisi.Client) (any, error) {
				ras, _, err := c.RoleAssignments.List(ctx, &kisi.RoleAssignmentListOptions{RoleID: "group_basic", AssigneeType: "User", AssigneeID: 7, AppliesToType: "Group", AppliesToID: 12, ListOptions: kisi.ListOptions{Limit: 5, Offset: 10}})
				return ras, err
			},
			want: []*kisi.RoleAssignment{{ID: 1, RoleID: "group_basic", AppliesToType: "Group", AppliesToID: 12, AssigneeType: "User", AssigneeID: 7, ValidFrom: &t0}},
		},
		{
			name: "role assignments list nil options", method: "GET", path: "/role_assignments", wantQuery: url.Values{},
			status: 200, reply: `[]`,
			call: func(ctx context.Context, c *kisi.Client) (any, error) {
				ras, _, err := c.ListRoleAssignments(ctx, nil)
				return ras, err
			},
			want: []*kisi.RoleAssignment{},
		},
		{
			name: "role assignment get", method: "GET", path: "/role_assignments/3", status: 200,
			reply: `{"id":3,"role_id":"group_basic"}`,
			call: func(ctx context.Context, c *kisi.Client) (any, error) {
				ra, _, err := c.RoleAssignments.Get(ctx, 3)
				return ra, err
			},
			want: &kisi.RoleAssignment{ID: 3, RoleID: "group_basic"},
		},
		{
			name: "role assignment create with window", method: "POST", path: "/role_assignments",
			wantBody: `{"role_assignment":{"role_id":"group_basic","applies_to_type":"Group","applies_to_id":12,"assignee_type":"User","assignee_id":7,"notify":true,"valid_from":"2026-03-02T09:00:00Z","valid_until":"2026-03-02T17:00:00Z"}}`,
			status:   200, reply: `{"id":4,"role_id":"group_basic","valid_from":"2026-03-02T09:00:00Z","valid_until":"2026-03-02T17:00:00Z"}`,
			call: func(ctx context.Context, c *kisi.Client) (any, error) {
				ra, _, err := c.CreateRoleAssignment(ctx, &kisi.RoleAssignmentCreateRequest{RoleID: kisi.RoleGroupBasic, AppliesToType: kisi.ScopeGroup, AppliesToID: 12, AssigneeType: kisi.AssigneeUser, AssigneeID: 7, Notify: true, ValidFrom: kisi.Ptr(t0), ValidUntil: kisi.Ptr(t1)})
				return ra, err
			},
			want: &kisi.RoleAssignment{ID: 4, RoleID: "group_basic", ValidFrom: &t0, ValidUntil: &t1},
		},
		{
			name: "role assignment create open ended", method: "POST", path: "/role_assignments",
			wantBody: `{"role_assignment":{"role_id":"group_basic","applies_to_type":"Group","applies_to_id":12,"assignee_type":"User","assignee_id":7,"notify":false}}`,
			status:   200, reply: `{"id":5}`,
			call: func(ctx context.Context, c *kisi.Client) (any, error) {
				ra, _, err := c.RoleAssignments.Create(ctx, &kisi.RoleAssignmentCreateRequest{RoleID: "group_basic", AppliesToType: "Group", AppliesToID: 12, AssigneeType: "User", AssigneeID: 7})
				return ra, err
			},
			want: &kisi.RoleAssignment{ID: 5},
		},
		{
			name: "role assignment update", method: "PATCH", path: "/role_assignments/5",
			wantBody: `{"role_assignment":{"notify":false}}`, status: 204,
			call: func(ctx context.Context, c *kisi.Client) (any, error) {
				resp, err := c.UpdateRoleAssignment(ctx, 5, &kisi.RoleAssignmentUpdateRequest{Notify: kisi.Ptr(false)})
				return resp.StatusCode, err
			},
			want: 204,
		},
		{
			name: "role assignment update of the window", method: "PATCH", path: "/role_assignments/5",
			wantBody: `{"role_assignment":{"valid_from":"2026-03-01T09:00:00Z","valid_until":"2026-03-01T17:00:00Z"}}`, status: 204,
			call: func(ctx context.Context, c *kisi.Client) (any, error) {
				from, until := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC), time.Date(2026, 3, 1, 17, 0, 0, 0, time.UTC)
				resp, err := c.UpdateRoleAssignment(ctx, 5, &kisi.RoleAssignmentUpdateRequest{Validity: &kisi.Validity{From: &from, Until: &until}})
				return resp.StatusCode, err
			},
			want: 204,
		},
		{
			name: "role assignment update to no end sends null", method: "PATCH", path: "/role_assignments/5",
			wantBody: `{"role_assignment":{"valid_from":"2026-03-01T09:00:00Z","valid_until":null}}`, status: 204,
			call: func(ctx context.Context, c *kisi.Client) (any, error) {
				from := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
				resp, err := c.UpdateRoleAssignment(ctx, 5, &kisi.RoleAssignmentUpdateRequest{Validity: &kisi.Validity{From: &from}})
				return resp.StatusCode, err
			},
			want: 204,
		},
		{
			name: "role assignment update to unbounded sends two nulls", method: "PATCH", path: "/role_assignments/5",
			wantBody: `{"role_assignment":{"notify":true,"valid_from":null,"valid_until":null}}`, status: 204,
			call: func(ctx context.Context, c *kisi.Client) (any, error) {
				resp, err := c.UpdateRoleAssignment(ctx, 5, &kisi.RoleAssignmentUpdateRequest{Notify: kisi.Ptr(true), Validity: &kisi.Validity{}})
				return resp.StatusCode, err
			},
			want: 204,
		},
		{
			name: "role assignment delete", method: "DELETE", path: "/role_assignments/5", status: 204,
			call: func(ctx context.Context, c *kisi.Client) (any, error) {
				resp, err := c.DeleteRoleAssignment(ctx, 5)
				return resp.StatusCode, err
			},
			want: 204,
		},
		{
			name: "roles list", method: "GET", path: "/roles", status: 200,
			reply: `[{"id":"group_basic","name":"Basic","applies_to":"Group","custom":false,"permissions":{"locks_unlock":true}}]`,
			call: func(ctx context.Context, c *kisi.Client) (any, error) {
				rs, _, err := c.Roles.List(ctx)
				return rs, err
			},
			want: []*kisi.Role{{ID: "group_basic", Name: "Basic", AppliesTo: "Group", Permissions: map[string]bool{"locks_unlock": true}}},
		},
		{
			name: "role get", method: "GET", path: "/roles/group_basic", status: 200, reply: `{"id":"group_basic"}`,
			call: func(ctx context.Context, c *kisi.Client) (any, error) {
				r, _, err := c.Roles.Get(ctx, "group_basic")
				return r, err
			},
			want: &kisi.Role{ID: "group_basic"},
		},
		{
			name: "groups list", method: "GET", path: "/groups", wantQuery: url.Values{"place_id": {"2"}, "query": {"desk"}},
			status: 200, reply: `[{"id":1,"name":"Hot desk","place_id":2}]`,
			call: func(ctx context.Context, c *kisi.Client) (any, error) {
				gs, _, err := c.Groups.List(ctx, &kisi.GroupListOptions{PlaceID: 2, Query: "desk"})
				return gs, err
			},
			want: []*kisi.Group{{ID: 1, Name: "Hot desk", PlaceID: kisi.Ptr[int64](2)}},
		},
		{
			name: "group get", method: "GET", path: "/groups/1", status: 200,
			reply: `{"id":1,"name":"Hot desk","time_restriction_enabled":true}`,
			call: func(ctx context.Context, c *kisi.Client) (any, error) {
				g, _, err := c.GetGroup(ctx, 1)
				return g, err
			},
			want: &kisi.Group{ID: 1, Name: "Hot desk", TimeRestrictionEnabled: true},
		},
		{
			name: "group create", method: "POST", path: "/groups",
			wantBody: `{"group":{"name":"Hot desk","place_id":2}}`, status: 200, reply: `{"id":8,"name":"Hot desk"}`,
			call: func(ctx context.Context, c *kisi.Client) (any, error) {
				g, _, err := c.Groups.Create(ctx, &kisi.GroupCreateRequest{Name: "Hot desk", PlaceID: kisi.Ptr[int64](2)})
				return g, err
			},
			want: &kisi.Group{ID: 8, Name: "Hot desk"},
		},
		{
			name: "group update", method: "PATCH", path: "/groups/8",
			wantBody: `{"group":{"login_enabled":false}}`, status: 204,
			call: func(ctx context.Context, c *kisi.Client) (any, error) {
				_, err := c.Groups.Update(ctx, 8, &kisi.GroupUpdateRequest{LoginEnabled: kisi.Ptr(false)})
				return nil, err
			},
		},
		{
			name: "group delete", method: "DELETE", path: "/groups/8", status: 204,
			call: func(ctx context.Context, c *kisi.Client) (any, error) {
				_, err := c.Groups.Delete(ctx, 8)
				return nil, err
			},
		},
		{
			name: "group locks list", method: "GET", path: "/group_locks", wantQuery: url.Values{"group_id": {"8"}},
			status: 200, reply: `[{"id":1,"group_id":8,"lock_id":3,"lock":{"id":3,"name":"Front door","description":null}}]`,
			call: func(ctx context.Context, c *kisi.Client) (any, error) {
				gl, _, err := c.GroupLocks.List(ctx, &kisi.GroupLockListOptions{GroupID: 8})
				return gl, err
			},
			want: []*kisi.GroupLock{{ID: 1, GroupID: 8, LockID: 3, Lock: &kisi.Ref{ID: 3, Name: "Front door"}}},
		},
		{
			name: "group lock get", method: "GET", path: "/group_locks/1", status: 200, reply: `{"id":1}`,
			call: func(ctx context.Context, c *kisi.Client) (any, error) {
				gl, _, err := c.GroupLocks.Get(ctx, 1)
				return gl, err
			},
			want: &kisi.GroupLock{ID: 1},
		},
		{
			name: "group lock create", method: "POST", path: "/group_locks",
			wantBody: `{"group_lock":{"group_id":8,"lock_id":3}}`, status: 200, reply: `{"id":2,"group_id":8,"lock_id":3}`,
			call: func(ctx context.Context, c *kisi.Client) (any, error) {
				gl, _, err := c.GroupLocks.Create(ctx, &kisi.GroupLockCreateRequest{GroupID: 8, LockID: 3})
				return gl, err
			},
			want: &kisi.GroupLock{ID: 2, GroupID: 8, LockID: 3},
		},
		{
			name: "group lock delete", method: "DELETE", path: "/group_locks/2", status: 204,
			call: func(ctx context.Context, c *kisi.Client) (any, error) {
				_, err := c.GroupLocks.Delete(ctx, 2)
				return nil, err
			},
		},
		{
			name: "group links list", method: "GET", path: "/group_links", wantQuery: url.Values{"group_id": {"8"}},
			status: 200, reply: `[{"id":1,"name":"Ann","email":"ann@example.com","group_id":8,"link_enabled":true}]`,
			call: func(ctx context.Context, c *kisi.Client) (any, error) {
				gl, _, err := c.ListGroupLinks(ctx, &kisi.GroupLinkListOptions{GroupID: 8})
				return gl, err
			},
			want: []*kisi.GroupLink{{ID: 1, Name: "Ann", Email: kisi.Ptr("ann@example.com"), GroupID: 8, LinkEnabled: true}},
		},
		{
			name: "group link create with secret and qr", method: "POST", path: "/group_links",
			wantBody: `{"group_link":{"group_id":8,"name":"Ann","email":"ann@example.com","link_enabled":true,"quick_response_code_type":"online","valid_from":"2026-03-02T09:00:00Z","valid_until":"2026-03-02T17:00:00Z"}}`,
			status:   200, reply: `{"id":2,"name":"Ann","group_id":8,"secret":"s3cr3t","quick_response_code_image":"iVBORw0KGgo="}`,
			call: func(ctx context.Context, c *kisi.Client) (any, error) {
				gl, _, err := c.CreateGroupLink(ctx, &kisi.GroupLinkCreateRequest{GroupID: 8, Name: "Ann", Email: kisi.Ptr("ann@example.com"), LinkEnabled: kisi.Ptr(true), QuickResponseCodeType: kisi.Ptr(kisi.QROnline), ValidFrom: kisi.Ptr(t0), ValidUntil: kisi.Ptr(t1)})
				return gl, err
			},
			want: &kisi.GroupLink{ID: 2, Name: "Ann", GroupID: 8, Secret: kisi.Ptr("s3cr3t"), QuickResponseCodeImage: kisi.Ptr("iVBORw0KGgo=")},
		},
		{
			name: "group link delete", method: "DELETE", path: "/group_links/2", status: 204,
			call: func(ctx context.Context, c *kisi.Client) (any, error) {
				_, err := c.DeleteGroupLink(ctx, 2)
				return nil, err
			},
		},
		{
			name: "users list by email", method: "GET", path: "/users", wantQuery: url.Values{"email": {"ann@example.com"}},
			status: 200, reply: `[{"id":7,"email":"ann@example.com","confirmed":false,"metadata":{"plan":"flex"}}]`,
			call: func(ctx context.Context, c *kisi.Client) (any, error) {
				us, _, err := c.ListUsers(ctx, &kisi.UserListOptions{Email: "ann@example.com"})
				return us, err
			},
			want: []*kisi.User{{ID: 7, Email: "ann@example.com", ConfirmedReported: true, Metadata: map[string]any{"plan": "flex"}}},
		},
		{
			name: "user get by email case-insensitive", method: "GET", path: "/users", wantQuery: url.Values{"query": {"ann@example.com"}, "limit": {"100"}},
			status: 200, reply: `[{"id":6,"email":"other@example.com"},{"id":7,"email":"ann@example.com"}]`,
			call: func(ctx context.Context, c *kisi.Client) (any, error) {
				u, _, err := c.Users.GetByEmail(ctx, " Ann@Example.com ")
				return u, err
			},
			want: &kisi.User{ID: 7, Email: "ann@example.com"},
		},
		{
			name: "user get", method: "GET", path: "/users/7", status: 200, reply: `{"id":7,"access_enabled":true}`,
			call: func(ctx context.Context, c *kisi.Client) (any, error) {
				u, _, err := c.Users.Get(ctx, 7)
				return u, err
			},
			want: &kisi.User{ID: 7, AccessEnabled: true},
		},
		{
			name: "current user", method: "GET", path: "/user", status: 200, reply: `{"id":1,"email":"owner@example.com"}`,
			call: func(ctx context.Context, c *kisi.Client) (any, error) {
				u, _, err := c.Users.Current(ctx)
				return u, err
			},
			want: &kisi.User{ID: 1, Email: "owner@example.com"},
		},
		{
			name: "managed user create", method: "POST", path: "/users",
			wantBody: `{"user":{"email":"bob@example.com","name":"Bob","send_emails":false,"confirm":true}}`,
			status:   200, reply: `{"id":9,"email":"bob@example.com","name":"Bob","confirmed":true}`,
			call: func(ctx context.Context, c *kisi.Client) (any, error) {
				u, _, err := c.CreateUser(ctx, &kisi.UserCreateRequest{Email: "bob@example.com", Name: "Bob", SendEmails: kisi.Ptr(false), Confirm: kisi.Ptr(true)})
				return u, err
			},
			want: &kisi.User{ID: 9, Email: "bob@example.com", Name: "Bob", Confirmed: true, ConfirmedReported: true},
		},
		{
			name: "user update", method: "PATCH", path: "/users/9",
			wantBody: `{"user":{"access_enabled":false,"notes":"paused","metadata":{"member_id":"m1"}}}`, status: 204,
			call: func(ctx context.Context, c *kisi.Client) (any, error) {
				_, err := c.Users.Update(ctx, 9, &kisi.UserUpdateRequest{AccessEnabled: kisi.Ptr(false), Notes: kisi.Ptr("paused"), Metadata: map[string]any{"member_id": "m1"}})
				return nil, err
			},
		},
		{
			name: "user delete", method: "DELETE", path: "/users/9", status: 204,
			call: func(ctx context.Context, c *kisi.Client) (any, error) {
				_, err := c.Users.Delete(ctx, 9)
				return nil, err
			},
		},
		{
			name: "places list", method: "GET", path: "/places", status: 200, wantQuery: url.Values{},
			reply: `[{"id":2,"name":"HQ","address":"1 Main St","time_zone":"Europe/Berlin"}]`,
			call: func(ctx context.Context, c *kisi.Client) (any, error) {
				ps, _, err := c.Places.List(ctx, nil)
				return ps, err
			},
			want: []*kisi.Place{{ID: 2, Name: "HQ", Address: "1 Main St", TimeZone: kisi.Ptr("Europe/Berlin")}},
		},
		{
			name: "place create", method: "POST", path: "/places", wantBody: `{"place":{"name":"HQ","address":"1 Main St"}}`,
			status: 200, reply: `{"id":2,"name":"HQ","address":"1 Main St"}`,
			call: func(ctx context.Context, c *kisi.Client) (any, error) {
				p, _, err := c.Places.Create(ctx, &kisi.PlaceCreateRequest{Name: "HQ", Address: "1 Main St"})
				return p, err
			},
			want: &kisi.Place{ID: 2, Name: "HQ", Address: "1 Main St"},
		},
		{
			name: "place get", method: "GET", path: "/places/2", status: 200, reply: `{"id":2}`,
			call: func(ctx context.Context, c *kisi.Client) (any, error) {
				p, _, err := c.Places.Get(ctx, 2)
				return p, err
			},
			want: &kisi.Place{ID: 2},
		},
		{
			name: "place update", method: "PATCH", path: "/places/2", wantBody: `{"place":{"name":"HQ 2"}}`, status: 204,
			call: func(ctx context.Context, c *kisi.Client) (any, error) {
				_, err := c.Places.Update(ctx, 2, &kisi.PlaceUpdateRequest{Name: kisi.Ptr("HQ 2")})
				return nil, err
			},
		},
		{
			name: "place delete", method: "DELETE", path: "/places/2", status: 204,
			call: func(ctx context.Context, c *kisi.Client) (any, error) {
				_, err := c.Places.Delete(ctx, 2)
				return nil, err
			},
		},
		{
			name: "locks list", method: "GET", path: "/locks", wantQuery: url.Values{"place_id": {"2"}, "online": {"true"}},
			status: 200, reply: `[{"id":3,"name":"Front door","place_id":2,"online":true}]`,
			call: func(ctx context.Context, c *kisi.Client) (any, error) {
				ls, _, err := c.Locks.List(ctx, &kisi.LockListOptions{PlaceID: 2, Online: kisi.Ptr(true)})
				return ls, err
			},
			want: []*kisi.Lock{{ID: 3, Name: "Front door", PlaceID: 2, Online: kisi.Ptr(true)}},
		},
		{
			name: "lock create", method: "POST", path: "/locks", wantBody: `{"lock":{"name":"Front door","place_id":2}}`,
			status: 200, reply: `{"id":3,"name":"Front door","place_id":2}`,
			call: func(ctx context.Context, c *kisi.Client) (any, error) {
				l, _, err := c.Locks.Create(ctx, &kisi.LockCreateRequest{Name: "Front door", PlaceID: 2})
				return l, err
			},
			want: &kisi.Lock{ID: 3, Name: "Front door", PlaceID: 2},
		},
		{
			name: "lock get", method: "GET", path: "/locks/3", status: 200, reply: `{"id":3}`,
			call: func(ctx context.Context, c *kisi.Client) (any, error) {
				l, _, err := c.Locks.Get(ctx, 3)
				return l, err
			},
			want: &kisi.Lock{ID: 3},
		},
		{
			name: "lock update", method: "PATCH", path: "/locks/3", wantBody: `{"lock":{"name":"Back door"}}`, status: 204,
			call: func(ctx context.Context, c *kisi.Client) (any, error) {
				_, err := c.Locks.Update(ctx, 3, &kisi.LockUpdateRequest{Name: kisi.Ptr("Back door")})
				return nil, err
			},
		},
		{
			name: "lock delete", method: "DELETE", path: "/locks/3", status: 204,
			call: func(ctx context.Context, c *kisi.Client) (any, error) {
				_, err := c.Locks.Delete(ctx, 3)
				return nil, err
			},
		},
		{
			name: "lock unlock", method: "POST", path: "/locks/3/unlock", status: 200, reply: `{"message":"Unlocked!"}`,
			call: func(ctx context.Context, c *kisi.Client) (any, error) {
				resp, err := c.Locks.Unlock(ctx, 3)
				return resp.StatusCode, err
			},
			want: 200,
		},
		{
			name: "organization", method: "GET", path: "/organization", status: 200,
			reply: `{"id":1,"name":"Acme","domain":"acme","time_zone":"Europe/Berlin"}`,
			call: func(ctx context.Context, c *kisi.Client) (any, error) {
				o, _, err := c.Organization.Get(ctx)
				return o, err
			},
			want: &kisi.Organization{ID: 1, Name: "Acme", Domain: "acme", TimeZone: "Europe/Berlin"},
		},
		{
			name: "teams list", method: "GET", path: "/teams", wantQuery: url.Values{}, status: 200, reply: `[{"id":1,"name":"Ops"}]`,
			call: func(ctx context.Context, c *kisi.Client) (any, error) {
				ts, _, err := c.Teams.List(ctx, nil)
				return ts, err
			},
			want: []*kisi.Team{{ID: 1, Name: "Ops"}},
		},
		{
			name: "team create", method: "POST", path: "/teams", wantBody: `{"team":{"name":"Ops"}}`, status: 200, reply: `{"id":1,"name":"Ops"}`,
			call: func(ctx context.Context, c *kisi.Client) (any, error) {
				tm, _, err := c.Teams.Create(ctx, &kisi.TeamCreateRequest{Name: "Ops"})
				return tm, err
			},
			want: &kisi.Team{ID: 1, Name: "Ops"},
		},
		{
			name: "team update", method: "PATCH", path: "/teams/1", wantBody: `{"team":{"name":"SRE"}}`, status: 204,
			call: func(ctx context.Context, c *kisi.Client) (any, error) {
				_, err := c.Teams.Update(ctx, 1, &kisi.TeamUpdateRequest{Name: kisi.Ptr("SRE")})
				return nil, err
			},
		},
		{
			name: "team delete", method: "DELETE", path: "/teams/1", status: 204,
			call: func(ctx context.Context, c *kisi.Client) (any, error) {
				_, err := c.Teams.Delete(ctx, 1)
				return nil, err
			},
		},
		{
			name: "team memberships list", method: "GET", path: "/team_memberships", wantQuery: url.Values{"team_id": {"1"}, "member_type": {"User"}, "member_id": {"7"}},
			status: 200, reply: `[{"id":4,"team_id":1,"member_type":"User","member_id":7}]`,
			call: func(ctx context.Context, c *kisi.Client) (any, error) {
				ms, _, err := c.TeamMemberships.List(ctx, &kisi.TeamMembershipListOptions{TeamID: 1, MemberType: "User", MemberID: 7})
				return ms, err
			},
			want: []*kisi.TeamMembership{{ID: 4, TeamID: 1, MemberType: "User", MemberID: 7}},
		},
		{
			name: "team membership create", method: "POST", path: "/team_memberships",
			wantBody: `{"team_membership":{"team_id":1,"member_id":7,"member_type":"User"}}`, status: 200, reply: `{"id":4}`,
			call: func(ctx context.Context, c *kisi.Client) (any, error) {
				m, _, err := c.TeamMemberships.Create(ctx, &kisi.TeamMembershipCreateRequest{TeamID: 1, MemberID: 7, MemberType: "User"})
				return m, err
			},
			want: &kisi.TeamMembership{ID: 4},
		},
		{
			name: "team membership delete", method: "DELETE", path: "/team_memberships/4", status: 204,
			call: func(ctx context.Context, c *kisi.Client) (any, error) {
				_, err := c.TeamMemberships.Delete(ctx, 4)
				return nil, err
			},
		},
		{
			name: "event types", method: "GET", path: "/events/types", status: 200, reply: `["lock.unlock","group.create"]`,
			call: func(ctx context.Context, c *kisi.Client) (any, error) {
				ts, _, err := c.Events.Types(ctx)
				return ts, err
			},
			want: []string{"lock.unlock", "group.create"},
		},
		{
			name: "event set create", method: "POST", path: "/event_sets",
			wantBody: `{"event_set":{"interval":"2026-03-02T09:00:00Z/2026-03-02T17:00:00Z","event_type":"lock.unlock","event_success":false}}`,
			status:   200, reply: `{"id":11,"status":"in_progress","cursor":null}`,
			call: func(ctx context.Context, c *kisi.Client) (any, error) {
				s, _, err := c.EventSets.Create(ctx, &kisi.EventSetCreateRequest{Interval: kisi.EventInterval(t0, t1), EventType: kisi.Ptr(kisi.EventLockUnlock), EventSuccess: kisi.Ptr(false)})
				return s, err
			},
			want: &kisi.EventSet{ID: 11, Status: "in_progress"},
		},
		{
			name: "event set get page", method: "GET", path: "/event_sets/11", wantQuery: url.Values{"cursor": {"abc"}, "limit": {"20"}},
			status: 200, reply: `{"id":11,"status":"finished","events":[{"uuid":"u1","type":"lock.unlock","success":false,"error_code":"f358de"}],"cursor":null}`,
			call: func(ctx context.Context, c *kisi.Client) (any, error) {
				s, _, err := c.EventSets.Get(ctx, 11, &kisi.EventSetGetOptions{Limit: 20, Cursor: "abc"})
				return s, err
			},
			want: &kisi.EventSet{ID: 11, Status: "finished", Events: []*kisi.Event{{UUID: "u1", Type: "lock.unlock", ErrorCode: kisi.Ptr(kisi.CodeAccessNotYetValid)}}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, mux, _ := setup(t)
			mux.HandleFunc(tc.path, func(w http.ResponseWriter, r *http.Request) {
				checkAuth(t, r)
				if r.Method != tc.method {
					t.Errorf("method = %s, want %s", r.Method, tc.method)
				}
				if tc.wantQuery != nil {
					if diff := cmp.Diff(tc.wantQuery, r.URL.Query()); diff != "" {
						t.Errorf("query (-want +got):\n%s", diff)
					}
				}
				body, _ := io.ReadAll(r.Body)
				if tc.wantBody == "" {
					if len(body) != 0 {
						t.Errorf("unexpected body %s", body)
					}
				} else {
					if ct := r.Header.Get("Content-Type"); ct != "application/json" {
						t.Errorf("Content-Type = %q", ct)
					}
					var want, got any
					require.NoError(t, json.Unmarshal([]byte(tc.wantBody), &want))
					if err := json.Unmarshal(body, &got); err != nil {
						t.Errorf("body %s: %v", body, err)
					}
					if diff := cmp.Diff(want, got); diff != "" {
						t.Errorf("body (-want +got):\n%s", diff)
					}
				}
				if tc.status == http.StatusNoContent {
					w.WriteHeader(tc.status)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.reply)
			})
			got, err := tc.call(t.Context(), c)
			require.NoError(t, err)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNilRequests(t *testing.T) {
	t.Parallel()
	c, _, _ := setup(t)
	ctx := t.Context()
	_, _, err1 := c.RoleAssignments.Create(ctx, nil)
	_, err2 := c.RoleAssignments.Update(ctx, 1, nil)
	_, _, err3 := c.GroupLocks.List(ctx, nil)
	_, _, err4 := c.Users.GetByEmail(ctx, " ")
	for i, err := range []error{err1, err2, err3, err4} {
		if err == nil {
			t.Errorf("call %d: got nil error for missing input", i+1)
		}
	}
}

// TestGetByEmailAcrossPages: GetByEmail sends the normalized address as
// ?query=, reads every page of matches and accepts only an exact match.
func TestGetByEmailAcrossPages(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	var queries []string
	mux.HandleFunc("GET /users", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		queries = append(queries, q.Get("query")+"@"+q.Get("offset"))
		if q.Get("email") != "" {
			t.Errorf("email filter sent: %q", q.Get("email"))
		}
		w.Header().Set("X-Collection-Range", q.Get("offset")+"-99/101")
		if q.Get("offset") == "" {
			// A full page of near misses: the same text in longer
			// addresses, names or notes.
			page := make([]map[string]any, 100)
			for i := range page {
				page[i] = map[string]any{"id": i + 1, "email": fmt.Sprintf("x%dann@example.com", i)}
			}
			writeJSON(w, http.StatusOK, page)
			return
		}
		writeJSON(w, http.StatusOK, []map[string]any{{"id": 200, "email": "ANN@example.com"}})
	})
	u, _, err := c.Users.GetByEmail(t.Context(), "  Ann@Example.COM\t")
	require.NoError(t, err)
	if u.ID != 200 {
		t.Errorf("found user %d, want 200", u.ID)
	}
	if diff := cmp.Diff([]string{"ann@example.com@", "ann@example.com@100"}, queries); diff != "" {
		t.Errorf("queries (-want +got):\n%s", diff)
	}
}

func TestNormalizeEmail(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{" Ann@Example.COM\n": "ann@example.com", "": "", "b@c.d": "b@c.d"} {
		if got := kisi.NormalizeEmail(in); got != want {
			t.Errorf("NormalizeEmail(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestGetByEmailNotFound(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	mux.HandleFunc("GET /users", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, []map[string]any{{"id": 1, "email": "annette@example.com"}})
	})
	_, _, err := c.Users.GetByEmail(t.Context(), "ann@example.com")
	if !errors.Is(err, kisi.ErrNotFound) {
		t.Errorf("err = %v, want ErrNotFound", err)
	}
}

// TestUserStatus: the status does not depend on the deprecated confirmed
// key alone and keeps working when it is absent.
func TestUserStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		want kisi.UserStatus
	}{
		{"confirmed", `{"id":1,"confirmed":true}`, kisi.UserStatusActive},
		{"unconfirmed", `{"id":1,"confirmed":false}`, kisi.UserStatusPending},
		{"unconfirmed but has opened a door", `{"id":1,"confirmed":false,"last_accessed_at":"2026-01-02T03:04:05Z"}`, kisi.UserStatusActive},
		{"no confirmed key", `{"id":1}`, kisi.UserStatusUnknown},
		{"null confirmed key", `{"id":1,"confirmed":null}`, kisi.UserStatusUnknown},
		{"no confirmed key, has opened a door", `{"id":1,"last_accessed_at":"2026-01-02T03:04:05Z"}`, kisi.UserStatusActive},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var u kisi.User
			require.NoError(t, json.Unmarshal([]byte(tc.body), &u))
			if got := u.Status(); got != tc.want {
				t.Errorf("Status() = %v, want %v", got, tc.want)
			}
		})
	}
}
