package access_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/internal/textfmt"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/kisi/kisitest"
	"github.com/kisisync/kisisync/mapping"
	"github.com/kisisync/kisisync/schedule"
)

// faultSnapshot is a small busy space: regular and managed members with
// plans, bookings in one- and two-group rooms, a team and a drop-in guest.
func faultSnapshot(phase int) access.Snapshot {
	s := baseSnapshot()
	for i := range 6 {
		s.Members = append(s.Members, access.Member{ID: fmt.Sprintf("m%d", i), Email: fmt.Sprintf("m%d@example.com", i),
			Name: fmt.Sprintf("M%d", i), Managed: i%2 == 0})
	}
	s.Members = append(s.Members, access.Member{ID: "dave", Email: "dave@example.com"})
	s.Teams = []access.Team{{ID: "t1", MemberIDs: []string{"m4", "m5"}}}
	s.Plans = []access.Plan{
		{ID: "p1", PlanID: "pro", MemberID: "alice", Start: cest("09:00"), Status: access.PlanActive},
		{ID: "p2", PlanID: "pro", MemberID: "m0", Start: cest("09:00"), End: cest("20:00"), Status: access.PlanActive},
		{ID: "p3", PlanID: "pro", TeamID: "t1", Start: cest("09:00"), Status: access.PlanActive},
	}
	s.Bookings = []access.Booking{
		bookingOf("b1", "alice", "room1", "14:00", "15:00"),
		bookingOf("b2", "bob", "room2", "13:30", "14:30"),
		bookingOf("b3", "m1", "room2", "14:00", "16:00"),
		bookingOf("b4", "m2", "room1", "13:00", "13:50"),
		bookingOf("b5", "m3", "room1", "13:45", "18:00"),
		bookingOf("b6", "dave", "room1", "14:00", "15:00"),
		{ID: "g1", ResourceID: "room2", Guest: &access.Guest{Name: "Gus", Email: "gus@example.com"}, Start: cest("16:00"), End: cest("17:00")},
	}
	if phase >= 1 {
		// Cancellations, moves and a new booking.
		s.Plans[1].Status = access.PlanCancelled
		s.Bookings[0] = bookingOf("b1", "alice", "room1", "13:50", "14:30")
		s.Bookings[1] = bookingOf("b7", "m1", "room1", "14:00", "15:00")
		s.Bookings[2] = bookingOf("b3", "m1", "room2", "13:45", "16:00")
		s.Bookings[6].Start, s.Bookings[6].End = cest("16:30"), cest("17:30")
		s.Bookings = append(s.Bookings, access.Booking{ID: "g2", ResourceID: "room1",
			Guest: &access.Guest{Name: "Gina", Email: "gina@example.com"}, Start: cest("18:00"), End: cest("19:00")})
	}
	return s
}

func TestFaultsConverge(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		seed int64
		drop bool
	}{
		{"lost responses answered 500", 0, false},
		{"lost responses as dropped connections", 1000, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			testFaults(t, tc.seed, tc.drop)
		})
	}
}

// testFaults: with 30% of requests failing and 20% of responses lost,
// repeated runs converge to exactly the desired state, and after every run
// there is no duplicate, no access outside a desired window and no change
// to objects the SDK does not manage.
func testFaults(t *testing.T, seed int64, drop bool) {
	e := newRig(t, rigConfig{dropIn: mapping.DropIn{Link: true, QR: true}})
	ctx := t.Context()
	daveID, err := e.srv.AddUser("dave@example.com", "Dave", false)
	require.NoError(t, err)
	hand, _, err := e.client.CreateRoleAssignment(ctx, &kisi.RoleAssignmentCreateRequest{RoleID: kisi.RoleGroupBasic,
		AppliesToType: "Group", AppliesToID: e.room, AssigneeType: "User", AssigneeID: daveID, ValidUntil: kisi.Ptr(cest("23:00").UTC())})
	require.NoError(t, err)
	_, _, err = e.client.CreateGroupLink(ctx, &kisi.GroupLinkCreateRequest{GroupID: e.other, Name: "Cleaner", Email: kisi.Ptr("cleaner@example.com")})
	require.NoError(t, err)

	var failed int
	for run := range 36 {
		phase := 0
		if run >= 12 {
			phase = 1
		}
		if run == 24 {
			e.clock.Advance(35 * time.Minute) // 14:15: windows end and begin
		}
		s := faultSnapshot(phase)
		e.srv.SetFaults(kisitest.Faults{Seed: seed + int64(run+1), ErrorRate: 0.3, LostRate: 0.2, DropConnection: drop})
		rep, err := e.r.Sync(ctx, s)
		e.srv.SetFaults(kisitest.Faults{})
		if err != nil || rep.Unresolved > 0 {
			failed++
		}
		e.checkInvariants(t, s, hand.ID, fmt.Sprintf("run %d", run))
	}
	require.Positive(t, failed, "faults were injected")

	// Converged: with faults still on, runs a minute apart (so that the
	// keys that failed come out of their back-off, which reaches an hour
	// for keys failing since before the 35 minutes the clock jumped)
	// eventually succeed cleanly, and then Kisi holds exactly the desired
	// access.
	s := faultSnapshot(1)
	clean := false
	for run := range 240 {
		e.clock.Advance(time.Minute)
		e.srv.SetFaults(kisitest.Faults{Seed: seed + int64(100+run), ErrorRate: 0.3, LostRate: 0.2, DropConnection: drop})
		rep, err := e.r.Sync(ctx, s)
		e.srv.SetFaults(kisitest.Faults{})
		e.checkInvariants(t, s, hand.ID, fmt.Sprintf("converge run %d", run))
		if err == nil && rep.Unresolved == 0 {
			c, err := e.r.Plan(ctx, s)
			require.NoError(t, err)
			if c.Empty() && len(c.Parked) == 0 {
				clean = true
				break
			}
		}
	}
	require.True(t, clean, "runs converge")
	e.checkExact(t, s)
}

