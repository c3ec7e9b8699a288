package troubleshoot_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/troubleshoot"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/kisi/kisitest"
)

// TestCheckConnection seeds one situation per connection problem and checks
// the findings, the report's fields and the text against a golden file.
func TestCheckConnection(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		setup   func(t *testing.T, r *troubleRig) *kisi.Client
		want    []wantFinding
		ok      bool
		missing []int64
	}{
		{
			name: "healthy",
			setup: func(t *testing.T, r *troubleRig) *kisi.Client {
				_, _, err := r.c.GroupLocks.Create(t.Context(), &kisi.GroupLockCreateRequest{GroupID: r.empty, LockID: r.roomDr})
				require.NoError(t, err)
				uid := r.user(t, "alice@example.com", true, true)
				r.role(t, r.c, uid, r.member, planStart, time.Time{})
				for _, name := range []string{"Gus", "Gina"} {
					_, _, err := r.c.GroupLinks.Create(t.Context(), &kisi.GroupLinkCreateRequest{GroupID: r.room, Name: name,
						Email: kisi.Ptr(name + "@example.com"), ValidUntil: kisi.Ptr(cest("18:00").UTC())})
					require.NoError(t, err)
				}
				// Email-less links do not count; expired ones do, as in
				// Kisi, until they are deleted.
				_, _, err = r.c.GroupLinks.Create(t.Context(), &kisi.GroupLinkCreateRequest{GroupID: r.room, Name: "Old",
					Email: kisi.Ptr("old@example.com"), ValidFrom: kisi.Ptr(cest("08:00").UTC()), ValidUntil: kisi.Ptr(cest("09:00").UTC())})
				require.NoError(t, err)
				_, _, err = r.c.GroupLinks.Create(t.Context(), &kisi.GroupLinkCreateRequest{GroupID: r.room, Name: "Kiosk"})
				require.NoError(t, err)
				return nil
			},
			want: []wantFinding{
				{code: troubleshoot.CodeKeyAdmin, severity: troubleshoot.SeverityInfo, message: "owner"},
				{code: troubleshoot.CodeGroupOK, severity: troubleshoot.SeverityInfo, message: "Members"},
				{code: troubleshoot.CodeEmailLinks, severity: troubleshoot.SeverityInfo, message: "3 of Kisi's 1000 concurrent email links are in use, 1 of them expired"},
			},
			ok: true,
		},
		{
			name: "key invalid",
			setup: func(t *testing.T, r *troubleRig) *kisi.Client {
				return r.client(t, "expired-key")
			},
			want: []wantFinding{{code: troubleshoot.CodeKeyInvalid, severity: troubleshoot.SeverityError, remedy: "new API key"}},
		},
		{
			name: "key not admin",
			setup: func(t *testing.T, r *troubleRig) *kisi.Client {
				key, err := r.srv.NewUserKey("ops@example.com", "")
				require.NoError(t, err)
				return r.client(t, key)
			},
			want: []wantFinding{{code: troubleshoot.CodeKeyNotAdmin, severity: troubleshoot.SeverityError,
				message: "holds no organization role", remedy: "Organization administrator"}},
		},
		{
			name: "broken groups",
			setup: func(t *testing.T, r *troubleRig) *kisi.Client {
				_, err := r.c.Groups.Delete(t.Context(), r.member)
				require.NoError(t, err)
				_, err = r.c.Groups.Update(t.Context(), r.room, &kisi.GroupUpdateRequest{
					TimeRestrictionEnabled: kisi.Ptr(true), GeofenceRestrictionEnabled: kisi.Ptr(true)})
				require.NoError(t, err)
				// Two roles given by hand by another administrator, one by the
				// key's own user.
				key, err := r.srv.NewUserKey("frontdesk@example.com", "organization_administrator")
				require.NoError(t, err)
				desk := r.client(t, key)
				for _, email := range []string{"bob@example.com", "carol@example.com"} {
					r.role(t, desk, r.user(t, email, true, false), r.room, time.Time{}, time.Time{})
				}
				r.role(t, r.c, r.user(t, "dave@example.com", true, true), r.room, time.Time{}, time.Time{})
				return nil
			},
			want: []wantFinding{
				{code: troubleshoot.CodeGroupMissing, severity: troubleshoot.SeverityError, message: "mapped from plan pro", remedy: "existing Kisi group"},
				{code: troubleshoot.CodeGroupNoDoors, severity: troubleshoot.SeverityError, message: "Storage"},
				{code: troubleshoot.CodeTimeRestriction, severity: troubleshoot.SeverityWarning, message: "Room 1"},
				{code: troubleshoot.CodeGeofenceRestriction, severity: troubleshoot.SeverityWarning, message: "Room 1"},
				{code: troubleshoot.CodeGroupShared, severity: troubleshoot.SeverityInfo, message: "2 of its 3 roles were not created through this API key"},
			},
			missing: []int64{100007},
		},
		{
			name: "webhook disabled",
			setup: func(t *testing.T, r *troubleRig) *kisi.Client {
				in, _, err := r.c.Integrations.CreateEventWebhook(t.Context(), "Platform", "https://platform.example/kisi")
				require.NoError(t, err)
				require.NoError(t, r.srv.DisableIntegrationDueToError(in.ID))
				return nil
			},
			want: []wantFinding{{code: troubleshoot.CodeWebhookDisabled, severity: troubleshoot.SeverityError,
				message: "kept failing", remedy: "enable the integration again"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newTroubleRig(t, cest("14:00"))
			c := tc.setup(t, r)
			if c == nil {
				c = r.c
			}
			r.srv.ResetRequests()
			rep, err := newChecker(t, c, r.m, troubleshoot.WithClock(r.clock)).CheckConnection(t.Context())
			require.NoError(t, err)
			requireFindings(t, rep.Findings, tc.want)
			if rep.OK() != tc.ok {
				t.Errorf("OK() = %v, want %v; findings:\n%s", rep.OK(), tc.ok, dumpFindings(rep.Findings))
			}
			if diff := cmp.Diff(tc.missing, rep.MissingGroups()); diff != "" {
				t.Errorf("MissingGroups (-want +got):\n%s", diff)
			}
			for _, req := range r.srv.Requests() {
				if req.Method != "GET" {
					t.Errorf("CheckConnection wrote to Kisi: %s %s", req.Method, req.Path)
				}
			}
			checkGolden(t, "connection", tc.name, rep.String())
		})
	}
}

