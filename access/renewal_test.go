package access_test

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/kisi/kisitest"
	"github.com/kisisync/kisisync/schedule"
)

// renewalDue syncs s, then moves the clock to the run that renews its
// rolling windows, and returns the roles Kisi holds just before it.
func renewalDue(t *testing.T, e *rig, s access.Snapshot) []kisiRole {
	t.Helper()
	rep := e.sync(s)
	e.clock.Advance(rep.NextRun.Sub(e.clock.Now()))
	e.srv.ResetRequests()
	return e.roles()
}

// refuseCreates makes the fake answer status to every role create for
// which refuse says so, given the create's valid_until.
func refuseCreates(e *rig, status int, refuse func(email string, until time.Time) bool) {
	emails := map[int64]string{}
	e.srv.Intercept(func(r *http.Request) kisitest.Fault {
		if r.Method != http.MethodPost || r.URL.Path != "/role_assignments" {
			return kisitest.Fault{}
		}
		var body struct {
			RoleAssignment struct {
				AssigneeID int64     `json:"assignee_id"`
				ValidUntil time.Time `json:"valid_until"`
			} `json:"role_assignment"`
		}
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &body)
		if len(emails) == 0 {
			for id, u := range e.users() {
				emails[id] = u.Email
			}
		}
		if refuse(emails[body.RoleAssignment.AssigneeID], body.RoleAssignment.ValidUntil) {
			return kisitest.Fault{Status: status}
		}
		return kisitest.Fault{}
	})
}

// TestRenewalByPatch: with PATCH enabled, a renewal is one PATCH. Kisi
// refusing the new window (422) or the key (403) keeps the role as it is,
// valid for days, and parks the renewal; only a sign that Kisi does not
// PATCH windows (another refusal) switches this organization to delete
// and create, remembered in the Store for every later run.
func TestRenewalByPatch(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		refuse int
		writes []string
		kept   bool // the old role is kept, the renewal parked
		class  access.FailureClass
	}{
		{refuse: 0, writes: []string{"PATCH /role_assignments"}},
		{refuse: http.StatusUnprocessableEntity, writes: []string{"PATCH /role_assignments"}, kept: true, class: access.FailureRefused},
		{refuse: http.StatusForbidden, writes: []string{"PATCH /role_assignments"}, kept: true, class: access.FailureForbidden},
		{refuse: http.StatusBadRequest, writes: []string{"PATCH /role_assignments", "DELETE /role_assignments", "POST /role_assignments"}},
		{refuse: http.StatusMethodNotAllowed, writes: []string{"PATCH /role_assignments", "DELETE /role_assignments", "POST /role_assignments"}},
	} {
		t.Run(http.StatusText(tc.refuse), func(t *testing.T) {
			t.Parallel()
			e := newRig(t, rigConfig{opts: []access.Option{access.WithPatchValidity(true)},
				server: []kisitest.Option{kisitest.WithPatchableValidity(true)}})
			if tc.refuse != 0 {
				e.srv.Intercept(func(r *http.Request) kisitest.Fault {
					if r.Method == http.MethodPatch {
						return kisitest.Fault{Status: tc.refuse}
					}
					return kisitest.Fault{}
				})
			}
			s := baseSnapshot()
			s.Plans = []access.Plan{{ID: "p1", PlanID: "pro", MemberID: "bob", Start: cest("09:00"), Status: access.PlanActive}}
			before := renewalDue(t, e, s)
			rep, err := e.r.Sync(t.Context(), s)
			if diff := cmp.Diff(tc.writes, e.writes()); diff != "" {
				t.Fatalf("writes (-want +got):\n%s", diff)
			}
			if tc.kept {
				require.Error(t, err)
				require.Zero(t, rep.Replaced)
				if diff := cmp.Diff(before, e.roles()); diff != "" {
					t.Fatalf("the role in force is kept as it was (-before +after):\n%s", diff)
				}
				require.Len(t, rep.Parked, 1)
				require.Equal(t, tc.class, rep.Parked[0].Class)

				// Within the back-off, nothing is sent again.
				e.clock.Advance(30 * time.Second)
				e.srv.ResetRequests()
				rep, _ = e.r.Sync(t.Context(), s)
				require.Empty(t, e.writes())
				require.Len(t, rep.Parked, 1)
				return
			}
			require.NoError(t, err)
			require.Equal(t, 1, rep.Replaced, "renewed")
			roles := e.roles()
			require.Len(t, roles, 1)
			require.True(t, roles[0].Window.End.Equal(e.clock.Now().Add(access.DefaultValidity).Truncate(time.Minute)))
			if tc.refuse == 0 {
				return
			}
			// Remembered in the Store: a new Reconciler (another process)
			// renews by delete and create without trying PATCH again.
			r2, err := access.NewReconciler(e.client, e.st, e.m, access.DefaultPolicy(), access.WithClock(e.clock),
				access.WithPatchValidity(true))
			require.NoError(t, err)
			for rep.Replaced == 0 || e.writes()[0] != "DELETE /role_assignments" {
				e.clock.Advance(rep.NextRun.Sub(e.clock.Now()))
				e.srv.ResetRequests()
				rep, err = r2.Sync(t.Context(), s)
				require.NoError(t, err)
			}
			require.Equal(t, []string{"DELETE /role_assignments", "POST /role_assignments"}, e.writes())
		})
	}
}

