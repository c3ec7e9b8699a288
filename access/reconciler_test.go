package access_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/state"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/kisi/kisitest"
	"github.com/kisisync/kisisync/mapping"
	"github.com/kisisync/kisisync/schedule"
)

func TestLifecycle(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	s := baseSnapshot()
	s.Bookings = []access.Booking{bookingOf("bk1", "alice", "room1", "14:00", "15:00")}

	// Grant: the booking's window (±5 min) starts within the 20-minute lead.
	rep := e.sync(s)
	require.Equal(t, 1, rep.Created)
	require.Equal(t, 1, rep.UsersCreated)
	want := []kisiRole{{Email: "alice@example.com", Group: e.room, Window: span("13:55", "15:05"), Notify: true}}
	if diff := cmp.Diff(want, e.roles()); diff != "" {
		t.Fatalf("after grant (-want +got):\n%s", diff)
	}
	requireTime(t, cest("15:05"), rep.NextRun)

	// No-op: a second run makes no Kisi request at all.
	e.srv.ResetRequests()
	rep = e.sync(s)
	require.Empty(t, e.srv.Requests(), "steady state makes no requests")
	if diff := cmp.Diff(access.Report{NextRun: cest("15:05")}, *rep); diff != "" {
		t.Fatalf("no-op report (-want +got):\n%s", diff)
	}
	c, err := e.r.Plan(t.Context(), s)
	require.NoError(t, err)
	require.True(t, c.Empty(), "second plan is empty:\n%s", c)

	// Move: delete then create, nothing else.
	s.Bookings[0] = bookingOf("bk1", "alice", "room1", "13:50", "15:10")
	e.srv.ResetRequests()
	rep = e.sync(s)
	require.Equal(t, 1, rep.Replaced)
	require.Zero(t, rep.Created, "a replacement counts once")
	if diff := cmp.Diff([]string{"DELETE /role_assignments", "POST /role_assignments"}, e.writes()); diff != "" {
		t.Fatalf("move writes (-want +got):\n%s", diff)
	}
	require.Empty(t, e.reads())
	want = []kisiRole{{Email: "alice@example.com", Group: e.room, Window: span("13:45", "15:15")}}
	if diff := cmp.Diff(want, e.roles()); diff != "" {
		t.Fatalf("after move (-want +got):\n%s", diff)
	}

	// A plan for bob (managed) in another group: one user create (no
	// lookup first), one grant.
	s.Plans = []access.Plan{{ID: "p1", PlanID: "pro", MemberID: "bob", Start: cest("09:00"), Status: access.PlanActive}}
	e.srv.ResetRequests()
	rep = e.sync(s)
	require.Equal(t, 1, rep.Created)
	if diff := cmp.Diff([]string{"POST /users", "POST /role_assignments"}, e.writes()); diff != "" {
		t.Fatalf("new member writes (-want +got):\n%s", diff)
	}
	require.Empty(t, e.reads(), "a new member's user is created first, not looked up")
	var bob *kisi.User
	for _, u := range e.users() {
		if u.Email == "bob@example.com" {
			bob = u
		}
	}
	require.NotNil(t, bob)
	require.True(t, bob.Confirmed, "a managed user is created confirmed")
	require.Equal(t, access.MetadataValue, bob.Metadata[access.MetadataKey])

	// Cancel the booking: one revocation.
	s.Bookings = nil
	e.srv.ResetRequests()
	rep = e.sync(s)
	require.Equal(t, 1, rep.Deleted)
	require.Equal(t, []string{"DELETE /role_assignments"}, e.writes())

	// Cancel the plan: revoked too.
	s.Plans[0].Status = access.PlanCancelled
	rep = e.sync(s)
	require.Equal(t, 1, rep.Deleted)
	require.Empty(t, e.roles())
	require.Len(t, e.users(), 3, "users are never deleted (owner, alice, bob)")
}

