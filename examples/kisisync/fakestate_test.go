package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
)

// TestFakeState: with --fake and --state the fake lasts between runs, so
// that NextRun and revocation can be tried without Kisi: a second run sees
// what the first created, a plan cancelled later is revoked, and the state
// of a fake is never used against Kisi, nor a fake run back in time.
func TestFakeState(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	state := filepath.Join(dir, "state.db")
	s, _, err := loadSnapshot(td("snapshot.json"))
	require.NoError(t, err)
	s.Plans = slices.DeleteFunc(s.Plans, func(p access.Plan) bool { return p.MemberID == "m-alice" })
	withoutAlice := filepath.Join(dir, "without-alice.json")
	writeFile(t, withoutAlice, s)

	steps := []struct {
		name     string
		args     []string
		env      func(string) string
		wantCode int
		want     []string
	}{
		{name: "first apply", args: []string{"apply", "--at", "2026-06-10T08:00:00+02:00", "--snapshot", td("snapshot.json")},
			want: []string{"it starts empty", "Applied: 10 created", "Next run: 2026-06-10 08:35 CEST"}},
		{name: "verify", args: []string{"verify", "--at", "2026-06-10T08:05:00+02:00", "--snapshot", td("snapshot.json")},
			want: []string{"16 writes replayed", "Verified 4 groups", "alice@example.com"}},
		{name: "at the next run", args: []string{"apply", "--at", "2026-06-10T08:40:00+02:00", "--snapshot", td("snapshot.json")},
			want: []string{"+ grant bruno@example.com → group 102", "Applied: 1 created, 0 replaced, 0 deleted"}},
		{name: "nothing to do", args: []string{"plan", "--at", "2026-06-10T08:45:00+02:00", "--snapshot", td("snapshot.json")},
			want: []string{"17 writes replayed", "no changes"}},
		{name: "plan cancelled", args: []string{"apply", "--at", "2026-06-10T09:00:00+02:00", "--snapshot", withoutAlice},
			want: []string{"- revoke alice@example.com → group 101", "Applied: 0 created, 0 replaced, 1 deleted"}},
		{name: "back in time", args: []string{"plan", "--at", "2026-06-10T08:00:00+02:00", "--snapshot", td("snapshot.json")},
			wantCode: exitUsage, want: []string{"the fake cannot go back in time"}},
		{name: "the fake's state against Kisi", args: []string{"apply", "--snapshot", td("snapshot.json")},
			env: func(k string) string {
				if k == "KISI_API_KEY" {
					return "secret-key-for-tests"
				}
				return ""
			},
			wantCode: exitUsage, want: []string{"was made with --fake", "never use it against Kisi"}},
		{name: "check with the fake's state", args: []string{"check"}, env: func(k string) string {
			if k == "KISI_API_KEY" {
				return "secret-key-for-tests"
			}
			return ""
		}, wantCode: exitUsage, want: []string{"was made with --fake"}},
	}
	for _, st := range steps {
		args := append(slices.Clone(st.args), "--mapping", td("mapping.json"), "--state", state)
		if st.env == nil {
			args = append(args, "--fake")
		}
		env := st.env
		if env == nil {
			env = noEnv
		}
		code, stdout, stderr := invoke(t, env, args...)
		require.Equal(t, st.wantCode, code, "%s:\nstdout:\n%s\nstderr:\n%s", st.name, stdout, stderr)
		for _, w := range st.want {
			require.Contains(t, stdout+stderr, w, st.name)
		}
	}

	// A copy of the fake's state, as a backup makes it (issue 30: the mark
	// was a file beside the state, which a copy leaves behind), is refused
	// against Kisi too.
	backup := filepath.Join(dir, "backup.db")
	db, err := openDB(state)
	require.NoError(t, err)
	_, err = db.ExecContext(t.Context(), "VACUUM INTO ?", backup)
	require.NoError(t, err)
	require.NoError(t, db.Close())
	_, err = os.Stat(backup + legacySuffix)
	require.ErrorIs(t, err, os.ErrNotExist)
	code, _, stderr := invoke(t, func(k string) string {
		if k == "KISI_API_KEY" {
			return "secret-key-for-tests"
		}
		return ""
	}, "apply", "--snapshot", td("snapshot.json"), "--mapping", td("mapping.json"), "--state", backup)
	require.Equal(t, exitUsage, code, stderr)
	require.Contains(t, stderr, backup+" was made with --fake")

	// A state file made against Kisi is not taken for a fake's.
	real := filepath.Join(dir, "real.db")
	require.NoError(t, os.WriteFile(real, nil, 0o600))
	code, _, stderr = invoke(t, noEnv, "plan", "--fake", "--snapshot", td("snapshot.json"), "--mapping", td("mapping.json"), "--state", real)
	require.Equal(t, exitUsage, code)
	require.Contains(t, stderr, "was not made with --fake")
}

// TestLegacyJournal: a fake's state of an older version, whose journal is
// a file beside it, is still read (its journal moves into the database)
// and still refused against Kisi.
func TestLegacyJournal(t *testing.T) {
	t.Parallel()
	state := filepath.Join(t.TempDir(), "old.db")
	require.NoError(t, os.WriteFile(state+legacySuffix, []byte(`{"entries": []}`), 0o600))
	require.ErrorContains(t, notFakeState(t.Context(), state), "was made with --fake")
	j, err := loadJournal(t.Context(), state)
	require.NoError(t, err)
	j.close()
	require.NoError(t, os.Remove(state+legacySuffix))
	require.ErrorContains(t, notFakeState(t.Context(), state), "was made with --fake", "the mark is in the database now")
}
