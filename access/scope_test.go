package access_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/kisi/kisitest"
	"github.com/kisisync/kisisync/mapping"
)

// forbidGroup makes the fake answer 403 to every role create in group g,
// as Kisi does for a key whose user has no rights on the group's place. It
// returns a counter of the requests refused.
func forbidGroup(e *rig, g int64) *atomic.Int32 {
	var refused atomic.Int32
	id := `"applies_to_id":` + strconv.FormatInt(g, 10) + ","
	e.srv.Intercept(func(r *http.Request) kisitest.Fault {
		if r.Method != http.MethodPost || r.URL.Path != "/role_assignments" {
			return kisitest.Fault{}
		}
		if body, _ := io.ReadAll(r.Body); strings.Contains(string(body), id) {
			refused.Add(1)
			return kisitest.Fault{Status: http.StatusForbidden}
		}
		return kisitest.Fault{}
	})
	return &refused
}

// TestForbiddenGroupParksOnlyThatGroup: Kisi refuses the key on the room's
// group (403). The run parks the room's changes with back-off and goes on:
// the plan members are granted and a cancelled member revoked in the same
// run, and the next runs send the room nothing until the back-off ends.
func TestForbiddenGroupParksOnlyThatGroup(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	s := baseSnapshot()
	s.Plans = []access.Plan{{ID: "p-bob", PlanID: "pro", MemberID: "bob", Start: cest("09:00"), Status: access.PlanActive}}
	e.sync(s)

	refused := forbidGroup(e, e.room)
	s.Bookings = []access.Booking{bookingOf("bk1", "alice", "room1", "14:00", "15:00")}
	s.Plans = append(s.Plans, access.Plan{ID: "p-alice", PlanID: "pro", MemberID: "alice", Start: cest("09:00"), Status: access.PlanActive})
	s.Plans[0].Status = access.PlanCancelled
	e.srv.ResetRequests()
	rep, err := e.r.Sync(t.Context(), s)
	var sys *access.SystemicError
	require.False(t, errors.As(err, &sys), "one group's 403 does not stop the run: %v", err)
	require.Equal(t, 1, rep.Created, "alice's plan granted")
	require.Equal(t, 1, rep.Deleted, "bob's cancelled plan revoked")
	require.Len(t, rep.Parked, 1)
	require.Equal(t, access.FailureForbidden, rep.Parked[0].Class)
	require.Equal(t, e.room, rep.Parked[0].GroupID)
	require.Contains(t, rep.Parked[0].Reason, "403")
	require.Equal(t, int32(1), refused.Load(), "one attempt on the room")
	requireTime(t, e.clock.Now().Add(time.Minute), rep.NextRun)

	// Within the back-off the room is not asked again.
	e.clock.Advance(30 * time.Second)
	e.srv.ResetRequests()
	rep = e.sync(s)
	require.Empty(t, e.writes(), "nothing sent while the room's back-off runs")
	require.Len(t, rep.Parked, 1)

	// After it, one attempt; refused again, the back-off doubles.
	e.clock.Advance(time.Minute)
	e.srv.ResetRequests()
	rep, _ = e.r.Sync(t.Context(), s)
	require.Equal(t, []string{"POST /role_assignments"}, e.writes())
	requireTime(t, e.clock.Now().Add(2*time.Minute), rep.NextRun)

	// Rights given back: the room's grant is made and its park dropped.
	e.srv.Intercept(nil)
	e.clock.Advance(2 * time.Minute)
	rep = e.sync(s)
	require.Equal(t, 1, rep.Created)
	require.Empty(t, rep.Parked)
}

// TestFailingNotifierNeverStopsTheRun: the host's mailer is down. Every
// link is still created in Kisi, the failures are the host's (not Kisi's),
// the run is not stopped, and the notifications wait for their back-off.
func TestFailingNotifierNeverStopsTheRun(t *testing.T) {
	t.Parallel()
	notes := &recordingNotifier{fail: 1000}
	e := newRig(t, rigConfig{dropIn: mapping.DropIn{Link: true}, opts: []access.Option{access.WithNotifier(notes)}})
	s := baseSnapshot()
	for _, g := range []string{"g1", "g2", "g3", "g4", "g5"} {
		s.Bookings = append(s.Bookings, access.Booking{ID: "bk-" + g, ResourceID: "room1",
			Guest: &access.Guest{Name: g, Email: g + "@example.com"}, Start: cest("17:00"), End: cest("18:00")})
	}
	s.Bookings = append(s.Bookings, bookingOf("bk-alice", "alice", "room1", "14:00", "15:00"))
	rep, err := e.r.Sync(t.Context(), s)
	var sys *access.SystemicError
	require.False(t, errors.As(err, &sys), "a failing mailer does not stop the run: %v", err)
	require.Equal(t, 6, rep.Created, "five links and alice's grant")
	require.Len(t, rep.Failures, 5)
	for _, f := range rep.Failures {
		require.Equal(t, access.FailureHost, f.Class)
	}
	requireTime(t, e.clock.Now().Add(time.Minute), rep.NextRun)
}

