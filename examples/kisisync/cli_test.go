package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/kisi/kisitest"
)

// TestCommandHelp: every command's help is its own (not the global one),
// generated from its flags, the same whichever way it is asked for, on
// stdout with exit 0.
func TestCommandHelp(t *testing.T) {
	t.Parallel()
	global := globalHelp()
	for _, c := range commands {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var outs []string
			for _, args := range [][]string{{"help", c.name}, {c.name, "--help"}, {c.name, "-h"}, {c.name, "--json", "--help"}} {
				code, stdout, stderr := invoke(t, noEnv, args...)
				require.Equal(t, exitOK, code, "%v", args)
				require.Empty(t, stderr, "%v", args)
				outs = append(outs, stdout)
			}
			for _, o := range outs[1:] {
				require.Equal(t, outs[0], o)
			}
			require.NotEqual(t, global, outs[0])
			require.Contains(t, outs[0], "Usage:\n  kisisync "+c.name+" ")
			for _, f := range c.flags {
				require.Contains(t, outs[0], "--"+f+" ", "flag %s documented", f)
			}
			require.Contains(t, outs[0], exitCodes)
		})
	}
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}} {
		code, stdout, _ := invoke(t, noEnv, args...)
		require.Equal(t, exitOK, code)
		require.Equal(t, global, stdout)
	}
}

// TestConventions (issue 30): the command line follows the conventions of
// kubectl, gh and docker: flags anywhere, suggestions for a mistyped
// command, a flag of another command named as such, shell completion.
func TestConventions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     string // in stdout+stderr
	}{
		{name: "flags after the operand", args: []string{"apply", "--fake", "--at", at, "--snapshot", td("snapshot.json"), "plan-does-not-exist.json", "--mapping", td("mapping.json")},
			wantCode: exitUsage, want: "plan-does-not-exist.json: no such file or directory"},
		{name: "suggestion", args: []string{"aply"}, wantCode: exitUsage, want: `unknown command "aply" for "kisisync"; did you mean apply?`},
		{name: "flag of another command", args: []string{"plan", "--member", "m-1"}, wantCode: exitUsage, want: "--member is for explain, diagnose, not plan"},
		{name: "unknown flag", args: []string{"plan", "--verbose"}, wantCode: exitUsage, want: "unknown flag: --verbose"},
		{name: "completion", args: []string{"completion", "bash"}, want: "bash completion V2 for kisisync"},
		{name: "completion of flags", args: []string{"__complete", "explain", "--mem"}, want: "--member"},
		{name: "at with a zone", args: []string{"explain", "--member", "m-bruno", "--at", "2026-06-10 08:40 Europe/Berlin", "--snapshot", td("snapshot.json"), "--mapping", td("mapping.json")},
			want: "at Wed 10 Jun 2026 08:40 CEST"},
		{name: "at in a spring-forward gap", args: []string{"explain", "--member", "m-bruno", "--at", "2026-03-29 02:30 Europe/Berlin", "--snapshot", td("snapshot.json"), "--mapping", td("mapping.json")},
			want: "at Sun 29 Mar 2026 03:00 CEST"},
		{name: "at with an unknown zone", args: []string{"explain", "--member", "m-bruno", "--at", "2026-06-10 08:40 Mars/Olympus", "--snapshot", td("snapshot.json"), "--mapping", td("mapping.json")},
			wantCode: exitUsage, want: `--at: "Mars/Olympus" is not an IANA time zone`},
		{name: "member by email", args: []string{"explain", "--member", " Bruno@Example.com", "--at", at, "--snapshot", td("snapshot.json"), "--mapping", td("mapping.json")},
			want: "Member m-bruno (Bruno Costa) <bruno@example.com>"},
		{name: "guest email", args: []string{"explain", "--member", "grace@example.org", "--at", at, "--snapshot", td("snapshot.json"), "--mapping", td("mapping.json")},
			want: "Drop-in guest Grace Hopper <grace@example.org> at Wed 10 Jun 2026 08:00 CEST"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := invoke(t, noEnv, tc.args...)
			require.Equal(t, tc.wantCode, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
			require.Contains(t, stdout+stderr, tc.want)
		})
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		bi   *debug.BuildInfo
		ok   bool
		want string
	}{
		{name: "module version", bi: &debug.BuildInfo{Main: debug.Module{Version: "v0.3.1"}}, ok: true, want: "v0.3.1"},
		{name: "built in a checkout", bi: &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, ok: true, want: "(devel)"},
		{name: "no version", bi: &debug.BuildInfo{}, ok: true, want: "(devel)"},
		{name: "no build info", ok: false, want: "(devel)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := version(func() (*debug.BuildInfo, bool) { return tc.bi, tc.ok })
			require.Equal(t, tc.want, got)
		})
	}
	for _, args := range [][]string{{"--version"}, {"version"}} {
		code, stdout, _ := invoke(t, noEnv, args...)
		require.Equal(t, exitOK, code)
		require.Regexp(t, `^kisisync \S+\n$`, stdout)
	}
}

