package access_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/mapping"
)

// TestGuardJudgesTheCause (issue 27): cuts a record present in the
// snapshot asks for — a plan cancelled with its status, a team plan
// cancelled, a check-out, members suspended — are routine life and applied
// however many; records present but invalid cut nothing at all.
func TestGuardJudgesTheCause(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		setup   func(s *access.Snapshot)
		change  func(s *access.Snapshot)
		deleted int
	}{
		{
			name: "a 30-member company cancels its team plan in a space of 50",
			setup: func(s *access.Snapshot) {
				addPlanMembers(s, "solo", 20)
				team := access.Team{ID: "acme"}
				for i := range 30 {
					id := fmt.Sprintf("acme%d", i)
					s.Members = append(s.Members, access.Member{ID: id, Email: id + "@example.com", Managed: true})
					team.MemberIDs = append(team.MemberIDs, id)
				}
				s.Teams = []access.Team{team}
				s.Plans = append(s.Plans, access.Plan{ID: "p-acme", PlanID: "pro", TeamID: "acme", Start: cest("09:00"), Status: access.PlanActive})
			},
			change:  func(s *access.Snapshot) { s.Plans[len(s.Plans)-1].Status = access.PlanCancelled },
			deleted: 30,
		},
		{
			name:  "month end: 8 of 10 plans cancelled",
			setup: func(s *access.Snapshot) { addPlanMembers(s, "m", 10) },
			change: func(s *access.Snapshot) {
				for i := range 8 {
					s.Plans[i].Status = access.PlanCancelled
				}
			},
			deleted: 8,
		},
		{
			name:  "9 of 10 members suspended",
			setup: func(s *access.Snapshot) { addPlanMembers(s, "m", 10) },
			change: func(s *access.Snapshot) {
				for i := 2; i < 11; i++ { // s.Members[0] and [1] are alice and bob
					s.Members[i].Suspended = true
				}
			},
			deleted: 9,
		},
		{
			name: "every member of a location checked out at once",
			setup: func(s *access.Snapshot) {
				for i := range 10 {
					id := fmt.Sprintf("drop%d", i)
					s.Members = append(s.Members, access.Member{ID: id, Email: id + "@example.com", Managed: true})
					s.CheckIns = append(s.CheckIns, access.CheckIn{ID: "c" + id, MemberID: id, LocationID: "ber", At: cest("10:00")})
				}
			},
			change: func(s *access.Snapshot) {
				for i := range s.CheckIns {
					s.CheckIns[i].Out = cest("13:39")
				}
			},
			deleted: 10,
		},
		{
			name: "the location's time zone exported empty",
			setup: func(s *access.Snapshot) {
				addPlanMembers(s, "m", 2)
				for i := range 10 {
					id := fmt.Sprintf("drop%d", i)
					s.Members = append(s.Members, access.Member{ID: id, Email: id + "@example.com", Managed: true})
					s.CheckIns = append(s.CheckIns, access.CheckIn{ID: "c" + id, MemberID: id, LocationID: "ber", At: cest("10:00")})
				}
			},
			change:  func(s *access.Snapshot) { s.Locations[0].TimeZone = "" },
			deleted: 0,
		},
		{
			name: "the members list exported empty, a team plan still naming its members",
			setup: func(s *access.Snapshot) {
				addPlanMembers(s, "solo", 20)
				team := access.Team{ID: "acme"}
				for i := range 4 {
					id := fmt.Sprintf("acme%d", i)
					s.Members = append(s.Members, access.Member{ID: id, Email: id + "@example.com", Managed: true})
					team.MemberIDs = append(team.MemberIDs, id)
				}
				s.Teams = []access.Team{team}
				s.Plans = append(s.Plans, access.Plan{ID: "p-acme", PlanID: "pro", TeamID: "acme", Start: cest("09:00"), Status: access.PlanActive})
			},
			change:  func(s *access.Snapshot) { s.Members = nil },
			deleted: 0,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newRig(t, rigConfig{checkIns: true})
			s := baseSnapshot()
			tc.setup(&s)
			before := e.sync(s).Created
			require.Positive(t, before)
			tc.change(&s)
			rep, err := e.r.Sync(t.Context(), s)
			require.NoError(t, err)
			require.Empty(t, rep.Held)
			require.Equal(t, tc.deleted, rep.Deleted)
			require.Len(t, e.roles(), before-tc.deleted)
		})
	}
}

// TestSentLinksAreCuts (issue 27): an export that loses the bookings of
// next week would delete the guests' links, already emailed; when the
// bookings come back, each guest would get a second email while the first
// one's link no longer worked. Deleting a sent link is a cut: the guard
// holds them, and the sound export that follows changes nothing.
func TestSentLinksAreCuts(t *testing.T) {
	t.Parallel()
	notes := &recordingNotifier{}
	e := newRig(t, rigConfig{dropIn: mapping.DropIn{Link: true}, opts: []access.Option{access.WithNotifier(notes)}})
	s := baseSnapshot()
	addPlanMembers(&s, "m", 4)
	addGuests(&s, 10, cest("17:00").AddDate(0, 0, 7))
	e.sync(s)
	require.Len(t, e.links(), 10)

	broken := s
	broken.Bookings = nil
	rep, err := e.r.Sync(t.Context(), broken)
	var rle *access.RevokeLimitError
	require.ErrorAs(t, err, &rle)
	require.Len(t, rep.Held, 10)
	require.Len(t, e.links(), 10, "the links stay")

	e.srv.ResetRequests()
	e.sync(s)
	require.Empty(t, e.writes())
	require.Len(t, notes.links, 10, "no second email")
}

