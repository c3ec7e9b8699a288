package access_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/storetest"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/kisi/kisitest"
	"github.com/kisisync/kisisync/mapping"
)

// oldRecordsWorld syncs the space whose records storetest keeps as
// written at schema version 1: a plan, a booking, a guest's link, a
// hand-made role in the way of a grant, a grant Kisi refuses.
func oldRecordsWorld(t *testing.T) (*rig, access.Snapshot) {
	t.Helper()
	e := newRig(t, rigConfig{dropIn: mapping.DropIn{Link: true}})
	daveID, err := e.srv.AddUser("dave@example.com", "Dave", false)
	require.NoError(t, err)
	_, _, err = e.client.CreateRoleAssignment(t.Context(), &kisi.RoleAssignmentCreateRequest{RoleID: kisi.RoleGroupBasic,
		AppliesToType: "Group", AppliesToID: e.room, AssigneeType: "User", AssigneeID: daveID})
	require.NoError(t, err)
	e.srv.Intercept(func(r *http.Request) kisitest.Fault {
		if r.Method == http.MethodPost && r.URL.Path == "/users" {
			var body struct {
				User struct{ Email string } `json:"user"`
			}
			_ = json.NewDecoder(r.Body).Decode(&body)
			if body.User.Email == "erin@example.com" {
				return kisitest.Fault{Status: http.StatusUnprocessableEntity}
			}
		}
		return kisitest.Fault{}
	})
	s := baseSnapshot()
	s.Members = append(s.Members,
		access.Member{ID: "dave", Email: "dave@example.com", Name: "Dave"},
		access.Member{ID: "erin", Email: "erin@example.com", Name: "Erin"})
	s.Plans = []access.Plan{{ID: "p1", PlanID: "pro", MemberID: "bob", Start: cest("09:00"), Status: access.PlanActive}}
	s.Bookings = []access.Booking{
		bookingOf("bk1", "alice", "room1", "13:30", "15:00"),
		bookingOf("bk3", "dave", "room1", "13:30", "15:00"),
		bookingOf("bk4", "erin", "room1", "13:30", "15:00"),
		{ID: "bk9", ResourceID: "room2", Guest: &access.Guest{Name: "Gus", Email: "gus@example.com"}, Start: cest("13:30"), End: cest("18:00")},
	}
	_, _ = e.r.Sync(t.Context(), s) // erin's user is refused
	return e, s
}

// TestOldRecordsPlanNothing: the records the reconciler wrote at schema
// version 1 (access/storetest/testdata/records-v1.json), in a Store of
// today, plan no change against the Kisi they were written for: today's
// reconciler reads them as what they meant. The Stores' own tests load the
// same documents from their backing (pgstore, sqlitestore, memstore).
// -update writes the file anew (and a second run, which embeds it, checks
// it): only ever for a new schema version, in a file of its own.
func TestOldRecordsPlanNothing(t *testing.T) {
	t.Parallel()
	e, s := oldRecordsWorld(t)
	path := filepath.Join("storetest", "testdata", "records-v1.json")
	if updating() {
		recs, err := e.st.Load(t.Context(), "default")
		require.NoError(t, err)
		b, err := json.MarshalIndent(recs, "", "  ")
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(path, append(b, '\n'), 0o644))
	}

	old := access.NewMemoryStore()
	storetest.Seed(t, old, "default", storetest.OldRecordsDecoded(t)...)
	r, err := access.NewReconciler(e.client, old, e.m, access.DefaultPolicy(), access.WithClock(e.clock))
	require.NoError(t, err)
	c, err := r.Plan(t.Context(), s)
	require.NoError(t, err)
	require.Empty(t, c.Changes, "the old records plan:\n%s", c)
	require.NotEmpty(t, c.Conflicts, "dave's hand-made role is still a conflict")
	require.NotEmpty(t, c.Parked, "erin's refused user is still parked")
}
