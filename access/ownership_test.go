package access_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/state"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/mapping"
)

// loseStore replaces the rig's Store by an empty one, as after a lost
// database or a restore from a backup older than the roles in Kisi.
func (e *rig) loseStore(opts ...access.Option) {
	e.t.Helper()
	e.st = access.NewMemoryStore()
	e.r = e.reconcilerWith(e.client, opts...)
}

func TestLostStoreNeverLeavesCancelledMemberWithAccess(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	s := baseSnapshot()
	s.Plans = []access.Plan{{ID: "p1", PlanID: "pro", MemberID: "bob", Start: cest("09:00"), Status: access.PlanActive}}
	e.sync(s)

	e.loseStore()
	d, err := e.r.Verify(t.Context())
	require.NoError(t, err)
	require.Len(t, d.Adopted, 1)
	require.Equal(t, "held by a user kisisync created", d.Adopted[0].Reason)
	require.Empty(t, d.Unmanaged)

	// Kept without churn while wanted.
	e.srv.ResetRequests()
	e.sync(s)
	require.Empty(t, e.writes())

	s.Plans[0].Status = access.PlanCancelled
	rep := e.sync(s)
	require.Equal(t, 1, rep.Deleted)
	require.Empty(t, e.roles(), "the cancelled member keeps no access")
}

func TestOwnExpiredRoleNeverBlocksTheNextWindow(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	s := baseSnapshot()
	s.Bookings = []access.Booking{bookingOf("bk1", "alice", "room1", "13:00", "14:00")}
	e.sync(s)

	// The Store is lost before the expired role was cleaned up; no Verify.
	e.clock.Advance(cest("14:45").Sub(e.clock.Now()))
	e.loseStore()
	s.Bookings = []access.Booking{bookingOf("bk2", "alice", "room1", "15:00", "16:00")}
	rep := e.sync(s)
	require.Equal(t, 1, rep.Created+rep.Replaced, "the next window granted (the expired role adopted first, or found in the way)")
	require.Empty(t, rep.Conflicts, "the SDK's own expired role is no conflict")
	roles := e.roles()
	require.Len(t, roles, 1)
	require.True(t, roles[0].Window.Start.Equal(cest("14:55")))
}

// handMadeRole gives dave, a user created in the Kisi dashboard, an
// open-ended role in the room's group.
func (e *rig) handMadeRole() int64 {
	e.t.Helper()
	dave, err := e.srv.AddUser("dave@example.com", "Dave", false)
	require.NoError(e.t, err)
	ra, _, err := e.client.CreateRoleAssignment(e.t.Context(), &kisi.RoleAssignmentCreateRequest{RoleID: kisi.RoleGroupBasic,
		AppliesToType: kisi.ScopeGroup, AppliesToID: e.room, AssigneeType: kisi.AssigneeUser, AssigneeID: dave})
	require.NoError(e.t, err)
	return ra.ID
}

func daveBooks(s *access.Snapshot) {
	s.Members = append(s.Members, access.Member{ID: "dave", Email: "dave@example.com", Name: "Dave"})
	s.Bookings = append(s.Bookings, bookingOf("bk-d", "dave", "room1", "14:00", "15:00"))
}

func TestHandMadeRolesAreLeftAloneAndShownAtPlanTime(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	hand := e.handMadeRole()
	s := baseSnapshot()
	daveBooks(&s)

	c, err := e.r.Plan(t.Context(), s)
	require.NoError(t, err)
	require.Zero(t, c.Count(access.ActionCreate), "the blocked grant is not planned:\n%s", c)
	require.Len(t, c.Conflicts, 1)
	require.Equal(t, hand, c.Conflicts[0].KisiID)
	require.Contains(t, c.String(), "not managed here")

	d, err := e.r.Verify(t.Context())
	require.NoError(t, err)
	require.Len(t, d.Unmanaged, 1)
	require.Empty(t, d.Adopted)
	e.sync(s)
	roles := e.roles()
	require.Len(t, roles, 1)
	require.True(t, roles[0].Window.IsOpenEnded(), "the hand-made role is untouched")
}

