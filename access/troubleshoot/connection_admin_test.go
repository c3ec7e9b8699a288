package troubleshoot_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access/troubleshoot"
	"github.com/kisisync/kisisync/kisi/kisitest"
)

// TestCheckConnectionAdminByPermissions (issue 31): the admin check decides
// by the permissions GET /roles lists for the key user's organization role,
// not by role ids no Kisi source lists; it falls back on the ids only when
// the roles cannot be read, and says so.
func TestCheckConnectionAdminByPermissions(t *testing.T) {
	t.Parallel()
	writes := map[string]bool{"locks_unlock": true, "users_write": true, "role_assignments_write": true, "group_links_write": true}
	noLinks := map[string]bool{"locks_unlock": true, "users_write": true, "role_assignments_write": true}
	custom := kisitest.WithCustomRoles(
		kisitest.CustomRole{ID: "front_desk", AppliesTo: "Organization", Name: "Front desk", Permissions: writes},
		kisitest.CustomRole{ID: "people_desk", AppliesTo: "Organization", Name: "People desk", Permissions: noLinks},
	)
	tests := []struct {
		name      string
		role      string
		hideRoles bool // a host's wrapper without ListRoles
		rolesFail bool // GET /roles answers 403
		want      wantFinding
		admin     bool
		byID      bool
	}{
		{name: "custom role with the writes", role: "front_desk", admin: true,
			want: wantFinding{code: troubleshoot.CodeKeyAdmin, severity: troubleshoot.SeverityInfo,
				message: "whose organization role front_desk grants users_write, role_assignments_write, group_links_write, so the sync may write."}},
		{name: "custom role without group_links_write", role: "people_desk",
			want: wantFinding{code: troubleshoot.CodeKeyNotAdmin, severity: troubleshoot.SeverityError, message: "has the organization role people_desk and is not"}},
		{name: "administrator", role: "organization_administrator", admin: true,
			want: wantFinding{code: troubleshoot.CodeKeyAdmin, severity: troubleshoot.SeverityInfo, message: "an organization administrator, so the sync may write."}},
		{name: "observer", role: "observer",
			want: wantFinding{code: troubleshoot.CodeKeyNotAdmin, severity: troubleshoot.SeverityError, message: "has the organization role observer and is not"}},
		{name: "administrator through a wrapper without ListRoles", role: "organization_administrator", hideRoles: true, admin: true, byID: true,
			want: wantFinding{code: troubleshoot.CodeKeyAdmin, severity: troubleshoot.SeverityInfo, message: "told by its role id"}},
		{name: "custom writer through a wrapper without ListRoles", role: "front_desk", hideRoles: true, byID: true,
			want: wantFinding{code: troubleshoot.CodeKeyNotAdmin, severity: troubleshoot.SeverityError, message: "told by its role id"}},
		{name: "administrator when the roles cannot be read", role: "organization_administrator", rolesFail: true, admin: true, byID: true,
			want: wantFinding{code: troubleshoot.CodeKeyAdmin, severity: troubleshoot.SeverityInfo, message: "told by its role id"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newTroubleRig(t, cest("14:00"), custom)
			key, err := r.srv.NewUserKey("ops@example.com", tc.role)
			require.NoError(t, err)
			if tc.rolesFail {
				r.srv.Intercept(func(req *http.Request) kisitest.Fault {
					if req.URL.Path == "/roles" {
						return kisitest.Fault{Status: http.StatusForbidden}
					}
					return kisitest.Fault{}
				})
			}
			var k troubleshoot.Kisi = r.client(t, key)
			if tc.hideRoles {
				k = struct{ troubleshoot.Kisi }{k}
			}
			rep, err := newChecker(t, k, r.m, troubleshoot.WithClock(r.clock)).CheckConnection(t.Context())
			require.NoError(t, err)
			requireFindings(t, rep.Findings, []wantFinding{tc.want})
			require.Equal(t, tc.admin, rep.Key.Admin, "Admin")
			require.Equal(t, tc.byID, rep.Key.AdminByRoleID, "AdminByRoleID")
			require.Equal(t, []string{tc.role}, rep.Key.Roles)
		})
	}
}

// TestCheckConnectionUnsignedWebhook (issue 31): Kisi never says whether an
// integration has a signature key, so the host says that its receiver has
// none, and the check warns about each event webhook.
func TestCheckConnectionUnsignedWebhook(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		opts []troubleshoot.Option
		want int
	}{
		{name: "unsigned", opts: []troubleshoot.Option{troubleshoot.WithUnsignedWebhooks()}, want: 1},
		{name: "not said", want: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newTroubleRig(t, cest("14:00"))
			in, _, err := r.c.Integrations.CreateEventWebhook(t.Context(), "Platform", "https://platform.example/kisi")
			require.NoError(t, err)
			rep, err := newChecker(t, r.c, r.m, append(tc.opts, troubleshoot.WithClock(r.clock))...).CheckConnection(t.Context())
			require.NoError(t, err)
			n := 0
			for _, f := range rep.Findings {
				if f.Code == troubleshoot.CodeWebhookUnsigned {
					n++
					require.Equal(t, troubleshoot.SeverityWarning, f.Severity)
					require.Contains(t, f.Message, fmt.Sprintf(`"Platform" (integration %d) has no signature key`, in.ID))
					require.Contains(t, f.Remedy, "kisi.NewWebhookHandler")
				}
			}
			require.Equal(t, tc.want, n, "findings:\n%s", dumpFindings(rep.Findings))
		})
	}
}

// TestCheckConnectionKeyWithoutRole runs the check with a key whose user
// holds no organization role under both of the fake's settings for what
// such a key may read (Kisi does not document it).
func TestCheckConnectionKeyWithoutRole(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		limited bool
		message string
	}{
		{name: "reads everything", message: "holds no organization role"},
		{name: "reads limited", limited: true, message: "may not even read organization roles"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newTroubleRig(t, cest("14:00"), kisitest.WithReadsNeedOrganizationRole(tc.limited))
			key, err := r.srv.NewUserKey("ops@example.com", "")
			require.NoError(t, err)
			rep, err := newChecker(t, r.client(t, key), r.m, troubleshoot.WithClock(r.clock)).CheckConnection(t.Context())
			require.NoError(t, err)
			requireFindings(t, rep.Findings, []wantFinding{{code: troubleshoot.CodeKeyNotAdmin, severity: troubleshoot.SeverityError,
				message: tc.message, remedy: "Organization administrator"}})
			require.False(t, rep.Key.Admin)
			require.False(t, rep.OK())
			if tc.limited {
				requireFindings(t, rep.Findings, []wantFinding{
					{code: troubleshoot.CodeCheckFailed, severity: troubleshoot.SeverityWarning, message: "read group"},
					{code: troubleshoot.CodeCheckFailed, severity: troubleshoot.SeverityWarning, message: "count the email links"},
				})
			}
		})
	}
}