// flexMapping writes, in dir, a mapping of plan "flex" to group and returns
// its path.
func flexMapping(t *testing.T, dir string, group int64) string {
	t.Helper()
	path := filepath.Join(dir, "mapping.json")
	require.NoError(t, os.WriteFile(path, []byte(fmt.Sprintf(`{"plans": {"flex": [%d]}}`, group)), 0o600))
	return path
}

// kisiEnv is the environment of a run against srv with key.
func kisiEnv(srv *kisitest.Server, key string) func(string) string {
	return func(k string) string {
		switch k {
		case "KISI_API_KEY":
			return key
		case "KISI_URL":
			return srv.URL
		}
		return ""
	}
}

// mappingFor writes a mapping of plan flex to group and returns its path.
func mappingFor(t *testing.T, group int64) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mapping.json")
	require.NoError(t, os.WriteFile(path, []byte(fmt.Sprintf(`{"plans": {"flex": [%d]}}`, group)), 0o600))
	return path
}

// TestWrongKey: check and plan with a key Kisi refuses, or with Kisi
// unreachable, exit 4 and say so; neither prints the key.
func TestWrongKey(t *testing.T) {
	t.Parallel()
	srv := kisitest.NewServer()
	t.Cleanup(srv.Close)
	place, err := srv.AddPlace("Loft", "Europe/Berlin")
	require.NoError(t, err)
	group, err := srv.AddGroup("Members", place)
	require.NoError(t, err)
	door, err := srv.AddLock(place, "Front door")
	require.NoError(t, err)
	_, err = srv.AddGroupLock(group, door)
	require.NoError(t, err)
	noDoors, err := srv.AddGroup("Doorless", place)
	require.NoError(t, err)
	m := mappingFor(t, group)
	down := kisitest.NewServer()
	down.Close()
	tests := []struct {
		name     string
		env      func(string) string
		args     []string
		wantCode int
		wantOut  string
	}{
		{name: "check ok", env: kisiEnv(srv, srv.APIKey), args: []string{"check", "--mapping", m},
			wantCode: exitOK, wantOut: "key_admin"},
		{name: "check refused", env: kisiEnv(srv, "a-wrong-key"), args: []string{"check", "--mapping", m},
			wantCode: exitSystem, wantOut: "key_invalid"},
		{name: "check unreachable", env: kisiEnv(down, "a-wrong-key"), args: []string{"check", "--mapping", m},
			wantCode: exitSystem, wantOut: "kisi_unreachable"},
		{name: "check missing group", env: kisiEnv(srv, srv.APIKey), args: []string{"check", "--mapping", mappingFor(t, 999999)},
			wantCode: exitFailed, wantOut: "999999"},
		{name: "check group without doors", env: kisiEnv(srv, srv.APIKey), args: []string{"check", "--mapping", mappingFor(t, noDoors)},
			wantCode: exitFailed, wantOut: "group_no_doors"},
		{name: "plan ok", env: kisiEnv(srv, srv.APIKey), args: []string{"plan", "--snapshot", td("small_snapshot.json"), "--mapping", m},
			wantCode: exitOK, wantOut: fmt.Sprintf("+ grant ann@example.com → group %d \"Members\"", group)},
		{name: "groups", env: kisiEnv(srv, srv.APIKey), args: []string{"groups", "--mapping", m},
			wantCode: exitOK, wantOut: fmt.Sprintf("%d  Members       Loft   1: Front door  plans[\"flex\"]", group)},
		{name: "groups missing", env: kisiEnv(srv, srv.APIKey), args: []string{"groups", "--mapping", mappingFor(t, 999999)},
			wantCode: exitFailed, wantOut: `! group 999999 is mapped by plans["flex"] but does not exist in Kisi`},
		{name: "groups refused", env: kisiEnv(srv, "a-wrong-key"), args: []string{"groups"},
			wantCode: exitSystem, wantOut: "refused by Kisi (401 Unauthorized)"},
		{name: "plan refused", env: kisiEnv(srv, "a-wrong-key"), args: []string{"plan", "--snapshot", td("small_snapshot.json"), "--mapping", m},
			wantCode: exitSystem, wantOut: "the API key in KISI_API_KEY was refused by Kisi (401 Unauthorized)"},
		{name: "plan unreachable", env: kisiEnv(down, "a-wrong-key"), args: []string{"plan", "--snapshot", td("small_snapshot.json"), "--mapping", m},
			wantCode: exitSystem, wantOut: "could not reach Kisi to check the API key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := invoke(t, tc.env, tc.args...)
			require.Equal(t, tc.wantCode, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
			require.Contains(t, stdout+stderr, tc.wantOut)
			require.NotContains(t, stdout+stderr, "a-wrong-key")
			require.NotContains(t, stdout+stderr, srv.APIKey)
		})
	}
}

