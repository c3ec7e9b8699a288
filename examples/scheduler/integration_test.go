package main

import (
	"bytes"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/kisi/kisitest"
	"github.com/kisisync/kisisync/mapping"
)

// TestIntegrationHeaders (issue 31): -integration NAME,CONTACT (or
// KISI_INTEGRATION, as kisisync's CLI reads it) sends Kisi's integration
// partner headers with every request of a run; without it neither header
// goes out; a malformed value exits 2.
func TestIntegrationHeaders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		flag string // -integration
		env  string // KISI_INTEGRATION
		want string // every request's headers, "identifier / contact"
		code int
	}{
		{name: "flag", flag: "acme-coworking,ops@acme.example", want: "acme-coworking / ops@acme.example"},
		{name: "environment", env: "acme,https://acme.example/kisi", want: "acme / https://acme.example/kisi"},
		{name: "flag over environment", flag: "acme,ops@acme.example", env: "other,x@y.example", want: "acme / ops@acme.example"},
		{name: "none", want: " / "},
		{name: "malformed", flag: "acme-coworking", code: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := clockwork.NewFakeClockAt(start)
			srv := kisitest.NewServer(kisitest.WithoutRateLimit(), kisitest.WithClock(clock))
			t.Cleanup(srv.Close)
			group, err := srv.AddGroup("Members", 0)
			require.NoError(t, err)
			var mu sync.Mutex
			seen := map[string]int{}
			srv.Intercept(func(r *http.Request) kisitest.Fault {
				mu.Lock()
				defer mu.Unlock()
				seen[r.Header.Get(kisi.IntegrationIdentifierHeader)+" / "+r.Header.Get(kisi.IntegrationContactHeader)]++
				return kisitest.Fault{}
			})
			dir := t.TempDir()
			s := access.Snapshot{Locations: []access.Location{{ID: "hq", TimeZone: "Europe/Berlin"}},
				Members: []access.Member{{ID: "ann", Email: "ann@example.com", Managed: true}},
				Plans:   []access.Plan{{ID: "p-ann", PlanID: "flex", MemberID: "ann", Start: start.Add(-24 * time.Hour), Status: access.PlanActive}}}
			args := []string{"-once", "-state", filepath.Join(dir, "state.db"), "-snapshot", writeJSON(t, dir, "snapshot.json", s),
				"-mapping", writeJSON(t, dir, "mapping.json", mapping.Mapping{Plans: map[string][]int64{"flex": {group}}})}
			if tc.flag != "" {
				args = append(args, "-integration", tc.flag)
			}
			env := func(k string) string {
				return map[string]string{"KISI_API_KEY": srv.APIKey, "KISI_URL": srv.URL, "KISI_INTEGRATION": tc.env}[k]
			}
			var out bytes.Buffer
			require.Equal(t, tc.code, runWith(t.Context(), args, env, &out, &out, clock), out.String())
			mu.Lock()
			defer mu.Unlock()
			if tc.code != 0 {
				require.Contains(t, out.String(), "-integration")
				require.Empty(t, seen, "nothing sent")
				return
			}
			require.Len(t, seen, 1, "every request alike: %v", seen)
			require.Positive(t, seen[tc.want], "%v", seen)
		})
	}
}