func TestLeadTimeAndNextRun(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	s := baseSnapshot()
	s.Bookings = []access.Booking{bookingOf("bk1", "alice", "room1", "15:00", "16:00")}

	rep := e.sync(s)
	require.Zero(t, rep.Created, "14:55 is beyond the 20-minute lead at 13:40")
	require.Empty(t, e.roles())
	requireTime(t, cest("14:35"), rep.NextRun)

	e.clock.Advance(rep.NextRun.Sub(e.clock.Now()))
	rep = e.sync(s)
	require.Equal(t, 1, rep.Created)
	requireTime(t, cest("16:05"), rep.NextRun)
	if diff := cmp.Diff([]kisiRole{{Email: "alice@example.com", Group: e.room, Window: span("14:55", "16:05"), Notify: true}}, e.roles()); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}

	e.clock.Advance(rep.NextRun.Sub(e.clock.Now()))
	rep = e.sync(s)
	require.Equal(t, 1, rep.Deleted)
	require.Equal(t, 1, rep.Expired, "an ended window is cleaned up, not revoked")
	require.True(t, rep.NextRun.IsZero(), "nothing changes any more")
	require.Empty(t, e.roles())
}

func TestBackToBackBookingsReplace(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	s := baseSnapshot()
	s.Bookings = []access.Booking{
		bookingOf("bk1", "alice", "room1", "14:00", "15:00"),
		bookingOf("bk2", "alice", "room1", "16:00", "17:00"),
	}
	rep := e.sync(s)
	require.Equal(t, 1, rep.Created)
	// At 15:40 the first window has ended and the next enters its lead.
	e.clock.Advance(cest("15:40").Sub(e.clock.Now()))
	rep = e.sync(s)
	require.Equal(t, 1, rep.Replaced)
	if diff := cmp.Diff([]kisiRole{{Email: "alice@example.com", Group: e.room, Window: span("15:55", "17:05")}}, e.roles()); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}

func TestTeamPlan(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	s := baseSnapshot()
	s.Members = append(s.Members, access.Member{ID: "carol", Email: "carol@example.com"})
	s.Teams = []access.Team{{ID: "t1", MemberIDs: []string{"alice", "carol"}}}
	s.Plans = []access.Plan{{ID: "p1", PlanID: "pro", TeamID: "t1", Start: cest("09:00"), End: cest("18:00"), Status: access.PlanActive}}
	rep := e.sync(s)
	require.Equal(t, 2, rep.Created)
	want := []kisiRole{
		{Email: "alice@example.com", Group: e.pro, Window: span("09:00", "18:00"), Notify: true},
		{Email: "carol@example.com", Group: e.pro, Window: span("09:00", "18:00"), Notify: true},
	}
	if diff := cmp.Diff(want, e.roles()); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	// Pending plans grant nothing.
	s.Plans[0].Status = access.PlanPending
	rep = e.sync(s)
	require.Equal(t, 2, rep.Deleted)
	require.Empty(t, e.roles())
}

func TestInvitationSentOnce(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	s := baseSnapshot()
	s.Bookings = []access.Booking{bookingOf("bk1", "alice", "room1", "14:00", "15:00"), bookingOf("bk2", "bob", "room1", "14:00", "15:00")}
	invitations := e.sync(s).Invitations
	s.Plans = []access.Plan{
		{ID: "p1", PlanID: "pro", MemberID: "alice", Start: cest("09:00"), Status: access.PlanActive},
		{ID: "p2", PlanID: "pro", MemberID: "bob", Start: cest("09:00"), Status: access.PlanActive},
	}
	invitations += e.sync(s).Invitations
	require.Equal(t, 1, invitations, "alice once; bob is managed")
	want := []kisiRole{
		{Email: "alice@example.com", Group: e.room, Window: span("13:55", "15:05"), Notify: true},
		{Email: "alice@example.com", Group: e.pro, Window: heldFrom("09:00", e.clock.Now())},
		{Email: "bob@example.com", Group: e.room, Window: span("13:55", "15:05")},
		{Email: "bob@example.com", Group: e.pro, Window: heldFrom("09:00", e.clock.Now())},
	}
	sortRoles(want)
	if diff := cmp.Diff(want, e.roles()); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	s.Bookings[0] = bookingOf("bk1", "alice", "room1", "14:05", "15:00")
	require.Zero(t, e.sync(s).Invitations)
}

