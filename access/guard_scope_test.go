package access_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
)

// TestGuardJudgesTheMembersRecords (issue 27): a cut is judged by the
// records the snapshot gives for the access it cuts. A status that says
// the access ended is explicit, whatever else of the member the snapshot
// still holds (an earlier plan that ended, a plan for another group), and
// a record adopted by Verify without its sources is judged by the records
// of its member that the mapping sends to its group.
func TestGuardJudgesTheMembersRecords(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// lostStore loses the Store and runs Verify before change.
		lostStore bool
		setup     func(e *rig, s *access.Snapshot)
		change    func(s *access.Snapshot)
		deleted   int
	}{
		{
			name: "month end: 8 of 10 plans cancelled, each member with an earlier plan that ended",
			setup: func(e *rig, s *access.Snapshot) {
				addPlanMembers(s, "m", 10)
				for i := range 10 {
					id := fmt.Sprintf("m%d", i)
					s.Plans = append(s.Plans, access.Plan{ID: "old" + id, PlanID: "pro", MemberID: id,
						Start: cest("07:00"), End: cest("09:00"), Status: access.PlanActive})
				}
			},
			change: func(s *access.Snapshot) {
				for i := range 8 {
					s.Plans[i].Status = access.PlanCancelled
				}
			},
			deleted: 8,
		},
		{
			name:      "after a lost Store, a team plan cancelled while its members keep a plan for another group",
			lostStore: true,
			setup: func(e *rig, s *access.Snapshot) {
				e.m.Plans["lounge"] = []int64{e.other}
				team := access.Team{ID: "acme"}
				for i := range 6 {
					id := fmt.Sprintf("acme%d", i)
					s.Members = append(s.Members, access.Member{ID: id, Email: id + "@example.com", Managed: true})
					s.Plans = append(s.Plans, access.Plan{ID: "p" + id, PlanID: "lounge", MemberID: id, Start: cest("09:00"),
						Status: access.PlanActive})
					team.MemberIDs = append(team.MemberIDs, id)
				}
				s.Teams = []access.Team{team}
				s.Plans = append(s.Plans, access.Plan{ID: "p-acme", PlanID: "pro", TeamID: "acme", Start: cest("09:00"),
					Status: access.PlanActive})
			},
			change:  func(s *access.Snapshot) { s.Plans[len(s.Plans)-1].Status = access.PlanCancelled },
			deleted: 6,
		},
		{
			name:      "after a lost Store, the location's time zone exported unknown",
			lostStore: true,
			setup: func(e *rig, s *access.Snapshot) {
				addPlanMembers(s, "m", 10)
				for i := range 4 {
					id := fmt.Sprintf("b%d", i)
					s.Members = append(s.Members, access.Member{ID: id, Email: id + "@example.com", Managed: true})
					s.Bookings = append(s.Bookings, bookingOf("bk-"+id, id, "room1", "13:00", "15:00"))
				}
			},
			change:  func(s *access.Snapshot) { s.Locations[0].TimeZone = "Europe/Atlantis" },
			deleted: 0,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newRig(t, rigConfig{})
			s := baseSnapshot()
			e.m.Plans = map[string][]int64{"pro": {e.pro}}
			tc.setup(e, &s)
			e.r = e.reconcilerWith(e.client)
			before := e.sync(s).Created
			require.Positive(t, before)
			if tc.lostStore {
				e.loseStore()
				_, err := e.r.Verify(t.Context())
				require.NoError(t, err)
			}
			tc.change(&s)
			rep, err := e.r.Sync(t.Context(), s)
			require.NoError(t, err)
			require.Empty(t, rep.Held)
			require.Equal(t, tc.deleted, rep.Deleted)
			require.Len(t, e.roles(), before-tc.deleted)
		})
	}
}

// TestGuardScopeIsTheLocation (issue 27): the guard judges cuts per
// location and kind of source. An empty bookings export cuts the meetings
// of two rooms of one location, 3 in each room (no more than the floor
// per room), 6 of the 26 managed grants (under 25%): over the bookings at
// that location it is every one of them, and they are held.
func TestGuardScopeIsTheLocation(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	e.m.Resources = map[string][]int64{"room1": {e.room}, "room2": {e.other}}
	e.r = e.reconcilerWith(e.client)
	s := baseSnapshot()
	addPlanMembers(&s, "m", 20)
	for i := range 6 {
		id := fmt.Sprintf("b%d", i)
		s.Members = append(s.Members, access.Member{ID: id, Email: id + "@example.com", Managed: true})
		s.Bookings = append(s.Bookings, bookingOf("bk-"+id, id, fmt.Sprintf("room%d", 1+i%2), "13:00", "15:00"))
	}
	require.Equal(t, 26, e.sync(s).Created)

	broken := s
	broken.Bookings = nil
	rep, err := e.r.Sync(t.Context(), broken)
	var rle *access.RevokeLimitError
	require.ErrorAs(t, err, &rle)
	require.Len(t, rep.Held, 6)
	require.Equal(t, "the bookings at ber", rle.Scope)
	require.Equal(t, 6, rle.Managed, "the scope's base")
	require.Len(t, e.roles(), 26)
}

// TestRejectedRecordShortensNothing (issue 27): a record present but
// invalid never cuts, not even part of a window: a meeting exported with
// an unknown room keeps the window it made with the member's earlier one.
func TestRejectedRecordShortensNothing(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	s := baseSnapshot()
	s.Bookings = []access.Booking{bookingOf("b1", "alice", "room1", "13:00", "15:00"), bookingOf("b2", "alice", "room1", "15:00", "18:00")}
	e.sync(s)
	held := e.roles()

	broken := s
	broken.Bookings = []access.Booking{s.Bookings[0], bookingOf("b2", "alice", "room9", "15:00", "18:00")}
	rep, err := e.r.Sync(t.Context(), broken)
	require.NoError(t, err)
	require.Len(t, rep.Skipped, 1)
	require.Zero(t, rep.Replaced+rep.Deleted)
	require.Equal(t, held, e.roles())
}