// TestFailingKeyBacksOffAcrossProcesses: Kisi answers 503 to every role
// delete for hours. Two reconcilers on one Store (two processes) take turns
// at NextRun: the failing revocation is tried after 1, 2, 4 … minutes and
// then hourly — the back-off lives in the Store, not in one process.
func TestFailingKeyBacksOffAcrossProcesses(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	procs := []*access.Reconciler{e.r, e.reconcilerWith(e.client, access.WithHolder("second"))}
	s := aliceSynced(e)
	answer(e, http.MethodDelete, http.StatusServiceUnavailable)
	s.Plans[0].Status = access.PlanCancelled
	tried := triedAt(t, e, procs, s, http.MethodDelete, "/role_assignments", func(rep *access.Report) {
		require.True(t, rep.NextRun.After(e.clock.Now()), "NextRun %v ahead", rep.NextRun)
	})
	require.Equal(t, hourlyBackOff(), tried, "tried after 1, 2, 4 … minutes, then hourly")
}

// triedAt has procs take turns at a run at every NextRun for six hours,
// calling check with each report, and returns when a run sent method to
// path, after the start.
func triedAt(t *testing.T, e *rig, procs []*access.Reconciler, s access.Snapshot, method, path string,
	check func(*access.Report)) []time.Duration {
	t.Helper()
	start := e.clock.Now()
	var tried []time.Duration
	for i := 0; e.clock.Now().Before(start.Add(6 * time.Hour)); i++ {
		e.srv.ResetRequests()
		rep, _ := procs[i%2].Sync(t.Context(), s)
		if e.srv.Count(method, path) > 0 {
			tried = append(tried, e.clock.Now().Sub(start).Round(time.Minute))
		}
		check(rep)
		e.clock.Advance(rep.NextRun.Sub(e.clock.Now()))
	}
	return tried
}

// hourlyBackOff is when a key failing for six hours is tried: after 1, 2,
// 4 … minutes, then hourly.
func hourlyBackOff() []time.Duration {
	want := []time.Duration{0, 1, 3, 7, 15, 31, 63, 123, 183, 243, 303}
	for i := range want {
		want[i] *= time.Minute
	}
	return want
}

// TestFailingCreateBacksOff (issue 25): Kisi answers every create of one
// member with a server error — the role create (whose outcome Kisi then
// leaves unknown) or the user create before it. The key backs off — the
// user, for a user create, however many grants wait for it: in an hour of
// runs at every NextRun it is tried in a handful of runs, not in every run
// a minute apart, and the report names it each time.
func TestFailingCreateBacksOff(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, path string
		status     int
	}{
		{"role create 500", "/role_assignments", http.StatusInternalServerError},
		{"user create 503", "/users", http.StatusServiceUnavailable},
		{"user create 422", "/users", http.StatusUnprocessableEntity},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newRig(t, rigConfig{})
			s := baseSnapshot()
			s.Plans = []access.Plan{{ID: "p-bob", PlanID: "pro", MemberID: "bob", Start: cest("09:00"), Status: access.PlanActive}}
			e.sync(s)
			// Two grants of one member: one user to create.
			s.Plans = append(s.Plans, access.Plan{ID: "p-alice", PlanID: "pro", MemberID: "alice", Start: cest("09:00"), Status: access.PlanActive})
			s.Bookings = []access.Booking{bookingOf("bk1", "alice", "room1", "13:00", "23:00")}
			e.srv.Intercept(func(r *http.Request) kisitest.Fault {
				if r.Method == http.MethodPost && r.URL.Path == tc.path {
					return kisitest.Fault{Status: tc.status}
				}
				return kisitest.Fault{}
			})
			runs, sent := 0, 0
			for end := e.clock.Now().Add(time.Hour); e.clock.Now().Before(end); {
				e.srv.ResetRequests()
				rep, _ := e.r.Sync(t.Context(), s)
				if n := countOf(e.writes(), "POST "+tc.path); n > 0 {
					runs++
					sent += n
				}
				named := slices.ContainsFunc(rep.Parked, func(p access.Parked) bool { return p.Email == "alice@example.com" }) ||
					slices.ContainsFunc(rep.Failures, func(f access.Failure) bool { return f.Email == "alice@example.com" })
				require.True(t, named, "the report names alice at %s", e.clock.Now())
				e.clock.Advance(rep.NextRun.Sub(e.clock.Now()))
			}
			require.LessOrEqual(t, runs, 7, "tried in %d runs within an hour", runs)
			if tc.path == "/users" {
				require.Equal(t, runs, sent, "one user create a run, not one per grant")
			}
		})
	}
}

