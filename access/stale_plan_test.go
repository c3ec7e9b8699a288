package access_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/kisi"
)

// TestStalePlanEveryPath: a plan kept for a later Apply is refused once
// its Store changed, whatever changed it (a Sync, a Verify, the plan's own
// Apply), and applies as planned otherwise, also after a JSON round trip.
func TestStalePlanEveryPath(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// between runs between Plan and Apply.
		between func(e *rig, s access.Snapshot)
		stale   bool
	}{
		{name: "nothing in between", between: func(*rig, access.Snapshot) {}},
		{name: "a sync", between: func(e *rig, s access.Snapshot) { e.sync(s) }, stale: true},
		{name: "a sync that changed nothing", between: func(e *rig, _ access.Snapshot) {
			e.sync(baseWithBooking())
		}},
		{name: "a verify that found drift", between: func(e *rig, _ access.Snapshot) {
			ras, _, err := e.client.ListRoleAssignments(t.Context(), &kisi.RoleAssignmentListOptions{AppliesToType: kisi.ScopeGroup, AppliesToID: e.room})
			require.NoError(t, err)
			require.Len(t, ras, 1)
			_, err = e.client.DeleteRoleAssignment(t.Context(), ras[0].ID) // by hand
			require.NoError(t, err)
			d, err := e.r.Verify(t.Context())
			require.NoError(t, err)
			require.Len(t, d.Missing, 1)
		}, stale: true},
		{name: "the plan applied already", between: func(e *rig, s access.Snapshot) {
			c, err := e.r.Plan(t.Context(), s)
			require.NoError(t, err)
			_, err = e.r.Apply(t.Context(), c)
			require.NoError(t, err)
		}, stale: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newRig(t, rigConfig{})
			e.sync(baseWithBooking())
			s := baseWithBooking()
			s.Bookings = append(s.Bookings, bookingOf("bk2", "bob", "room1", "14:00", "15:00"))
			c, err := e.r.Plan(t.Context(), s)
			require.NoError(t, err)
			require.NotEmpty(t, c.Base)
			require.Equal(t, 1, c.Count(access.ActionCreate), "%v", c.Changes)
			b, err := json.Marshal(c)
			require.NoError(t, err)
			var kept access.Changes
			require.NoError(t, json.Unmarshal(b, &kept))

			tc.between(e, s)
			rep, err := e.r.Apply(t.Context(), &kept)
			if tc.stale {
				require.ErrorIs(t, err, access.ErrStalePlan)
				return
			}
			require.NoError(t, err)
			require.Equal(t, 1, rep.Created)
		})
	}
}

// baseWithBooking is baseSnapshot with alice's booking of room1 from 14:00
// to 15:00.
func baseWithBooking() access.Snapshot {
	s := baseSnapshot()
	s.Bookings = []access.Booking{bookingOf("bk1", "alice", "room1", "14:00", "15:00")}
	return s
}