// TestRefusedRenewalRestoresTheOldWindow (issue 26): Kisi refuses the
// renewed window of one member (422). The renewal deletes the role and
// its create is refused: the old window is created again at once, so the
// member keeps access (the old role was valid for days), and the renewal
// waits for its back-off instead of cutting the member off at every run.
func TestRefusedRenewalRestoresTheOldWindow(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	s := baseSnapshot()
	s.Plans = []access.Plan{{ID: "p1", PlanID: "pro", MemberID: "bob", Start: cest("09:00"), Status: access.PlanActive}}
	before := renewalDue(t, e, s)
	require.Len(t, before, 1)
	oldEnd := before[0].Window.End
	refuseCreates(e, http.StatusUnprocessableEntity, func(_ string, until time.Time) bool { return until.After(oldEnd) })

	rep, err := e.r.Sync(t.Context(), s)
	require.ErrorContains(t, err, "restored")
	require.Equal(t, []string{"DELETE /role_assignments", "POST /role_assignments", "POST /role_assignments"}, e.writes())
	if diff := cmp.Diff(before, e.roles()); diff != "" {
		t.Fatalf("the old window is restored (-before +after):\n%s", diff)
	}
	require.Len(t, rep.Parked, 1)
	require.Equal(t, access.FailureRefused, rep.Parked[0].Class)

	// The next runs leave the role alone until the back-off ends, then try
	// once more, restoring again; the member never loses access.
	for range 20 {
		e.clock.Advance(rep.NextRun.Sub(e.clock.Now()))
		e.srv.ResetRequests()
		rep, _ = e.r.Sync(t.Context(), s)
		roles := e.roles()
		require.Len(t, roles, 1, "at %s", e.clock.Now())
		require.True(t, roles[0].Window.End.Equal(oldEnd))
		if w := e.writes(); len(w) > 0 {
			require.Equal(t, []string{"DELETE /role_assignments", "POST /role_assignments", "POST /role_assignments"}, w)
		}
	}
	require.True(t, e.clock.Now().Before(oldEnd))
}

