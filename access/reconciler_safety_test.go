package access_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/state"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/kisi/kisitest"
	"github.com/kisisync/kisisync/mapping"
)

// TestConcurrentRunsOfOneReconciler checks that the lease also excludes two
// runs of the same Reconciler (one lease holder), not only of two.
func TestConcurrentRunsOfOneReconciler(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	entered := make(chan struct{})
	release := make(chan struct{})
	unblock := sync.OnceFunc(func() { close(release) })
	t.Cleanup(unblock) // before the server closes, should the test fail
	var blocked atomic.Bool
	e.srv.Intercept(func(r *http.Request) kisitest.Fault {
		if r.Method == http.MethodPost && blocked.CompareAndSwap(false, true) {
			close(entered)
			<-release
		}
		return kisitest.Fault{}
	})
	s := baseSnapshot()
	s.Bookings = []access.Booking{bookingOf("bk1", "alice", "room1", "14:00", "15:00")}

	first := make(chan error, 1)
	go func() {
		_, err := e.r.Sync(t.Context(), s)
		first <- err
	}()
	<-entered
	for name, run := range map[string]func() error{
		"Sync":   func() error { _, err := e.r.Sync(t.Context(), s); return err },
		"Verify": func() error { _, err := e.r.Verify(t.Context()); return err },
	} {
		require.ErrorIs(t, run(), state.ErrLeaseHeld, "%s while a Sync of the same Reconciler runs", name)
	}
	unblock()
	require.NoError(t, <-first)

	// The lease is free again once the first run is over.
	rep := e.sync(s)
	require.Zero(t, rep.Created)
	require.Len(t, e.roles(), 1)
}

// TestInvitationNotRepeatedAfterLostResponse: the first grant of a new
// regular user carries notify:true; when its response is lost, a second
// grant of the same run (or of the next run) must not send another
// invitation.
func TestInvitationNotRepeatedAfterLostResponse(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	var mu sync.Mutex
	lost := false
	e.srv.Intercept(func(r *http.Request) kisitest.Fault {
		mu.Lock()
		defer mu.Unlock()
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/role_assignments") && !lost {
			lost = true
			return kisitest.Fault{Lost: true}
		}
		return kisitest.Fault{}
	})
	s := baseSnapshot()
	// room2 maps to two groups: two grants for alice in one run.
	s.Bookings = []access.Booking{bookingOf("bk1", "alice", "room2", "14:00", "15:00")}
	rep, err := e.r.Sync(t.Context(), s)
	require.ErrorIs(t, err, kisi.ErrMaybeApplied)
	require.Equal(t, 1, rep.Failed)
	require.True(t, lost)

	rep = e.sync(s)
	require.Equal(t, 1, rep.Adopted)
	require.Zero(t, rep.Created)
	notified := 0
	for _, r := range e.roles() {
		if r.Notify {
			notified++
		}
	}
	require.Len(t, e.roles(), 2)
	require.Equal(t, 1, notified, "one invitation: %v", e.roles())
}

