package main

import (
	"bytes"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/kisi/kisitest"
	"github.com/kisisync/kisisync/mapping"
	"github.com/kisisync/kisisync/schedule"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

const at = "2026-06-10T08:00:00+02:00"

func td(name string) string { return filepath.Join("testdata", name) }

func noEnv(string) string { return "" }

// invoke runs the CLI in-process and returns its exit code and output.
func invoke(t *testing.T, env func(string) string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), args, env, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := td(name + ".golden")
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s\nrun go test ./examples/kisisync -update to accept", path, diff)
	}
}

// TestGolden runs each command against the embedded fake on sample files.
func TestGolden(t *testing.T) {
	t.Parallel()
	sample := []string{"--snapshot", td("snapshot.json"), "--mapping", td("mapping.json")}
	withPolicy := append(sample[:len(sample):len(sample)], "--policy", td("policy.json"))
	bad := []string{"--snapshot", td("bad_snapshot.json"), "--mapping", td("bad_mapping.json"), "--policy", td("bad_policy.json")}
	tests := []struct {
		name     string
		args     []string
		wantCode int
	}{
		{name: "plan", args: append([]string{"plan", "--fake", "--at", at}, sample...)},
		{name: "plan_policy", args: append([]string{"plan", "--fake", "--at", at}, withPolicy...)},
		{name: "plan_json", args: append([]string{"plan", "--fake", "--json", "--at", at}, sample...)},
		{name: "apply", args: append([]string{"apply", "--fake", "--at", at}, sample...)},
		{name: "apply_json", args: append([]string{"apply", "--fake", "--json", "--at", at}, sample...)},
		{name: "verify", args: append([]string{"verify", "--fake", "--at", at}, sample...)},
		{name: "explain", args: append([]string{"explain", "--member", "m-bruno", "--at", "2026-06-10T08:40:00+02:00"}, sample...)},
		{name: "explain_pending", args: append([]string{"explain", "--member", "m-gus", "--at", at}, sample...)},
		{name: "explain_json", args: append([]string{"explain", "--json", "--member", "m-chen", "--at", at}, sample...)},
		{name: "diagnose", args: append([]string{"diagnose", "--fake", "--member", "m-bruno", "--at", "2026-06-10T08:40:00+02:00"}, sample...), wantCode: exitFailed},
		{name: "explain_timeline", args: append([]string{"explain", "--timeline", "--member", "m-bruno", "--at", "2026-06-10T08:40:00+02:00"}, withPolicy...)},
		{name: "explain_timeline_pending", args: append([]string{"explain", "--timeline", "--member", "m-gus", "--at", at}, sample...)},
		{name: "diagnose_timeline", args: append([]string{"diagnose", "--fake", "--timeline", "--member", "m-chen", "--at", at}, sample...), wantCode: exitFailed},
		{name: "timeline_with_json", args: append([]string{"explain", "--timeline", "--json", "--member", "m-chen"}, sample...), wantCode: exitUsage},
		{name: "help_explain", args: []string{"explain", "--help"}},
		{name: "help_diagnose", args: []string{"help", "diagnose"}},
		{name: "diagnose_json", args: append([]string{"diagnose", "--fake", "--json", "--member", "m-gus", "--at", at}, sample...), wantCode: exitFailed},
		{name: "bad_input", args: append([]string{"apply", "--fake", "--at", at}, bad...), wantCode: exitUsage},
		{name: "invalid_records", args: []string{"apply", "--fake", "--at", at, "--snapshot", td("invalid_records.json"), "--mapping", td("mapping.json")}, wantCode: exitFailed},
		{name: "missing_file", args: []string{"plan", "--fake", "--snapshot", td("nope.json"), "--mapping", td("mapping.json")}, wantCode: exitUsage},
		{name: "no_key", args: append([]string{"plan"}, sample...), wantCode: exitUsage},
		{name: "apply_without_state", args: append([]string{"apply"}, sample...), wantCode: exitUsage},
		{name: "bad_at", args: append([]string{"plan", "--fake", "--at", "tomorrow"}, sample...), wantCode: exitUsage},
		{name: "no_command", args: nil, wantCode: exitUsage},
		{name: "help", args: []string{"help"}},
		{name: "help_plan", args: []string{"plan", "--help"}},
		{name: "help_apply", args: []string{"help", "apply"}},
		{name: "help_unknown", args: []string{"help", "sync"}, wantCode: exitUsage},
		{name: "unknown_flag", args: []string{"explain", "--verbose"}, wantCode: exitUsage},
		{name: "version", args: []string{"--version"}},
		{name: "check", args: []string{"check", "--fake", "--at", at, "--mapping", td("mapping.json")}},
		{name: "groups", args: []string{"groups", "--fake", "--mapping", td("mapping.json")}},
		{name: "check_json", args: []string{"check", "--fake", "--json", "--at", at, "--mapping", td("mapping.json")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := noEnv
			if tc.name == "apply_without_state" {
				env = func(k string) string {
					if k == "KISI_API_KEY" {
						return "secret-key-for-tests"
					}
					return ""
				}
			}
			code, stdout, stderr := invoke(t, env, tc.args...)
			require.Equal(t, tc.wantCode, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
			require.NotContains(t, stdout+stderr, "secret-key-for-tests")
			got := stdout
			if stderr != "" {
				got += "--- stderr ---\n" + stderr
			}
			checkGolden(t, tc.name, got)
		})
	}
}

// TestAgainstKisi drives the path a real deployment takes — KISI_API_KEY,
// --kisi-url and a --state file — against a fake standing in for Kisi: a
// second apply changes nothing, a snapshot that drops everyone is held by
// the revoke guard, and --approve-revocations lets it through.
func TestAgainstKisi(t *testing.T) {
	t.Parallel()
	srv := kisitest.NewServer()
	t.Cleanup(srv.Close)
	group, err := srv.AddGroup("Members", 0)
	require.NoError(t, err)
	mapping := flexMapping(t, t.TempDir(), group)
	env := kisiEnv(srv, srv.APIKey)
	state := filepath.Join(t.TempDir(), "state.db")
	common := []string{"--mapping", mapping, "--state", state}
	small := append([]string{"--snapshot", td("small_snapshot.json")}, common...)
	empty := append([]string{"--snapshot", td("empty_snapshot.json")}, common...)

	check := func(wantCode int, wantOut string, args ...string) string {
		t.Helper()
		code, stdout, stderr := invoke(t, env, args...)
		require.Equal(t, wantCode, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
		require.Contains(t, stdout+stderr, wantOut)
		require.NotContains(t, stdout+stderr, srv.APIKey, "the key is never printed")
		return stdout + stderr
	}
	check(exitOK, "Applied: 4 created", append([]string{"apply"}, small...)...)
	check(exitOK, "no changes", append([]string{"apply"}, small...)...)
	check(exitOK, "Kisi matches", append([]string{"verify"}, small...)...)
	out := check(exitHeld, "held 4 cuts of access", append([]string{"apply"}, empty...)...)
	require.Contains(t, out, "held by the revoke guard")
	require.Equal(t, 4, countRoles(t, srv))
	check(exitHeld, "held 4 cuts of access", append([]string{"apply", "--revoke-limit", "0.5"}, empty...)...)
	check(exitOK, "Applied: 0 created, 0 replaced, 4 deleted", append([]string{"apply", "--revoke-floor", "4"}, empty...)...)
	require.Equal(t, 0, countRoles(t, srv))
	check(exitOK, "Applied: 4 created", append([]string{"apply"}, small...)...)
	check(exitOK, "Applied: 0 created, 0 replaced, 4 deleted", append([]string{"apply", "--approve-revocations"}, empty...)...)
	require.Equal(t, 0, countRoles(t, srv))
}

func TestParseArgs(t *testing.T) {
	t.Parallel()
	files := []string{"--snapshot", "s.json", "--mapping", "m.json"}
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "revoke limit above one", args: []string{"apply", "--revoke-limit", "2"},
			wantErr: `invalid argument "2" for "--revoke-limit" flag: want a share between 0 and 1 such as 0.25, got "2"`},
		{name: "revoke limit not a number", args: []string{"apply", "--revoke-limit", "25%"},
			wantErr: `invalid argument "25%" for "--revoke-limit" flag: want a share between 0 and 1 such as 0.25, got "25%"`},
		{name: "negative revoke floor", args: []string{"apply", "--revoke-floor", "-1"},
			wantErr: `invalid argument "-1" for "--revoke-floor" flag: want a count of revocations such as 3, got "-1"`},
		{name: "revoke guard for explain", args: []string{"explain", "--member", "m", "--revoke-floor", "1"},
			wantErr: "--revoke-floor is for plan, apply, not explain"},
		{name: "guard set", args: []string{"apply", "--revoke-limit", "0.5", "--revoke-floor", "10"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := parseArgs(append(tc.args, files...), io.Discard)
			if tc.wantErr != "" {
				require.EqualError(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, 0.5, *cfg.revokeLimit)
			require.Equal(t, 10, *cfg.revokeFloor)
		})
	}
}

func countRoles(t *testing.T, srv *kisitest.Server) int {
	t.Helper()
	n := 0
	for _, r := range srv.Requests() {
		if r.Method == "POST" && strings.HasPrefix(r.Path, "/role_assignments") && r.Status == 200 {
			n++
		}
		if r.Method == "DELETE" && strings.HasPrefix(r.Path, "/role_assignments") && r.Status == 204 {
			n--
		}
	}
	return n
}

func TestProgress(t *testing.T) {
	t.Parallel()
	// Each change costs three requests; the fourth change met a 429.
	requests := []int64{3, 6, 9, 13}
	tests := []struct {
		name  string
		term  bool
		total int
		want  string
	}{
		{name: "plain", total: 20, want: "applied 1/20 changes, 3 requests; about 57 more requests, 11 seconds at 5/s\n" +
			"applied 2/20 changes, 6 requests; about 54 more requests, 11 seconds at 5/s\n" +
			"applied 4/20 changes, 13 requests (1 answered 429, retried), 5.0/s; about 52 more requests, 10 seconds at 5/s\n"},
		{name: "terminal", term: true, total: 3, want: "\r\x1b[Kapplied 1/3 changes, 3 requests; about 6 more requests, 1 second at 5/s" +
			"\r\x1b[Kapplied 2/3 changes, 6 requests; about 3 more requests, 1 second at 5/s" +
			"\r\x1b[Kapplied 3/3 changes, 9 requests\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var b bytes.Buffer
			clock := clockwork.NewFakeClockAt(time.Date(2026, time.June, 10, 8, 0, 0, 0, time.UTC))
			reqs := &counter{}
			reqs.requests.Store(7) // the plan's, not counted
			p := newProgress(&b, tc.term, clock, reqs, kisiRate)
			p.begin()
			for done := 1; done <= min(4, tc.total); done++ {
				reqs.requests.Store(7 + requests[done-1])
				if done == 4 {
					reqs.limited.Store(1)
					clock.Advance(13 * time.Second / 5)
				}
				p.update(done, tc.total)
			}
			p.finish()
			if diff := cmp.Diff(tc.want, b.String()); diff != "" {
				t.Errorf("progress (-want +got):\n%s", diff)
			}
		})
	}
	var none *progress // --json: no progress
	none.begin()
	none.update(1, 2)
	none.finish()
}

