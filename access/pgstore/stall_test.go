package pgstore_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/pgstore"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/kisi/kisitest"
	"github.com/kisisync/kisisync/mapping"
)

// stall holds the first role create that passes through it for a while,
// as a frozen process would, running during meanwhile.
type stall struct {
	mu     sync.Mutex
	armed  bool
	freeze time.Duration
	during func()
}

func (s *stall) RoundTrip(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	fire := s.armed && r.Method == http.MethodPost && r.URL.Path == "/kisi/role_assignments"
	if fire {
		s.armed = false
	}
	s.mu.Unlock()
	if fire {
		time.Sleep(s.freeze)
		s.during()
		if err := r.Context().Err(); err != nil {
			return nil, err // the request's deadline passed while frozen
		}
	}
	return http.DefaultTransport.RoundTrip(r)
}

// TestStalledProcessNeverUndoesItsSuccessor (issue 26), on PostgreSQL with
// two pools and the lease judged on the server's clock: process a replaces
// a member's role (delete, then create) and freezes before its create; its
// lease expires and process b, taking over, creates the member's role for
// a window extended once more. When a resumes, nothing it sends reaches
// Kisi (and a refused create would delete nothing): the member keeps b's
// role, and the Store records it.
func TestStalledProcessNeverUndoesItsSuccessor(t *testing.T) {
	t.Parallel()
	pool := schema(t)
	setup := pgstore.New(pool())
	if err := setup.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	srv := kisitest.NewServer(kisitest.WithoutRateLimit())
	t.Cleanup(srv.Close)
	place, err := srv.AddPlace("Berlin", "Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	group, err := srv.AddGroup("Members", place)
	if err != nil {
		t.Fatal(err)
	}
	m := mapping.Mapping{Plans: map[string][]int64{"pro": {group}}}
	now := time.Now()
	s := access.Snapshot{
		Locations: []access.Location{{ID: "ber", TimeZone: "Europe/Berlin"}},
		Members:   []access.Member{{ID: "bob", Email: "bob@example.com", Name: "Bob", Managed: true}},
		Plans: []access.Plan{{ID: "p1", PlanID: "pro", MemberID: "bob", Start: now.Add(-time.Hour),
			End: now.Add(72 * time.Hour), Status: access.PlanActive}},
	}
	const ttl = time.Second
	newReconciler := func(holder string, hc *http.Client) *access.Reconciler {
		t.Helper()
		opts := []kisi.Option{kisi.WithBaseURL(srv.URL), kisi.WithRetry(0, time.Millisecond, time.Millisecond)}
		if hc != nil {
			opts = append(opts, kisi.WithHTTPClient(hc))
		}
		c, err := kisi.NewClient(srv.APIKey, opts...)
		if err != nil {
			t.Fatal(err)
		}
		r, err := access.NewReconciler(c, pgstore.New(pool()), m, access.DefaultPolicy(),
			access.WithOrganization("org"), access.WithHolder(holder), access.WithLeaseTTL(ttl))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	b := newReconciler("b", nil)
	if _, err := b.Sync(t.Context(), s); err != nil {
		t.Fatal(err)
	}

	// The plan is extended: the role in force is replaced.
	s.Plans[0].End = now.Add(120 * time.Hour)
	// Meanwhile, the platform extends it once more: b's window differs
	// from the one a is creating.
	later := s
	later.Plans = []access.Plan{s.Plans[0]}
	later.Plans[0].End = now.Add(121 * time.Hour)
	var bErr error
	freeze := &stall{armed: true, freeze: ttl + ttl/2, during: func() { _, bErr = b.Sync(context.Background(), later) }}
	a := newReconciler("a", &http.Client{Transport: freeze})
	if _, err := a.Sync(t.Context(), s); err == nil {
		t.Fatal("the stalled run reported success")
	}
	if bErr != nil {
		t.Fatalf("b, taking over the expired lease: %v", bErr)
	}
	admin, err := kisi.NewClient(srv.APIKey, kisi.WithBaseURL(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	roles, _, err := admin.ListRoleAssignments(t.Context(), &kisi.RoleAssignmentListOptions{AppliesToType: kisi.ScopeGroup, AppliesToID: group})
	if err != nil {
		t.Fatal(err)
	}
	if len(roles) != 1 || roles[0].ValidUntil == nil || !roles[0].ValidUntil.After(now.Add(120*time.Hour+30*time.Minute)) {
		t.Fatalf("Kisi holds %d roles; want the one b created for the extended plan", len(roles))
	}

	// b's Store records that role: its next run has nothing to do.
	srv.ResetRequests()
	rep, err := b.Sync(t.Context(), later)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range srv.Requests() {
		if r.Method != http.MethodGet {
			t.Errorf("b's next run wrote %s %s", r.Method, r.Path)
		}
	}
	if rep.Failed != 0 {
		t.Errorf("b's next run failed %d changes", rep.Failed)
	}
}
