package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/kisi/kisitest"
)

// TestExitCodes (issue 30): every exit code of the table in the help and
// the README, each from a command that should give it. Those marked
// "before" gave another code before: a refused key with nothing to apply
// exited 0, a verify with a refused key 1 after saying that Kisi matches,
// parked changes 0, another run's lease 1, an interrupt 4, a diagnosis
// with an ERROR finding 0.
func TestExitCodes(t *testing.T) {
	t.Parallel()
	srv := kisitest.NewServer(kisitest.WithoutRateLimit())
	t.Cleanup(srv.Close)
	group, err := srv.AddGroup("Members", 0)
	require.NoError(t, err)
	m := mappingFor(t, group)
	missing := mappingFor(t, 999999)
	snap := td("small_snapshot.json")
	ok := kisiEnv(srv, srv.APIKey)
	refused := kisiEnv(srv, "a-revoked-key")

	// A state in which everything is applied: apply again has nothing to do.
	synced := filepath.Join(t.TempDir(), "state.db")
	code, _, stderr := invoke(t, ok, "apply", "--snapshot", snap, "--mapping", m, "--state", synced)
	require.Equal(t, exitOK, code, stderr)

	tests := []struct {
		name string
		env  func(string) string
		args []string
		want int
		out  string // in stdout or stderr
		not  string // in neither
	}{
		{name: "0 nothing to do", env: ok, args: []string{"apply", "--snapshot", snap, "--mapping", m, "--state", synced}, want: exitOK},
		{name: "1 parked only (before: 0)", env: ok, args: []string{"apply", "--snapshot", snap, "--mapping", missing, "--state", filepath.Join(t.TempDir(), "s.db")},
			want: exitFailed, out: `parked (missing): group 999999 was deleted in Kisi — `},
		{name: "1 records skipped (before: 2)", args: []string{"apply", "--fake", "--at", at, "--snapshot", td("invalid_records.json"), "--mapping", td("mapping.json")},
			want: exitFailed, out: "(not synced: correct the member's email"},
		{name: "1 diagnose error finding (before: 0)", args: []string{"diagnose", "--fake", "--member", "m-bruno", "--at", at, "--snapshot", td("snapshot.json"), "--mapping", td("mapping.json")},
			want: exitFailed, out: "ERROR    user_unconfirmed"},
		{name: "2 bad input", args: []string{"plan", "--fake", "--snapshot", td("bad_snapshot.json"), "--mapping", td("mapping.json")}, want: exitUsage, out: "nothing was done"},
		{name: "4 refused key, nothing to apply (before: 0)", env: refused, args: []string{"apply", "--snapshot", snap, "--mapping", m, "--state", synced},
			want: exitSystem, out: "refused by Kisi (401 Unauthorized)", not: "Kisi matches"},
		{name: "4 refused key, verify (before: 1)", env: refused, args: []string{"verify", "--snapshot", snap, "--mapping", m, "--state", synced},
			want: exitSystem, out: "refused by Kisi (401 Unauthorized)", not: "Kisi matches"},
		{name: "4 refused key, diagnose", env: refused, args: []string{"diagnose", "--member", "m1", "--snapshot", snap, "--mapping", m},
			want: exitSystem, out: "refused by Kisi (401 Unauthorized)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := tc.env
			if env == nil {
				env = noEnv
			}
			code, stdout, stderr := invoke(t, env, tc.args...)
			require.Equal(t, tc.want, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
			require.Contains(t, stdout+stderr, tc.out)
			if tc.not != "" {
				require.NotContains(t, stdout+stderr, tc.not)
			}
			require.NotContains(t, stdout+stderr, "a-revoked-key")
		})
	}
}

