package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/sqlitestore"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/kisi/kisitest"
	"github.com/kisisync/kisisync/mapping"
)

// TestApplyWhileSchedulerRuns: a scheduler and an operator's apply share
// one state file, each with a handle of its own as two processes would. An
// apply made while the scheduler syncs fails fast and changes nothing; an
// apply between two scheduler runs adds a member whose record the
// scheduler's next run sees, so when that member's plan is cancelled the
// scheduler revokes the role the apply created. (With a state file each
// process rewrote from its own copy, the scheduler's next write dropped the
// member's record and the cancelled member kept open-ended access.)
func TestApplyWhileSchedulerRuns(t *testing.T) {
	t.Parallel()
	srv := kisitest.NewServer(kisitest.WithoutRateLimit())
	t.Cleanup(srv.Close)
	group, err := srv.AddGroup("Members", 0)
	require.NoError(t, err)
	dir := t.TempDir()
	state := filepath.Join(dir, "state.db")
	m := mapping.Mapping{Plans: map[string][]int64{"flex": {group}}}
	mappingFile := filepath.Join(dir, "mapping.json")
	writeFile(t, mappingFile, m)

	// The scheduler: a Reconciler on a handle of its own.
	st, err := sqlitestore.Open(state)
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	require.NoError(t, st.Migrate(t.Context()))
	client, err := kisi.NewClient(srv.APIKey, kisi.WithBaseURL(srv.URL))
	require.NoError(t, err)
	scheduler, err := access.NewReconciler(client, st, m, access.DefaultPolicy())
	require.NoError(t, err)

	env := kisiEnv(srv, srv.APIKey)
	apply := func(s access.Snapshot) (int, string) {
		t.Helper()
		f := filepath.Join(t.TempDir(), "snapshot.json")
		writeFile(t, f, s)
		code, stdout, stderr := invoke(t, env, "apply", "--snapshot", f, "--mapping", mappingFile, "--state", state)
		return code, stdout + stderr
	}

	// The scheduler syncs ann and ben; while its run is in Kisi, the
	// operator applies a snapshot with cem: it fails fast.
	var once sync.Once
	inRun, applied := make(chan struct{}), make(chan struct{})
	srv.Intercept(func(r *http.Request) kisitest.Fault {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/role_assignments") {
			once.Do(func() {
				close(inRun)
				<-applied
			})
		}
		return kisitest.Fault{}
	})
	done := make(chan error, 1)
	go func() {
		_, err := scheduler.Sync(context.WithoutCancel(t.Context()), members("ann", "ben"))
		done <- err
	}()
	<-inRun
	code, out := apply(members("ann", "ben", "cem"))
	close(applied)
	require.Equal(t, exitLease, code, out)
	require.Contains(t, out, `another run of organization "default" is in progress`)
	require.NotContains(t, out, "+ grant", "no plan printed before failing on the lease")
	require.NoError(t, <-done)
	require.Equal(t, []string{"ann", "ben"}, roleHolders(t, srv, group))

	// Between two scheduler runs, the apply adds cem.
	code, out = apply(members("ann", "ben", "cem"))
	require.Equal(t, exitOK, code, out)
	require.Contains(t, out, "Applied: 1 created")

	// Before the scheduler's next run, cem's plan is cancelled (and dev
	// joins): the scheduler knows the role the apply created, and revokes
	// it.
	s := members("ann", "ben", "cem", "dev")
	s.Plans[2].Status = access.PlanCancelled
	rep, err := scheduler.Sync(t.Context(), s)
	require.NoError(t, err)
	require.Equal(t, 1, rep.Created)
	require.Equal(t, 1, rep.Deleted)
	require.Equal(t, []string{"ann", "ben", "dev"}, roleHolders(t, srv, group))
}

// members is a snapshot of managed members with names as IDs, each on an
// active plan "flex".
func members(names ...string) access.Snapshot {
	s := access.Snapshot{Locations: []access.Location{{ID: "loft", TimeZone: "Europe/Berlin"}}}
	start := time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)
	for _, n := range names {
		s.Members = append(s.Members, access.Member{ID: n, Email: n + "@example.com", Name: n, Managed: true})
		s.Plans = append(s.Plans, access.Plan{ID: "p-" + n, PlanID: "flex", MemberID: n, Start: start, Status: access.PlanActive})
	}
	return s
}

func writeFile(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, b, 0o600))
}

// roleHolders lists, sorted, the names of the users with a role in group,
// read from the fake through the Kisi API.
func roleHolders(t *testing.T, srv *kisitest.Server, group int64) []string {
	t.Helper()
	client, err := kisi.NewClient(srv.APIKey, kisi.WithBaseURL(srv.URL))
	require.NoError(t, err)
	var names []string
	opts := &kisi.RoleAssignmentListOptions{AppliesToType: kisi.ScopeGroup, AppliesToID: group}
	for ra, err := range client.RoleAssignments.ListIter(t.Context(), opts) {
		require.NoError(t, err)
		require.NotNil(t, ra.Assignee, "role %d names its user", ra.ID)
		names = append(names, strings.TrimSuffix(ra.Assignee.Email, "@example.com"))
	}
	slices.Sort(names)
	return names
}