func TestExclusiveGroupsOnboardExistingSpace(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{opts: []access.Option{access.WithExclusiveGroups()}})
	hand := e.handMadeRole()
	s := baseSnapshot()
	daveBooks(&s)

	// Without Verify, the plan shows the grant replacing the hand-made role.
	c, err := e.r.Plan(t.Context(), s)
	require.NoError(t, err)
	require.Empty(t, c.Conflicts)
	require.Contains(t, c.String(), "replaces hand-made role")

	d, err := e.r.Verify(t.Context())
	require.NoError(t, err)
	require.Len(t, d.Adopted, 1)
	require.Equal(t, hand, d.Adopted[0].KisiID)
	require.Equal(t, "in a group the platform owns", d.Adopted[0].Reason)

	rep := e.sync(s)
	require.Equal(t, 1, rep.Replaced, "the adopted role takes the booking's window")
	require.Empty(t, rep.Conflicts)
	roles := e.roles()
	require.Len(t, roles, 1)
	require.True(t, roles[0].Window.End.Equal(cest("15:05")))

	e.clock.Advance(time.Hour)
	e.srv.ResetRequests()
	rep = e.sync(s)
	require.Zero(t, rep.Replaced+rep.Created)
}

func TestOnboardingListsUsersOnceWhenCheaper(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	s := baseSnapshot()
	addPlanMembers(&s, "m", 150)
	for i := range 120 { // most members already have Kisi users
		_, err := e.srv.AddUser(fmt.Sprintf("m%d@example.com", i), "", true)
		require.NoError(t, err)
	}
	rep := e.sync(s)
	require.Equal(t, 150, rep.Created)
	require.Equal(t, 30, rep.UsersCreated)
	require.Equal(t, 30, e.srv.Count(http.MethodPost, "/users"), "only the missing users are created")
	require.LessOrEqual(t, e.srv.Count(http.MethodGet, "/users"), 3, "one listing instead of a lookup each")
}

// TestFoundUserNeverInvitedTwice (issue 26): after a lost Store, a user
// kisisync created who has not yet accepted Kisi's invitation is found
// again; the grant that follows does not invite them a second time.
func TestFoundUserNeverInvitedTwice(t *testing.T) {
	t.Parallel()
	for _, verify := range []bool{false, true} {
		t.Run(fmt.Sprintf("verify=%v", verify), func(t *testing.T) {
			t.Parallel()
			e := newRig(t, rigConfig{})
			s := baseSnapshot()
			s.Bookings = []access.Booking{bookingOf("bk1", "alice", "room1", "14:00", "15:00")}
			rep := e.sync(s)
			require.Equal(t, 1, rep.Invitations)

			e.loseStore()
			if verify {
				_, err := e.r.Verify(t.Context())
				require.NoError(t, err)
			}
			s.Plans = []access.Plan{{ID: "p-alice", PlanID: "pro", MemberID: "alice", Start: cest("09:00"), Status: access.PlanActive}}
			rep = e.sync(s)
			require.Zero(t, rep.Invitations)
			for _, r := range e.roles() {
				if r.Group == e.pro {
					require.False(t, r.Notify, "no second invitation")
				}
			}
		})
	}
}

// TestSyncOnLostStoreAdoptsFirst (issue 28): a Sync on a lost Store, with
// no Verify first (a restarted host), adopts the roles of the SDK's users
// instead of replacing each one (a delete and a create, and a gap).
func TestSyncOnLostStoreAdoptsFirst(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	s := baseSnapshot()
	addPlanMembers(&s, "m", 5)
	require.Equal(t, 5, e.sync(s).Created)

	e.loseStore()
	e.srv.ResetRequests()
	rep := e.sync(s)
	require.Empty(t, e.writes(), "nothing replaced")
	require.Equal(t, 5, rep.Adopted)
	require.Len(t, e.roles(), 5)

	e.srv.ResetRequests()
	e.sync(s)
	require.Empty(t, e.reads(), "the next run trusts its Store")
}