// countOf counts the elements of s equal to v.
func countOf(s []string, v string) int {
	n := 0
	for _, x := range s {
		if x == v {
			n++
		}
	}
	return n
}

// TestFailingReplacementBacksOff (issue 25): Kisi answers every delete,
// or every PATCH where renewals patch, with a server error while a
// member's role in force is to be replaced (her plan now starts an hour
// earlier). The role Kisi holds stays valid for days, so the replacement
// backs off like any failing key — tried after 1, 2, 4 … minutes, then
// hourly, by whichever process runs — instead of in every run a minute
// apart (or, for a failed delete, not before the next renewal, days away);
// the report names it each time.
func TestFailingReplacementBacksOff(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		method string
		lookup bool // the read that looks the role up after a failed delete fails too
		opts   []access.Option
	}{
		{"delete fails", http.MethodDelete, false, nil},
		{"delete and its lookup fail", http.MethodDelete, true, nil},
		{"PATCH fails", http.MethodPatch, false, []access.Option{access.WithPatchValidity(true)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newRig(t, rigConfig{opts: tc.opts})
			procs := []*access.Reconciler{e.r, e.reconcilerWith(e.client, append(tc.opts, access.WithHolder("second"))...)}
			s := aliceSynced(e)
			var checking atomic.Bool // the test's own reads go through
			e.srv.Intercept(func(r *http.Request) kisitest.Fault {
				lookup := tc.lookup && !checking.Load() && r.Method == http.MethodGet && r.URL.Path == "/role_assignments"
				if r.Method == tc.method || lookup {
					return kisitest.Fault{Status: http.StatusServiceUnavailable}
				}
				return kisitest.Fault{}
			})
			s.Plans[0].Start = cest("08:00")
			tried := triedAt(t, e, procs, s, tc.method, "/role_assignments", func(rep *access.Report) {
				named := slices.ContainsFunc(rep.Parked, func(p access.Parked) bool { return p.Email == "alice@example.com" }) ||
					slices.ContainsFunc(rep.Failures, func(f access.Failure) bool { return f.Email == "alice@example.com" })
				require.True(t, named, "the report names alice at %s", e.clock.Now())
				checking.Store(true)
				defer checking.Store(false)
				require.Len(t, e.roles(), 1, "alice keeps her role")
			})
			require.Equal(t, hourlyBackOff(), tried, "tried after 1, 2, 4 … minutes, then hourly")
		})
	}
}

// TestBackOffCountsTheTimeFailing (issue 25): a delete Kisi fails, then no
// run for three hours (the host down, or the organization's runs backed
// off). When it fails again it has been failing for three hours: it waits
// the longest back-off, not the two minutes of a second attempt.
func TestBackOffCountsTheTimeFailing(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	s := aliceSynced(e)
	answer(e, http.MethodDelete, http.StatusServiceUnavailable)
	s.Plans[0].Status = access.PlanCancelled
	rep, _ := e.r.Sync(t.Context(), s)
	require.Len(t, rep.Parked, 1)
	require.Equal(t, time.Minute, rep.Parked[0].RetryAt.Sub(e.clock.Now()).Round(time.Minute))

	e.clock.Advance(3 * time.Hour)
	rep, _ = e.r.Sync(t.Context(), s)
	require.Len(t, rep.Parked, 1)
	require.Equal(t, time.Hour, rep.Parked[0].RetryAt.Sub(e.clock.Now()).Round(time.Minute))
}