func TestUnmanagedRoleUntouched(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	ctx := t.Context()
	dave, err := e.srv.AddUser("dave@example.com", "Dave", false)
	require.NoError(t, err)
	// A role someone gave by hand, with no validity.
	hand, _, err := e.client.CreateRoleAssignment(ctx, &kisi.RoleAssignmentCreateRequest{
		RoleID: kisi.RoleGroupBasic, AppliesToType: "Group", AppliesToID: e.room, AssigneeType: "User", AssigneeID: dave})
	require.NoError(t, err)

	s := baseSnapshot()
	s.Members = append(s.Members, access.Member{ID: "dave", Email: "dave@example.com"})
	s.Bookings = []access.Booking{bookingOf("bk1", "dave", "room1", "14:00", "15:00")}
	rep := e.sync(s)
	require.Zero(t, rep.Failed)
	if diff := cmp.Diff([]access.Conflict{{Email: "dave@example.com", GroupID: e.room, KisiID: hand.ID, Window: span("13:55", "15:05")}}, rep.Conflicts); diff != "" {
		t.Fatalf("conflicts (-want +got):\n%s", diff)
	}

	// Not retried forever: the next run makes no request and still reports it.
	e.srv.ResetRequests()
	rep = e.sync(s)
	require.Empty(t, e.srv.Requests())
	require.Len(t, rep.Conflicts, 1)

	d, err := e.r.Verify(ctx)
	require.NoError(t, err)
	require.Len(t, d.Unmanaged, 1)
	require.Equal(t, hand.ID, d.Unmanaged[0].KisiID)

	// The booking goes away: the hand-given role stays.
	s.Bookings = nil
	rep = e.sync(s)
	require.Zero(t, rep.Deleted)
	if diff := cmp.Diff([]kisiRole{{Email: "dave@example.com", Group: e.room, Window: schedule.Interval{End: schedule.Forever}}}, e.roles()); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}

	// Once the hand-given role is gone, a new booking is granted (after
	// the conflict's back-off on dave and the group).
	_, err = e.client.DeleteRoleAssignment(ctx, hand.ID)
	require.NoError(t, err)
	e.clock.Advance(time.Minute)
	s.Bookings = []access.Booking{bookingOf("bk2", "dave", "room1", "14:00", "15:00")}
	rep = e.sync(s)
	require.Equal(t, 1, rep.Created)
}

func TestRevokeGuard(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	s := baseSnapshot()
	addPlanMembers(&s, "member", 8)
	rep := e.sync(s)
	require.Equal(t, 8, rep.Created)

	// A truncated snapshot: everyone would lose access.
	broken := baseSnapshot()
	e.srv.ResetRequests()
	rep, err := e.r.Sync(t.Context(), broken)
	var rle *access.RevokeLimitError
	require.ErrorAs(t, err, &rle)
	require.Equal(t, 8, rle.Revocations)
	require.Equal(t, 8, rle.Managed)
	require.NotEmpty(t, rep.Held)
	require.Empty(t, e.srv.Requests(), "nothing applied")
	require.Len(t, e.roles(), 8)

	// Reviewed and approved, it applies.
	c, err := e.r.Plan(t.Context(), broken)
	require.NoError(t, err)
	require.Equal(t, 8, c.Revocations)
	c.Approve()
	rep, err = e.r.Apply(t.Context(), c)
	require.NoError(t, err)
	require.Equal(t, 8, rep.Deleted)
	require.Empty(t, e.roles())
}

func TestStalePlanAndConcurrentRuns(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	s := baseSnapshot()
	s.Bookings = []access.Booking{bookingOf("bk1", "alice", "room1", "14:00", "15:00")}
	c, err := e.r.Plan(t.Context(), s)
	require.NoError(t, err)
	e.sync(s)
	_, err = e.r.Apply(t.Context(), c)
	require.ErrorIs(t, err, access.ErrStalePlan)

	// Another run holds the lease: a second reconciler fails fast.
	_, err = e.st.Lease(t.Context(), "default", "someone-else", e.clock.Now(), e.clock.Now().Add(time.Minute))
	require.NoError(t, err)
	_, err = e.r.Sync(t.Context(), s)
	require.ErrorIs(t, err, state.ErrLeaseHeld)
	var lhe *state.LeaseHeldError
	require.ErrorAs(t, err, &lhe)
	// The lease expires on the reconciler's clock.
	e.clock.Advance(time.Minute)
	_, err = e.r.Sync(t.Context(), s)
	require.NoError(t, err)
}