// TestLostStoreAdoptsLinks (issue 28): the links kisisync made carry its
// mark in their name, so after a lost Store they are adopted — by Verify,
// or by the first Sync, which reads Kisi first on an empty Store — and
// neither created again (a second link, a second email to each guest) nor
// left as orphans: a cancelled booking's link is deleted.
func TestLostStoreAdoptsLinks(t *testing.T) {
	t.Parallel()
	for _, verify := range []bool{false, true} {
		t.Run(fmt.Sprintf("verify=%v", verify), func(t *testing.T) {
			t.Parallel()
			notes := &recordingNotifier{}
			e := newRig(t, rigConfig{dropIn: mapping.DropIn{Link: true}, opts: []access.Option{access.WithNotifier(notes)}})
			s := baseSnapshot()
			addGuests(&s, 10, cest("17:00"))
			e.sync(s)
			require.Len(t, e.links(), 10)
			require.Len(t, notes.links, 10)

			e.loseStore(access.WithNotifier(notes))
			if verify {
				d, err := e.r.Verify(t.Context())
				require.NoError(t, err)
				require.Len(t, d.Adopted, 10)
				require.Empty(t, d.Unmanaged, "no link of the SDK's is reported as not managed here")
			}
			e.srv.ResetRequests()
			e.sync(s)
			require.Empty(t, e.writes(), "nothing created again")
			require.Len(t, e.links(), 10)
			require.Len(t, notes.links, 10, "no second email")

			s.Bookings = s.Bookings[1:] // bk0 cancelled
			rep := e.sync(s)
			require.Equal(t, 1, rep.Deleted)
			require.Len(t, e.links(), 9, "the cancelled guest's link is gone")
		})
	}
}

// TestExclusiveGroupRefusalNeverDeletesOutsideTheGuard (issue 26): with
// exclusive groups, a create refused because of a hand-made role records
// that role first instead of deleting it at once; the replacement that
// follows is planned and judged by the revoke guard like any other.
func TestExclusiveGroupRefusalNeverDeletesOutsideTheGuard(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{opts: []access.Option{access.WithExclusiveGroups()}})
	s := baseSnapshot()
	s.Plans = []access.Plan{{ID: "p1", PlanID: "pro", MemberID: "bob", Start: cest("09:00"), Status: access.PlanActive}}
	e.sync(s) // a Store that knows something: no Verify before the next Sync
	hand := e.handMadeRole()
	daveBooks(&s)
	e.srv.ResetRequests()
	rep, err := e.r.Sync(t.Context(), s)
	require.NoError(t, err)
	require.NotContains(t, e.writes(), "DELETE /role_assignments", "the hand-made role in force is not deleted by the refusal")
	require.Equal(t, 1, rep.Adopted)

	c, err := e.r.Plan(t.Context(), s)
	require.NoError(t, err)
	i := slices.IndexFunc(c.Changes, func(ch access.Change) bool { return ch.KisiID == hand })
	require.GreaterOrEqual(t, i, 0, "the replacement of the adopted role is planned:\n%s", c)
	require.Equal(t, access.ActionReplace, c.Changes[i].Action)
	require.NotEmpty(t, c.Changes[i].Cut, "a cut, judged by the guard")
}

// restoreBackup replaces the rig's Store by one holding recs, as after a
// restore from a backup taken when the Store held just those.
func (e *rig) restoreBackup(recs []state.Record, opts ...access.Option) {
	e.t.Helper()
	ctx, org, now := e.t.Context(), e.r.Organization(), e.clock.Now()
	st := access.NewMemoryStore()
	token, err := st.Lease(ctx, org, "restore", now, now.Add(time.Minute))
	require.NoError(e.t, err)
	for _, rec := range recs {
		require.NoError(e.t, st.Put(ctx, org, token, rec))
	}
	_, err = st.Lease(ctx, org, "restore", now, time.Time{})
	require.NoError(e.t, err)
	e.st = st
	e.r = e.reconcilerWith(e.client, opts...)
}

