package access_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/state"
	"github.com/kisisync/kisisync/kisi/kisitest"
)

// TestSyncUserEmailTaken (issue 31): Kisi does not document its answer to
// a user create for an email that has a user already. Under either answer
// (422 on email, or 200 with the existing user) a member whose Kisi user
// was made by hand gets access through that user, which is not recorded as
// the SDK's own.
func TestSyncUserEmailTaken(t *testing.T) {
	t.Parallel()
	for _, existing := range []bool{false, true} {
		t.Run(fmt.Sprintf("existing user answered %v", existing), func(t *testing.T) {
			t.Parallel()
			e := newRig(t, rigConfig{server: []kisitest.Option{kisitest.WithExistingUserOnDuplicateEmail(existing)}})
			handMade, err := e.srv.AddUser("alice@example.com", "Alice", true)
			require.NoError(t, err)
			s := baseSnapshot()
			s.Bookings = []access.Booking{bookingOf("bk1", "alice", "room1", "14:00", "15:00")}
			rep := e.sync(s)
			require.Equal(t, 1, rep.Created, "%+v", rep)
			recs, err := e.st.Load(t.Context(), e.r.Organization())
			require.NoError(t, err)
			found := false
			for _, rec := range recs {
				if rec.Kind == state.KindUser && rec.Email == "alice@example.com" {
					found = true
					require.Equal(t, handMade, rec.KisiID)
					require.False(t, rec.Created, "a hand-made user is not the SDK's")
				}
			}
			require.True(t, found)
		})
	}
}
