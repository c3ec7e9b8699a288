package kisi_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/kisi/kisitest"
)

// fake starts a kisitest server and a client for it. Without client options
// pacing is off and retries are fast.
func fake(t *testing.T, srvOpts []kisitest.Option, opts ...kisi.Option) (*kisitest.Server, *kisi.Client) {
	t.Helper()
	srv := kisitest.NewServer(srvOpts...)
	t.Cleanup(srv.Close)
	if len(opts) == 0 {
		opts = []kisi.Option{kisi.WithRateLimit(rate.Inf, 0), kisi.WithRetry(3, time.Millisecond, 5*time.Millisecond)}
	}
	c, err := kisi.NewClient(srv.APIKey, append([]kisi.Option{kisi.WithBaseURL(srv.URL)}, opts...)...)
	require.NoError(t, err)
	return srv, c
}

func noLimit() []kisitest.Option { return []kisitest.Option{kisitest.WithoutRateLimit()} }

func TestFakeUsers(t *testing.T) {
	t.Parallel()
	_, c := fake(t, noLimit())
	ctx := t.Context()
	regular, _, err := c.CreateUser(ctx, &kisi.UserCreateRequest{Email: "Ann@Example.com", Name: "Ann"})
	require.NoError(t, err)
	managed, _, err := c.Users.Create(ctx, &kisi.UserCreateRequest{Email: "bob@example.com", SendEmails: kisi.Ptr(false), Confirm: kisi.Ptr(true)})
	require.NoError(t, err)
	if regular.Confirmed || !managed.Confirmed {
		t.Errorf("confirmed: regular %v managed %v, want false and true", regular.Confirmed, managed.Confirmed)
	}
	found, _, err := c.Users.GetByEmail(ctx, "ann@example.COM")
	require.NoError(t, err)
	if found.ID != regular.ID {
		t.Errorf("GetByEmail found %d, want %d", found.ID, regular.ID)
	}
	_, _, err = c.Users.Create(ctx, &kisi.UserCreateRequest{Email: "ann@example.com"})
	if !errors.Is(err, kisi.ErrValidation) {
		t.Errorf("duplicate email: err = %v, want ErrValidation", err)
	}
	_, err = c.Users.Update(ctx, managed.ID, &kisi.UserUpdateRequest{AccessEnabled: kisi.Ptr(false), Notes: kisi.Ptr("paused"), Metadata: map[string]any{"member": "m1"}})
	require.NoError(t, err)
	got, _, err := c.Users.Get(ctx, managed.ID)
	require.NoError(t, err)
	if got.AccessEnabled || got.Notes == nil || *got.Notes != "paused" || got.Metadata["member"] != "m1" {
		t.Errorf("after update: access %v notes %v metadata %v", got.AccessEnabled, got.Notes, got.Metadata)
	}
	_, _, err = c.Users.Get(ctx, 999999)
	if !errors.Is(err, kisi.ErrNotFound) {
		t.Errorf("unknown user: err = %v, want ErrNotFound", err)
	}
}