// TestRestoredBackupSendsNoSecondLink (issue 28): a Store restored from a
// backup older than the guests' links does not record them, and no Verify
// ran since. The next Sync finds each link by its booking's mark before
// creating it, so no guest gets a second link or email; a booking moved
// since gets its new link, and its old one, an orphan, is deleted.
func TestRestoredBackupSendsNoSecondLink(t *testing.T) {
	t.Parallel()
	notes := &recordingNotifier{}
	e := newRig(t, rigConfig{dropIn: mapping.DropIn{Link: true}, opts: []access.Option{access.WithNotifier(notes)}})
	s := baseSnapshot()
	s.Plans = []access.Plan{{ID: "p1", PlanID: "pro", MemberID: "bob", Start: cest("09:00"), Status: access.PlanActive}}
	e.sync(s)
	backup, err := e.st.Load(t.Context(), e.r.Organization())
	require.NoError(t, err)

	addGuests(&s, 4, cest("17:00"))
	e.sync(s)
	require.Len(t, e.links(), 4)
	require.Len(t, notes.links, 4)

	e.restoreBackup(backup, access.WithNotifier(notes))
	s.Bookings[0].Start, s.Bookings[0].End = cest("18:00"), cest("19:00") // bk0 moved since the backup
	rep := e.sync(s)
	require.Empty(t, rep.Failures)
	links := e.links()
	require.Len(t, links, 4, "one link per booking: none sent twice, the moved booking's old link deleted")
	require.Len(t, notes.links, 5, "one more email: the moved booking's new link")
	require.Equal(t, "bk0", notes.links[4].BookingID)
	for _, l := range links {
		if l.Email != nil && *l.Email == "bk0@example.org" {
			require.True(t, l.ValidFrom.Equal(cest("17:55")), "bk0's link is for its new time")
		}
	}

	// The adopted links are managed: a cancelled booking's link goes.
	s.Bookings = s.Bookings[:3]
	rep = e.sync(s)
	require.Equal(t, 1, rep.Deleted)
	require.Len(t, e.links(), 3)
}

// TestConflictWithARollingWindowIsNotResent (issue 25): a hand-made role
// blocks dave's open-ended desk assignment, held as a rolling window whose
// end moves with the clock. The conflict is reported at every run but the
// create is not sent again: the wanted window has not changed, only its
// rolling end.
func TestConflictWithARollingWindowIsNotResent(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	e.handMadeRole()
	s := baseSnapshot()
	s.Members = append(s.Members, access.Member{ID: "dave", Email: "dave@example.com", Name: "Dave"})
	s.Assignments = []access.Assignment{{ID: "a-d", ResourceID: "room1", MemberID: "dave", Start: cest("09:00")}}
	rep, _ := e.r.Sync(t.Context(), s)
	require.Len(t, rep.Conflicts, 1)
	e.srv.ResetRequests()
	for range 12 {
		e.clock.Advance(10 * time.Minute)
		rep, _ := e.r.Sync(t.Context(), s)
		require.Len(t, rep.Conflicts, 1, "reported at %s", e.clock.Now())
	}
	require.Zero(t, e.srv.Count(http.MethodPost, "/role_assignments"), "no create sent again in two hours")
}