// TestFailingCreateBacksOffWhileItsWindowMoves (issue 25): Kisi fails
// every role create with a server error while the export moves the
// member's End a little at each run, or leaves her plan out of every other
// snapshot. The key (user, group) backs off, not the window, and a change
// that comes and goes keeps its back-off: neither makes every run try
// again.
func TestFailingCreateBacksOffWhileItsWindowMoves(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		export func(s *access.Snapshot, run int, now time.Time)
	}{
		{"End moved at each export", func(s *access.Snapshot, _ int, now time.Time) {
			s.Plans[1].End = now.Add(48 * time.Hour)
		}},
		{"plan missing from every other export", func(s *access.Snapshot, run int, _ time.Time) {
			s.Plans[1].Status = access.PlanActive
			if run%2 == 1 {
				s.Plans[1].Status = access.PlanPending
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newRig(t, rigConfig{})
			s := baseSnapshot()
			s.Plans = []access.Plan{{ID: "p-bob", PlanID: "pro", MemberID: "bob", Start: cest("09:00"), Status: access.PlanActive}}
			e.sync(s)
			e.srv.Intercept(func(r *http.Request) kisitest.Fault {
				if r.Method == http.MethodPost && r.URL.Path == "/role_assignments" {
					return kisitest.Fault{Status: http.StatusServiceUnavailable}
				}
				return kisitest.Fault{}
			})
			s.Plans = append(s.Plans, access.Plan{ID: "p-alice", PlanID: "pro", MemberID: "alice", Start: cest("09:00"), Status: access.PlanActive})
			runs := 0
			for run, end := 0, e.clock.Now().Add(time.Hour); e.clock.Now().Before(end); run++ {
				tc.export(&s, run, e.clock.Now())
				e.srv.ResetRequests()
				_, _ = e.r.Sync(t.Context(), s)
				if countOf(e.writes(), "POST /role_assignments") > 0 {
					runs++
				}
				e.clock.Advance(time.Minute)
			}
			require.LessOrEqual(t, runs, 7, "tried in %d of 60 runs a minute apart", runs)
		})
	}
}

// TestOrganizationBackOffWhileAMemberIsExposed (issue 25): a create outage
// left a member without a role, so every run comes a minute after the
// last to create it first; meanwhile Kisi answers 429 to every delete, a
// failure of the whole organization. The member's create is still tried
// in every run, but the revocation waits for the organization's back-off
// instead of being tried every minute with it.
func TestOrganizationBackOffWhileAMemberIsExposed(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	s := baseSnapshot()
	addPlanMembers(&s, "m", 3)
	rep := e.sync(s)
	e.clock.Advance(rep.NextRun.Sub(e.clock.Now())) // the first renewal
	refuseCreates(e, http.StatusServiceUnavailable, func(string, time.Time) bool { return true })
	_, err := e.r.Sync(t.Context(), s)
	require.Error(t, err)
	require.Len(t, e.roles(), 2, "one member exposed")

	s.Plans[1].Status = access.PlanCancelled
	e.srv.Intercept(func(r *http.Request) kisitest.Fault {
		switch {
		case r.Method == http.MethodDelete:
			return kisitest.Fault{Status: http.StatusTooManyRequests}
		case r.Method == http.MethodPost && r.URL.Path == "/role_assignments":
			return kisitest.Fault{Status: http.StatusServiceUnavailable}
		}
		return kisitest.Fault{}
	})
	runs, deletes := 0, 0
	for end := e.clock.Now().Add(2 * time.Hour); e.clock.Now().Before(end); runs++ {
		e.srv.ResetRequests()
		rep, _ := e.r.Sync(t.Context(), s)
		require.Equal(t, "POST /role_assignments", e.writes()[0], "the exposed member first, at %s", e.clock.Now())
		if e.srv.Count(http.MethodDelete, "/role_assignments") > 0 {
			deletes++
		}
		e.clock.Advance(rep.NextRun.Sub(e.clock.Now()))
	}
	require.Greater(t, runs, 100, "a run a minute for the exposed member")
	require.LessOrEqual(t, deletes, 8, "the revocation tried in %d of %d runs", deletes, runs)
}