// TestFutureLinksDoNotDiluteTheGuard (issue 27): the guard's limits are
// shares of the access in force or entering Kisi within the lead time.
// Forty guests booked for next week do not count: an export that drops
// every plan of a ten-member space is held.
func TestFutureLinksDoNotDiluteTheGuard(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{dropIn: mapping.DropIn{Link: true}})
	s := baseSnapshot()
	addPlanMembers(&s, "m", 10)
	addGuests(&s, 40, cest("17:00").AddDate(0, 0, 7))
	e.sync(s)
	require.Len(t, e.roles(), 10)

	broken := s
	broken.Plans = nil
	rep, err := e.r.Sync(t.Context(), broken)
	var rle *access.RevokeLimitError
	require.ErrorAs(t, err, &rle)
	require.Len(t, rep.Held, 10)
	require.Equal(t, 10, rle.Managed, "the base is the access in force")
	require.Len(t, e.roles(), 10)
}

// TestMonthEndAfterLostStore (issue 27): right after a lost Store, the
// roles Verify adopted have no sources; month-end cancellations (4 of 10
// plans, with their status) are still explicit cuts and applied, judged
// by the members' records in the snapshot.
func TestMonthEndAfterLostStore(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	s := baseSnapshot()
	addPlanMembers(&s, "m", 10)
	e.sync(s)
	e.loseStore()
	_, err := e.r.Verify(t.Context())
	require.NoError(t, err)

	for i := range 4 {
		s.Plans[i].Status = access.PlanCancelled
	}
	rep, err := e.r.Sync(t.Context(), s)
	require.NoError(t, err)
	require.Empty(t, rep.Held)
	require.Equal(t, 4, rep.Deleted)
	require.Len(t, e.roles(), 6)
}

// addGuests adds n drop-in guests, bk0… with emails bk0@example.org…,
// each booking room1 for an hour from start.
func addGuests(s *access.Snapshot, n int, start time.Time) {
	for i := range n {
		id := fmt.Sprintf("bk%d", i)
		s.Bookings = append(s.Bookings, access.Booking{ID: id, ResourceID: "room1",
			Guest: &access.Guest{Name: "Guest " + id, Email: id + "@example.org"}, Start: start, End: start.Add(time.Hour)})
	}
}

// TestGuardJudgesEachScope (issue 27): an export drops 4 of the 9 plan
// members of a space whose other 30 members are in meetings. Over all
// managed access that is 4 of 39, under the limit; over the plans of the
// front door's group it is 4 of 9, a broken export. Those 4 cuts are
// held; a booking ended explicitly elsewhere is applied.
func TestGuardJudgesEachScope(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	s := baseSnapshot()
	addPlanMembers(&s, "m", 9)
	for i := range 30 {
		id := fmt.Sprintf("b%d", i)
		s.Members = append(s.Members, access.Member{ID: id, Email: id + "@example.com", Managed: true})
		s.Bookings = append(s.Bookings, bookingOf("bk-"+id, id, "room1", "09:00", "18:00"))
	}
	e.sync(s)

	s.Plans = s.Plans[4:]                               // m0 … m3 vanish
	s.Bookings[0].End = e.clock.Now().Add(-time.Minute) // b0's meeting ended early
	rep, err := e.r.Sync(t.Context(), s)
	var rle *access.RevokeLimitError
	require.ErrorAs(t, err, &rle)
	require.Len(t, rep.Held, 4, "the plans' cuts are held")
	for _, ch := range rep.Held {
		require.Equal(t, access.CutVanished, ch.Cut)
	}
	require.Equal(t, 4, rle.Revocations)
	require.Equal(t, 9, rle.Managed, "the scope's base")
	require.Contains(t, rle.Scope, "plans of")
	require.Equal(t, 1, rep.Deleted+rep.Replaced, "the routine cut elsewhere is applied")
}

// TestCheckOutDoesNotExplainAVanishedPlan (issue 27): ten members hold the
// lounge both by their plan and by today's check-in. An export that lost
// every plan comes with the automatic check-out: each member's access to
// the lounge ends, but the check-out explains only the check-in's part —
// the plan's part vanished with the broken export. The cuts are suspect and
// held; they are not applied as the routine check-out.
func TestCheckOutDoesNotExplainAVanishedPlan(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{checkIns: true})
	e.m.Plans["lounge"] = []int64{e.other}
	e.r = e.reconcilerWith(e.client)
	s := baseSnapshot()
	for i := range 10 {
		id := fmt.Sprintf("m%d", i)
		s.Members = append(s.Members, access.Member{ID: id, Email: id + "@example.com", Managed: true})
		s.Plans = append(s.Plans, access.Plan{ID: "p" + id, PlanID: "lounge", MemberID: id, Start: cest("09:00"), Status: access.PlanActive})
		s.CheckIns = append(s.CheckIns, access.CheckIn{ID: "c" + id, MemberID: id, LocationID: "ber", At: cest("10:00")})
	}
	e.sync(s)
	require.Len(t, e.roles(), 10)

	s.Plans = nil
	for i := range s.CheckIns {
		s.CheckIns[i].Out = cest("13:39")
	}
	rep, err := e.r.Sync(t.Context(), s)
	var rle *access.RevokeLimitError
	require.ErrorAs(t, err, &rle)
	require.Len(t, rep.Held, 10)
	for _, ch := range rep.Held {
		require.Equal(t, access.CutVanished, ch.Cut)
	}
	require.Len(t, e.roles(), 10, "the plan members keep the lounge")
}
