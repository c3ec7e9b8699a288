package access_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/kisi"
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
				// Expired and email-less links do not count.
				_, _, err = r.c.GroupLinks.Create(t.Context(), &kisi.GroupLinkCreateRequest{GroupID: r.room, Name: "Old",
					Email: kisi.Ptr("old@example.com"), ValidFrom: kisi.Ptr(cest("08:00").UTC()), ValidUntil: kisi.Ptr(cest("09:00").UTC())})
				require.NoError(t, err)
				_, _, err = r.c.GroupLinks.Create(t.Context(), &kisi.GroupLinkCreateRequest{GroupID: r.room, Name: "Kiosk"})
				require.NoError(t, err)
				return nil
			},
			want: []wantFinding{
				{code: access.CodeKeyAdmin, severity: access.SeverityInfo, message: "owner"},
				{code: access.CodeGroupOK, severity: access.SeverityInfo, message: "Members"},
				{code: access.CodeEmailLinks, severity: access.SeverityInfo, message: "2 of Kisi's 1000"},
			},
			ok: true,
		},
		{
			name: "key invalid",
			setup: func(t *testing.T, r *troubleRig) *kisi.Client {
				return r.client(t, "expired-key")
			},
			want: []wantFinding{{code: access.CodeKeyInvalid, severity: access.SeverityError, remedy: "new API key"}},
		},
		{
			name: "key not admin",
			setup: func(t *testing.T, r *troubleRig) *kisi.Client {
				key, err := r.srv.NewUserKey("ops@example.com", "")
				require.NoError(t, err)
				return r.client(t, key)
			},
			want: []wantFinding{{code: access.CodeKeyNotAdmin, severity: access.SeverityError,
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
				{code: access.CodeGroupMissing, severity: access.SeverityError, message: "mapped from plan pro", remedy: "existing Kisi group"},
				{code: access.CodeGroupNoDoors, severity: access.SeverityError, message: "Storage"},
				{code: access.CodeTimeRestriction, severity: access.SeverityWarning, message: "Room 1"},
				{code: access.CodeGeofenceRestriction, severity: access.SeverityWarning, message: "Room 1"},
				{code: access.CodeGroupShared, severity: access.SeverityInfo, message: "2 of its 3 roles were not created through this API key"},
			},
			missing: []int64{100007},
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
			rep, err := access.CheckConnection(t.Context(), c, r.m, access.WithCheckClock(r.clock))
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

	rep, err := access.CheckConnection(t.Context(), r.c, r.m, access.WithCheckClock(r.clock), access.WithCheckStore(st, "acme"))
	require.NoError(t, err)
	requireFindings(t, rep.Findings, []wantFinding{{code: access.CodeGroupShared, severity: access.SeverityInfo,
		message: "1 of its 2 roles were not created by this SDK"}})
	var members access.GroupCheck
	for _, g := range rep.Groups {
		if g.GroupID == r.member {
			members = g
		}
	}
	want := access.GroupCheck{GroupID: r.member, Name: "Members", Exists: true, PlaceID: r.place, Doors: 1, Users: 2, Roles: 2, Unmanaged: 1}
	if diff := cmp.Diff(want, members); diff != "" {
		t.Errorf("group check (-want +got):\n%s", diff)
	}
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
	rep, err := access.CheckConnection(t.Context(), r.c, r.m, access.WithCheckClock(r.clock), access.WithEmailLinkWarning(3))
	require.NoError(t, err)
	require.Equal(t, 3, rep.EmailLinks)
	requireFindings(t, rep.Findings, []wantFinding{{code: access.CodeEmailLinks, severity: access.SeverityWarning, remedy: "Delete links"}})
	_, err = access.CheckConnection(t.Context(), r.c, r.m, access.WithEmailLinkWarning(0))
	require.Error(t, err)
}

func TestCheckConnectionJSON(t *testing.T) {
	t.Parallel()
	r := newTroubleRig(t, cest("14:00"))
	rep, err := access.CheckConnection(t.Context(), r.c, r.m, access.WithCheckClock(r.clock))
	require.NoError(t, err)
	b, err := json.MarshalIndent(rep, "", "  ")
	require.NoError(t, err)
	checkGolden(t, "connection", "healthy.json", string(b)+"\n")
	var back access.ConnectionReport
	require.NoError(t, json.Unmarshal(b, &back))
	if diff := cmp.Diff(*rep, back); diff != "" {
		t.Errorf("report does not round-trip (-want +got):\n%s", diff)
	}
}

func TestCheckConnectionArguments(t *testing.T) {
	t.Parallel()
	r := newTroubleRig(t, cest("14:00"))
	_, err := access.CheckConnection(t.Context(), nil, r.m)
	require.Error(t, err)
	_, err = access.CheckConnection(t.Context(), r.c, r.m, access.WithCheckClock(nil))
	require.Error(t, err)
	_, err = access.CheckConnection(t.Context(), r.c, r.m, access.WithCheckStore(nil, "x"))
	require.Error(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = access.CheckConnection(ctx, r.c, r.m, access.WithCheckClock(clockwork.NewFakeClock()))
	require.ErrorIs(t, err, context.Canceled)

	// Kisi unreachable is a finding, not an error.
	dead, err := kisi.NewClient("key", kisi.WithBaseURL("http://127.0.0.1:1/kisi"), kisi.WithRetry(0, time.Millisecond, time.Millisecond))
	require.NoError(t, err)
	rep, err := access.CheckConnection(t.Context(), dead, r.m)
	require.NoError(t, err)
	requireFindings(t, rep.Findings, []wantFinding{{code: access.CodeKisiUnreachable, severity: access.SeverityError}})
}
