package bench_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/kisi/kisitest"
	"github.com/kisisync/kisisync/mapping"
	"github.com/kisisync/kisisync/schedule"
)

// TestRenewalCreateAndLookupFail renews a member's rolling window at night, with the create
// of the renewal answered 500 (not applied) and the lookup that follows answered 500 too.
// The member is inside an open plan throughout: after the run they must hold a role.
func TestRenewalCreateAndLookupFail(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, time.March, 2, 9, 0, 0, 0, time.UTC)
	clock := newSimClock(start)
	srv := kisitest.NewServer(kisitest.WithClock(clock), kisitest.WithoutRateLimit())
	t.Cleanup(srv.Close)
	place, err := srv.AddPlace("Space", "UTC")
	require.NoError(t, err)
	group, err := srv.AddGroup("Front door", place)
	require.NoError(t, err)
	snap := access.Snapshot{
		Locations: []access.Location{{ID: "hq", TimeZone: "UTC"}},
		Members:   []access.Member{{ID: "m1", Email: "m1@example.com", Name: "M", Managed: true}},
		Plans:     []access.Plan{{ID: "p1", PlanID: "desk", MemberID: "m1", Start: start.AddDate(0, 0, -30), Status: access.PlanActive}},
	}
	m := mapping.Mapping{Plans: map[string][]int64{"desk": {group}}}
	client, err := kisi.NewClient(srv.APIKey, kisi.WithBaseURL(srv.URL), kisi.WithHTTPClient(srv.Client()),
		kisi.WithRateLimit(rate.Inf, 0), kisi.WithClock(clock))
	require.NoError(t, err)
	r, err := access.NewReconciler(client, access.NewMemoryStore(), m, access.DefaultPolicy(), access.WithClock(clock))
	require.NoError(t, err)
	ctx := context.Background()
	_, err = r.Sync(ctx, snap)
	require.NoError(t, err)

	// Eight days on, at 02:00: less than half the validity is left and it is night.
	clock.AdvanceTo(time.Date(2026, time.March, 10, 2, 0, 0, 0, time.UTC))
	var mu sync.Mutex
	failed := map[string]bool{}
	srv.Intercept(func(req *http.Request) kisitest.Fault {
		mu.Lock()
		defer mu.Unlock()
		key := ""
		switch {
		case req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/role_assignments"):
			key = "create"
		case req.Method == http.MethodGet && strings.HasSuffix(req.URL.Path, "/role_assignments") && failed["create"]:
			key = "lookup"
		}
		if key == "" || failed[key] {
			return kisitest.Fault{}
		}
		failed[key] = true
		return kisitest.Fault{Status: http.StatusInternalServerError}
	})
	rep, err := r.Sync(ctx, snap)
	require.True(t, failed["create"] && failed["lookup"], "the faults were not injected")
	srv.Intercept(nil)
	roles, _, lerr := client.ListRoleAssignments(ctx, &kisi.RoleAssignmentListOptions{AppliesToType: "Group", AppliesToID: group})
	require.NoError(t, lerr)
	now := clock.Now()
	held := false
	for _, ra := range roles {
		if schedule.NewSet(validity(ra.ValidFrom, ra.ValidUntil)).Contains(now) {
			held = true
		}
	}
	if !held {
		next := time.Duration(0)
		if rep != nil && !rep.NextRun.IsZero() {
			next = rep.NextRun.Sub(now)
		}
		t.Fatalf("the member inside an open plan holds no role after the run (error %v); the next run is in %v", err, next)
	}
}
