package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/kisi/kisitest"
)

// TestInviteLater (issue 30): apply --invite later stages the people Kisi
// would invite — no Kisi user, no access, no email — names them on stderr
// and applies the rest; the next apply without it grants their access,
// and each one's first grant carries Kisi's invitation (notify), once.
func TestInviteLater(t *testing.T) {
	t.Parallel()
	srv := kisitest.NewServer(kisitest.WithoutRateLimit())
	t.Cleanup(srv.Close)
	group, err := srv.AddGroup("Members", 0)
	require.NoError(t, err)
	dir := t.TempDir()
	snap := filepath.Join(dir, "snapshot.json")
	require.NoError(t, os.WriteFile(snap, []byte(`{
  "locations": [{"id": "loft", "time_zone": "Europe/Berlin"}],
  "members": [
    {"id": "m1", "email": "ann@example.com", "name": "Ann", "managed": true},
    {"id": "m2", "email": "ben@example.com", "name": "Ben"},
    {"id": "m3", "email": "cem@example.com", "name": "Cem"}
  ],
  "plans": [
    {"id": "p1", "plan_id": "flex", "member_id": "m1", "start": "2026-01-01T00:00:00+01:00", "status": "active"},
    {"id": "p2", "plan_id": "flex", "member_id": "m2", "start": "2026-01-01T00:00:00+01:00", "status": "active"},
    {"id": "p3", "plan_id": "flex", "member_id": "m3", "start": "2026-01-01T00:00:00+01:00", "status": "active"}
  ]
}`), 0o600))
	env := kisiEnv(srv, srv.APIKey)
	args := []string{"--snapshot", snap, "--mapping", mappingFor(t, group), "--state", filepath.Join(dir, "state.db")}
	client, err := kisi.NewClient(srv.APIKey, kisi.WithBaseURL(srv.URL), kisi.WithRateLimit(1000, 100))
	require.NoError(t, err)
	// holders returns the emails of the group's roles that carried an
	// invitation, and of those that did not.
	holders := func() (invited, quiet []string) {
		t.Helper()
		ras, _, err := client.ListRoleAssignments(t.Context(), &kisi.RoleAssignmentListOptions{AppliesToType: kisi.ScopeGroup, AppliesToID: group})
		require.NoError(t, err)
		for _, ra := range ras {
			u, _, err := client.Users.Get(t.Context(), ra.AssigneeID)
			require.NoError(t, err)
			if ra.Notify {
				invited = append(invited, u.Email)
			} else {
				quiet = append(quiet, u.Email)
			}
		}
		slices.Sort(invited)
		slices.Sort(quiet)
		return invited, quiet
	}

	code, stdout, stderr := invoke(t, env, append([]string{"plan", "--invite", "later"}, args...)...)
	require.Equal(t, exitOK, code, stdout+stderr)
	require.Contains(t, stdout, "ann@example.com")
	require.NotContains(t, stdout, "ben@example.com")
	require.Contains(t, stderr, "kisisync plan: 2 people staged by --invite later: no Kisi user, access or invitation yet — ben@example.com, cem@example.com")

	code, stdout, stderr = invoke(t, env, append([]string{"apply", "--invite", "later"}, args...)...)
	require.Equal(t, exitOK, code, stdout+stderr)
	require.Contains(t, stderr, "kisisync apply: 2 people staged by --invite later")
	require.Contains(t, stderr, "an apply without --invite later grants their access, and Kisi emails each one invitation")
	require.Equal(t, 1, srv.Count("POST", "/users"), "only the managed member's Kisi user")
	invited, quiet := holders()
	require.Empty(t, invited)
	require.Equal(t, []string{"ann@example.com"}, quiet)

	// Staged again while --invite later stays; nothing else to do.
	code, _, stderr = invoke(t, env, append([]string{"apply", "--invite", "later"}, args...)...)
	require.Equal(t, exitOK, code, stderr)
	require.Contains(t, stderr, "2 people staged")

	code, stdout, stderr = invoke(t, env, append([]string{"apply"}, args...)...)
	require.Equal(t, exitOK, code, stdout+stderr)
	require.NotContains(t, stderr, "staged")
	require.Contains(t, stdout, "Kisi invitations sent: 2")
	invited, quiet = holders()
	require.Equal(t, []string{"ben@example.com", "cem@example.com"}, invited)
	require.Equal(t, []string{"ann@example.com"}, quiet)

	// Invited people are never staged again.
	code, _, stderr = invoke(t, env, append([]string{"apply", "--invite", "later"}, args...)...)
	require.Equal(t, exitOK, code, stderr)
	require.NotContains(t, stderr, "staged")

	code, _, stderr = invoke(t, env, append([]string{"apply", "--invite", "tomorrow"}, args...)...)
	require.Equal(t, exitUsage, code)
	require.Contains(t, stderr, `want now or later, got "tomorrow"`)
}