// TestBackOffGoesOnWhenTheFailureChanges (issue 25): Kisi refuses a
// delete for three hours — the key refused on the group's roles (403), or
// server errors — and then refuses it the other way. The change has been
// failing all along: it goes on from the back-off it had instead of
// starting again at a minute.
func TestBackOffGoesOnWhenTheFailureChanges(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name          string
		first, second int
	}{
		{"403, then server errors", http.StatusForbidden, http.StatusServiceUnavailable},
		{"server errors, then 403", http.StatusServiceUnavailable, http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newRig(t, rigConfig{})
			s := aliceSynced(e)
			answer(e, http.MethodDelete, tc.first)
			s.Plans[0].Status = access.PlanCancelled
			for end := e.clock.Now().Add(3 * time.Hour); e.clock.Now().Before(end); {
				rep, _ := e.r.Sync(t.Context(), s)
				e.clock.Advance(rep.NextRun.Sub(e.clock.Now()))
			}
			answer(e, http.MethodDelete, tc.second)
			e.srv.ResetRequests()
			rep, _ := e.r.Sync(t.Context(), s)
			require.Positive(t, e.srv.Count(http.MethodDelete, "/role_assignments"), "tried once its back-off ended")
			require.Len(t, rep.Parked, 1)
			require.Equal(t, time.Hour, rep.Parked[0].RetryAt.Sub(e.clock.Now()).Round(time.Minute))
		})
	}
}

// TestFailingKeyBacksOffThroughOrganizationFailures (issue 25): a new
// member's user create has failed for two hours (server errors), then Kisi
// answers her user's lookup with 429, which stops each run as a failure of
// the whole organization. The organization's back-off starts at a minute,
// but her key has been failing for hours: it goes on backing off, so the
// runs that try her are about hourly, not at every retry of the
// organization.
func TestFailingKeyBacksOffThroughOrganizationFailures(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	s := baseSnapshot()
	s.Plans = []access.Plan{{ID: "p-bob", PlanID: "pro", MemberID: "bob", Start: cest("09:00"), Status: access.PlanActive}}
	e.sync(s)
	s.Plans = append(s.Plans, access.Plan{ID: "p-alice", PlanID: "pro", MemberID: "alice", Start: cest("09:00"), Status: access.PlanActive})
	throttled := false
	e.srv.Intercept(func(r *http.Request) kisitest.Fault {
		switch {
		case r.URL.Path != "/users":
		case throttled:
			return kisitest.Fault{Status: http.StatusTooManyRequests}
		case r.Method == http.MethodPost:
			return kisitest.Fault{Status: http.StatusServiceUnavailable}
		}
		return kisitest.Fault{}
	})
	run := func(until time.Time) (tries int) {
		for e.clock.Now().Before(until) {
			e.srv.ResetRequests()
			rep, _ := e.r.Sync(t.Context(), s)
			if e.srv.Count(http.MethodGet, "/users")+e.srv.Count(http.MethodPost, "/users") > 0 {
				tries++
			}
			e.clock.Advance(rep.NextRun.Sub(e.clock.Now()))
		}
		return tries
	}
	run(e.clock.Now().Add(2 * time.Hour))
	throttled = true
	tries := run(e.clock.Now().Add(2 * time.Hour))
	require.LessOrEqual(t, tries, 3, "alice's user tried in %d runs in two hours", tries)
}

// answer makes the fake answer status to every request of method.
func answer(e *rig, method string, status int) {
	e.srv.Intercept(func(r *http.Request) kisitest.Fault {
		if r.Method == method {
			return kisitest.Fault{Status: status}
		}
		return kisitest.Fault{}
	})
}

// aliceSynced returns the base snapshot with alice on an open-ended plan,
// synced to the rig's Kisi.
func aliceSynced(e *rig) access.Snapshot {
	e.t.Helper()
	s := baseSnapshot()
	s.Plans = []access.Plan{{ID: "p1", PlanID: "pro", MemberID: "alice", Start: cest("09:00"), Status: access.PlanActive}}
	e.sync(s)
	return s
}

