package access_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/reason"
)

// TestSuspendedMember: the platform suspends a member (unpaid invoices)
// and keeps their plan. The member's role is revoked, Explain says why,
// and lifting the suspension grants the plan again.
func TestSuspendedMember(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	s := baseSnapshot()
	s.Plans = []access.Plan{{ID: "p1", PlanID: "pro", MemberID: "alice", Start: cest("09:00"), Status: access.PlanActive}}
	require.Equal(t, 1, e.sync(s).Created)

	s.Members[0].Suspended = true
	grants, err := access.Desired(s, e.m, access.DefaultPolicy(), e.clock.Now())
	require.NoError(t, err)
	require.Empty(t, grants, "a suspended member is granted nothing")
	rep := e.sync(s)
	require.Equal(t, 1, rep.Deleted)
	require.Empty(t, e.roles())

	x, err := access.Explain(s, e.m, access.DefaultPolicy(), "alice", e.clock.Now())
	require.NoError(t, err)
	require.Equal(t, reason.MemberSuspended, x.ProblemCode)
	require.Contains(t, x.Problem, "suspended by the platform")

	s.Members[0].Suspended = false
	require.Equal(t, 1, e.sync(s).Created, "granted again once the suspension is lifted")
}

// TestUserDeletedByHandIsRespected: an admin deletes a member's Kisi user
// to remove their access while the plan stays. The reconciler does not
// create the user again: the grant is parked (class user_deleted, named in
// the report) and looked up with back-off, and resumes once someone
// creates a user with the member's email in Kisi.
func TestUserDeletedByHandIsRespected(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	s := baseSnapshot()
	s.Bookings = []access.Booking{bookingOf("bk1", "alice", "room1", "14:00", "15:00")}
	e.sync(s)
	for id, u := range e.users() {
		if u.Email == "alice@example.com" {
			_, err := e.client.Users.Delete(t.Context(), id)
			require.NoError(t, err)
		}
	}

	s.Bookings[0].End = cest("16:00")
	rep, _ := e.r.Sync(t.Context(), s)
	require.Zero(t, rep.UsersCreated, "not created again")
	require.Len(t, rep.Parked, 1)
	require.Equal(t, access.FailureUserDeleted, rep.Parked[0].Class)
	require.Contains(t, rep.Parked[0].Reason, "alice@example.com")

	// Within the back-off nothing is sent; after it, one lookup.
	e.srv.ResetRequests()
	rep = e.sync(s)
	require.Empty(t, e.srv.Requests())
	require.Len(t, rep.Parked, 1)
	e.clock.Advance(time.Minute)
	e.srv.ResetRequests()
	rep, _ = e.r.Sync(t.Context(), s)
	require.Empty(t, e.writes(), "still deleted: nothing created")
	require.Zero(t, rep.UsersCreated)

	// The host creates the user again in Kisi: the grant follows.
	_, err := e.srv.AddUser("alice@example.com", "Alice", false)
	require.NoError(t, err)
	e.clock.Advance(2 * time.Minute)
	rep = e.sync(s)
	require.Equal(t, 1, rep.Created)
	require.Zero(t, rep.UsersCreated)
	require.Len(t, e.roles(), 1)
}