// TestApplyChecksChangesAgainstItsStore: Changes are plain, exported data
// (a host may keep them as JSON for review). Apply must not delete an object
// its Store does not record, must count revocations itself, and must refuse
// Changes of another organization.
func TestApplyChecksChangesAgainstItsStore(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := newRig(t, rigConfig{})
	dave, err := e.srv.AddUser("dave@example.com", "Dave", false)
	require.NoError(t, err)
	hand, _, err := e.client.CreateRoleAssignment(ctx, &kisi.RoleAssignmentCreateRequest{
		RoleID: kisi.RoleGroupBasic, AppliesToType: "Group", AppliesToID: e.pro, AssigneeType: "User", AssigneeID: dave})
	require.NoError(t, err)
	s := baseSnapshot()
	addPlanMembers(&s, "member", 8)
	e.sync(s)
	require.Len(t, e.roles(), 9)

	roundTrip := func(c *access.Changes) *access.Changes {
		t.Helper()
		b, err := json.Marshal(c)
		require.NoError(t, err)
		var out access.Changes
		require.NoError(t, json.Unmarshal(b, &out))
		return &out
	}
	tests := []struct {
		name   string
		snap   access.Snapshot
		tamper func(c *access.Changes)
	}{
		{name: "delete of an unrecorded role", snap: s, tamper: func(c *access.Changes) {
			c.Changes = append(c.Changes, access.Change{Action: access.ActionDelete, Object: access.ObjectGrant,
				Key: state.RoleKey("dave@example.com", e.pro), Email: "dave@example.com", GroupID: e.pro, KisiID: hand.ID})
		}},
		{name: "delete under a recorded key with another id", snap: s, tamper: func(c *access.Changes) {
			c.Changes = append(c.Changes, access.Change{Action: access.ActionDelete, Object: access.ObjectGrant,
				Key: state.RoleKey("member0@example.com", e.pro), Email: "member0@example.com", GroupID: e.pro, KisiID: hand.ID})
		}},
		{name: "forget of a live record", snap: s, tamper: func(c *access.Changes) {
			c.Changes = append(c.Changes, access.Change{Action: access.ActionForget, Object: access.ObjectGrant,
				Key: state.RoleKey("member0@example.com", e.pro), Email: "member0@example.com", GroupID: e.pro})
		}},
		{name: "revocations under-counted", snap: baseSnapshot(), tamper: func(c *access.Changes) {
			c.Revocations, c.Managed = 0, 100
		}},
		{name: "changes of another organization", snap: baseSnapshot(), tamper: func(c *access.Changes) {
			c.Organization = ""
			c.Approve()
		}},
	}
	for _, tc := range tests {
		c, err := e.r.Plan(ctx, tc.snap)
		require.NoError(t, err)
		c = roundTrip(c)
		tc.tamper(c)
		e.srv.ResetRequests()
		_, err = e.r.Apply(ctx, c)
		require.Error(t, err, tc.name)
		require.Empty(t, e.writes(), tc.name)
		require.Len(t, e.roles(), 9, tc.name)
	}

	// Changes of one reconciler passed to another: refused, whatever the
	// Stores hold.
	other, err := access.NewReconciler(e.client, access.NewMemoryStore(), e.m, access.DefaultPolicy(),
		access.WithClock(e.clock), access.WithOrganization("other"))
	require.NoError(t, err)
	c, err := e.r.Plan(ctx, baseSnapshot())
	require.NoError(t, err)
	c.Approve()
	e.srv.ResetRequests()
	_, err = other.Apply(ctx, c)
	require.Error(t, err)
	require.Empty(t, e.writes())
}

// TestApplySkipsWindowsEndedSincePlan: the clock moves between Plan and
// Apply; a grant whose window has ended by then is not created.
func TestApplySkipsWindowsEndedSincePlan(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	s := baseSnapshot()
	s.Bookings = []access.Booking{bookingOf("bk1", "alice", "room1", "14:00", "15:00")}
	c, err := e.r.Plan(t.Context(), s)
	require.NoError(t, err)
	require.Equal(t, 1, c.Count(access.ActionCreate))
	e.clock.Advance(cest("15:10").Sub(e.clock.Now()))
	rep, err := e.r.Apply(t.Context(), c)
	require.NoError(t, err)
	require.Zero(t, rep.Created)
	require.Empty(t, e.writes(), "no user, no role for a window already over")
	c, err = e.r.Plan(t.Context(), s)
	require.NoError(t, err)
	require.True(t, c.Empty(), "%s", c)
}

// TestGroupRemovedFromMapping: grants in a group that is no longer mapped
// are revoked; links too.
func TestGroupRemovedFromMapping(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{dropIn: mapping.DropIn{Link: true}})
	s := baseSnapshot()
	s.Bookings = []access.Booking{
		bookingOf("bk1", "alice", "room2", "14:00", "15:00"),
		{ID: "bk9", ResourceID: "room2", Guest: &access.Guest{Name: "Gus", Email: "gus@example.com"}, Start: cest("17:00"), End: cest("18:00")},
	}
	e.sync(s)
	require.Len(t, e.roles(), 2)
	require.Len(t, e.links(), 2)

	m := e.m.Clone()
	m.Resources["room2"] = []int64{e.room}
	r, err := access.NewReconciler(e.client, e.st, m, access.DefaultPolicy(), access.WithClock(e.clock))
	require.NoError(t, err)
	rep, err := r.Sync(t.Context(), s)
	require.NoError(t, err)
	require.Equal(t, 2, rep.Deleted)
	require.Len(t, e.roles(), 1)
	require.Len(t, e.links(), 1)
	for _, l := range e.links() {
		require.Equal(t, e.room, l.GroupID)
	}
}