func TestFakeRoleAssignments(t *testing.T) {
	t.Parallel()
	srv, c := fake(t, noLimit())
	ctx := t.Context()
	groupID, err := srv.AddGroup("Meeting room", 0)
	require.NoError(t, err)
	userID, err := srv.AddUser("ann@example.com", "Ann", false)
	require.NoError(t, err)
	from := time.Date(2030, 3, 2, 13, 55, 0, 0, time.UTC)
	until := time.Date(2030, 3, 2, 15, 5, 0, 0, time.UTC)
	req := &kisi.RoleAssignmentCreateRequest{
		RoleID: kisi.RoleGroupBasic, AppliesToType: kisi.ScopeGroup, AppliesToID: groupID,
		AssigneeType: kisi.AssigneeUser, AssigneeID: userID, Notify: true,
		ValidFrom: kisi.Ptr(from), ValidUntil: kisi.Ptr(until),
	}
	ra, _, err := c.CreateRoleAssignment(ctx, req)
	require.NoError(t, err)

	list, resp, err := c.ListRoleAssignments(ctx, &kisi.RoleAssignmentListOptions{AppliesToType: kisi.ScopeGroup, AppliesToID: groupID})
	require.NoError(t, err)
	require.Len(t, list, 1)
	got := list[0]
	want := &kisi.RoleAssignment{
		ID: ra.ID, RoleID: "group_basic", Notify: true, AppliesToType: "Group", AppliesToID: groupID,
		AssigneeType: "User", AssigneeID: userID, ValidFrom: &from, ValidUntil: &until,
	}
	ignore := []cmp.Option{cmp.FilterPath(func(p cmp.Path) bool {
		switch p.Last().String() {
		case ".CreatedAt", ".UpdatedAt", ".Assignee", ".AppliesTo", ".CreatedByType", ".CreatedByID":
			return true
		}
		return false
	}, cmp.Ignore())}
	if diff := cmp.Diff(want, got, ignore...); diff != "" {
		t.Errorf("listed assignment (-want +got):\n%s", diff)
	}
	if resp.Total != 1 || resp.NextOffset != 0 {
		t.Errorf("total %d next %d, want 1 and 0", resp.Total, resp.NextOffset)
	}

	// One role per user and group: a second create is a 422.
	_, _, err = c.CreateRoleAssignment(ctx, req)
	var apiErr *kisi.Error
	require.ErrorAs(t, err, &apiErr)
	if !errors.Is(err, kisi.ErrValidation) || len(apiErr.Fields) == 0 {
		t.Errorf("duplicate: err = %v (fields %v), want ErrValidation with fields", err, apiErr.Fields)
	}
	if errors.Is(err, kisi.ErrMaybeApplied) {
		t.Errorf("a 422 must not be reported as maybe applied")
	}

	_, err = c.UpdateRoleAssignment(ctx, ra.ID, &kisi.RoleAssignmentUpdateRequest{Notify: kisi.Ptr(false)})
	require.NoError(t, err)
	_, err = c.DeleteRoleAssignment(ctx, ra.ID)
	require.NoError(t, err)
	_, err = c.DeleteRoleAssignment(ctx, ra.ID)
	if !errors.Is(err, kisi.ErrNotFound) {
		t.Errorf("second delete: err = %v, want ErrNotFound", err)
	}
	g, _, err := c.GetGroup(ctx, groupID)
	require.NoError(t, err)
	if g.Name != "Meeting room" {
		t.Errorf("group name %q", g.Name)
	}
}

func TestFakeGroupLinks(t *testing.T) {
	t.Parallel()
	srv, c := fake(t, noLimit())
	ctx := t.Context()
	groupID, err := srv.AddGroup("Hot desks", 0)
	require.NoError(t, err)
	until := time.Date(2030, 1, 1, 18, 0, 0, 0, time.UTC)
	link, _, err := c.CreateGroupLink(ctx, &kisi.GroupLinkCreateRequest{
		GroupID: groupID, Name: "Bob", Email: kisi.Ptr("bob@example.com"),
		QuickResponseCodeType: kisi.Ptr(kisi.QROffline), ValidUntil: kisi.Ptr(until),
	})
	require.NoError(t, err)
	require.NotNil(t, link.Secret)
	require.NotNil(t, link.QuickResponseCodeImage)
	png, err := base64.StdEncoding.DecodeString(*link.QuickResponseCodeImage)
	require.NoError(t, err)
	if !strings.HasPrefix(string(png), "\x89PNG\r\n\x1a\n") {
		t.Errorf("QR image is not a PNG")
	}
	if link.ValidUntil == nil || !link.ValidUntil.Equal(until) {
		t.Errorf("valid_until = %v, want %v", link.ValidUntil, until)
	}
	links, _, err := c.ListGroupLinks(ctx, &kisi.GroupLinkListOptions{GroupID: groupID})
	require.NoError(t, err)
	require.Len(t, links, 1)
	if links[0].Secret != nil || links[0].QuickResponseCodeImage != nil {
		t.Errorf("listed link carries its secret or image")
	}
	_, _, err = c.CreateGroupLink(ctx, &kisi.GroupLinkCreateRequest{GroupID: groupID})
	if !errors.Is(err, kisi.ErrValidation) {
		t.Errorf("link without name: err = %v, want ErrValidation", err)
	}
	_, err = c.DeleteGroupLink(ctx, link.ID)
	require.NoError(t, err)
	links, _, err = c.ListGroupLinks(ctx, &kisi.GroupLinkListOptions{GroupID: groupID})
	require.NoError(t, err)
	if len(links) != 0 {
		t.Errorf("links after delete = %d, want 0", len(links))
	}
}

