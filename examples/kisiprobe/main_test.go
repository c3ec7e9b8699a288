package main

import (
	"bytes"
	"context"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/kisi/kisitest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

var t0 = time.Date(2026, 6, 10, 8, 0, 0, 0, time.UTC)

// newProbe starts a fake with opts (the rate limit off) on a fixed fake
// clock, and a probe pointed at it whose link check fills a quota of 3.
func newProbe(t *testing.T, opts ...kisitest.Option) (*kisitest.Server, *probe) {
	t.Helper()
	clock := clockwork.NewFakeClockAt(t0)
	srv := kisitest.NewServer(append([]kisitest.Option{kisitest.WithoutRateLimit(), kisitest.WithClock(clock), kisitest.WithEmailLinkLimit(3)}, opts...)...)
	t.Cleanup(srv.Close)
	c, err := kisi.NewClient(srv.APIKey, kisi.WithBaseURL(srv.URL), kisi.WithRateLimit(rate.Inf, 0), kisi.WithRetry(1, time.Millisecond, time.Millisecond))
	require.NoError(t, err)
	return srv, &probe{c: c, now: clock.Now, name: "kisiprobe-test", domain: "example.com", linkQuota: 3}
}

// TestProbeNamesTheFakeSetting runs every check against the fake under the
// default and under the other setting of each option: the probe must name
// the setting in force, and leave nothing behind.
func TestProbeNamesTheFakeSetting(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts []kisitest.Option
		want map[string]string // option → setting the probe must name
	}{
		{
			name: "defaults",
			want: map[string]string{
				"WithStarEmptyRange":               "WithStarEmptyRange(true)",
				"WithValidityPrecision":            "WithValidityPrecision(0)",
				"WithPatchableValidity":            "WithPatchableValidity(false)",
				"WithDuplicateRoleErrorKey":        `WithDuplicateRoleErrorKey("assignee_id")`,
				"WithNonGroupValidityRejected":     "WithNonGroupValidityRejected(true)",
				"WithUserEmailFilter":              "WithUserEmailFilter(true)",
				"WithConfirmedField":               "WithConfirmedField(true)",
				"WithExpiredLinksCounted":          "WithExpiredLinksCounted(true)",
				"WithExistingUserOnDuplicateEmail": "WithExistingUserOnDuplicateEmail(false)",
			},
		},
		{
			name: "other settings",
			opts: []kisitest.Option{
				kisitest.WithStarEmptyRange(false), kisitest.WithValidityPrecision(time.Minute),
				kisitest.WithPatchableValidity(true), kisitest.WithDuplicateRoleErrorKey("base"),
				kisitest.WithNonGroupValidityRejected(false), kisitest.WithUserEmailFilter(false),
				kisitest.WithConfirmedField(false), kisitest.WithExpiredLinksCounted(false),
				kisitest.WithExistingUserOnDuplicateEmail(true),
			},
			want: map[string]string{
				"WithStarEmptyRange":               "WithStarEmptyRange(false)",
				"WithValidityPrecision":            "WithValidityPrecision(time.Minute)",
				"WithPatchableValidity":            "WithPatchableValidity(true)",
				"WithDuplicateRoleErrorKey":        `WithDuplicateRoleErrorKey("base")`,
				"WithNonGroupValidityRejected":     "WithNonGroupValidityRejected(false)",
				"WithUserEmailFilter":              "WithUserEmailFilter(false)",
				"WithConfirmedField":               "WithConfirmedField(false)",
				"WithExpiredLinksCounted":          "WithExpiredLinksCounted(false)",
				"WithExistingUserOnDuplicateEmail": "WithExistingUserOnDuplicateEmail(true)",
			},
		},
		{
			name: "seconds",
			opts: []kisitest.Option{kisitest.WithValidityPrecision(time.Second)},
			want: map[string]string{"WithValidityPrecision": "WithValidityPrecision(time.Second)"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, p := newProbe(t, tc.opts...)
			before := inventory(t, srv)
			findings, err := probeAndClean(t.Context(), p)
			require.NoError(t, err)
			got := map[string]string{}
			for _, f := range findings {
				if _, ok := tc.want[f.Option]; ok {
					got[f.Option] = f.Setting
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("settings named (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, inventory(t, srv)); diff != "" {
				t.Errorf("left behind (-before +after):\n%s", diff)
			}
			var out bytes.Buffer
			printFindings(&out, findings)
			golden(t, filepath.Join("testdata", "findings_"+tc.name+".golden"), out.String())
		})
	}
}

// TestProbeCleansUpAfterInterrupt: an interrupt in the middle (the context
// ends while the first role is being created) still deletes everything.
func TestProbeCleansUpAfterInterrupt(t *testing.T) {
	t.Parallel()
	srv, p := newProbe(t)
	before := inventory(t, srv)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	srv.Intercept(func(r *http.Request) kisitest.Fault {
		if r.Method == http.MethodPost && r.URL.Path == "/role_assignments" {
			cancel()
		}
		return kisitest.Fault{}
	})
	_, err := probeAndClean(ctx, p)
	require.ErrorIs(t, err, context.Canceled)
	srv.Intercept(nil)
	if diff := cmp.Diff(before, inventory(t, srv)); diff != "" {
		t.Errorf("left behind (-before +after):\n%s", diff)
	}
}

// TestProbeCleansUpLostCreates (issue 31): an object whose create answer
// was lost (applied by Kisi, answered 500) has no undo step; cleanup still
// finds it by the probe's name and deletes it.
func TestProbeCleansUpLostCreates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		path string
		nth  int // which POST to path loses its answer, from 1
	}{
		{name: "group", path: "/groups", nth: 1},
		{name: "user", path: "/users", nth: 1},
		{name: "first role", path: "/role_assignments", nth: 1},
		{name: "expired link", path: "/group_links", nth: 1},
		{name: "a link filling the quota", path: "/group_links", nth: 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, p := newProbe(t)
			before := inventory(t, srv)
			var mu sync.Mutex
			seen := 0
			srv.Intercept(func(r *http.Request) kisitest.Fault {
				mu.Lock()
				defer mu.Unlock()
				if r.Method != http.MethodPost || r.URL.Path != tc.path {
					return kisitest.Fault{}
				}
				seen++
				return kisitest.Fault{Lost: seen == tc.nth}
			})
			_, err := probeAndClean(t.Context(), p)
			require.Error(t, err, "the lost answer is reported")
			srv.Intercept(nil)
			if diff := cmp.Diff(before, inventory(t, srv)); diff != "" {
				t.Errorf("left behind (-before +after):\n%s", diff)
			}
		})
	}
}

