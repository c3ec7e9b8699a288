package fleet_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/examples/fleet"
	"github.com/kisisync/kisisync/kisi/kisitest"
)

// TestScopeMetrics (issue 25): the metrics tell per failure scope how many
// organizations fail or hold changes parked, and count failures by scope;
// GET /status/{org} tells one organization's. Organization a has a group
// Kisi refuses the key on (403), a group deleted in Kisi, a member whose
// user create Kisi refuses (422) and a role Kisi refuses (422);
// organization b's snapshot cannot be loaded; organization c's key is
// refused (401).
func TestScopeMetrics(t *testing.T) {
	dsn := testDatabase(t)
	srv := kisitest.NewServer()
	t.Cleanup(srv.Close)
	members, err := srv.AddGroup("Members", 0)
	require.NoError(t, err)
	front, err := srv.AddGroup("Front", 0)
	require.NoError(t, err)
	carl, err := srv.AddUser("carl@example.com", "Carl", false)
	require.NoError(t, err)
	srv.Intercept(func(r *http.Request) kisitest.Fault {
		body, _ := io.ReadAll(r.Body)
		switch {
		case r.Method != http.MethodPost:
		case r.URL.Path == "/users" && bytes.Contains(body, []byte("bob@example.com")):
			return kisitest.Fault{Status: http.StatusUnprocessableEntity}
		case r.URL.Path == "/role_assignments" && bytes.Contains(body, fmt.Appendf(nil, `"applies_to_id":%d`, front)):
			return kisitest.Fault{Status: http.StatusForbidden}
		case r.URL.Path == "/role_assignments" && bytes.Contains(body, fmt.Appendf(nil, `"assignee_id":%d`, carl)):
			return kisitest.Fault{Status: http.StatusUnprocessableEntity}
		}
		return kisitest.Fault{}
	})
	cfg, err := fleet.ParseConfig(fmt.Appendf(nil, `{"floor": "10ms", "ceiling": "1h", "workers": 3, "organizations": [
		{"id": "org-a", "kisi_user": "u1", "api_key": %[1]q, "base_url": %[2]q,
			"mapping": {"plans": {"flex": [%[3]d], "front": [%[4]d], "gone": [999999]}}},
		{"id": "org-b", "kisi_user": "u1", "api_key": %[1]q, "base_url": %[2]q, "mapping": {"plans": {"flex": [%[3]d]}}},
		{"id": "org-c", "kisi_user": "u2", "api_key": "refused", "base_url": %[2]q, "mapping": {"plans": {"flex": [%[3]d]}}}]}`,
		srv.APIKey, srv.URL, members, front))
	require.NoError(t, err)

	now := time.Now()
	snap := access.Snapshot{}
	plan := func(member, plan string) {
		snap.Plans = append(snap.Plans, access.Plan{ID: member + "-" + plan, PlanID: plan, MemberID: member,
			Status: access.PlanActive, Start: now.Add(-time.Hour), End: now.Add(24 * time.Hour)})
	}
	for _, m := range []string{"anna", "bob", "carl", "dora", "emil"} {
		snap.Members = append(snap.Members, access.Member{ID: m, Email: m + "@example.com", Name: m, Managed: true})
	}
	plan("anna", "flex")
	plan("bob", "flex")
	plan("carl", "flex")
	plan("dora", "front")
	plan("emil", "gone")
	loader := fleet.LoaderFunc(func(_ context.Context, org string) (access.Snapshot, error) {
		if org == "org-b" {
			return access.Snapshot{}, errors.New("the platform's export is down")
		}
		return snap, nil
	})
	logs := &logBuffer{}
	w, err := fleet.New(testPool(t, dsn), cfg, access.NewMemoryStore(), loader,
		fleet.Options{ID: "w1", Logger: slog.New(slog.NewTextHandler(logs, nil))})
	require.NoError(t, err)
	ctx := t.Context()
	require.NoError(t, w.Start(ctx))
	t.Cleanup(func() { _ = w.Stop(context.Background()) })

	// finished waits until org's run recorded its end with result.
	finished := func(org, result string) {
		t.Helper()
		require.Eventually(t, func() bool {
			st, err := w.Status(ctx, org)
			return err == nil && st.LastResult == result && !st.LastFinished.Before(*st.LastStarted)
		}, 20*time.Second, 20*time.Millisecond, logs.String())
	}
	finished("org-a", "failed")
	// The second run of org-a tries nothing that failed: all of it waits
	// for its back-off, parked by scope.
	require.NoError(t, w.Wake(ctx, "org-a", false))
	finished("org-a", "waiting")
	finished("org-b", "error")
	finished("org-c", "systemic")

	rw := httptest.NewRecorder()
	fleet.NewHandler(w).ServeHTTP(rw, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	metrics := map[string]string{}
	for _, l := range strings.Split(rw.Body.String(), "\n") {
		if name, v, ok := strings.Cut(l, " "); ok && strings.Contains(name, "scope=") {
			metrics[name] = v
		}
	}
	for scope, want := range map[string]string{
		fleet.ScopeOrganization: "1", fleet.ScopeHost: "1", // org-c, org-b
		fleet.ScopeGroup: "0", fleet.ScopeUser: "0", fleet.ScopeChange: "0", fleet.ScopeQuota: "0", // org-a's last run tried none
	} {
		require.Equal(t, want, metrics[`kisisync_fleet_organizations_failing{scope="`+scope+`"}`], "%s\n%s", scope, logs.String())
	}
	for scope, want := range map[string]string{
		fleet.ScopeGroup: "1", fleet.ScopeUser: "1", fleet.ScopeChange: "1", // org-a
		fleet.ScopeOrganization: "0", fleet.ScopeHost: "0", fleet.ScopeQuota: "0",
	} {
		require.Equal(t, want, metrics[`kisisync_fleet_organizations_parked{scope="`+scope+`"}`], "%s\n%s", scope, logs.String())
	}
	for _, scope := range []string{fleet.ScopeOrganization, fleet.ScopeGroup, fleet.ScopeUser, fleet.ScopeChange, fleet.ScopeQuota, fleet.ScopeHost} { // counted once per failing run, by each process
		got := metrics[`kisisync_fleet_scope_failures_total{scope="`+scope+`"}`]
		if scope == fleet.ScopeQuota {
			require.Equal(t, "0", got)
			continue
		}
		require.NotEqual(t, "0", got, scope)
		require.NotEmpty(t, got, scope)
	}

	st, err := w.Status(ctx, "org-a")
	require.NoError(t, err)
	// dora's grant waits on its group (403), emil's on the deleted group,
	// bob's on his user (422), carl's on its own key (422).
	require.Equal(t, map[string]int{fleet.ScopeGroup: 2, fleet.ScopeUser: 1, fleet.ScopeChange: 1}, st.ParkedScopes)
	require.Empty(t, st.Failing)
	scopes := map[string]int{}
	for _, p := range st.Parked {
		scopes[p.Scope]++
	}
	require.Equal(t, 1, scopes[fleet.ScopeUser], "bob's park record: %+v", st.Parked)
	require.Equal(t, 1, scopes[fleet.ScopeChange], "carl's park record: %+v", st.Parked)
	require.Positive(t, scopes[fleet.ScopeGroup], "the groups' park records: %+v", st.Parked)
	st, err = w.Status(ctx, "org-c")
	require.NoError(t, err)
	require.Equal(t, map[string]int{fleet.ScopeOrganization: 1}, st.Failing)
}