func TestLoadPolicy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		file    string
		want    access.Policy
		wantErr string
	}{
		{name: "sample", file: `{"resource_buffers": {"room-spree": {"before": "15m", "after": "10m"}}, "lead": "30m"}`,
			want: access.Policy{Buffer: schedule.DefaultBuffer, Lead: 30 * time.Minute,
				ResourceBuffers: map[string]schedule.Buffer{"room-spree": {Before: 15 * time.Minute, After: 10 * time.Minute}}}},
		{name: "syntax", file: "{\n  \"lead\": \"20m\",\n}", wantErr: `policy.json: line 3, column 1: invalid character '}' looking for beginning of object key string`},
		{name: "resource buffer", file: `{"resource_buffers": {"room-spree": {"after": 600}}}`,
			wantErr: `policy.json: resource_buffers["room-spree"]: buffer: after: want a duration string such as "5m" or "1h30m", got the number 600`},
		{name: "unknown field", file: `{"revoke_limit": 0.25}`,
			wantErr: `policy.json: unknown field "revoke_limit" (want buffer, resource_buffers, check_in_for, lead or validity)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "policy.json")
			require.NoError(t, os.WriteFile(path, []byte(tc.file), 0o600))
			got, err := loadPolicy(path)
			if tc.wantErr != "" {
				requireInputError(t, err)
				require.EqualError(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("loadPolicy (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFailureLinesOnePerCause(t *testing.T) {
	t.Parallel()
	refused := "access: create grant a@example.com → group 7: kisi: POST /role_assignments: 422 unprocessable entity"
	fs := []access.Failure{
		{Class: access.FailureRefused, Email: "a@example.com", Message: refused},
		{Class: access.FailureRefused, Email: "b@example.com", Message: strings.Replace(refused, "a@", "b@", 1)},
		{Class: access.FailureRefused, Email: "c@example.com", Message: strings.Replace(refused, "a@", "c@", 1)},
		{Class: access.FailureRefused, Email: "d@example.com", Message: strings.Replace(refused, "a@", "d@", 1)},
		{Class: access.FailureMissing, Email: "e@example.com", GroupID: 9, Message: "the group was deleted in Kisi (group 9): kisi: POST /role_assignments: 404 not found"},
	}
	want := []string{
		"4 changes failed (refused): POST /role_assignments: 422 unprocessable entity — a@example.com, b@example.com, c@example.com and 1 more",
		`1 change failed (missing) in group 9, mapped by plans["flex"]: POST /role_assignments: 404 not found — e@example.com; the group is gone from Kisi: re-create it, or map the entry to an existing group`,
	}
	if diff := cmp.Diff(want, failureLines(fs, mapping.Mapping{Plans: map[string][]int64{"flex": {9}}})); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}

// TestApplySystemicFailure: a key refused in the middle of an apply stops
// it at once with one line saying what to do, and exit code 4.
func TestApplySystemicFailure(t *testing.T) {
	t.Parallel()
	srv := kisitest.NewServer()
	t.Cleanup(srv.Close)
	group, err := srv.AddGroup("Members", 0)
	require.NoError(t, err)
	srv.Intercept(func(r *http.Request) kisitest.Fault {
		if r.Method == http.MethodPost {
			return kisitest.Fault{Status: http.StatusUnauthorized}
		}
		return kisitest.Fault{}
	})
	mapping := flexMapping(t, t.TempDir(), group)
	env := kisiEnv(srv, srv.APIKey)
	code, stdout, stderr := invoke(t, env, "apply", "--snapshot", td("small_snapshot.json"), "--mapping", mapping,
		"--state", filepath.Join(t.TempDir(), "state.db"), "--exclusive-groups")
	require.Equal(t, exitSystem, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	require.Equal(t, 1, strings.Count(stderr, "\n"), "one line, not one per change:\n%s", stderr)
	require.Contains(t, stderr, "3 changes not attempted")
	require.Contains(t, stderr, "the API key is wrong, expired or revoked")
	require.NotContains(t, stdout+stderr, srv.APIKey)
}
