package access_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/kisi/kisitest"
)

// requests lists the requests logged since the last reset, ids dropped.
func (e *rig) requests() []string {
	var out []string
	for _, r := range e.srv.Requests() {
		out = append(out, r.Method+" "+pathKind(r.Path))
	}
	return out
}

// TestPatchReadBackOnce (issue 32): with PATCH enabled, the first renewal
// of an organization is a PATCH read back; once Kisi has been seen to
// change the window, every later renewal is one PATCH alone, in this
// process and in any other sharing the Store.
func TestPatchReadBackOnce(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{opts: []access.Option{access.WithPatchValidity(true)},
		server: []kisitest.Option{kisitest.WithPatchableValidity(true)}})
	s := baseSnapshot()
	s.Plans = []access.Plan{{ID: "p1", PlanID: "pro", MemberID: "bob", Start: cest("09:00"), Status: access.PlanActive}}
	renewalDue(t, e, s)
	e.srv.ResetRequests()
	rep := e.sync(s)
	require.Equal(t, 1, rep.Replaced)
	require.Equal(t, []string{"PATCH /role_assignments", "GET /role_assignments"}, e.requests(), "the first PATCH is read back")

	// Another process sharing the Store renews by PATCH alone.
	r2, err := access.NewReconciler(e.client, e.st, e.m, access.DefaultPolicy(), access.WithClock(e.clock),
		access.WithPatchValidity(true))
	require.NoError(t, err)
	for _, r := range []*access.Reconciler{e.r, r2} {
		e.clock.Advance(rep.NextRun.Sub(e.clock.Now()))
		e.srv.ResetRequests()
		rep, err = r.Sync(t.Context(), s)
		require.NoError(t, err)
		require.Equal(t, 1, rep.Replaced)
		if diff := cmp.Diff([]string{"PATCH /role_assignments"}, e.requests()); diff != "" {
			t.Fatalf("requests of a renewal (-want +got):\n%s", diff)
		}
		roles := e.roles()
		require.Len(t, roles, 1)
		require.True(t, roles[0].Window.End.Equal(e.clock.Now().Add(access.DefaultValidity).Truncate(time.Minute)), "renewed: %v", roles[0])
	}
}

// TestPatchVerifiedForgottenOnDrift (issue 32): once PATCH was verified,
// Kisi starts answering PATCH without changing the window. The renewal
// sent alone is not seen to fail, but a Verify finds the window other
// than recorded: the next PATCH is read back again, found not to change
// the window, and the role is renewed by delete and create.
func TestPatchVerifiedForgottenOnDrift(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{opts: []access.Option{access.WithPatchValidity(true)},
		server: []kisitest.Option{kisitest.WithPatchableValidity(true)}})
	s := baseSnapshot()
	s.Plans = []access.Plan{{ID: "p1", PlanID: "pro", MemberID: "bob", Start: cest("09:00"), Status: access.PlanActive}}
	renewalDue(t, e, s)
	rep := e.sync(s) // the PATCH read back: verified

	e.srv.Intercept(func(r *http.Request) kisitest.Fault {
		if r.Method == http.MethodPatch {
			return kisitest.Fault{Status: http.StatusNoContent} // answered, not applied
		}
		return kisitest.Fault{}
	})
	e.clock.Advance(rep.NextRun.Sub(e.clock.Now()))
	held := e.roles()
	e.srv.ResetRequests()
	e.sync(s)
	require.Equal(t, []string{"PATCH /role_assignments"}, e.requests())
	require.Equal(t, held, e.roles(), "Kisi kept the window")

	d, err := e.r.Verify(t.Context())
	require.NoError(t, err)
	require.Len(t, d.Edited, 1)

	e.srv.ResetRequests()
	rep = e.sync(s)
	require.Equal(t, 1, rep.Replaced)
	require.Equal(t, []string{"PATCH /role_assignments", "GET /role_assignments", "DELETE /role_assignments", "POST /role_assignments"},
		e.requests(), "read back again, found unchanged, renewed by delete and create")
	roles := e.roles()
	require.Len(t, roles, 1)
	require.True(t, roles[0].Window.End.Equal(e.clock.Now().Add(access.DefaultValidity).Truncate(time.Minute)), "renewed: %v", roles[0])
}
