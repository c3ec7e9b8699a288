package kisitest_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/kisi/kisitest"
)

// TestKisiClientJS (issue 31) drives the fake with Kisi's own JavaScript
// client (the npm package kisi-client, pinned in testdata/clientjs) through
// users, roles, groups, places, role assignments, links, guests, event
// sets, pagination and errors (testdata/clientjs/check.mjs): every check
// must pass. It needs node and npm (and the npm registry, or npm's cache,
// for the install); without them it skips, or fails when CI=true.
func TestKisiClientJS(t *testing.T) {
	if testing.Short() {
		t.Skip("installs kisi-client with npm")
	}
	t.Parallel()
	node, errNode := exec.LookPath("node")
	npm, errNpm := exec.LookPath("npm")
	if errNode != nil || errNpm != nil {
		skipOrFail(t, "node and npm are needed (Debian: apt-get install nodejs npm)")
	}
	dir := t.TempDir()
	for _, f := range []string{"package.json", "package-lock.json", "check.mjs"} {
		b, err := os.ReadFile(filepath.Join("testdata", "clientjs", f))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), b, 0o644))
	}
	install := exec.CommandContext(t.Context(), npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--prefer-offline")
	install.Dir = dir
	if out, err := install.CombinedOutput(); err != nil {
		skipOrFail(t, "npm ci of kisi-client failed: "+err.Error()+"\n"+string(out))
	}

	srv := kisitest.NewServer(kisitest.WithoutRateLimit())
	t.Cleanup(srv.Close)
	place, err := srv.AddPlace("HQ", "Europe/Berlin")
	require.NoError(t, err)
	lock, err := srv.AddLock(place, "Front door")
	require.NoError(t, err)
	user, err := srv.AddUser("door@example.com", "Door User", true)
	require.NoError(t, err)
	for i := range 12 {
		_, err := srv.RecordUnlock(kisitest.Unlock{UserID: user, LockID: lock, At: time.Now().Add(-time.Duration(i+1) * time.Minute)})
		require.NoError(t, err)
	}

	cmd := exec.CommandContext(t.Context(), node, "check.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "KISI_BASE_URL="+srv.URL, "KISI_API_KEY="+srv.APIKey)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, runErr := cmd.Output()
	type result struct {
		Check, Rank, Detail string
		OK                  bool
	}
	var results []result
	var summary struct{ Calls, Failed int }
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var r result
		if json.Unmarshal(sc.Bytes(), &r) == nil && r.Check != "" {
			results = append(results, r)
			continue
		}
		_ = json.Unmarshal(sc.Bytes(), &summary) // the last line: {"calls", "failed"}
	}
	for _, r := range results {
		if !r.OK {
			t.Errorf("kisi-client: %s (%s): %s", r.Check, r.Rank, r.Detail)
		}
	}
	if runErr != nil && !t.Failed() {
		t.Fatalf("node check.mjs: %v\nstdout:\n%s\nstderr:\n%s", runErr, out, stderr.String())
	}
	require.GreaterOrEqual(t, len(results), 15, "checks run:\n%s", out)
	t.Logf("kisi-client: %d checks run, %d calls to the fake", len(results), summary.Calls)
}

// skipOrFail skips the test, or fails it when CI=true: CI installs what
// the test needs.
func skipOrFail(t *testing.T, why string) {
	t.Helper()
	if strings.EqualFold(os.Getenv("CI"), "true") {
		t.Fatal(why)
	}
	t.Skip(why)
}