// TestCleanupTimeoutScales (issue 31): the time cleanup may take covers
// deleting everything created at Kisi's 5 requests per second; a fixed 2
// minutes covered about 600 deletes, fewer than a 1,000-link quota.
func TestCleanupTimeoutScales(t *testing.T) {
	t.Parallel()
	const kisiPace = time.Second / 5
	for _, creates := range []int{0, 10, 600, 1_003, 5_000} {
		need := time.Duration(creates) * kisiPace
		if got := cleanupTimeout(creates); got < need+time.Minute {
			t.Errorf("cleanupTimeout(%d) = %v, want at least %v (deletes at 5/s) plus a minute", creates, got, need)
		}
	}
}

func TestRunRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		env  map[string]string
	}{
		{name: "no key", args: []string{"-write"}},
		{name: "bad flag", args: []string{"-nope"}, env: map[string]string{"KISI_API_KEY": "k"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), tc.args, func(k string) string { return tc.env[k] }, strings.NewReader(""), &stdout, &stderr)
			require.Equal(t, 2, code)
			require.Empty(t, stdout.String())
			require.NotEmpty(t, stderr.String())
		})
	}
}

// TestRunReadsFirst (issue 31): the probe shows the organization it would
// write to and runs its read-only checks; it writes only with -write and
// once the organization's domain is typed (or -yes is given).
func TestRunReadsFirst(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		args      []string
		stdin     string
		wantCode  int
		wantWrite bool
	}{
		{name: "read only", wantCode: 0},
		{name: "write not confirmed", args: []string{"-write"}, stdin: "yes\n", wantCode: 2},
		{name: "write confirmed with the domain", args: []string{"-write"}, stdin: "kisitest\n", wantCode: 0, wantWrite: true},
		{name: "write with -yes", args: []string{"-write", "-yes"}, wantCode: 0, wantWrite: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := kisitest.NewServer(kisitest.WithoutRateLimit())
			t.Cleanup(srv.Close)
			place, err := srv.AddPlace("HQ", "Europe/Berlin")
			require.NoError(t, err)
			_, err = srv.AddGroup(defaultPlaceGroup, place)
			require.NoError(t, err)
			before := inventory(t, srv)
			srv.ResetRequests()
			var stdout, stderr bytes.Buffer
			env := map[string]string{"KISI_API_KEY": srv.APIKey}
			args := append([]string{"-base-url", srv.URL, "-name", "kisiprobe-test"}, tc.args...)
			code := run(t.Context(), args, func(k string) string { return env[k] }, strings.NewReader(tc.stdin), &stdout, &stderr,
				kisi.WithRateLimit(rate.Inf, 0))
			require.Equal(t, tc.wantCode, code, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
			require.Contains(t, stdout.String(), `Organization "Kisitest Coworking" (domain kisitest`)
			require.Contains(t, stdout.String(), "default group of a place")
			wrote := false
			for _, r := range srv.Requests() {
				if r.Method != http.MethodGet {
					wrote = true
				}
			}
			require.Equal(t, tc.wantWrite, wrote, "writes")
			if diff := cmp.Diff(before, inventory(t, srv)); diff != "" {
				t.Errorf("left behind (-before +after):\n%s", diff)
			}
		})
	}
}

func TestDefaultPlaceGroupName(t *testing.T) {
	t.Parallel()
	require.Equal(t, kisitest.DefaultPlaceGroup, defaultPlaceGroup)
}

// inventory lists what the organization holds, by kind and name.
func inventory(t *testing.T, srv *kisitest.Server) map[string][]string {
	t.Helper()
	c, err := kisi.NewClient(srv.APIKey, kisi.WithBaseURL(srv.URL), kisi.WithRateLimit(rate.Inf, 0))
	require.NoError(t, err)
	ctx := t.Context()
	inv := map[string][]string{}
	for g, err := range c.Groups.ListIter(ctx, nil) {
		require.NoError(t, err)
		inv["group"] = append(inv["group"], g.Name)
	}
	for u, err := range c.Users.ListIter(ctx, nil) {
		require.NoError(t, err)
		inv["user"] = append(inv["user"], u.Email)
	}
	for ra, err := range c.RoleAssignments.ListIter(ctx, nil) {
		require.NoError(t, err)
		inv["role"] = append(inv["role"], ra.RoleID)
	}
	for l, err := range c.GroupLinks.ListIter(ctx, nil) {
		require.NoError(t, err)
		inv["link"] = append(inv["link"], l.Name)
	}
	return inv
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("output differs from %s (-want +got):\n%s\nrun go test ./examples/kisiprobe -update to accept", path, diff)
	}
}