func TestDropInLinks(t *testing.T) {
	t.Parallel()
	notes := &recordingNotifier{}
	e := newRig(t, rigConfig{dropIn: mapping.DropIn{Link: true, QR: true}, opts: []access.Option{access.WithNotifier(notes)}})
	s := baseSnapshot()
	guest := access.Booking{ID: "bk9", ResourceID: "room2", Guest: &access.Guest{Name: "Gus", Email: " Gus@Example.com"},
		Start: cest("17:00"), End: cest("18:00")}
	s.Bookings = []access.Booking{guest}

	rep := e.sync(s)
	require.Equal(t, 2, rep.Created, "one link per mapped group")
	require.Equal(t, 2, rep.Links)
	links := e.links()
	require.Len(t, links, 2)
	for _, l := range links {
		require.Equal(t, "gus@example.com", *l.Email)
		require.Equal(t, "Gus [kisisync:bk9]", l.Name, "the guest's name with the SDK's mark")
		require.True(t, l.LinkEnabled)
		require.Equal(t, "online", *l.QuickResponseCodeType)
		require.True(t, l.ValidFrom.Equal(cest("16:55")))
		require.True(t, l.ValidUntil.Equal(cest("18:05")))
	}
	require.Len(t, notes.links, 2)
	require.NotEmpty(t, notes.links[0].Secret)

	e.srv.ResetRequests()
	e.sync(s)
	require.Empty(t, e.srv.Requests())

	// Moved: delete old, create new.
	s.Bookings[0].Start, s.Bookings[0].End = cest("17:30"), cest("18:30")
	e.srv.ResetRequests()
	rep = e.sync(s)
	require.Equal(t, 2, rep.Replaced)
	require.Equal(t, []string{"DELETE /group_links", "POST /group_links", "DELETE /group_links", "POST /group_links"}, e.writes())
	require.Len(t, e.links(), 2)

	// Deleted: links deleted in the same run.
	s.Bookings = nil
	rep = e.sync(s)
	require.Equal(t, 2, rep.Deleted)
	require.Empty(t, e.links())
	require.Zero(t, rep.Links)
}

type recordingNotifier struct {
	fail  int // fail this many calls first
	links []access.CreatedLink
}

func (n *recordingNotifier) LinkCreated(_ context.Context, l access.CreatedLink) error {
	if n.fail > 0 {
		n.fail--
		return errors.New("mail server down")
	}
	n.links = append(n.links, l)
	return nil
}

func TestNotifierRetriedAndLinkWarning(t *testing.T) {
	t.Parallel()
	notes := &recordingNotifier{fail: 1}
	e := newRig(t, rigConfig{dropIn: mapping.DropIn{Link: true},
		opts: []access.Option{access.WithNotifier(notes), access.WithLinkWarning(1)}})
	s := baseSnapshot()
	s.Bookings = []access.Booking{{ID: "bk9", ResourceID: "room1", Guest: &access.Guest{Name: "Gus", Email: "gus@example.com"},
		Start: cest("17:00"), End: cest("18:00")}}
	rep, err := e.r.Sync(t.Context(), s)
	require.ErrorContains(t, err, "mail server down")
	require.Equal(t, 1, rep.Created)
	require.Equal(t, 1, rep.Failed)
	require.True(t, rep.LinksNearLimit)
	require.Empty(t, notes.links)

	// A run within the back-off leaves the notification alone; the first
	// one after it retries it with the stored secret, without touching Kisi.
	requireTime(t, e.clock.Now().Add(time.Minute), rep.NextRun)
	e.srv.ResetRequests()
	e.sync(s)
	require.Empty(t, notes.links)
	e.clock.Advance(time.Minute)
	rep = e.sync(s)
	require.Empty(t, e.srv.Requests())
	require.Len(t, notes.links, 1)
	require.NotEmpty(t, notes.links[0].Secret)
	require.Zero(t, rep.Failed)

	e.sync(s)
	require.Len(t, notes.links, 1, "notified once")
}

func TestOrganizationsShareAStore(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	other, err := access.NewReconciler(e.client, e.st, e.m, access.DefaultPolicy(),
		access.WithClock(e.clock), access.WithOrganization("other"))
	require.NoError(t, err)
	s := baseSnapshot()
	s.Bookings = []access.Booking{bookingOf("bk1", "alice", "room1", "14:00", "15:00")}
	e.sync(s)
	// Another organization's lease does not block this one.
	_, err = e.st.Lease(t.Context(), "default", "someone-else", e.clock.Now(), e.clock.Now().Add(time.Minute))
	require.NoError(t, err)
	c, err := other.Plan(t.Context(), s)
	require.NoError(t, err)
	// Both organizations share this one fake Kisi, so the role "default"
	// created shows up as one "other" does not manage: its plan reports the
	// grant blocked instead of planning it.
	require.Len(t, c.Conflicts, 1, "records are kept per organization")
	_, err = other.Sync(t.Context(), baseSnapshot())
	require.NoError(t, err)
}