// lostRoleOfHandMadeUser sets up issue 23's case: dave's Kisi user was made
// by hand, kisisync gave him the role of his booking, then lost its Store.
// Nothing in Kisi proves that role kisisync's own (its user carries no
// tag), so after a Verify the booking, extended, is a conflict.
func lostRoleOfHandMadeUser(t *testing.T) (*rig, access.Snapshot, int64) {
	t.Helper()
	e := newRig(t, rigConfig{})
	_, err := e.srv.AddUser("dave@example.com", "Dave", false)
	require.NoError(t, err)
	s := baseSnapshot()
	s.Members = append(s.Members, access.Member{ID: "dave", Email: "dave@example.com", Name: "Dave"})
	s.Bookings = []access.Booking{bookingOf("bk-d", "dave", "room1", "13:00", "18:00")}
	require.Equal(t, 1, e.sync(s).Created)

	e.loseStore()
	d, err := e.r.Verify(t.Context())
	require.NoError(t, err)
	require.Len(t, d.Unmanaged, 1, "not adopted: kisisync cannot prove it made the role")
	s.Bookings[0].End = cest("18:10")
	rep := e.sync(s)
	require.Len(t, rep.Conflicts, 1)
	return e, s, rep.Conflicts[0].KisiID
}

// TestLostRoleOfHandMadeUserBacksOff (issue 23): the grant that role
// blocks, its window moving at every run (the booking extended every ten
// minutes), is a conflict parked with back-off on dave and the group: after
// two hours it is tried about once an hour, not refused at every run, and
// every report names it.
func TestLostRoleOfHandMadeUserBacksOff(t *testing.T) {
	t.Parallel()
	e, s, _ := lostRoleOfHandMadeUser(t)
	start := e.clock.Now()
	var tried []time.Duration
	for range 36 {
		e.clock.Advance(10 * time.Minute)
		s.Bookings[0].End = s.Bookings[0].End.Add(10 * time.Minute)
		e.srv.ResetRequests()
		rep, _ := e.r.Sync(t.Context(), s)
		if e.srv.Count(http.MethodPost, "/role_assignments") > 0 {
			tried = append(tried, e.clock.Now().Sub(start))
		}
		require.True(t, slices.ContainsFunc(rep.Conflicts, func(c access.Conflict) bool { return c.Email == "dave@example.com" }),
			"the report names the conflict at %s", e.clock.Now())
	}
	late := slices.DeleteFunc(slices.Clone(tried), func(d time.Duration) bool { return d <= 3*time.Hour })
	require.LessOrEqual(t, len(late), 3, "tried at %v: in the last three hours, about once an hour", tried)
}

// TestLostRoleOfHandMadeUserIsReportedAfterLeaving (issue 23): when dave
// leaves, the role kisisync cannot prove its own stays in Kisi until its
// end — never deleted — and every report names it, until a Verify finds it
// removed by hand.
func TestLostRoleOfHandMadeUserIsReportedAfterLeaving(t *testing.T) {
	t.Parallel()
	e, s, role := lostRoleOfHandMadeUser(t)
	s.Bookings = nil // cancelled
	for range 3 {
		e.clock.Advance(10 * time.Minute)
		e.srv.ResetRequests()
		rep := e.sync(s)
		require.Empty(t, e.writes(), "the role not managed here is left alone")
		require.Equal(t, []access.Conflict{{Email: "dave@example.com", GroupID: e.room, KisiID: role, Unwanted: true}}, rep.Conflicts)
	}
	c, err := e.r.Plan(t.Context(), s)
	require.NoError(t, err)
	require.Contains(t, c.String(), "which the platform no longer wants")

	_, err = e.client.DeleteRoleAssignment(t.Context(), role) // removed by hand
	require.NoError(t, err)
	d, err := e.r.Verify(t.Context())
	require.NoError(t, err)
	require.Len(t, d.Released, 1)
	require.Empty(t, e.sync(s).Conflicts)
}

// swappedStore is a Store whose database a host restores from a backup
// while its process runs on (a failover to a replica that lags, say).
type swappedStore struct{ access.Store }

