package access_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/mapping"
)

// TestSyncDropIn checks the drop-in rows of the semantics table against the
// fake Kisi: no delivery option creates nothing, and AddToGroup gives a
// guest who is not a member a Kisi user and the groups for the booking
// window, revoked with the booking.
func TestSyncDropIn(t *testing.T) {
	t.Parallel()
	guest := access.Booking{ID: "bk9", ResourceID: "room2", Guest: &access.Guest{Name: "Gus", Email: " Gus@Example.org"},
		Start: cest("14:00"), End: cest("15:00")}
	tests := []struct {
		name      string
		dropIn    mapping.DropIn
		wantLinks int
		wantUser  bool
	}{
		{"no option: nothing created", mapping.DropIn{}, 0, false},
		{"link only", mapping.DropIn{Link: true}, 2, false},
		{"AddToGroup only: user and groups, no link", mapping.DropIn{AddToGroup: true}, 0, true},
		{"QR and AddToGroup", mapping.DropIn{QR: true, AddToGroup: true}, 2, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newRig(t, rigConfig{dropIn: tc.dropIn})
			s := baseSnapshot()
			s.Bookings = []access.Booking{guest}
			rep := e.sync(s)
			require.Empty(t, rep.Skipped)
			require.Len(t, e.links(), tc.wantLinks)
			var want []kisiRole
			if tc.wantUser {
				w := span("13:55", "15:05")
				want = []kisiRole{{Email: "gus@example.org", Group: e.room, Window: w, Notify: true}, {Email: "gus@example.org", Group: e.other, Window: w}}
				sortRoles(want)
				var names []string
				for _, u := range e.users() {
					if u.Email == "gus@example.org" {
						names = append(names, u.Name)
					}
				}
				require.Equal(t, []string{"Gus"}, names, "one Kisi user, named after the guest")
			}
			if diff := cmp.Diff(want, e.roles()); diff != "" {
				t.Errorf("roles (-want +got):\n%s", diff)
			}
			// Deleting the booking revokes everything it gave, at once
			// (approved: the revoke guard counts every cut).
			s.Bookings = nil
			c, err := e.r.Plan(t.Context(), s)
			require.NoError(t, err)
			c.Approve()
			_, err = e.r.Apply(t.Context(), c)
			require.NoError(t, err)
			require.Empty(t, e.links())
			require.Empty(t, e.roles())
		})
	}
}