// TestCheckConnectionWithStore counts roles the reconciler created as
// managed and roles given by hand with the same key as not.
func TestCheckConnectionWithStore(t *testing.T) {
	t.Parallel()
	r := newTroubleRig(t, cest("14:00"))
	r.s.Plans = []access.Plan{proPlan(access.PlanActive)}
	st := access.NewMemoryStore()
	rec, err := access.NewReconciler(r.c, st, r.m, access.DefaultPolicy(), access.WithClock(r.clock), access.WithOrganization("acme"))
	require.NoError(t, err)
	_, err = rec.Sync(t.Context(), r.s)
	require.NoError(t, err)
	r.role(t, r.c, r.user(t, "bob@example.com", true, false), r.member, time.Time{}, time.Time{})

	rep, err := newChecker(t, r.c, r.m, troubleshoot.WithClock(r.clock), troubleshoot.WithStore(st, "acme")).CheckConnection(t.Context())
	require.NoError(t, err)
	requireFindings(t, rep.Findings, []wantFinding{{code: troubleshoot.CodeGroupShared, severity: troubleshoot.SeverityInfo,
		message: "1 of its 2 roles were not created by this SDK"}})
	var members troubleshoot.GroupCheck
	for _, g := range rep.Groups {
		if g.GroupID == r.member {
			members = g
		}
	}
	want := troubleshoot.GroupCheck{GroupID: r.member, Name: "Members", Exists: true, PlaceID: r.place, Doors: 1, Users: 2, Roles: 2, Unmanaged: 1}
	if diff := cmp.Diff(want, members); diff != "" {
		t.Errorf("group check (-want +got):\n%s", diff)
	}
}

// TestCheckConnectionShowsParkedGroups reports a group the sync found
// deleted in Kisi, from the Store.
func TestCheckConnectionShowsParkedGroups(t *testing.T) {
	t.Parallel()
	r := newTroubleRig(t, cest("14:00"))
	r.s.Plans = []access.Plan{proPlan(access.PlanActive)}
	_, err := r.c.Groups.Delete(t.Context(), r.member)
	require.NoError(t, err)
	st := access.NewMemoryStore()
	rec, err := access.NewReconciler(r.c, st, r.m, access.DefaultPolicy(), access.WithClock(r.clock), access.WithOrganization("acme"))
	require.NoError(t, err)
	_, err = rec.Sync(t.Context(), r.s)
	require.ErrorContains(t, err, "deleted in Kisi")

	rep, err := newChecker(t, r.c, r.m, troubleshoot.WithClock(r.clock), troubleshoot.WithStore(st, "acme")).CheckConnection(t.Context())
	require.NoError(t, err)
	requireFindings(t, rep.Findings, []wantFinding{{code: troubleshoot.CodeGroupParked, severity: troubleshoot.SeverityError,
		message: "grants are parked", remedy: "run a verify"}})
}