func TestFakePagination(t *testing.T) {
	t.Parallel()
	srv, c := fake(t, noLimit())
	ctx := t.Context()
	for i := range 27 {
		_, err := srv.AddGroup(fmt.Sprintf("g%02d", i), 0)
		require.NoError(t, err)
	}
	var names []string
	opts := &kisi.GroupListOptions{ListOptions: kisi.ListOptions{Limit: 10}}
	for {
		page, resp, err := c.Groups.List(ctx, opts)
		require.NoError(t, err)
		if resp.Total != 27 {
			t.Errorf("total = %d, want 27", resp.Total)
		}
		for _, g := range page {
			names = append(names, g.Name)
		}
		if resp.NextOffset == 0 {
			break
		}
		opts.Offset = resp.NextOffset
	}
	if len(names) != 27 || srv.Count("GET", "/groups") != 3 {
		t.Errorf("read %d groups in %d requests, want 27 in 3", len(names), srv.Count("GET", "/groups"))
	}
	n := 0
	for _, err := range c.Groups.ListIter(ctx, nil) {
		require.NoError(t, err)
		n++
	}
	if n != 27 {
		t.Errorf("ListIter yielded %d, want 27", n)
	}
	_, _, err := c.Users.List(ctx, &kisi.UserListOptions{ListOptions: kisi.ListOptions{Limit: 101}})
	if err == nil {
		t.Errorf("users limit 101 accepted, want an error")
	}
}

// TestFakePacing: with the client's default pacing, the fake's 5/s limit
// never answers 429.
func TestFakePacing(t *testing.T) {
	t.Parallel()
	srv, c := fake(t, nil, kisi.WithRetry(0, 0, 0))
	ctx := t.Context()
	for range 7 {
		_, _, err := c.Organization.Get(ctx)
		require.NoError(t, err)
	}
	for _, r := range srv.Requests() {
		if r.Status == http.StatusTooManyRequests {
			t.Errorf("paced client got 429 on %s %s", r.Method, r.Path)
		}
	}
}