// TestRevokeGuardBrokenSnapshots: however an upstream snapshot breaks, a
// run that would revoke most access revokes nothing. Records that vanished
// are held by the guard; records present but invalid (rejected) never cut
// at all: Kisi keeps what it holds, and the records are reported.
func TestRevokeGuardBrokenSnapshots(t *testing.T) {
	t.Parallel()
	full := baseSnapshot()
	addPlanMembers(&full, "member", 8)
	tests := []struct {
		name     string
		breakIt  func(s *access.Snapshot)
		rejected bool
	}{
		{name: "empty", breakIt: func(s *access.Snapshot) { *s = access.Snapshot{} }},
		{name: "members vanished", breakIt: func(s *access.Snapshot) { s.Members = nil }, rejected: true},
		{name: "plans vanished", breakIt: func(s *access.Snapshot) { s.Plans = nil }},
		{name: "every member invalid", breakIt: func(s *access.Snapshot) {
			for i := range s.Members {
				s.Members[i].Email = "broken"
			}
		}, rejected: true},
		{name: "every plan invalid", breakIt: func(s *access.Snapshot) {
			for i := range s.Plans {
				s.Plans[i].Status = access.PlanStatus(99)
			}
		}, rejected: true},
		{name: "members renamed", breakIt: func(s *access.Snapshot) {
			for i := range s.Members {
				s.Members[i].ID += "x"
			}
		}, rejected: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newRig(t, rigConfig{})
			s := full
			s.Members = append([]access.Member(nil), full.Members...)
			s.Plans = append([]access.Plan(nil), full.Plans...)
			require.Equal(t, 8, e.sync(s).Created)
			tc.breakIt(&s)
			e.srv.ResetRequests()
			rep, err := e.r.Sync(t.Context(), s)
			if tc.rejected {
				require.NoError(t, err)
				require.NotEmpty(t, rep.Skipped, "the invalid records are reported")
				require.Empty(t, rep.Held, "nothing to hold: rejected records cut nothing")
			} else {
				var rle *access.RevokeLimitError
				require.ErrorAs(t, err, &rle)
				require.NotEmpty(t, rep.Held)
			}
			require.Empty(t, e.writes())
			require.Len(t, e.roles(), 8)
		})
	}
}

