package troubleshoot_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/troubleshoot"
	"github.com/kisisync/kisisync/kisi"
)

// orgRolesOf lists the organization roles of the user with email.
func orgRolesOf(t *testing.T, r *troubleRig, email string) []string {
	t.Helper()
	u, _, err := r.c.Users.GetByEmail(t.Context(), email)
	require.NoError(t, err)
	var out []string
	for ra, err := range r.c.RoleAssignments.ListIter(t.Context(), &kisi.RoleAssignmentListOptions{
		AssigneeType: kisi.AssigneeUser, AssigneeID: u.ID, AppliesToType: kisi.ScopeOrganization}) {
		require.NoError(t, err)
		out = append(out, ra.RoleID)
	}
	return out
}

func TestGrantAndRevokeObserver(t *testing.T) {
	t.Parallel()
	r := newTroubleRig(t, cest("14:00"))
	ctx := t.Context()
	const support = "Support@Platform.example"

	ra, err := troubleshoot.GrantObserver(ctx, r.c, support)
	require.NoError(t, err)
	require.Equal(t, troubleshoot.ObserverRoleID, ra.RoleID)
	require.Equal(t, kisi.ScopeOrganization, ra.AppliesToType)
	require.Equal(t, r.srv.OrganizationID(), ra.AppliesToID)
	u, _, err := r.c.Users.GetByEmail(ctx, "support@platform.example")
	require.NoError(t, err, "the user is created")
	require.False(t, u.Confirmed, "a regular user, invited by Kisi")
	require.Equal(t, []string{"observer"}, orgRolesOf(t, r, support))

	// Granting again changes nothing.
	posts := r.srv.Count("POST", "")
	again, err := troubleshoot.GrantObserver(ctx, r.c, support)
	require.NoError(t, err)
	require.Equal(t, ra.ID, again.ID)
	require.Equal(t, posts, r.srv.Count("POST", ""))

	revoked, err := troubleshoot.RevokeObserver(ctx, r.c, support)
	require.NoError(t, err)
	require.True(t, revoked)
	require.Empty(t, orgRolesOf(t, r, support))
	_, _, err = r.c.Users.GetByEmail(ctx, support)
	require.NoError(t, err, "the user stays")

	revoked, err = troubleshoot.RevokeObserver(ctx, r.c, support)
	require.NoError(t, err)
	require.False(t, revoked)
	revoked, err = troubleshoot.RevokeObserver(ctx, r.c, "nobody@example.com")
	require.NoError(t, err)
	require.False(t, revoked)
}

func TestObserverErrors(t *testing.T) {
	t.Parallel()
	r := newTroubleRig(t, cest("14:00"))
	ctx := t.Context()
	_, err := r.srv.NewUserKey("admin@example.com", "organization_administrator")
	require.NoError(t, err)

	tests := []struct {
		name  string
		grant func() error
		is    error
	}{
		{"other organization role", func() error {
			_, err := troubleshoot.GrantObserver(ctx, r.c, "admin@example.com")
			return err
		}, troubleshoot.ErrOtherOrganizationRole},
		{"invalid email", func() error {
			_, err := troubleshoot.GrantObserver(ctx, r.c, "not an email")
			return err
		}, access.ErrInvalidEmail},
		{"key not admin", func() error {
			key, err := r.srv.NewUserKey("viewer@example.com", "observer")
			require.NoError(t, err)
			_, err = troubleshoot.GrantObserver(ctx, r.client(t, key), "support@platform.example")
			return err
		}, kisi.ErrForbidden},
		{"revoke with invalid email", func() error {
			_, err := troubleshoot.RevokeObserver(ctx, r.c, "")
			return err
		}, access.ErrInvalidEmail},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.ErrorIs(t, tc.grant(), tc.is)
		})
	}

	// Revoking from an administrator leaves the administrator role.
	revoked, err := troubleshoot.RevokeObserver(ctx, r.c, "admin@example.com")
	require.NoError(t, err)
	require.False(t, revoked)
	require.Equal(t, []string{"organization_administrator"}, orgRolesOf(t, r, "admin@example.com"))
}
