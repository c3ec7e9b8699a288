package access_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/kisi/kisitest"
)

// TestVerifyUnconfirmedWithoutConfirmedKey (issue 31): Kisi marks the
// user's "confirmed" key deprecated. While it is sent, Verify lists the
// regular users it created that have not confirmed; once it is gone the
// answer cannot tell, and Verify lists no one rather than every user.
func TestVerifyUnconfirmedWithoutConfirmedKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		keySent bool
		want    []string
	}{
		{name: "key sent", keySent: true, want: []string{"alice@example.com"}},
		{name: "key dropped", keySent: false, want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newRig(t, rigConfig{server: []kisitest.Option{kisitest.WithConfirmedField(tc.keySent)}})
			s := baseSnapshot()
			s.Bookings = []access.Booking{bookingOf("bk1", "alice", "room1", "14:00", "15:00")}
			e.sync(s)
			d, err := e.r.Verify(t.Context())
			require.NoError(t, err)
			if diff := cmp.Diff(tc.want, d.Unconfirmed); diff != "" {
				t.Errorf("unconfirmed (-want +got):\n%s", diff)
			}
		})
	}
}