// TestFakeRateLimitRetried: without pacing the client meets 429s and gets
// through by retrying.
func TestFakeRateLimitRetried(t *testing.T) {
	t.Parallel()
	srv, c := fake(t, nil, kisi.WithRateLimit(rate.Inf, 0), kisi.WithRetry(10, 20*time.Millisecond, 200*time.Millisecond))
	ctx := t.Context()
	for range 8 {
		_, _, err := c.Organization.Get(ctx)
		require.NoError(t, err)
	}
	limited := 0
	for _, r := range srv.Requests() {
		if r.Status == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited == 0 {
		t.Errorf("no 429 seen; the test does not exercise the retry")
	}
}

func TestFakeFaults(t *testing.T) {
	t.Parallel()
	srv, c := fake(t, noLimit())
	ctx := t.Context()
	groupID, err := srv.AddGroup("Members", 0)
	require.NoError(t, err)
	userID, err := srv.AddUser("ann@example.com", "", true)
	require.NoError(t, err)

	// A GET answered 503 once is retried.
	var gets atomic.Int32
	srv.Intercept(func(r *http.Request) kisitest.Fault {
		if r.Method == http.MethodGet && gets.Add(1) == 1 {
			return kisitest.Fault{Status: http.StatusServiceUnavailable}
		}
		return kisitest.Fault{}
	})
	_, _, err = c.GetGroup(ctx, groupID)
	require.NoError(t, err)
	srv.Intercept(nil)

	// A create whose response is lost: the client reports it may have been
	// applied and does not send it again; listing finds it.
	for _, drop := range []bool{false, true} {
		srv.ResetRequests()
		srv.SetFaults(kisitest.Faults{Seed: 1, LostRate: 1, DropConnection: drop, Methods: []string{http.MethodPost}})
		_, _, err = c.CreateRoleAssignment(ctx, &kisi.RoleAssignmentCreateRequest{
			RoleID: kisi.RoleGroupBasic, AppliesToType: kisi.ScopeGroup, AppliesToID: groupID,
			AssigneeType: kisi.AssigneeUser, AssigneeID: userID,
		})
		srv.SetFaults(kisitest.Faults{})
		if !errors.Is(err, kisi.ErrMaybeApplied) {
			t.Errorf("drop=%v: err = %v, want ErrMaybeApplied", drop, err)
		}
		if n := srv.Count("POST", "/role_assignments"); n != 1 {
			t.Errorf("drop=%v: POST sent %d times, want 1", drop, n)
		}
		list, _, err := c.ListRoleAssignments(ctx, &kisi.RoleAssignmentListOptions{AppliesToType: kisi.ScopeGroup, AppliesToID: groupID, AssigneeType: kisi.AssigneeUser, AssigneeID: userID})
		require.NoError(t, err)
		require.Len(t, list, 1)
		_, err = c.DeleteRoleAssignment(ctx, list[0].ID)
		require.NoError(t, err)
	}
}

func TestFakeUnauthorized(t *testing.T) {
	t.Parallel()
	srv := kisitest.NewServer(kisitest.WithoutRateLimit())
	t.Cleanup(srv.Close)
	c, err := kisi.NewClient("wrong-key", kisi.WithBaseURL(srv.URL), kisi.WithRateLimit(rate.Inf, 0))
	require.NoError(t, err)
	_, _, err = c.Organization.Get(t.Context())
	if !errors.Is(err, kisi.ErrUnauthorized) {
		t.Errorf("err = %v, want ErrUnauthorized", err)
	}
	if strings.Contains(fmt.Sprintf("%+v", err), "wrong-key") {
		t.Errorf("error shows the key: %+v", err)
	}
}

func TestFakeUnlockEvents(t *testing.T) {
	t.Parallel()
	srv, c := fake(t, nil, kisi.WithRateLimit(rate.Inf, 0), kisi.WithRetry(5, 100*time.Millisecond, time.Second))
	ctx := t.Context()
	placeID, err := srv.AddPlace("HQ", "Europe/Berlin")
	require.NoError(t, err)
	lockID, err := srv.AddLock(placeID, "Front door")
	require.NoError(t, err)
	userID, err := srv.AddUser("ann@example.com", "Ann", true)
	require.NoError(t, err)
	_, err = srv.RecordUnlock(kisitest.Unlock{UserID: userID, LockID: lockID, ErrorCode: string(kisi.CodeAccessNotYetValid)})
	require.NoError(t, err)
	_, err = c.Locks.Unlock(ctx, lockID) // the owner may unlock
	require.NoError(t, err)
	var got []*kisi.Event
	for ev, err := range c.EventSets.Events(ctx, &kisi.EventSetCreateRequest{EventType: kisi.Ptr(kisi.EventLockUnlock), EventActorID: kisi.Ptr(userID), EventActorType: kisi.Ptr("User")}, 0) {
		require.NoError(t, err)
		got = append(got, ev)
	}
	require.Len(t, got, 1)
	ev := got[0]
	if ev.Success || ev.ErrorCode == nil || *ev.ErrorCode != kisi.CodeAccessNotYetValid || ev.ObjectID != lockID {
		t.Errorf("event = %+v, want a failed unlock of lock %d with f358de", ev, lockID)
	}
}

// TestFakeEventSetNilRequest checks that a nil request, like an empty one,
// asks for every event of Kisi's default interval: every field of
// EventSetCreateRequest is optional.
func TestFakeEventSetNilRequest(t *testing.T) {
	t.Parallel()
	srv, c := fake(t, nil, kisi.WithRateLimit(rate.Inf, 0), kisi.WithRetry(5, 100*time.Millisecond, time.Second))
	ctx := t.Context()
	placeID, err := srv.AddPlace("HQ", "")
	require.NoError(t, err)
	lockID, err := srv.AddLock(placeID, "Front door")
	require.NoError(t, err)
	_, err = c.Locks.Unlock(ctx, lockID)
	require.NoError(t, err)
	set, _, err := c.EventSets.Create(ctx, nil)
	require.NoError(t, err)
	require.NotZero(t, set.ID)
	n := 0
	for _, err := range c.EventSets.Events(ctx, nil, 0) {
		require.NoError(t, err)
		n++
	}
	require.Equal(t, 1, n)
}

// TestCreateUserEmailTaken (issue 31): Kisi does not document its answer to
// a user create for an email that has a user. Under either answer (422, or
// 200 with the existing user) Create reports ErrEmailTaken and never hands
// back a hand-made user as the one it created.
func TestCreateUserEmailTaken(t *testing.T) {
	t.Parallel()
	for _, existing := range []bool{false, true} {
		t.Run(fmt.Sprintf("existing user answered %v", existing), func(t *testing.T) {
			t.Parallel()
			srv, c := fake(t, []kisitest.Option{kisitest.WithoutRateLimit(), kisitest.WithExistingUserOnDuplicateEmail(existing)})
			handMade, err := srv.AddUser("ann@example.com", "Ann", true)
			require.NoError(t, err)
			ctx := t.Context()
			mark := map[string]any{"managed_by": "kisisync"}
			u, _, err := c.Users.Create(ctx, &kisi.UserCreateRequest{Email: "ann@example.com", Metadata: mark})
			require.ErrorIs(t, err, kisi.ErrEmailTaken)
			require.Nil(t, u)
			var taken *kisi.EmailTakenError
			if existing {
				require.ErrorAs(t, err, &taken)
				require.Equal(t, handMade, taken.Existing.ID)
			} else {
				require.False(t, errors.As(err, &taken))
			}
			// A new email is created as before.
			u, _, err = c.Users.Create(ctx, &kisi.UserCreateRequest{Email: "bob@example.com", Metadata: mark})
			require.NoError(t, err)
			require.Equal(t, "kisisync", u.Metadata["managed_by"])
		})
	}
}