// TestRestoredBackupUnderARunningProcess (issue 28): the Store is restored
// from a backup older than the guests' links while the process runs on,
// and a booking is cancelled before any Verify. The next Sync finds its
// Store behind what it saw, reads Kisi first, and deletes the cancelled
// guest's link, which no record held.
func TestRestoredBackupUnderARunningProcess(t *testing.T) {
	t.Parallel()
	var st *swappedStore
	e := newRig(t, rigConfig{dropIn: mapping.DropIn{Link: true}, store: func(s access.Store) access.Store {
		st = &swappedStore{s}
		return st
	}})
	s := baseSnapshot()
	s.Plans = []access.Plan{{ID: "p1", PlanID: "pro", MemberID: "bob", Start: cest("09:00"), Status: access.PlanActive}}
	e.sync(s)
	backup, err := st.Load(t.Context(), e.r.Organization())
	require.NoError(t, err)
	addGuests(&s, 3, cest("17:00"))
	e.sync(s)
	require.Len(t, e.links(), 3)

	restored := access.NewMemoryStore()
	ctx, org, now := t.Context(), e.r.Organization(), e.clock.Now()
	token, err := restored.Lease(ctx, org, "restore", now, now.Add(time.Minute))
	require.NoError(t, err)
	for _, rec := range backup {
		require.NoError(t, restored.Put(ctx, org, token, rec))
	}
	_, err = restored.Lease(ctx, org, "restore", now, time.Time{})
	require.NoError(t, err)
	st.Store = restored

	s.Bookings = s.Bookings[1:] // bk0 cancelled
	e.srv.ResetRequests()
	rep := e.sync(s)
	require.Equal(t, 1, rep.Deleted, "the cancelled guest's link is deleted")
	require.Len(t, e.links(), 2)
	require.NotContains(t, e.writes(), "POST /group_links", "no second link")
}

// TestLostRoleOfHandMadeUserStaysKnownThroughServerErrors (issue 23): the
// retry of that conflict fails with a server error; the conflict is kept,
// not turned into an intent that the next run forgets, so the report still
// names the role once dave leaves.
func TestLostRoleOfHandMadeUserStaysKnownThroughServerErrors(t *testing.T) {
	t.Parallel()
	e, s, role := lostRoleOfHandMadeUser(t)
	answer(e, http.MethodPost, http.StatusInternalServerError)
	e.clock.Advance(10 * time.Minute)
	s.Bookings[0].End = cest("18:20")
	e.srv.ResetRequests()
	_, _ = e.r.Sync(t.Context(), s)
	require.Positive(t, e.srv.Count(http.MethodPost, "/role_assignments"), "the conflict is retried")
	e.srv.Intercept(nil)

	s.Bookings = nil // cancelled
	for range 2 {
		e.clock.Advance(10 * time.Minute)
		rep := e.sync(s)
		require.Equal(t, []access.Conflict{{Email: "dave@example.com", GroupID: e.room, KisiID: role, Unwanted: true}}, rep.Conflicts)
	}
}

// TestLostRoleOfHandMadeUserStaysKnownThroughACrash (issue 23): a process
// crashed between the intent of that conflict's retry and its answer. The
// next Verify finds the role the intent met, so the intent becomes the
// conflict again instead of being forgotten, and the report names the role
// once dave leaves.
func TestLostRoleOfHandMadeUserStaysKnownThroughACrash(t *testing.T) {
	t.Parallel()
	e, s, role := lostRoleOfHandMadeUser(t)
	recs, err := e.st.Load(t.Context(), e.r.Organization())
	require.NoError(t, err)
	i := slices.IndexFunc(recs, func(r state.Record) bool { return r.State == state.StateConflict })
	require.GreaterOrEqual(t, i, 0)
	intent := recs[i]
	intent.State, intent.KisiID, intent.Window = state.StatePending, 0, span("12:55", "18:25")
	recs[i] = intent
	e.restoreBackup(recs)

	_, err = e.r.Verify(t.Context())
	require.NoError(t, err)
	s.Bookings = nil // cancelled
	rep := e.sync(s)
	require.Equal(t, []access.Conflict{{Email: "dave@example.com", GroupID: e.room, KisiID: role, Unwanted: true}}, rep.Conflicts)
}
