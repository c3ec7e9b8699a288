package fleet_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/examples/fleet"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/kisi/kisitest"
)

// headerLog records the integration headers of every request it passes on.
type headerLog struct {
	mu   sync.Mutex
	seen []string
}

func (h *headerLog) RoundTrip(r *http.Request) (*http.Response, error) {
	h.mu.Lock()
	h.seen = append(h.seen, r.Header.Get(kisi.IntegrationIdentifierHeader)+" / "+r.Header.Get(kisi.IntegrationContactHeader))
	h.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

// TestIntegrationHeaders (issue 31): with "integration" in the
// configuration, every Kisi request of every run carries Kisi's two
// integration partner headers; without it, neither.
func TestIntegrationHeaders(t *testing.T) {
	dsn := testDatabase(t)
	for _, tc := range []struct{ name, config, want string }{
		{"configured", `"integration": {"identifier": "acme-coworking", "contact": "ops@acme.example"},`, "acme-coworking / ops@acme.example"},
		{"not configured", ``, " / "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := kisitest.NewServer()
			t.Cleanup(srv.Close)
			g, err := srv.AddGroup("Members", 0)
			require.NoError(t, err)
			org := "org-" + tc.name[:3]
			cfg, err := fleet.ParseConfig(fmt.Appendf(nil, `{"floor": "10ms", "ceiling": "1h", %s
				"organizations": [{"id": %q, "kisi_user": %q, "api_key": %q, "base_url": %q, "mapping": {"plans": {"flex": [%d]}}}]}`,
				tc.config, org, org, srv.APIKey, srv.URL, g))
			require.NoError(t, err)
			done := make(chan struct{}, 10)
			loader := fleet.LoaderFunc(func(context.Context, string) (access.Snapshot, error) {
				defer func() { done <- struct{}{} }()
				return access.Snapshot{
					Members: []access.Member{{ID: "m1", Email: "ann@example.com", Managed: true}},
					Plans:   []access.Plan{{ID: "p1", PlanID: "flex", MemberID: "m1", Status: access.PlanActive, Start: time.Now().Add(-time.Hour)}},
				}, nil
			})
			log := &headerLog{}
			w, err := fleet.New(testPool(t, dsn), cfg, access.NewMemoryStore(), loader, fleet.Options{ID: "w-" + org, Transport: log})
			require.NoError(t, err)
			require.NoError(t, w.Start(t.Context()))
			t.Cleanup(func() { _ = w.Stop(context.Background()) })
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				t.Fatal("no run")
			}
			require.Eventually(t, func() bool { return srv.Count("POST", "/role_assignments") == 1 }, 20*time.Second, 10*time.Millisecond)
			log.mu.Lock()
			defer log.mu.Unlock()
			require.NotEmpty(t, log.seen)
			for _, h := range log.seen {
				require.Equal(t, tc.want, h)
			}
		})
	}
}
