package integration_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
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
	extra []int64 // more groups "flex" maps to
}

func (p *platform) Snapshot(context.Context, string) (access.Snapshot, error) { return p.snap, nil }
func (p *platform) Mapping(context.Context, string) (mapping.Mapping, error) {
	return mapping.Mapping{Plans: map[string][]int64{"flex": append([]int64{p.group}, p.extra...)}}, nil
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

	next, err := integration.SyncOrganization(t.Context(), p, store, "acme", discard, opts...)
	require.NoError(t, err)
	require.WithinDuration(t, now.Add(24*time.Hour), next, time.Second, "next run at the end of the plan")
	require.Equal(t, 1, srv.Count("POST", "/role_assignments"))

	srv.ResetRequests()
	_, err = integration.SyncOrganization(t.Context(), p, store, "acme", discard, opts...)
	require.NoError(t, err)
	require.Empty(t, srv.Requests(), "a second run with nothing new makes no Kisi request")
}

var discard = slog.New(slog.DiscardHandler)

// TestSyncOrganizationLogsUndone (issue 30): what a run did not do reaches
// the log, one WARN line per cause naming the records or people and the
// remedy — a member with a typo in the email, whose run returns no error,
// included. Before, the sketch returned without looking at Skipped, Parked
// or Held.
func TestSyncOrganizationLogsUndone(t *testing.T) {
	t.Parallel()
	now := time.Now()
	member := func(id string) (access.Member, access.Plan) {
		return access.Member{ID: id, Email: id + "@example.com", Name: id, Managed: true},
			access.Plan{ID: "p-" + id, PlanID: "flex", MemberID: id, Status: access.PlanActive,
				Start: now.Add(-time.Hour), End: now.Add(24 * time.Hour)}
	}
	tests := []struct {
		name string
		edit func(p *platform) // before the second run
		// want are in one WARN line: the one that holds want[0]
		want    []string
		wantErr bool
	}{
		{name: "invalid email, no error", edit: func(p *platform) {
			m, pl := member("carla")
			m.Email = "carla@"
			p.snap.Members, p.snap.Plans = append(p.snap.Members, m), append(p.snap.Plans, pl)
		}, want: []string{"cause=invalid_email", `msg="snapshot records skipped`, "count=1", `member \"carla\"`,
			`remedy="correct the member's email`, "organization=acme"}},
		{name: "group missing", edit: func(p *platform) {
			p.extra = []int64{999999}
		}, want: []string{`msg="changes parked`, "class=missing", "group=999999", "count=5", "m1@example.com",
			`remedy="the group is gone from Kisi`}, wantErr: true},
		{name: "failed", edit: func(p *platform) {
			p.extra = []int64{999999}
		}, want: []string{`msg="changes failed`, "class=missing", "count=1", "m0@example.com"}, wantErr: true},
		{name: "cuts held", edit: func(p *platform) {
			p.snap.Plans = nil
		}, want: []string{`msg="revoke guard held cuts of access`, "cut=vanished", "count=6", "m0@example.com",
			`remedy="check that the snapshot is complete`}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := kisitest.NewServer(kisitest.WithoutRateLimit())
			t.Cleanup(srv.Close)
			g, err := srv.AddGroup("Members", 0)
			require.NoError(t, err)
			p := &platform{srv: srv, group: g}
			for i := range 6 {
				m, pl := member(fmt.Sprintf("m%d", i))
				p.snap.Members, p.snap.Plans = append(p.snap.Members, m), append(p.snap.Plans, pl)
			}
			store := access.NewMemoryStore()
			opts := []kisi.Option{kisi.WithBaseURL(srv.URL), kisi.WithRateLimit(1000, 100)}
			var logs bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logs, nil))
			_, err = integration.SyncOrganization(t.Context(), p, store, "acme", log, opts...)
			require.NoError(t, err)
			require.Empty(t, warnLines(logs.String()), "a run that did everything logs no warning")

			tc.edit(p)
			next, err := integration.SyncOrganization(t.Context(), p, store, "acme", log, opts...)
			if tc.wantErr {
				require.Error(t, err)
			} else {
				require.NoError(t, err)
			}
			require.False(t, next.IsZero())
			var lines []string
			for _, l := range warnLines(logs.String()) {
				if strings.Contains(l, tc.want[0]) {
					lines = append(lines, l)
				}
			}
			require.Len(t, lines, 1, logs.String())
			for _, w := range tc.want {
				require.Contains(t, lines[0], w)
			}
		})
	}
}

// warnLines returns the log lines at WARN.
func warnLines(logs string) []string {
	var out []string
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, "level=WARN") {
			out = append(out, l)
		}
	}
	return out
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
		slog.New(slog.DiscardHandler), kisi.WithBaseURL(srv.URL), kisi.WithRateLimit(1000, 100))
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
