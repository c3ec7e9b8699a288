package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/kisi/kisitest"
	"github.com/kisisync/kisisync/mapping"
)

// TestOnceWithState: with KISI_API_KEY, the records go to the SQLite file
// named by -state, so a second run knows what the first created and
// creates nothing.
func TestOnceWithState(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(start)
	srv := kisitest.NewServer(kisitest.WithoutRateLimit(), kisitest.WithClock(clock))
	t.Cleanup(srv.Close)
	group, err := srv.AddGroup("Members", 0)
	require.NoError(t, err)
	dir := t.TempDir()
	s := access.Snapshot{Locations: []access.Location{{ID: "hq", TimeZone: "Europe/Berlin"}}}
	for _, id := range []string{"ann", "ben"} {
		s.Members = append(s.Members, access.Member{ID: id, Email: id + "@example.com", Name: id, Managed: true})
		s.Plans = append(s.Plans, access.Plan{ID: "p-" + id, PlanID: "flex", MemberID: id,
			Start: start.Add(-24 * time.Hour), Status: access.PlanActive})
	}
	args := []string{"-once", "-state", filepath.Join(dir, "state.db"),
		"-snapshot", writeJSON(t, dir, "snapshot.json", s),
		"-mapping", writeJSON(t, dir, "mapping.json", mapping.Mapping{Plans: map[string][]int64{"flex": {group}}})}
	env := func(k string) string {
		switch k {
		case "KISI_API_KEY":
			return srv.APIKey
		case "KISI_URL":
			return srv.URL
		}
		return ""
	}
	for _, want := range []string{"created=2", "created=0"} {
		var out bytes.Buffer
		require.Equal(t, 0, runWith(t.Context(), args, env, &out, &out, clock), out.String())
		require.Contains(t, out.String(), "msg=synced "+want)
	}
}

// writeJSON writes v as JSON to the file name in dir and returns its path.
func writeJSON(t *testing.T, dir, name string, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	path := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(path, b, 0o600))
	return path
}