func TestCrashBetweenKisiAndStore(t *testing.T) {
	t.Parallel()
	for _, verify := range []bool{false, true} {
		t.Run(fmt.Sprintf("verify=%v", verify), func(t *testing.T) {
			t.Parallel()
			testCrash(t, verify)
		})
	}
}

func testCrash(t *testing.T, verify bool) {
	crash := true
	crashed := map[string]bool{}
	e := newRig(t, rigConfig{store: func(st access.Store) access.Store {
		return &failingStore{Store: st, failPut: func(r state.Record) bool {
			// The process dies once after each object reached Kisi.
			if !crash || r.State != state.StateSettled || r.Kind == state.KindUser || crashed[r.Key] {
				return false
			}
			crashed[r.Key] = true
			return true
		}}
	}, dropIn: mapping.DropIn{Link: true}})
	s := baseSnapshot()
	s.Bookings = []access.Booking{
		bookingOf("bk1", "alice", "room1", "14:00", "15:00"),
		{ID: "bk9", ResourceID: "room1", Guest: &access.Guest{Name: "Gus", Email: "gus@example.com"}, Start: cest("17:00"), End: cest("18:00")},
	}
	rep, err := e.r.Sync(t.Context(), s)
	var se *access.SystemicError
	require.ErrorAs(t, err, &se, "a failing Store stops the run")
	require.Equal(t, 1, rep.Failed)
	require.Equal(t, 1, rep.NotAttempted)
	require.Len(t, e.roles(), 1, "the role reached Kisi")
	// The next run, when the organization's back-off lets it, adopts the
	// role and dies after the link reached Kisi.
	e.clock.Advance(rep.NextRun.Sub(e.clock.Now()))
	rep, err = e.r.Sync(t.Context(), s)
	require.ErrorAs(t, err, &se)
	require.Equal(t, 1, rep.Adopted)
	require.Len(t, e.links(), 1, "the link reached Kisi")

	crash = false
	e.clock.Advance(rep.NextRun.Sub(e.clock.Now()))
	if verify {
		// Verify finds the orphan by listing the groups.
		d, err := e.r.Verify(t.Context())
		require.NoError(t, err)
		require.Len(t, d.Adopted, 1)
		require.Empty(t, d.Unmanaged)
	}
	e.srv.ResetRequests()
	rep = e.sync(s)
	if !verify {
		require.Equal(t, 1, rep.Adopted)
	}
	require.Zero(t, e.srv.Count("POST", "/"), "nothing created twice")
	require.Len(t, e.roles(), 1)
	require.Len(t, e.links(), 1)

	e.srv.ResetRequests()
	e.sync(s)
	require.Empty(t, e.srv.Requests())
}

func TestBadSnapshotSyncsValidRecords(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	s := baseSnapshot()
	s.Members = append(s.Members, access.Member{ID: "eve", Email: "not an email"})
	s.Bookings = []access.Booking{
		bookingOf("bk1", "alice", "room1", "14:00", "15:00"),
		bookingOf("bad", "alice", "room1", "15:00", "14:00"),
		bookingOf("bk3", "eve", "room1", "14:00", "15:00"),
		bookingOf("bk4", "nobody", "room1", "14:00", "15:00"),
	}
	rep := e.sync(s)
	require.Equal(t, 1, rep.Created)
	require.GreaterOrEqual(t, len(rep.Skipped), 3, "skipped: %q", rep.Skipped)
	require.Len(t, e.roles(), 1)
}

func TestVerifyRepairsDrift(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	ctx := t.Context()
	s := baseSnapshot()
	s.Bookings = []access.Booking{bookingOf("bk1", "alice", "room1", "14:00", "15:00"), bookingOf("bk2", "bob", "room1", "14:00", "15:00")}
	e.sync(s)

	// Someone deletes alice's role and edits bob's by hand.
	ras, _, err := e.client.ListRoleAssignments(ctx, &kisi.RoleAssignmentListOptions{AppliesToType: "Group", AppliesToID: e.room, ListOptions: kisi.ListOptions{Limit: 250}})
	require.NoError(t, err)
	require.Len(t, ras, 2)
	users := e.users()
	for _, ra := range ras {
		if users[ra.AssigneeID].Email == "alice@example.com" {
			_, err = e.client.DeleteRoleAssignment(ctx, ra.ID)
			require.NoError(t, err)
		}
	}

	d, err := e.r.Verify(ctx)
	require.NoError(t, err)
	require.Len(t, d.Missing, 1)
	require.Equal(t, "alice@example.com", d.Missing[0].Email)
	require.Equal(t, []string{"alice@example.com"}, d.Unconfirmed)

	c, err := e.r.Plan(ctx, s)
	require.NoError(t, err)
	require.Equal(t, 1, c.Count(access.ActionCreate), "%s", c)
	rep := e.sync(s)
	require.Equal(t, 1, rep.Created)
	require.Len(t, e.roles(), 2)
}