// TestCreateOutageExposesAtMostOneMember (issue 26): a create-only outage
// (POST answers 503, DELETE works) lasts while the renewals of twelve
// members come due. The first replacement finds creates
// failing and leaves its member without a role; every other member keeps
// the role they hold. Every following run creates that member's role
// first, without back-off, and replaces no role in force while creates
// fail; once they work, everyone is renewed.
func TestCreateOutageExposesAtMostOneMember(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	s := baseSnapshot()
	addPlanMembers(&s, "m", 12)
	rep := e.sync(s)
	require.Equal(t, 12, rep.Created)
	e.clock.Advance(rep.NextRun.Sub(e.clock.Now())) // the first renewal

	outage := true
	refuseCreates(e, http.StatusServiceUnavailable, func(string, time.Time) bool { return outage })
	exposed := ""
	for end := e.clock.Now().Add(6 * time.Hour); e.clock.Now().Before(end); {
		e.srv.ResetRequests()
		rep, err := e.r.Sync(t.Context(), s)
		roles := e.roles()
		if len(roles) == 12 {
			require.NoError(t, err)
			require.Empty(t, e.writes(), "nothing due at %s", e.clock.Now())
		} else {
			require.Error(t, err)
			require.Len(t, roles, 11, "at most one member exposed, at %s", e.clock.Now())
			if exposed == "" {
				exposed = rep.Failures[0].Email
			}
			require.Equal(t, exposed, rep.Failures[0].Email, "the same member, created first")
			requireTime(t, e.clock.Now().Add(time.Minute), rep.NextRun)
		}
		e.clock.Advance(rep.NextRun.Sub(e.clock.Now()))
	}
	require.NotEmpty(t, exposed, "renewals came due during the outage")

	outage = false
	e.srv.ResetRequests()
	rep = e.sync(s)
	require.Equal(t, "POST /role_assignments", e.writes()[0], "the exposed member first")
	require.Positive(t, rep.Replaced, "the renewals that waited")
	for _, r := range e.roles() {
		require.True(t, r.Window.End.After(e.clock.Now().Add(access.DefaultValidity/4)), "%v valid for days", r)
	}
}

// TestCreateOutageOutlivesItsExposedMember (issue 26): the member a
// create-only outage left without a role leaves the platform while the
// outage goes on. The reconciler still knows that creates fail, so no
// other member's role in force is replaced (and lost) until a create
// works: it is kept until it ends. Once creates work, everyone left is
// renewed.
func TestCreateOutageOutlivesItsExposedMember(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	s := baseSnapshot()
	addPlanMembers(&s, "m", 6)
	rep := e.sync(s)
	e.clock.Advance(rep.NextRun.Sub(e.clock.Now())) // the first renewal

	outage := true
	refuseCreates(e, http.StatusServiceUnavailable, func(string, time.Time) bool { return outage })
	rep, err := e.r.Sync(t.Context(), s)
	require.Error(t, err)
	require.Len(t, e.roles(), 5, "the first replacement found creates failing")
	exposed := rep.Failures[0].Email
	for i := range s.Plans {
		if s.Plans[i].MemberID+"@example.com" == exposed {
			s.Plans[i].Status, s.Plans[i].End = access.PlanCancelled, e.clock.Now()
		}
	}

	held := map[string]schedule.Interval{}
	for _, r := range e.roles() {
		held[r.Email] = r.Window
	}
	for end := e.clock.Now().Add(3 * 24 * time.Hour); e.clock.Now().Before(end); {
		rep, _ := e.r.Sync(t.Context(), s)
		now := e.clock.Now()
		for email, w := range held {
			if !w.Contains(now) {
				continue // ended by itself: a create is all that can renew it
			}
			require.True(t, slices.ContainsFunc(e.roles(), func(r kisiRole) bool { return r.Email == email }),
				"%s lost the role valid until %s at %s, during the outage", email, w.End, now)
		}
		require.True(t, rep.NextRun.After(now), "NextRun %s at %s", rep.NextRun, now)
		e.clock.Advance(rep.NextRun.Sub(now))
	}

	outage = false
	e.srv.ResetRequests()
	e.sync(s)
	require.Len(t, e.roles(), 5, "everyone left holds a role")
	for _, r := range e.roles() {
		require.True(t, r.Window.End.After(e.clock.Now().Add(access.DefaultValidity/4)), "%v renewed", r)
	}
}