// TestSavedPlan: plan --out writes the changes as plan --json does, and
// apply PLANFILE applies exactly them, as apply without a file would.
func TestSavedPlan(t *testing.T) {
	t.Parallel()
	sample := []string{"--fake", "--at", at, "--snapshot", td("snapshot.json"), "--mapping", td("mapping.json")}
	file := filepath.Join(t.TempDir(), "plan.json")
	code, stdout, stderr := invoke(t, noEnv, append([]string{"plan", "--out", file}, sample...)...)
	require.Equal(t, exitOK, code, stderr)
	require.Contains(t, stdout, "Saved the plan to "+file)
	_, planJSON, _ := invoke(t, noEnv, append([]string{"plan", "--json"}, sample...)...)
	saved, err := os.ReadFile(file)
	require.NoError(t, err)
	require.Equal(t, planJSON, string(saved))

	_, want, _ := invoke(t, noEnv, append([]string{"apply"}, sample...)...)
	code, got, stderr := invoke(t, noEnv, append(append([]string{"apply"}, sample...), file)...)
	require.Equal(t, exitOK, code, stderr)
	require.Equal(t, want, got)
}

// TestStalePlan: a saved plan is refused, with exit 2 and nothing applied,
// once the state changed since it was planned; so is a file that is not a
// plan.
func TestStalePlan(t *testing.T) {
	t.Parallel()
	srv := kisitest.NewServer(kisitest.WithoutRateLimit())
	t.Cleanup(srv.Close)
	group, err := srv.AddGroup("Members", 0)
	require.NoError(t, err)
	env := kisiEnv(srv, srv.APIKey)
	dir := t.TempDir()
	args := []string{"--snapshot", td("small_snapshot.json"), "--mapping", mappingFor(t, group), "--state", filepath.Join(dir, "state.db")}
	plan := filepath.Join(dir, "plan.json")

	code, _, stderr := invoke(t, env, append([]string{"plan", "--out", plan}, args...)...)
	require.Equal(t, exitOK, code, stderr)
	code, _, stderr = invoke(t, env, append([]string{"apply"}, args...)...)
	require.Equal(t, exitOK, code, stderr)
	roles := countRoles(t, srv)
	require.Equal(t, 4, roles)

	code, _, stderr = invoke(t, env, append(append([]string{"apply"}, args...), plan)...)
	require.Equal(t, exitUsage, code, stderr)
	require.Contains(t, stderr, plan+" is stale: the state changed since it was planned")
	require.Contains(t, stderr, "nothing was applied")
	require.Equal(t, roles, countRoles(t, srv), "nothing applied")

	notPlan := filepath.Join(dir, "not-a-plan.json")
	require.NoError(t, os.WriteFile(notPlan, []byte(`{"plans": {}}`), 0o600))
	code, _, stderr = invoke(t, env, append(append([]string{"apply"}, args...), notPlan)...)
	require.Equal(t, exitUsage, code, stderr)
	require.Contains(t, stderr, "not a plan written by 'kisisync plan --out'")
}

// TestDuplicateIDs: a duplicate id is reported at the duplicate record, not
// at the first record with that id; the record is skipped, the file used.
func TestDuplicateIDs(t *testing.T) {
	t.Parallel()
	member := func(id, email string) string {
		return fmt.Sprintf(`{"id": %q, "email": %q}`, id, email)
	}
	tests := []struct {
		name    string
		members []string
		want    string
	}{
		{name: "second record", members: []string{member("m-a", "a@example.com"), member("m-b", "b@example.com"), member("m-a", "c@example.com")},
			want: `snapshot.json: members[2] (id "m-a"): duplicate id (the first is members[0] (id "m-a"))`},
		{name: "eighth record", members: []string{member("m-0", "z0@example.com"), member("m-1", "z1@example.com"), member("m-2", "z2@example.com"),
			member("m-3", "z3@example.com"), member("m-4", "z4@example.com"), member("m-5", "z5@example.com"), member("m-6", "z6@example.com"), member("m-0", "z7@example.com")},
			want: `snapshot.json: members[7] (id "m-0"): duplicate id (the first is members[0] (id "m-0"))`},
		{name: "two duplicates", members: []string{member("m-a", "a@example.com"), member("m-a", "b@example.com"), member("m-a", "c@example.com")},
			want: "snapshot.json: members[1] (id \"m-a\"): duplicate id (the first is members[0] (id \"m-a\"))\n" +
				"snapshot.json: members[2] (id \"m-a\"): duplicate id (the first is members[0] (id \"m-a\"))"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "snapshot.json")
			body := `{"members": [` + strings.Join(tc.members, ", ") + `]}`
			require.NoError(t, os.WriteFile(path, []byte(body), 0o600))
			_, probs, err := loadSnapshot(path)
			require.NoError(t, err)
			var got []string
			for _, p := range probs {
				got = append(got, p.msg)
			}
			require.Equal(t, tc.want, strings.Join(got, "\n"))
		})
	}
}

