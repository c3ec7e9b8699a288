package access_test

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/mapping"
)

// updating reports whether the -update flag (defined once for the package's
// golden files) is set.
func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// TestPlanGolden renders a plan with every kind of change, as text and
// JSON.
func TestPlanGolden(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{dropIn: mapping.DropIn{Link: true, QR: true}})
	ctx := t.Context()
	daveID, err := e.srv.AddUser("dave@example.com", "Dave", false)
	require.NoError(t, err)
	_, _, err = e.client.CreateRoleAssignment(ctx, &kisi.RoleAssignmentCreateRequest{RoleID: kisi.RoleGroupBasic,
		AppliesToType: "Group", AppliesToID: e.room, AssigneeType: "User", AssigneeID: daveID})
	require.NoError(t, err)

	s := baseSnapshot()
	s.Members = append(s.Members,
		access.Member{ID: "carol", Email: "carol@example.com", Name: "Carol"},
		access.Member{ID: "dave", Email: "dave@example.com", Name: "Dave"},
		access.Member{ID: "erin", Email: "erin@example.com", Name: "Erin"})
	s.Plans = []access.Plan{{ID: "p1", PlanID: "pro", MemberID: "bob", Start: cest("09:00"), Status: access.PlanActive}}
	s.Bookings = []access.Booking{
		bookingOf("bk1", "alice", "room1", "14:00", "15:00"),
		bookingOf("bk2", "carol", "room1", "13:00", "13:55"),
		bookingOf("bk3", "dave", "room1", "14:00", "15:00"),
		{ID: "bk9", ResourceID: "room2", Guest: &access.Guest{Name: "Gus", Email: "gus@example.com"}, Start: cest("17:00"), End: cest("18:00")},
	}
	e.sync(s)

	// Twenty minutes later: bob's plan is cancelled, alice's booking moved,
	// carol's ended, erin booked, the guest moved, a bad record arrived.
	e.clock.Advance(20 * time.Minute)
	s.Plans[0].Status = access.PlanCancelled
	s.Bookings[0] = bookingOf("bk1", "alice", "room1", "14:00", "16:00")
	s.Bookings[3].Start, s.Bookings[3].End = cest("17:30"), cest("18:30")
	s.Bookings = append(s.Bookings,
		bookingOf("bk4", "erin", "room2", "14:15", "15:00"),
		bookingOf("bk5", "erin", "room1", "15:00", "14:00"),
		access.Booking{ID: "bk10", ResourceID: "room1", Guest: &access.Guest{Name: "Gina", Email: "Gina@Example.com"}, Start: cest("19:00"), End: cest("20:00")})
	c, err := e.r.Plan(ctx, s)
	require.NoError(t, err)

	golden(t, "changes.golden", []byte(c.String()))
	js, err := json.MarshalIndent(c, "", "  ")
	require.NoError(t, err)
	golden(t, "changes.json.golden", append(js, '\n'))

	var back access.Changes
	require.NoError(t, json.Unmarshal(js, &back))
	if diff := cmp.Diff(c.String(), back.String()); diff != "" {
		t.Fatalf("String after a JSON round trip (-want +got):\n%s", diff)
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "plan", name)
	if updating() {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create %s", path)
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Fatalf("%s (-want +got):\n%s", path, diff)
	}
}