// TestNextRunBoundaries: NextRun is the next change of the desired access.
func TestNextRunBoundaries(t *testing.T) {
	t.Parallel()
	midnight := time.Date(2026, time.June, 11, 0, 0, 0, 0, berlinTZ)
	tests := []struct {
		name string
		edit func(s *access.Snapshot, m *mapping.Mapping)
		want time.Time
	}{
		{name: "window entering its lead", edit: func(s *access.Snapshot, _ *mapping.Mapping) {
			s.Bookings = []access.Booking{bookingOf("bk1", "alice", "room1", "16:00", "17:00")}
		}, want: cest("15:35")},
		{name: "window ending", edit: func(s *access.Snapshot, _ *mapping.Mapping) {
			s.Bookings = []access.Booking{bookingOf("bk1", "alice", "room1", "13:00", "14:00")}
		}, want: cest("14:05")},
		{name: "check-in day ending", edit: func(s *access.Snapshot, m *mapping.Mapping) {
			m.Locations = map[string][]int64{"ber": {m.Plans["pro"][0]}}
			s.CheckIns = []access.CheckIn{{ID: "c1", MemberID: "alice", LocationID: "ber", At: cest("09:00")}}
		}, want: midnight},
		{name: "link window ending", edit: func(s *access.Snapshot, m *mapping.Mapping) {
			m.DropIn.Link = true
			s.Bookings = []access.Booking{{ID: "bk9", ResourceID: "room1", Guest: &access.Guest{Name: "Gus", Email: "gus@example.com"},
				Start: cest("17:00"), End: cest("18:00")}}
		}, want: cest("18:05")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newRig(t, rigConfig{})
			s, m := baseSnapshot(), e.m.Clone()
			tc.edit(&s, &m)
			r, err := access.NewReconciler(e.client, e.st, m, access.DefaultPolicy(), access.WithClock(e.clock))
			require.NoError(t, err)
			rep, err := r.Sync(t.Context(), s)
			require.NoError(t, err)
			if diff := cmp.Diff(tc.want, rep.NextRun); diff != "" {
				t.Fatalf("NextRun (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRevokeGuardIgnoresEndedGrants: grants whose windows have ended do not
// dilute the guard's base, or a broken snapshot arriving as many bookings
// end would revoke every plan.
func TestRevokeGuardIgnoresEndedGrants(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	s := baseSnapshot()
	addPlanMembers(&s, "plan", 8)
	for i := range 30 {
		id := fmt.Sprintf("booker%d", i)
		s.Members = append(s.Members, access.Member{ID: id, Email: id + "@example.com", Managed: true})
		s.Bookings = append(s.Bookings, bookingOf("bk"+id, id, "room1", "13:00", "14:00"))
	}
	require.Equal(t, 38, e.sync(s).Created)

	e.clock.Advance(cest("14:10").Sub(e.clock.Now()))
	broken := baseSnapshot()
	e.srv.ResetRequests()
	rep, err := e.r.Sync(t.Context(), broken)
	var rle *access.RevokeLimitError
	require.ErrorAs(t, err, &rle)
	require.Equal(t, 8, rle.Revocations)
	require.Equal(t, 8, rle.Managed, "ended grants are not managed access")
	require.Len(t, rep.Held, 8)
	require.Equal(t, 30, rep.Expired, "a held run still cleans up")
	require.Len(t, e.writes(), 30, "only the cleanup was written")
}

func TestWithProgress(t *testing.T) {
	t.Parallel()
	type call struct{ Done, Total int }
	var calls []call
	e := newRig(t, rigConfig{opts: []access.Option{access.WithProgress(func(done, total int) {
		calls = append(calls, call{done, total})
	})}})
	s := baseSnapshot()
	s.Bookings = []access.Booking{bookingOf("bk1", "alice", "room2", "14:00", "15:00"), bookingOf("bk2", "bob", "room1", "14:00", "15:00")}
	e.sync(s)
	if diff := cmp.Diff([]call{{1, 3}, {2, 3}, {3, 3}}, calls); diff != "" {
		t.Fatalf("progress (-want +got):\n%s", diff)
	}

	// A failing change is progress too; a held run and an empty one report none.
	calls = nil
	e.srv.SetFaults(kisitest.Faults{ErrorRate: 1, Methods: []string{http.MethodDelete}})
	s.Bookings = s.Bookings[1:]
	rep, err := e.r.Sync(t.Context(), s)
	require.Error(t, err)
	require.Equal(t, 2, rep.Failed)
	if diff := cmp.Diff([]call{{1, 2}, {2, 2}}, calls); diff != "" {
		t.Fatalf("progress (-want +got):\n%s", diff)
	}
	calls = nil
	e.srv.SetFaults(kisitest.Faults{})
	e.sync(s)
	calls = nil
	e.sync(s)
	require.Empty(t, calls)
}

// TestVerifyAdoptsOnce: of two identical links in Kisi, only one can be the
// object of a pending intent; the other stays unmanaged rather than being
// silently dropped from view (it would outlive its booking).
func TestVerifyAdoptsOnce(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{dropIn: mapping.DropIn{Link: true}})
	e.srv.Intercept(func(r *http.Request) kisitest.Fault {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/group_links") {
			return kisitest.Fault{Lost: true}
		}
		return kisitest.Fault{}
	})
	s := baseSnapshot()
	s.Bookings = []access.Booking{{ID: "bk9", ResourceID: "room1", Guest: &access.Guest{Name: "Gus", Email: "gus@example.com"},
		Start: cest("17:00"), End: cest("18:00")}}
	_, err := e.r.Sync(t.Context(), s)
	require.ErrorIs(t, err, kisi.ErrMaybeApplied)
	e.srv.Intercept(nil)
	links := e.links()
	require.Len(t, links, 1)
	l := links[0]
	_, _, err = e.client.CreateGroupLink(t.Context(), &kisi.GroupLinkCreateRequest{GroupID: l.GroupID, Name: l.Name, Email: l.Email,
		LinkEnabled: kisi.Ptr(l.LinkEnabled), ValidFrom: l.ValidFrom, ValidUntil: l.ValidUntil})
	require.NoError(t, err)

	d, err := e.r.Verify(t.Context())
	require.NoError(t, err)
	require.Len(t, d.Adopted, 1)
	require.Len(t, d.Unmanaged, 1)
	require.NotEqual(t, d.Adopted[0].KisiID, d.Unmanaged[0].KisiID)
}

// TestLookupFailureNeverDuplicates: a create whose response was lost stays
// pending while its lookup fails; nothing is created again until the
// lookup answers, and then the object is adopted.
func TestLookupFailureNeverDuplicates(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	e.srv.SetFaults(kisitest.Faults{LostRate: 1, Methods: []string{http.MethodPost}})
	s := baseSnapshot()
	s.Bookings = []access.Booking{bookingOf("bk1", "bob", "room1", "14:00", "15:00")}
	// The user create's lost response is settled in the run by one lookup;
	// the role create's response is lost too.
	_, err := e.r.Sync(t.Context(), s)
	require.ErrorIs(t, err, kisi.ErrMaybeApplied)
	require.Len(t, e.roles(), 1)
	bobs := 0
	for _, u := range e.users() {
		if u.Email == "bob@example.com" {
			bobs++
		}
	}
	require.Equal(t, 1, bobs, "one user, not two")

	e.srv.SetFaults(kisitest.Faults{ErrorRate: 1, Methods: []string{http.MethodGet}})
	for _, wait := range []time.Duration{2 * time.Minute, 4 * time.Minute, 8 * time.Minute} {
		// The run at NextRun looks up, and backs off again; a run the
		// host wakes meanwhile (its data changed) waits for the back-off.
		for _, woken := range []bool{false, true} {
			e.srv.ResetRequests()
			rep, err := e.r.Sync(t.Context(), s)
			require.NoError(t, err)
			require.True(t, slices.ContainsFunc(rep.Parked, func(p access.Parked) bool {
				return p.Email == "bob@example.com" && p.Class == access.FailureUnknown
			}), "the report names the intent it could not look up: %+v", rep.Parked)
			require.Zero(t, e.srv.Count(http.MethodPost, "/"), "nothing created while the lookup fails")
			if woken {
				require.Zero(t, e.srv.Count(http.MethodGet, "/role_assignments"), "no lookup within its back-off")
				continue
			}
			require.Equal(t, 1, rep.Unresolved)
			require.Equal(t, e.clock.Now().Add(wait), rep.NextRun, "retried with back-off")
			e.clock.Advance(time.Second)
		}
		e.clock.Advance(wait - time.Second)
	}

	e.srv.SetFaults(kisitest.Faults{})
	rep := e.sync(s)
	require.Equal(t, 1, rep.Adopted)
	require.Zero(t, rep.Created)
	require.Len(t, e.roles(), 1)
}

// TestMemberEmailChanges: the grant of the old email is revoked before the
// new email's grant is created.
func TestMemberEmailChanges(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	s := baseSnapshot()
	s.Bookings = []access.Booking{bookingOf("bk1", "bob", "room1", "14:00", "15:00")}
	e.sync(s)
	s.Members[1].Email = "robert@example.com"
	c, err := e.r.Plan(t.Context(), s)
	require.NoError(t, err)
	var got []string
	for _, ch := range c.Changes {
		got = append(got, string(ch.Action)+" "+ch.Email)
	}
	if diff := cmp.Diff([]string{"delete bob@example.com", "create robert@example.com"}, got); diff != "" {
		t.Fatalf("changes (-want +got):\n%s", diff)
	}
	_, err = e.r.Apply(t.Context(), c)
	require.NoError(t, err)
	if diff := cmp.Diff([]kisiRole{{Email: "robert@example.com", Group: e.room, Window: span("13:55", "15:05")}}, e.roles()); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}

// TestLeaseRenewedAfterSlowPlan: when the lookups of a Sync's plan take
// longer than the lease, the run renews its lease before it writes, so a
// second run cannot start alongside it.
func TestLeaseRenewedAfterSlowPlan(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	s := baseSnapshot()
	s.Bookings = []access.Booking{bookingOf("bk1", "bob", "room1", "14:00", "15:00")}
	e.srv.SetFaults(kisitest.Faults{LostRate: 1, Methods: []string{http.MethodPost}})
	_, err := e.r.Sync(t.Context(), s) // the user and role creates are lost: pending
	require.Error(t, err)
	e.srv.SetFaults(kisitest.Faults{})

	var intruder error
	var mu sync.Mutex
	e.srv.Intercept(func(r *http.Request) kisitest.Fault {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/role_assignments"):
			e.clock.Advance(11 * time.Minute) // a slow lookup, beyond the lease
		case r.Method == http.MethodPost && intruder == nil:
			now := e.clock.Now()
			_, intruder = e.st.Lease(context.Background(), "default", "intruder", now, now.Add(time.Minute))
		}
		return kisitest.Fault{}
	})
	s.Bookings = append(s.Bookings, bookingOf("bk2", "alice", "room1", "14:00", "15:00"))
	// The clock jumped: keep the windows in force.
	s.Bookings[0].End, s.Bookings[1].End = cest("18:00"), cest("18:00")
	rep, err := e.r.Sync(t.Context(), s)
	require.NoError(t, err)
	require.Equal(t, 1, rep.Created)
	require.Equal(t, 1, rep.Replaced)
	require.ErrorIs(t, intruder, state.ErrLeaseHeld, "the lease was held while the run wrote")
}