// TestForbiddenMemberBacksOffWhileItsGroupWorks (issue 25): Kisi refuses
// the API key one member's role in a group (403) while it takes the
// group's other writes. Each of those ends the group's park, so the
// refused change backs off on its own key: in two hours of runs, every
// one of which revokes another member of the group, it is tried after
// 1, 2, 4 … minutes, not at every run.
func TestForbiddenMemberBacksOffWhileItsGroupWorks(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	s := baseSnapshot()
	addPlanMembers(&s, "m", 12)
	s.Bookings = []access.Booking{bookingOf("bk1", "alice", "room1", "13:00", "23:00")}
	e.sync(s) // alice's Kisi user, for her room
	refuseCreates(e, http.StatusForbidden, func(email string, _ time.Time) bool { return email == "alice@example.com" })
	s.Plans = append(s.Plans, access.Plan{ID: "p-alice", PlanID: "pro", MemberID: "alice", Start: cest("09:00"), Status: access.PlanActive})

	tries, revoked := 0, 0
	for next, end := e.clock.Now(), e.clock.Now().Add(2*time.Hour); e.clock.Now().Before(end); {
		if !e.clock.Now().Before(next) {
			s.Plans[revoked].Status = access.PlanCancelled // a write to the group that works
			revoked++
			next = e.clock.Now().Add(10 * time.Minute)
		}
		e.srv.ResetRequests()
		rep, _ := e.r.Sync(t.Context(), s)
		if countOf(e.writes(), "POST /role_assignments") > 0 {
			tries++
		}
		require.True(t, slices.ContainsFunc(rep.Parked, func(p access.Parked) bool { return p.Email == "alice@example.com" }),
			"the report names alice at %s", e.clock.Now())
		wake := next
		if rep.NextRun.Before(wake) {
			wake = rep.NextRun
		}
		e.clock.Advance(wake.Sub(e.clock.Now()))
	}
	require.Equal(t, 12, revoked)
	require.LessOrEqual(t, tries, 7, "alice's grant tried in %d runs in two hours", tries)
}

// TestFailingLinkReplacementBacksOff (issue 25): a guest's booking moves
// and Kisi answers 503 to the delete of the link it had. The link's
// replacement backs off like any failing key, by whichever process runs —
// tried after 1, 2, 4 … minutes, then hourly — not at every run.
func TestFailingLinkReplacementBacksOff(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{dropIn: mapping.DropIn{Link: true}})
	procs := []*access.Reconciler{e.r, e.reconcilerWith(e.client, access.WithHolder("second"))}
	s := baseSnapshot()
	s.Bookings = []access.Booking{{ID: "g1", ResourceID: "room1", Guest: &access.Guest{Name: "Gus", Email: "gus@example.org"},
		Start: cest("18:00"), End: cest("19:00")}}
	require.Equal(t, 1, e.sync(s).Created)
	answer(e, http.MethodDelete, http.StatusServiceUnavailable)
	s.Bookings[0].Start, s.Bookings[0].End = cest("20:00").AddDate(0, 0, 1), cest("21:00").AddDate(0, 0, 1)
	tried := triedAt(t, e, procs, s, http.MethodDelete, "/group_links", func(rep *access.Report) {
		require.True(t, rep.NextRun.After(e.clock.Now()), "NextRun %v ahead", rep.NextRun)
	})
	require.Equal(t, hourlyBackOff(), tried, "tried after 1, 2, 4 … minutes, then hourly")
}

// TestFailingUserLookupBacksOffOnTheUser (issue 25): alice's Kisi user was
// made by hand, so its create is refused (the email is taken) and the
// lookup after it fails (503), run after run. A grant of hers that comes
// half an hour later waits for the back-off of her user, which is what
// fails, rather than starting one of its own: in two hours her user is
// looked up in a handful of runs.
func TestFailingUserLookupBacksOffOnTheUser(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	_, err := e.srv.AddUser("alice@example.com", "Alice", false)
	require.NoError(t, err)
	answer(e, http.MethodGet, http.StatusServiceUnavailable)
	s := baseSnapshot()
	s.Plans = []access.Plan{{ID: "p-alice", PlanID: "pro", MemberID: "alice", Start: cest("09:00"), Status: access.PlanActive}}
	start, runs := e.clock.Now(), 0
	for e.clock.Now().Before(start.Add(2 * time.Hour)) {
		if len(s.Bookings) == 0 && e.clock.Now().After(start.Add(30*time.Minute)) {
			s.Bookings = []access.Booking{bookingOf("bk1", "alice", "room1", "14:00", "23:00")}
		}
		e.srv.ResetRequests()
		rep, _ := e.r.Sync(t.Context(), s)
		if e.srv.Count(http.MethodGet, "/users") > 0 {
			runs++
		}
		require.True(t, slices.ContainsFunc(rep.Parked, func(p access.Parked) bool { return p.Email == "alice@example.com" }) ||
			slices.ContainsFunc(rep.Failures, func(f access.Failure) bool { return f.Email == "alice@example.com" }),
			"the report names alice at %s", e.clock.Now())
		wake := start.Add(31 * time.Minute)
		if !e.clock.Now().Before(wake) || rep.NextRun.Before(wake) {
			wake = rep.NextRun
		}
		e.clock.Advance(wake.Sub(e.clock.Now()))
	}
	require.LessOrEqual(t, runs, 8, "alice's user looked up in %d runs in two hours", runs)
}