func TestPatchValidity(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		patchable  bool
		wantWrites []string
	}{
		{"verified", true, []string{"PATCH /role_assignments"}},
		{"ignored by Kisi falls back", false, []string{"PATCH /role_assignments", "DELETE /role_assignments", "POST /role_assignments"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newRig(t, rigConfig{opts: []access.Option{access.WithPatchValidity(true)},
				server: []kisitest.Option{kisitest.WithPatchableValidity(tc.patchable)}})
			s := baseSnapshot()
			s.Bookings = []access.Booking{bookingOf("bk1", "alice", "room1", "14:00", "15:00")}
			e.sync(s)
			s.Bookings[0].End = cest("16:00")
			e.srv.ResetRequests()
			rep := e.sync(s)
			require.Equal(t, 1, rep.Replaced)
			if diff := cmp.Diff(tc.wantWrites, e.writes()); diff != "" {
				t.Fatalf("writes (-want +got):\n%s", diff)
			}
			got := e.roles()
			require.Len(t, got, 1)
			if diff := cmp.Diff(span("13:55", "16:05"), got[0].Window); diff != "" {
				t.Fatalf("window (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNewReconcilerErrors(t *testing.T) {
	t.Parallel()
	st := access.NewMemoryStore()
	client, err := kisi.NewClient("key")
	require.NoError(t, err)
	tests := []struct {
		name string
		k    access.KisiAPI
		st   access.Store
		m    mapping.Mapping
		opt  access.Option
	}{
		{"nil client", nil, st, mapping.Mapping{}, nil},
		{"nil store", client, nil, mapping.Mapping{}, nil},
		{"revoke limit", client, st, mapping.Mapping{}, access.WithRevokeLimit(2)},
		{"empty organization", client, st, mapping.Mapping{}, access.WithOrganization("")},
		{"nil clock", client, st, mapping.Mapping{}, access.WithClock(nil)},
		{"group id 0", client, st, mapping.Mapping{Plans: map[string][]int64{"pro": {0}}}, nil},
		{"negative default group", client, st, mapping.Mapping{Default: []int64{-4}}, nil},
		{"group twice for one item", client, st, mapping.Mapping{Resources: map[string][]int64{"room": {7, 7}}}, nil},
		{"empty location key", client, st, mapping.Mapping{Locations: map[string][]int64{"": {7}}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := access.NewReconciler(tc.k, tc.st, tc.m, access.DefaultPolicy(), tc.opt)
			require.Error(t, err)
		})
	}
}

// TestUserDeletedInKisi: with WithRecreateDeletedUsers, a member's user
// deleted in Kisi is created again.
func TestUserDeletedInKisi(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{opts: []access.Option{access.WithRecreateDeletedUsers()}})
	ctx := t.Context()
	s := baseSnapshot()
	s.Bookings = []access.Booking{bookingOf("bk1", "alice", "room1", "14:00", "15:00")}
	e.sync(s)
	var alice int64
	for id, u := range e.users() {
		if u.Email == "alice@example.com" {
			alice = id
		}
	}
	_, err := e.client.Users.Delete(ctx, alice)
	require.NoError(t, err)

	// The cached user id is stale: one read tells the user (not the group)
	// is gone; the user is created again within the run, without a second
	// invitation.
	s.Bookings[0].End = cest("16:00")
	e.srv.ResetRequests()
	rep := e.sync(s)
	require.Equal(t, 1, rep.Replaced)
	require.Equal(t, 1, rep.UsersCreated)
	require.Zero(t, rep.Invitations)
	require.Equal(t, 1, e.srv.Count("GET", "/groups/"), "one read tells a missing user from a missing group")
	if diff := cmp.Diff([]kisiRole{{Email: "alice@example.com", Group: e.room, Window: span("13:55", "16:05")}}, e.roles()); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	require.Empty(t, e.sync(s).Failures)
}