// TestRenewalsInTheNightOfTheirLocation (issue 26): a desk in New York,
// held by an open-ended assignment, is renewed in New York's night hours,
// though the snapshot's first location is Berlin; the Berlin plan's role
// is renewed in Berlin's night.
func TestRenewalsInTheNightOfTheirLocation(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	newYork, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	desks := e.other // a group of New York's only
	delete(e.m.Resources, "room2")
	e.m.Resources["desk-ny"] = []int64{desks}
	e.r = e.reconcilerWith(e.client)
	s := baseSnapshot()
	s.Locations = append(s.Locations, access.Location{ID: "nyc", TimeZone: "America/New_York"})
	s.Resources = append(s.Resources, access.Resource{ID: "desk-ny", LocationID: "nyc"})
	s.Assignments = []access.Assignment{{ID: "a1", ResourceID: "desk-ny", MemberID: "alice", Start: cest("09:00")}}
	s.Plans = []access.Plan{{ID: "p1", PlanID: "pro", MemberID: "bob", Start: cest("09:00"), Status: access.PlanActive}}
	rep := e.sync(s)

	renewed := map[int64]int{}
	for end := e.clock.Now().AddDate(0, 0, 10); rep.NextRun.Before(end); {
		e.clock.Advance(rep.NextRun.Sub(e.clock.Now()))
		e.srv.ResetRequests()
		before := e.roles()
		rep = e.sync(s)
		for i, r := range e.roles() {
			if r.Window.End.Equal(before[i].Window.End) {
				continue
			}
			renewed[r.Group]++
			zone := berlinTZ
			if r.Group == desks {
				zone = newYork
			}
			h := e.clock.Now().In(zone).Hour()
			require.True(t, h >= 1 && h < 5, "group %d renewed at %s", r.Group, e.clock.Now().In(zone))
		}
	}
	require.Equal(t, map[int64]int{e.pro: 1, desks: 1}, renewed)
}

// TestNoRenewalOfAWindowKisiHoldsAlready (issue 28): a booking's end moves
// by seconds, within what counts as the same window, so the role Kisi
// holds stays. It is not a rolling bound to renew: NextRun stays ahead of
// the run (it was a renewal time in the past, and a host running at
// NextRun ran again and again).
func TestNoRenewalOfAWindowKisiHoldsAlready(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	s := baseSnapshot()
	s.Bookings = []access.Booking{bookingOf("bk1", "alice", "room1", "13:30", "15:00")}
	require.Equal(t, 1, e.sync(s).Created)
	s.Bookings[0].End = s.Bookings[0].End.Add(6 * time.Second)
	e.clock.Advance(time.Minute)
	e.srv.ResetRequests()
	rep := e.sync(s)
	require.Empty(t, e.writes(), "the same window")
	require.True(t, rep.NextRun.After(e.clock.Now()), "NextRun %s at %s", rep.NextRun, e.clock.Now())
}

// TestPatchOfARoleGoneCreatesIt (issue 25): with PATCH on, alice's booking
// in force is extended after her role was deleted by hand in Kisi, while
// an earlier role create failed (creates are in doubt, so roles in force
// are kept rather than replaced). The PATCH answers 404: nothing is in force
// to keep, and her role is created at once — not PATCHed again by every run
// while she has no access.
func TestPatchOfARoleGoneCreatesIt(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{opts: []access.Option{access.WithPatchValidity(true)}})
	s := baseSnapshot()
	s.Bookings = []access.Booking{bookingOf("bk1", "alice", "room1", "13:00", "15:00")}
	e.sync(s)
	answerRoleCreates(e, http.StatusServiceUnavailable)
	s.Bookings = append(s.Bookings, bookingOf("bk2", "bob", "room2", "13:00", "15:00"))
	_, err := e.r.Sync(t.Context(), s)
	require.Error(t, err, "bob's create fails: creates are in doubt")
	e.srv.Intercept(nil)
	held, _, err := e.client.ListRoleAssignments(t.Context(), &kisi.RoleAssignmentListOptions{AppliesToType: "Group", AppliesToID: e.room})
	require.NoError(t, err)
	require.Len(t, held, 1)
	_, err = e.client.DeleteRoleAssignment(t.Context(), held[0].ID) // by hand
	require.NoError(t, err)

	s.Bookings[0].End = cest("17:00")
	_, _ = e.r.Sync(t.Context(), s)
	require.True(t, slices.ContainsFunc(e.roles(), func(r kisiRole) bool { return r.Email == "alice@example.com" }),
		"alice has a role again")
}