// TestUnknownOutcomeLookupBacksOff (issue 25): a role create's answer is
// lost, and every lookup of it after fails (Kisi answers 503 to reads).
// The host wakes a run every five minutes (its data keeps changing); the
// lookup backs off like any failing key — after 1, 2, 4 … minutes, then
// hourly — instead of being sent by every run, and the report names it.
func TestUnknownOutcomeLookupBacksOff(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	s := aliceSynced(e)
	lost := true
	e.srv.Intercept(func(r *http.Request) kisitest.Fault {
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/role_assignments" && lost:
			lost = false
			return kisitest.Fault{Lost: true}
		case r.Method == http.MethodGet && r.URL.Path == "/role_assignments":
			return kisitest.Fault{Status: http.StatusServiceUnavailable}
		}
		return kisitest.Fault{}
	})
	s.Bookings = []access.Booking{bookingOf("bk1", "alice", "room1", "13:00", "23:00")}
	start, looked := e.clock.Now(), 0
	for i := 0; e.clock.Now().Before(start.Add(3 * time.Hour)); i++ {
		s.Members[1].Name = fmt.Sprintf("Bob %d", i) // the host's data changes: a run
		e.srv.ResetRequests()
		rep, _ := e.r.Sync(t.Context(), s)
		if e.srv.Count(http.MethodGet, "/role_assignments") > 0 {
			looked++
		}
		require.True(t, slices.ContainsFunc(rep.Parked, func(p access.Parked) bool { return p.Email == "alice@example.com" }) ||
			slices.ContainsFunc(rep.Failures, func(f access.Failure) bool { return f.Email == "alice@example.com" }),
			"the report names alice at %s", e.clock.Now())
		e.clock.Advance(5 * time.Minute)
	}
	require.LessOrEqual(t, looked, 9, "the lost create looked up in %d of 36 runs in three hours", looked)
}

// TestMemberRefusedOutrightBacksOff (issue 25): alice's booking in force is
// extended, and from then on Kisi refuses every role create for her (422),
// the new window and her old one alike. The replacement's delete went
// through, so she is without a role: Kisi refusing the member outright is
// the one exception to "no lockout", reported — and her create backs off
// like any refused key instead of being sent by every run.
func TestMemberRefusedOutrightBacksOff(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	s := baseSnapshot()
	s.Bookings = []access.Booking{bookingOf("bk1", "alice", "room1", "13:00", "15:00")}
	e.sync(s)
	answerRoleCreates(e, http.StatusUnprocessableEntity)
	s.Bookings[0].End = cest("17:00")
	start, tried := e.clock.Now(), 0
	for e.clock.Now().Before(start.Add(time.Hour)) {
		e.srv.ResetRequests()
		rep, _ := e.r.Sync(t.Context(), s)
		if e.srv.Count(http.MethodPost, "/role_assignments") > 0 {
			tried++
		}
		require.True(t, slices.ContainsFunc(rep.Parked, func(p access.Parked) bool { return p.Email == "alice@example.com" }) ||
			slices.ContainsFunc(rep.Failures, func(f access.Failure) bool { return f.Email == "alice@example.com" }),
			"the report names alice at %s", e.clock.Now())
		e.clock.Advance(time.Minute)
	}
	require.LessOrEqual(t, tried, 7, "alice's create sent in %d runs in an hour", tried)
}