// checkInvariants: no access outside a desired window, no duplicate link,
// the unmanaged role and link untouched.
func (e *rig) checkInvariants(t *testing.T, s access.Snapshot, handRole int64, when string) {
	t.Helper()
	now := e.clock.Now()
	horizon := schedule.Interval{Start: now.Add(-24 * time.Hour), End: now.Add(48 * time.Hour)}
	allowed, _ := access.Access(s, e.m, access.DefaultPolicy(), horizon)
	ctx := t.Context()
	users := e.users()
	for _, g := range []int64{e.room, e.pro, e.other} {
		ras, _, err := e.client.ListRoleAssignments(ctx, &kisi.RoleAssignmentListOptions{AppliesToType: "Group", AppliesToID: g, ListOptions: kisi.ListOptions{Limit: 250}})
		require.NoError(t, err)
		seen := map[int64]bool{}
		for _, ra := range ras {
			require.False(t, seen[ra.AssigneeID], "%s: duplicate role for user %d in group %d", when, ra.AssigneeID, g)
			seen[ra.AssigneeID] = true
			if ra.ID == handRole {
				continue
			}
			email := users[ra.AssigneeID].Email
			w := schedule.Interval{Start: *ra.ValidFrom, End: schedule.Forever}
			if ra.ValidUntil != nil {
				w.End = *ra.ValidUntil
			}
			ok := false
			for _, gr := range allowed {
				if gr.Email == email && gr.GroupID == g && !w.Start.Before(gr.Window.Start) && !w.End.After(gr.Window.End) {
					ok = true
				}
			}
			require.True(t, ok, "%s: %s holds group %d during %v–%v, outside every desired window", when, email, g, w.Start, w.End)
		}
		links, _, err := e.client.ListGroupLinks(ctx, &kisi.GroupLinkListOptions{GroupID: g, ListOptions: kisi.ListOptions{Limit: 250}})
		require.NoError(t, err)
		byEmail := map[string]int{}
		for _, l := range links {
			byEmail[*l.Email]++
			require.Equal(t, 1, byEmail[*l.Email], "%s: duplicate link for %s in group %d", when, *l.Email, g)
		}
		if g == e.other {
			require.Equal(t, 1, byEmail["cleaner@example.com"], "%s: unmanaged link deleted", when)
		}
	}
	ras, _, err := e.client.ListRoleAssignments(ctx, &kisi.RoleAssignmentListOptions{AppliesToType: "Group", AppliesToID: e.room, ListOptions: kisi.ListOptions{Limit: 250}})
	require.NoError(t, err)
	found := false
	for _, ra := range ras {
		if ra.ID == handRole {
			found = true
			require.True(t, ra.ValidUntil.Equal(cest("23:00")), "%s: unmanaged role edited", when)
		}
	}
	require.True(t, found, "%s: unmanaged role deleted", when)
}

// checkExact compares Kisi with Desired and Links.
func (e *rig) checkExact(t *testing.T, s access.Snapshot) {
	t.Helper()
	now := e.clock.Now()
	grants, _ := access.Desired(s, e.m, access.DefaultPolicy(), now)
	want := map[string]bool{}
	for _, g := range grants {
		if g.Email == "dave@example.com" && g.GroupID == e.room {
			continue // held back by the unmanaged role
		}
		want[fmt.Sprintf("%s→%d %s", g.Email, g.GroupID, heldLabel(g.Window, now))] = true
	}
	got := map[string]bool{}
	for _, r := range e.roles() {
		if r.Email == "dave@example.com" && r.Group == e.room {
			continue
		}
		got[fmt.Sprintf("%s→%d %s", r.Email, r.Group, heldLabel(r.Window, now))] = true
	}
	require.Equal(t, want, got)

	links, _ := access.Links(s, e.m, access.DefaultPolicy(), now)
	wantL := map[string]bool{}
	for _, l := range links {
		wantL[fmt.Sprintf("%s→%d %s", l.Email, l.GroupID, textfmt.Window(l.Window, time.UTC))] = true
	}
	gotL := map[string]bool{}
	for _, l := range e.links() {
		if *l.Email == "cleaner@example.com" {
			continue
		}
		gotL[fmt.Sprintf("%s→%d %s", *l.Email, l.GroupID, textfmt.Window(schedule.Interval{Start: *l.ValidFrom, End: *l.ValidUntil}, time.UTC))] = true
	}
	require.Equal(t, wantL, gotL)
}