// TestCheckConnectionLinkLimit warns when the email links in force near
// Kisi's limit.
func TestCheckConnectionLinkLimit(t *testing.T) {
	t.Parallel()
	r := newTroubleRig(t, cest("14:00"))
	for i := range 3 {
		_, _, err := r.c.GroupLinks.Create(t.Context(), &kisi.GroupLinkCreateRequest{GroupID: r.room, Name: "guest",
			Email: kisi.Ptr("guest@example.com")})
		require.NoError(t, err, "link %d", i)
	}
	rep, err := newChecker(t, r.c, r.m, troubleshoot.WithClock(r.clock), troubleshoot.WithEmailLinkWarning(3)).CheckConnection(t.Context())
	require.NoError(t, err)
	require.Equal(t, 3, rep.EmailLinks)
	requireFindings(t, rep.Findings, []wantFinding{{code: troubleshoot.CodeEmailLinks, severity: troubleshoot.SeverityWarning, remedy: "Delete links"}})
	_, err = troubleshoot.New(r.c, r.m, access.DefaultPolicy(), troubleshoot.WithEmailLinkWarning(0))
	require.Error(t, err)
}

func TestCheckConnectionJSON(t *testing.T) {
	t.Parallel()
	r := newTroubleRig(t, cest("14:00"))
	rep, err := newChecker(t, r.c, r.m, troubleshoot.WithClock(r.clock)).CheckConnection(t.Context())
	require.NoError(t, err)
	b, err := json.MarshalIndent(rep, "", "  ")
	require.NoError(t, err)
	checkGolden(t, "connection", "healthy.json", string(b)+"\n")
	var back troubleshoot.ConnectionReport
	require.NoError(t, json.Unmarshal(b, &back))
	if diff := cmp.Diff(*rep, back); diff != "" {
		t.Errorf("report does not round-trip (-want +got):\n%s", diff)
	}
}

func TestCheckConnectionArguments(t *testing.T) {
	t.Parallel()
	r := newTroubleRig(t, cest("14:00"))
	_, err := troubleshoot.New(nil, r.m, access.DefaultPolicy())
	require.Error(t, err)
	_, err = troubleshoot.New(r.c, r.m, access.DefaultPolicy(), troubleshoot.WithClock(nil))
	require.Error(t, err)
	_, err = troubleshoot.New(r.c, r.m, access.DefaultPolicy(), troubleshoot.WithStore(nil, "x"))
	require.Error(t, err)
	_, err = troubleshoot.New(r.c, r.m, access.DefaultPolicy(), troubleshoot.WithStore(access.NewMemoryStore(), ""))
	require.Error(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = newChecker(t, r.c, r.m, troubleshoot.WithClock(clockwork.NewFakeClock())).CheckConnection(ctx)
	require.ErrorIs(t, err, context.Canceled)

	// Kisi unreachable is a finding, not an error.
	dead, err := kisi.NewClient("key", kisi.WithBaseURL("http://127.0.0.1:1/kisi"), kisi.WithRetry(0, time.Millisecond, time.Millisecond))
	require.NoError(t, err)
	rep, err := newChecker(t, dead, r.m).CheckConnection(t.Context())
	require.NoError(t, err)
	requireFindings(t, rep.Findings, []wantFinding{{code: troubleshoot.CodeKisiUnreachable, severity: troubleshoot.SeverityError}})
}

// TestCheckConnectionShowsEachParkScope reports what the sync parked by
// scope: a group whose roles Kisi refuses the key on (403), runs stopped
// at an organization-wide failure — each as its own finding, none as "Kisi
// refused changes".
func TestCheckConnectionShowsEachParkScope(t *testing.T) {
	t.Parallel()
	r := newTroubleRig(t, cest("14:00"))
	r.s.Plans = []access.Plan{proPlan(access.PlanActive)}
	st := access.NewMemoryStore()
	rec, err := access.NewReconciler(r.c, st, r.m, access.DefaultPolicy(), access.WithClock(r.clock), access.WithOrganization("acme"))
	require.NoError(t, err)

	// A 403 on the members group's roles.
	r.srv.Intercept(func(req *http.Request) kisitest.Fault {
		if req.Method == http.MethodPost && req.URL.Path == "/role_assignments" {
			return kisitest.Fault{Status: http.StatusForbidden}
		}
		return kisitest.Fault{}
	})
	_, err = rec.Sync(t.Context(), r.s)
	require.Error(t, err)
	// Then Kisi answers 401 to everything: the run stops.
	r.clock.Advance(time.Hour)
	r.srv.Intercept(func(*http.Request) kisitest.Fault { return kisitest.Fault{Status: http.StatusUnauthorized} })
	_, err = rec.Sync(t.Context(), r.s)
	require.Error(t, err)
	r.srv.Intercept(nil)

	rep, err := newChecker(t, r.c, r.m, troubleshoot.WithClock(r.clock), troubleshoot.WithStore(st, "acme")).CheckConnection(t.Context())
	require.NoError(t, err)
	requireFindings(t, rep.Findings, []wantFinding{
		{code: troubleshoot.CodeGroupForbidden, severity: troubleshoot.SeverityError, message: "refused the API key on group", remedy: "rights"},
		{code: troubleshoot.CodeRunsStopped, severity: troubleshoot.SeverityError, message: "The last run stopped"},
	})
	for _, f := range rep.Findings {
		require.NotEqual(t, troubleshoot.CodeChangesParked, f.Code, "%s", f.Message)
	}
}