// TestExitInterrupt (issue 30): an apply interrupted (Ctrl-C) exits 130 and
// says so, not 4 ("Kisi unreachable").
func TestExitInterrupt(t *testing.T) {
	t.Parallel()
	srv := kisitest.NewServer(kisitest.WithoutRateLimit())
	t.Cleanup(srv.Close)
	group, err := srv.AddGroup("Members", 0)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	var once sync.Once
	srv.Intercept(func(r *http.Request) kisitest.Fault {
		if r.Method == http.MethodPost {
			once.Do(cancel)
		}
		return kisitest.Fault{}
	})
	var stdout, stderr strings.Builder
	code := run(ctx, []string{"apply", "--snapshot", td("small_snapshot.json"), "--mapping", mappingFor(t, group),
		"--state", filepath.Join(t.TempDir(), "state.db")}, kisiEnv(srv, srv.APIKey), &stdout, &stderr)
	require.Equal(t, exitInterrupt, code, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	require.Contains(t, stderr.String(), "kisisync apply: interrupted")
}

// TestExitCodesDocumented: the help and the README list every exit code.
func TestExitCodesDocumented(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	for _, code := range []string{"0", "1", "2", "3", "4", "5", "130"} {
		require.Contains(t, exitCodes, "  "+code+" ", "help")
		require.Contains(t, string(readme), "| "+code+" |", "README")
	}
}

// TestInputLimits (issue 30): a text longer than the limit is refused with
// a clear error naming the record and the limit, before anything is done;
// a 300 MB name once took 26 s and 1.7 GB and would have become a Kisi
// user's name.
func TestInputLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, want string
	}{
		{name: "long name", body: `{"members": [{"id": "m1", "email": "a@example.com", "name": "` + strings.Repeat("x", 255) + `"}]}`,
			want: `snapshot.json: members[0] (id "m1"): name: a text of 255 characters is over the limit of 254`},
		{name: "long guest name", body: `{"bookings": [{"id": "b1", "resource_id": "r", "guest": {"name": "` + strings.Repeat("x", 300) + `", "email": "g@example.com"}}]}`,
			want: `snapshot.json: bookings[0] (id "b1"): guest: a text of 300 characters is over the limit of 254`},
		{name: "at the limit", body: `{"members": [{"id": "m1", "email": "a@example.com", "name": "` + strings.Repeat("x", 254) + `"}]}`},
		{name: "at the limit in characters", body: `{"members": [{"id": "m1", "email": "a@example.com", "name": "` + strings.Repeat("ü", 254) + `"}]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "snapshot.json")
			require.NoError(t, os.WriteFile(path, []byte(tc.body), 0o600))
			_, _, err := loadSnapshot(path)
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			requireInputError(t, err)
			require.EqualError(t, err, tc.want)
		})
	}
}

// TestProgressWording (issue 30): one request is "1 request", not "1
// requests"; times left read "41 minutes", not "41m3s"; and in a log a
// line comes at least every 30 seconds, not only at every tenth of a large
// apply (minutes at Kisi's pace).
func TestProgressWording(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	clock := clockwork.NewFakeClockAt(time.Date(2026, time.June, 10, 8, 0, 0, 0, time.UTC))
	reqs := &counter{}
	p := newProgress(&b, false, clock, reqs, kisiRate)
	p.begin()
	reqs.requests.Store(1)
	p.update(1, 12000) // the first tenth, 1200 changes, is far off
	clock.Advance(31 * time.Second)
	reqs.requests.Store(2)
	p.update(2, 12000)
	p.update(3, 12000) // within 30 seconds of the last line: none
	want := "applied 1/12000 changes, 1 request; about 11999 more requests, 40 minutes at 5/s\n" +
		"applied 2/12000 changes, 2 requests, 0.1/s; about 11998 more requests, 40 minutes at 5/s\n"
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("progress (-want +got):\n%s", diff)
	}
	for d, want := range map[time.Duration]string{time.Second: "1 second", 11 * time.Second: "11 seconds",
		41*time.Minute + 3*time.Second: "41 minutes", 65 * time.Minute: "1 hour 5 minutes"} {
		require.Equal(t, want, eta(d))
	}
}

// TestTruthfulReports (issue 30): what the CLI says is only what it knows.
func TestTruthfulReports(t *testing.T) {
	t.Parallel()
	srv := kisitest.NewServer(kisitest.WithoutRateLimit())
	t.Cleanup(srv.Close)
	group, err := srv.AddGroup("Members", 0)
	require.NoError(t, err)
	m := mappingFor(t, group)
	env := kisiEnv(srv, srv.APIKey)
	state := filepath.Join(t.TempDir(), "state.db")
	code, _, stderr := invoke(t, env, "apply", "--snapshot", td("small_snapshot.json"), "--mapping", m, "--state", state)
	require.Equal(t, exitOK, code, stderr)

	t.Run("verify that did not finish does not say Kisi matches", func(t *testing.T) {
		srv.Intercept(func(r *http.Request) kisitest.Fault {
			if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/role_assignments") {
				return kisitest.Fault{Status: http.StatusForbidden}
			}
			return kisitest.Fault{}
		})
		defer srv.Intercept(nil)
		code, stdout, stderr := invoke(t, env, "verify", "--snapshot", td("small_snapshot.json"), "--mapping", m, "--state", state)
		require.Equal(t, exitFailed, code, stdout+stderr)
		require.NotContains(t, stdout, "Kisi matches")
		require.Contains(t, stdout, "Verify did not finish")
		require.NotContains(t, stderr, "access: ", "no package prefixes")
	})
	t.Run("verify that finished says 1 group", func(t *testing.T) {
		code, stdout, stderr := invoke(t, env, "verify", "--snapshot", td("small_snapshot.json"), "--mapping", m, "--state", state)
		require.Equal(t, exitOK, code, stdout+stderr)
		require.Equal(t, "Verified 1 group: Kisi matches what kisisync manages.\n", stdout)
	})
	t.Run("members sharing an email are synced, with a warning", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "snapshot.json")
		require.NoError(t, os.WriteFile(path, []byte(`{
  "locations": [{"id": "loft", "time_zone": "Europe/Berlin"}],
  "members": [{"id": "m1", "email": "ann@example.com"}, {"id": "m9", "email": "Ann@Example.com"}],
  "plans": [{"id": "p9", "plan_id": "flex", "member_id": "m9", "start": "2026-01-01T00:00:00+01:00", "status": "active"}]
}`), 0o600))
		code, stdout, stderr := invoke(t, noEnv, "apply", "--fake", "--at", at, "--snapshot", path, "--mapping", m)
		require.Equal(t, exitOK, code, stdout+stderr)
		require.Contains(t, stdout, "Applied: 1 created")
		require.Contains(t, stderr, `snapshot.json: members[1] (id "m9"): email shared with another member`)
		require.Contains(t, stderr, "(synced, merged: give each member an email of their own")
		require.NotContains(t, stderr, "nothing was done")
	})
	t.Run("a parked change names the member, the group and the mapping entry", func(t *testing.T) {
		code, _, stderr := invoke(t, env, "apply", "--snapshot", td("small_snapshot.json"), "--mapping", mappingFor(t, 999999),
			"--state", filepath.Join(t.TempDir(), "s.db"))
		require.Equal(t, exitFailed, code, stderr)
		require.Contains(t, stderr, `parked (missing): group 999999 was deleted in Kisi — ben@example.com, cem@example.com, dev@example.com; mapped by plans["flex"]; the group is gone from Kisi`)
	})
}

// TestAnotherRunInProgress (issue 30): while another run (a scheduler)
// holds the lease, plan says so and apply exits 5 before printing a plan.
func TestAnotherRunInProgress(t *testing.T) {
	t.Parallel()
	srv := kisitest.NewServer(kisitest.WithoutRateLimit())
	t.Cleanup(srv.Close)
	group, err := srv.AddGroup("Members", 0)
	require.NoError(t, err)
	state := filepath.Join(t.TempDir(), "state.db")
	st, err := openState(t.Context(), state)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	now := time.Now()
	_, err = st.Lease(t.Context(), "default", "scheduler", now, now.Add(time.Hour))
	require.NoError(t, err)

	args := []string{"--snapshot", td("small_snapshot.json"), "--mapping", mappingFor(t, group), "--state", state}
	env := kisiEnv(srv, srv.APIKey)
	code, stdout, stderr := invoke(t, env, append([]string{"plan"}, args...)...)
	require.Equal(t, exitOK, code, stdout+stderr)
	require.Contains(t, stdout, "+ grant ann@example.com")
	require.Contains(t, stderr, `another run of organization "default" is in progress (its lease runs until `)

	code, stdout, stderr = invoke(t, env, append([]string{"apply"}, args...)...)
	require.Equal(t, exitLease, code, stdout+stderr)
	require.Empty(t, stdout, "no plan before failing on the lease")
	require.Contains(t, stderr, `another run of organization "default" is in progress`)
	require.Contains(t, stderr, "nothing was done")
}

// TestApplyEstimate (issue 30): before an apply with many new users, it
// says how many Kisi users and invitation emails it makes and how long the
// requests take at the client's pace: the users and invitations are those
// the report counts after, the requests within 5% of those sent. A small
// apply says nothing more.
func TestApplyEstimate(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, time.June, 10, 8, 0, 0, 0, time.UTC)
	var stdout, stderr bytes.Buffer
	a := app{env: noEnv, stdout: &stdout, stderr: &stderr, clock: clockwork.NewFakeClockAt(now), fakePace: 1e6}
	code := a.main(t.Context(), []string{"apply", "--fake", "--at", at, "--snapshot", bigSnapshot(t, 200, now), "--mapping", td("mapping.json")})
	require.Equal(t, exitOK, code, stderr.String())
	out := stdout.String()
	said := regexp.MustCompile(`This apply creates (\d+) Kisi users \(Kisi emails (\d+) invitations\) and sends 0 links to guests, in about (\d+) requests: `).FindStringSubmatch(out)
	require.NotNil(t, said, out)
	did := regexp.MustCompile(`Kisi users created: (\d+); Kisi invitations sent: (\d+)`).FindStringSubmatch(out)
	require.NotNil(t, did, out)
	require.Equal(t, did[1:3], said[1:3], "users and invitations as the report counts them")
	sent := regexp.MustCompile(`applied (\d+)/(\d+) changes, (\d+) requests\n`).FindAllStringSubmatch(out, -1)
	require.NotEmpty(t, sent)
	predicted, _ := strconv.Atoi(said[3])
	actual, _ := strconv.Atoi(sent[len(sent)-1][3])
	require.InEpsilon(t, actual, predicted, 0.05, "predicted %d requests, %d sent", predicted, actual)

	e := estimate{users: 4800, invitations: 4800, requests: 15000}
	require.Equal(t, "This apply creates 4800 Kisi users (Kisi emails 4800 invitations) and sends 0 links to guests, in about 15000 requests: 50 minutes at 5 requests/second.", e.say(kisiRate))

	_, small, _ := invoke(t, noEnv, "apply", "--fake", "--at", at, "--snapshot", td("snapshot.json"), "--mapping", td("mapping.json"))
	require.NotContains(t, small, "This apply creates")
}

// TestStateNotADatabase: a state file that is not a database stops apply
// with exit 4 (the state failing), not 5 (another run).
func TestStateNotADatabase(t *testing.T) {
	t.Parallel()
	state := filepath.Join(t.TempDir(), "state.db")
	require.NoError(t, os.WriteFile(state, []byte(strings.Repeat("not a database\n", 300)), 0o600))
	code, stdout, stderr := invoke(t, noEnv, "apply", "--fake", "--at", at, "--snapshot", td("snapshot.json"), "--mapping", td("mapping.json"), "--state", state)
	require.NotEqual(t, exitLease, code, stdout+stderr)
	srv := kisitest.NewServer(kisitest.WithoutRateLimit())
	t.Cleanup(srv.Close)
	group, err := srv.AddGroup("Members", 0)
	require.NoError(t, err)
	code, stdout, stderr = invoke(t, kisiEnv(srv, srv.APIKey), "apply", "--snapshot", td("small_snapshot.json"), "--mapping", mappingFor(t, group), "--state", state)
	require.Equal(t, exitSystem, code, stdout+stderr)
}

// TestPlanningNotice (issue 30): planning a large snapshot (seconds for
// thousands of members) first says that it starts; a small one does not.
func TestPlanningNotice(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, time.June, 10, 8, 0, 0, 0, time.UTC)
	code, stdout, stderr := invoke(t, noEnv, "plan", "--fake", "--at", at, "--snapshot", bigSnapshot(t, 4200, now), "--mapping", td("mapping.json"))
	require.Equal(t, exitOK, code, stderr)
	want := "Planning the access of 4200 members (9240 records in all)…\n\nplan for organization"
	require.True(t, strings.Contains(stdout, want), "no %q in the first lines:\n%.300s", want, stdout)
	_, small, _ := invoke(t, noEnv, "plan", "--fake", "--at", at, "--snapshot", td("snapshot.json"), "--mapping", td("mapping.json"))
	require.NotContains(t, small, "Planning the access")
}

// TestCheckTimeZone (issue 30): check writes its time in the zone --at was
// given in, as the next command of the walkthrough (plan) writes its own in
// the location's: it said "06:00 UTC" for --at 08:00+02:00, and plan
// "08:00 CEST" on the next line. An RFC 3339 --at reads the same on any
// machine, whatever its zone.
func TestCheckTimeZone(t *testing.T) {
	t.Parallel()
	tests := []struct{ at, want string }{
		{at: "2026-06-10T08:00:00+02:00", want: "Kisi connection check at Wed 10 Jun 2026 08:00 +0200\n"},
		{at: "2026-06-10 08:00 Europe/Berlin", want: "Kisi connection check at Wed 10 Jun 2026 08:00 CEST\n"},
		{at: "2026-06-10T06:00:00Z", want: "Kisi connection check at Wed 10 Jun 2026 06:00 UTC\n"},
	}
	for _, tc := range tests {
		t.Run(tc.at, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := invoke(t, noEnv, "check", "--fake", "--at", tc.at, "--mapping", td("mapping.json"))
			require.Equal(t, exitOK, code, stderr)
			require.Contains(t, stdout, tc.want)
		})
	}
}

// TestVerifyMissingGroup (issue 30): a mapped group that does not exist in
// Kisi is no "Kisi matches": verify names the group and the mapping entry
// and exits 1, as apply does for the grants it parks. Before, the first
// apply's failure line named only a member, and every verify after it
// said "Verified 1 group: Kisi matches what kisisync manages." with exit 0.
func TestVerifyMissingGroup(t *testing.T) {
	t.Parallel()
	srv := kisitest.NewServer(kisitest.WithoutRateLimit())
	t.Cleanup(srv.Close)
	group, err := srv.AddGroup("Members", 0)
	require.NoError(t, err)
	dir := t.TempDir()
	m := filepath.Join(dir, "mapping.json")
	require.NoError(t, os.WriteFile(m, fmt.Appendf(nil, `{"plans": {"flex": [%d]}, "locations": {"loft": [999999]}}`, group), 0o600))
	env := kisiEnv(srv, srv.APIKey)
	args := []string{"--snapshot", td("small_snapshot.json"), "--mapping", m, "--state", filepath.Join(dir, "state.db")}

	code, _, stderr := invoke(t, env, append([]string{"apply"}, args...)...)
	require.Equal(t, exitOK, code, "group 999999 grants nothing in this snapshot: "+stderr)
	code, stdout, stderr := invoke(t, env, append([]string{"verify"}, args...)...)
	require.Equal(t, exitFailed, code, stdout+stderr)
	require.NotContains(t, stdout, "Kisi matches")
	require.Equal(t, "Verified 2 groups: 1 mapped group does not exist in Kisi (below).\n", stdout)
	require.Equal(t, `kisisync verify: group 999999 is mapped by locations["loft"] but does not exist in Kisi: its grants are parked; correct the mapping or re-create the group`+"\n", stderr)

	t.Run("apply's failure names the group and the mapping entry", func(t *testing.T) {
		t.Parallel()
		args := []string{"--snapshot", td("small_snapshot.json"), "--mapping", mappingFor(t, 999999), "--state", filepath.Join(t.TempDir(), "state.db")}
		code, _, stderr := invoke(t, env, append([]string{"apply"}, args...)...)
		require.Equal(t, exitFailed, code, stderr)
		for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
			require.Contains(t, line, "group 999999", "each line names the group")
			require.Contains(t, line, `plans["flex"]`, "and the mapping entry")
		}
		code, stdout, stderr := invoke(t, env, append([]string{"verify"}, args...)...)
		require.Equal(t, exitFailed, code, stdout+stderr)
		require.NotContains(t, stdout, "Kisi matches")
	})
}

// TestInputSizeLimits (issue 30): a file over 256 MiB is refused before it
// is read (a sparse file: nothing is written), and a list of more than
// 2,000,000 records before any of them is decoded; each error names the
// file or the list and the limit.
func TestInputSizeLimits(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	big := filepath.Join(dir, "snapshot.json")
	f, err := os.Create(big)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(maxFileSize+1<<20))
	require.NoError(t, f.Close())
	_, _, err = loadSnapshot(big)
	requireInputError(t, err)
	require.ErrorContains(t, err, "257 MiB is over the limit of 256 MiB for an input file")

	many := filepath.Join(dir, "many.json")
	require.NoError(t, os.WriteFile(many, []byte(`{"members": [`+strings.Repeat("{},", maxRecords)+`{}]}`), 0o600))
	_, _, err = loadSnapshot(many)
	requireInputError(t, err)
	require.EqualError(t, err, "many.json: members: 2000001 records is over the limit of 2000000")
}
