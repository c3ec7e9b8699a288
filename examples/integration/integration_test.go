package integration_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/examples/integration"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/kisi/kisitest"
	"github.com/kisisync/kisisync/mapping"
)

// platform is a host with one organization, backed by a fake Kisi.
type platform struct {
	srv   *kisitest.Server
	group int64
	snap  access.Snapshot
}

func (p *platform) Snapshot(context.Context, string) (access.Snapshot, error) { return p.snap, nil }
func (p *platform) Mapping(context.Context, string) (mapping.Mapping, error) {
	return mapping.Mapping{Plans: map[string][]int64{"flex": {p.group}}}, nil
}
func (p *platform) KisiKey(context.Context, string) (string, error) { return p.srv.APIKey, nil }

// TestSyncOrganization runs the README's sketch twice: the first run grants
// access and says when to run again, the second has nothing to do.
func TestSyncOrganization(t *testing.T) {
	t.Parallel()
	srv := kisitest.NewServer(kisitest.WithoutRateLimit())
	t.Cleanup(srv.Close)
	g, err := srv.AddGroup("Members", 0)
	require.NoError(t, err)
	now := time.Now()
	p := &platform{srv: srv, group: g, snap: access.Snapshot{
		Members: []access.Member{{ID: "m1", Email: "ann@example.com", Name: "Ann", Managed: true}},
		Plans: []access.Plan{{ID: "p1", PlanID: "flex", MemberID: "m1", Status: access.PlanActive,
			Start: now.Add(-time.Hour), End: now.Add(24 * time.Hour)}},
	}}
	store := access.NewMemoryStore()
	opts := []kisi.Option{kisi.WithBaseURL(srv.URL), kisi.WithRateLimit(1000, 100)}

	next, err := integration.SyncOrganization(t.Context(), p, store, "acme", opts...)
	require.NoError(t, err)
	require.WithinDuration(t, now.Add(24*time.Hour), next, time.Second, "next run at the end of the plan")
	require.Equal(t, 1, srv.Count("POST", "/role_assignments"))

	srv.ResetRequests()
	_, err = integration.SyncOrganization(t.Context(), p, store, "acme", opts...)
	require.NoError(t, err)
	require.Empty(t, srv.Requests(), "a second run with nothing new makes no Kisi request")
}

// TestREADME checks that the README shows the sketch as it is in this
// package, so that the README's code cannot rot.
func TestREADME(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("integration.go")
	require.NoError(t, err)
	_, after, ok := strings.Cut(string(src), "// sketch:begin\n")
	require.True(t, ok)
	sketch, _, ok := strings.Cut(after, "// sketch:end")
	require.True(t, ok)
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	require.Contains(t, string(readme), strings.TrimSpace(sketch),
		"README.md must show the sketch of examples/integration/integration.go verbatim")
}

// ExampleSyncOrganization runs the README's sketch against the embedded
// fake Kisi.
func ExampleSyncOrganization() {
	srv := kisitest.NewServer(kisitest.WithoutRateLimit())
	defer srv.Close()
	g, _ := srv.AddGroup("Members", 0)
	start := time.Date(2026, time.June, 1, 0, 0, 0, 0, time.UTC)
	p := &platform{srv: srv, group: g, snap: access.Snapshot{
		Members: []access.Member{{ID: "m1", Email: "ann@example.com", Name: "Ann", Managed: true}},
		Plans: []access.Plan{{ID: "p1", PlanID: "flex", MemberID: "m1", Status: access.PlanActive,
			Start: start, End: start.AddDate(10, 0, 0)}},
	}}
	next, err := integration.SyncOrganization(context.Background(), p, access.NewMemoryStore(), "acme",
		kisi.WithBaseURL(srv.URL), kisi.WithRateLimit(1000, 100))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("grants created:", srv.Count("POST", "/role_assignments"))
	// The plan runs ten years, but Kisi holds it as a rolling window of
	// access.DefaultValidity: the next run renews it before that ends.
	fmt.Println("run again within the validity:", time.Until(next) < access.DefaultValidity)
	// Output:
	// grants created: 1
	// run again within the validity: true
}