// TestFailingKeyKeepsItsBackOffAcrossScopes (issue 25): a cancelled guest's
// link cannot be deleted for three hours — Kisi throttles the whole
// organization (429) for two, then refuses the key on the group's links
// (403), or the other way round. The delete has been failing all along, so
// once the first scope's back-off is over it goes on backing off from
// there, hourly, instead of starting again at a minute because the failure
// changed scope.
func TestFailingKeyKeepsItsBackOffAcrossScopes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name          string
		first, second int
	}{
		{"throttled, then forbidden", http.StatusTooManyRequests, http.StatusForbidden},
		{"forbidden, then throttled", http.StatusForbidden, http.StatusTooManyRequests},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newRig(t, rigConfig{dropIn: mapping.DropIn{Link: true}})
			s := baseSnapshot()
			s.Bookings = []access.Booking{{ID: "g1", ResourceID: "room1", Guest: &access.Guest{Name: "Gus", Email: "gus@example.org"},
				Start: cest("18:00"), End: cest("19:00")}}
			require.Equal(t, 1, e.sync(s).Created)
			start := e.clock.Now()
			e.srv.Intercept(func(r *http.Request) kisitest.Fault {
				switch {
				case e.clock.Now().Before(start.Add(2*time.Hour)) && (tc.first == http.StatusTooManyRequests || r.Method == http.MethodDelete):
					return kisitest.Fault{Status: tc.first}
				case !e.clock.Now().Before(start.Add(2*time.Hour)) && (tc.second == http.StatusTooManyRequests || r.Method == http.MethodDelete):
					return kisitest.Fault{Status: tc.second}
				}
				return kisitest.Fault{}
			})
			s.Bookings = nil
			tried := 0
			for e.clock.Now().Before(start.Add(3 * time.Hour)) {
				e.srv.ResetRequests()
				rep, _ := e.r.Sync(t.Context(), s)
				if !e.clock.Now().Before(start.Add(2*time.Hour)) && e.srv.Count(http.MethodDelete, "/group_links") > 0 {
					tried++
				}
				e.clock.Advance(max(rep.NextRun.Sub(e.clock.Now()), time.Minute))
			}
			require.LessOrEqual(t, tried, 2, "the delete tried in %d runs in the third hour", tried)
		})
	}
}

// TestRefusedKeyWaitsWhileItsEndMoves (issue 25): Kisi refuses alice's
// grant (422) while a broken export moves her plan's End to five minutes
// after each export. The window's start stays: the refusal backs off as for
// the same window instead of going through at every run because its end
// moved.
func TestRefusedKeyWaitsWhileItsEndMoves(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	answerRoleCreates(e, http.StatusUnprocessableEntity)
	tried := minuteRunsSending(e, time.Hour, http.MethodPost, "/role_assignments", func(now time.Time) access.Snapshot {
		s := baseSnapshot()
		s.Plans = []access.Plan{{ID: "p1", PlanID: "pro", MemberID: "alice", Start: cest("09:00"),
			End: now.Add(5 * time.Minute), Status: access.PlanActive}}
		return s
	})
	require.LessOrEqual(t, tried, 7, "alice's refused grant sent in %d runs in an hour", tried)
}

// TestRefusedKeyKeepsItsBackOffThroughAGap (issue 25): Kisi refuses alice's
// grant (422) and the host's export drops her booking for ten minutes every
// half hour (a truncated export). The refusal's back-off is kept while the
// booking is missing, and goes on when it comes back instead of starting
// again at a minute.
func TestRefusedKeyKeepsItsBackOffThroughAGap(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	answerRoleCreates(e, http.StatusUnprocessableEntity)
	start := e.clock.Now()
	tried := minuteRunsSending(e, 3*time.Hour, http.MethodPost, "/role_assignments", func(now time.Time) access.Snapshot {
		s := baseSnapshot()
		if now.Sub(start)%(30*time.Minute) < 20*time.Minute {
			s.Bookings = []access.Booking{bookingOf("bk1", "alice", "room1", "13:00", "23:00")}
		}
		return s
	})
	require.LessOrEqual(t, tried, 9, "alice's refused grant sent in %d runs in three hours", tried)
}

// answerRoleCreates answers every role create with status.
func answerRoleCreates(e *rig, status int) {
	e.srv.Intercept(func(r *http.Request) kisitest.Fault {
		if r.Method == http.MethodPost && r.URL.Path == "/role_assignments" {
			return kisitest.Fault{Status: status}
		}
		return kisitest.Fault{}
	})
}

// minuteRunsSending syncs the snapshot snap gives at each minute for d, and
// returns how many of those runs sent a request of method to path.
func minuteRunsSending(e *rig, d time.Duration, method, path string, snap func(now time.Time) access.Snapshot) int {
	e.t.Helper()
	start, runs := e.clock.Now(), 0
	for e.clock.Now().Before(start.Add(d)) {
		e.srv.ResetRequests()
		_, _ = e.r.Sync(e.t.Context(), snap(e.clock.Now()))
		if e.srv.Count(method, path) > 0 {
			runs++
		}
		e.clock.Advance(time.Minute)
	}
	return runs
}