// TestUnknownMember: explain and diagnose of a member the snapshot lacks
// exit 2 with a message naming it.
func TestUnknownMember(t *testing.T) {
	t.Parallel()
	for _, cmd := range []string{"explain", "diagnose"} {
		t.Run(cmd, func(t *testing.T) {
			t.Parallel()
			args := []string{cmd, "--member", "m-nobody", "--at", at, "--snapshot", td("snapshot.json"), "--mapping", td("mapping.json")}
			if cmd == "diagnose" {
				args = append(args, "--fake")
			}
			code, stdout, stderr := invoke(t, noEnv, args...)
			require.Equal(t, exitUsage, code)
			require.Empty(t, stdout)
			require.Equal(t, "kisisync "+cmd+": no member with id or email \"m-nobody\" in "+td("snapshot.json")+
				" (7 members); --member takes a member's id, such as \"m-alice\", or email\n", stderr)
		})
	}
}

// TestFakeShowsMappingGroupIDs: against the fake, diagnose and check name
// the groups by the mapping's ids, as plan does, not by the fake's own.
func TestFakeShowsMappingGroupIDs(t *testing.T) {
	t.Parallel()
	m, err := loadMapping(td("mapping.json"))
	require.NoError(t, err)
	tests := []struct {
		name string
		args []string
	}{
		{name: "diagnose", args: []string{"diagnose", "--fake", "--json", "--member", "m-bruno", "--at", at, "--snapshot", td("snapshot.json"), "--mapping", td("mapping.json")}},
		{name: "check", args: []string{"check", "--fake", "--json", "--at", at, "--mapping", td("mapping.json")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := invoke(t, noEnv, tc.args...)
			require.NotEqual(t, exitUsage, code, stderr)
			var got struct {
				Groups []struct {
					GroupID int64 `json:"group_id"`
				} `json:"groups"`
			}
			require.NoError(t, json.Unmarshal([]byte(stdout), &got))
			require.NotEmpty(t, got.Groups)
			for _, g := range got.Groups {
				require.Contains(t, m.Groups(), g.GroupID)
			}
		})
	}
}

// TestApplyJSONFailures: apply --json lists each failed change with its
// class and Kisi's message, not only their count.
func TestApplyJSONFailures(t *testing.T) {
	t.Parallel()
	srv := kisitest.NewServer(kisitest.WithoutRateLimit())
	t.Cleanup(srv.Close)
	group, err := srv.AddGroup("Members", 0)
	require.NoError(t, err)
	srv.Intercept(func(r *http.Request) kisitest.Fault {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/role_assignments") {
			return kisitest.Fault{Status: http.StatusUnprocessableEntity}
		}
		return kisitest.Fault{}
	})
	code, stdout, stderr := invoke(t, kisiEnv(srv, srv.APIKey), "apply", "--json", "--snapshot", td("small_snapshot.json"),
		"--mapping", mappingFor(t, group), "--state", filepath.Join(t.TempDir(), "state.db"))
	require.Equal(t, exitFailed, code, stderr)
	var got struct {
		Report struct {
			Failed   int `json:"failed"`
			Failures []struct {
				Email   string `json:"email"`
				Class   string `json:"class"`
				Message string `json:"message"`
			} `json:"failures"`
		} `json:"report"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &got), stdout)
	require.Equal(t, 4, got.Report.Failed)
	require.Len(t, got.Report.Failures, 4)
	for _, f := range got.Report.Failures {
		require.NotEmpty(t, f.Email)
		require.Equal(t, "refused", f.Class)
		require.Contains(t, f.Message, "422")
	}
}

// TestHelpWidth (issue 30): help written to no terminal (a pipe, a file, a
// buffer) wraps the flag descriptions to helpWidth columns; a terminal's
// width is read with golang.org/x/term.
func TestHelpWidth(t *testing.T) {
	t.Parallel()
	r, w, err := os.Pipe()
	require.NoError(t, err)
	t.Cleanup(func() { _ = r.Close(); _ = w.Close() })
	require.Equal(t, helpWidth, termWidth(w), "a pipe is no terminal")
	require.Equal(t, helpWidth, termWidth(io.Discard))
	for _, c := range commands {
		_, stdout, _ := invoke(t, noEnv, "help", c.name)
		for i, line := range strings.Split(stdout, "\n") {
			require.LessOrEqual(t, utf8.RuneCountInString(line), helpWidth, "%s help line %d: %q", c.name, i+1, line)
		}
	}
}
