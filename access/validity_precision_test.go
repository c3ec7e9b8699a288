package access_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/kisi/kisitest"
	"github.com/kisisync/kisisync/schedule"
)

// Kisi's stored precision of a role's validity is not documented: whatever
// it keeps, the role Kisi holds covers the whole window the platform wants
// (a booking ending on a half minute kept its member out for the last
// fraction of a second where Kisi keeps whole seconds).
func TestValidityCoversTheWindowAtEveryPrecision(t *testing.T) {
	t.Parallel()
	start := cest("14:00").Add(10*time.Second + 500*time.Millisecond)
	end := cest("15:00").Add(30*time.Second + 250*time.Millisecond)
	for _, tc := range []struct {
		name      string
		precision time.Duration
	}{
		{"milliseconds", 0},
		{"whole seconds", time.Second},
		{"whole minutes", time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := access.DefaultPolicy()
			p.Buffer = schedule.Buffer{}
			e := newRig(t, rigConfig{policy: &p, server: []kisitest.Option{kisitest.WithValidityPrecision(tc.precision)}})
			s := baseSnapshot()
			s.Bookings = []access.Booking{{ID: "b1", ResourceID: "room1", MemberID: "alice", Start: start, End: end}}
			rep := e.sync(s)
			e.clock.Advance(rep.NextRun.Sub(e.clock.Now())) // the grant's lead
			e.sync(s)

			roles := e.roles()
			require.Len(t, roles, 1)
			held := roles[0].Window
			require.False(t, held.Start.After(start), "Kisi's role starts at %s, after the booking's %s", held.Start, start)
			require.False(t, held.End.Before(end), "Kisi's role ends at %s, before the booking's %s", held.End, end)
			require.Less(t, held.End.Sub(end), time.Minute, "the role outlasts the booking by a minute or more")
		})
	}
}
