package bench_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/kisi/kisitest"
	"github.com/kisisync/kisisync/mapping"
)

// onboardSize is the number of members onboarded: 5,000, or 1,000 under the race detector
// (which makes the fake about ten times slower; the bound is checked the same way).
func onboardSize() int {
	if raceDetector {
		return 1000
	}
	return 5000
}

// onboardResult is one onboarding: the requests it took against its bound.
type onboardResult struct {
	existing, grants, runs int
	// bound is one request per user that must be created plus one per grant.
	bound    int
	requests int
	byKind   map[string]int
	elapsed  time.Duration
}

// onboard syncs the given number of members, each with an open plan granting two groups, into a
// fake Kisi that already holds existing of them as users (made by hand, not by the SDK), and
// counts the requests until a run writes nothing. The fake does not rate-limit and the client
// does not pace, so only requests are counted, not time.
func onboard(t *testing.T, members, existing int) onboardResult {
	t.Helper()
	start := time.Date(2026, time.March, 2, 9, 0, 0, 0, time.UTC)
	clock := newSimClock(start)
	srv := kisitest.NewServer(kisitest.WithClock(clock), kisitest.WithoutRateLimit())
	t.Cleanup(srv.Close)
	m, snap := onboardingSpace(t, srv, start, members, existing)
	srv.ResetRequests()
	client, err := kisi.NewClient(srv.APIKey, kisi.WithBaseURL(srv.URL), kisi.WithHTTPClient(srv.Client()),
		kisi.WithRateLimit(rate.Inf, 0), kisi.WithClock(clock))
	require.NoError(t, err)
	r, err := access.NewReconciler(client, access.NewMemoryStore(), m, access.DefaultPolicy(), access.WithClock(clock))
	require.NoError(t, err)
	res := onboardResult{existing: existing, grants: 2 * members, byKind: map[string]int{}}
	res.bound = members - existing + res.grants
	began := time.Now()
	for res.runs = 1; res.runs <= 5; res.runs++ {
		before := len(srv.Requests())
		rep, err := r.Sync(context.Background(), snap)
		require.NoError(t, err)
		if len(srv.Requests()) == before {
			break
		}
		require.NotNil(t, rep)
		clock.Advance(time.Minute)
	}
	res.elapsed = time.Since(began)
	require.LessOrEqual(t, res.runs, 5, "onboarding did not settle")
	reqs := srv.Requests()
	res.requests = len(reqs)
	for _, q := range reqs {
		kind, _ := splitPath(q.Path)
		res.byKind[q.Method+" "+kind]++
	}
	require.Equal(t, res.grants, srv.Count("POST", "/role_assignments"), "one create per grant")
	require.Equal(t, members-existing, srv.Count("POST", "/users"), "one create per missing user")
	return res
}

// onboardingSpace adds to srv a place with two groups and existing of the given number of
// members as users (made by hand, not by the SDK), and returns the mapping and the snapshot
// in which each member has an open plan, started 30 days before start, granting both groups.
func onboardingSpace(t testing.TB, srv *kisitest.Server, start time.Time, members, existing int) (mapping.Mapping, access.Snapshot) {
	t.Helper()
	place, err := srv.AddPlace("Space", "Europe/Berlin")
	require.NoError(t, err)
	front, err := srv.AddGroup("Front door", place)
	require.NoError(t, err)
	floor, err := srv.AddGroup("Members floor", place)
	require.NoError(t, err)
	m := mapping.Mapping{Plans: map[string][]int64{"desk": {front, floor}}}
	snap := access.Snapshot{Locations: []access.Location{{ID: "berlin", TimeZone: "Europe/Berlin"}}}
	for i := range members {
		id := fmt.Sprintf("o%05d", i)
		email := fmt.Sprintf("onboard%05d@example.com", i)
		snap.Members = append(snap.Members, access.Member{ID: id, Email: email, Name: "Member " + id, Managed: i%2 == 0})
		snap.Plans = append(snap.Plans, access.Plan{ID: "plan-" + id, PlanID: "desk", MemberID: id,
			Start: start.AddDate(0, 0, -30), Status: access.PlanActive})
		// Spread the existing users over the space rather than taking the first ones.
		if i*existing/members != (i+1)*existing/members {
			_, err := srv.AddUser(email, "Member "+id, false)
			require.NoError(t, err)
		}
	}
	return m, snap
}

// TestOnboarding onboards 5,000 members (10,000 grants) and compares the requests with the
// bound of one request per user that must be created plus one per grant: once with none of
// the members in Kisi, once with 80% of them already there as users.
func TestOnboarding(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		existingPct int
		// within is the most requests allowed above the bound: the one listing of the
		// organization's users (100 a page) that a run needing 100 users or more makes,
		// and the reads of the Verify a Sync makes on an empty Store (the roles of each
		// of the 2 mapped groups, and their links where drop-in links are mapped, one
		// page each while they are empty);
		// -1 means one page per 100 members and one more, and those reads of Verify.
		within int
	}{
		{"none of the members in Kisi", 0, 1 + 2*2},
		{"80% of the members already in Kisi", 80, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			members := onboardSize()
			existing := members * tc.existingPct / 100
			within := tc.within
			if within < 0 {
				within = members/100 + 1 + 2*2
			}
			res := onboard(t, members, existing)
			t.Logf("%d members (%d already users in Kisi), %d grants: %d requests in %d runs, bound %d (%.3f×); by kind %v; %v wall",
				members, res.existing, res.grants, res.requests, res.runs, res.bound,
				float64(res.requests)/float64(res.bound), res.byKind, res.elapsed.Round(time.Millisecond))
			require.LessOrEqual(t, res.requests, res.bound+within, "requests above the bound")
		})
	}
}
