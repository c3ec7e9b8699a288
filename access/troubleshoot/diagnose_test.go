package troubleshoot_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/troubleshoot"
	"github.com/kisisync/kisisync/kisi"
)

var planStart = time.Date(2026, time.June, 1, 0, 0, 0, 0, berlinTZ)

func proPlan(status access.PlanStatus) access.Plan {
	return access.Plan{ID: "p1", PlanID: "pro", MemberID: "alice", Start: planStart, Status: status}
}

// TestDiagnose seeds one situation per troubleshooting case and checks the
// findings with their remedies, and the text rendering against a golden
// file.
func TestDiagnose(t *testing.T) {
	t.Parallel()
	const email = "alice@example.com"
	type setupFunc func(t *testing.T, r *troubleRig) (memberID string, c *kisi.Client)
	withPlan := func(status access.PlanStatus) func(r *troubleRig) {
		return func(r *troubleRig) { r.s.Plans = append(r.s.Plans, proPlan(status)) }
	}
	tests := []struct {
		name  string
		at    string
		setup setupFunc
		want  []wantFinding
		// clean: no finding is a warning or an error.
		clean bool
	}{
		{
			name: "healthy",
			at:   "14:00",
			setup: func(t *testing.T, r *troubleRig) (string, *kisi.Client) {
				withPlan(access.PlanActive)(r)
				uid := r.user(t, email, true, true)
				r.role(t, r.c, uid, r.member, planStart, time.Time{})
				r.unlock(t, uid, r.front, cest("09:12"), "")
				return "alice", nil
			},
			want: []wantFinding{
				{code: troubleshoot.CodeAccessNow, severity: troubleshoot.SeverityInfo},
				{code: troubleshoot.CodeRoleOK, severity: troubleshoot.SeverityInfo},
				{code: troubleshoot.CodeUnlockSucceeded, severity: troubleshoot.SeverityInfo, message: "09:12"},
			},
			clean: true,
		},
		{
			name: "unconfirmed user added by hand",
			at:   "14:00",
			setup: func(t *testing.T, r *troubleRig) (string, *kisi.Client) {
				withPlan(access.PlanActive)(r)
				uid, err := r.srv.AddUser(email, "Alice", false)
				require.NoError(t, err)
				r.role(t, r.c, uid, r.member, planStart, time.Time{})
				return "alice", nil
			},
			want: []wantFinding{{code: troubleshoot.CodeUserUnconfirmed, severity: troubleshoot.SeverityError,
				message: "No locks found", remedy: "Remove the user in the Kisi dashboard"}},
		},
		{
			name: "invitation not accepted",
			at:   "14:00",
			setup: func(t *testing.T, r *troubleRig) (string, *kisi.Client) {
				withPlan(access.PlanActive)(r)
				uid := r.user(t, email, false, true)
				r.role(t, r.c, uid, r.member, planStart, time.Time{})
				return "alice", nil
			},
			want: []wantFinding{{code: troubleshoot.CodeUserUnconfirmed, severity: troubleshoot.SeverityError,
				remedy: "invitation email"}},
		},
		{
			name: "access disabled",
			at:   "14:00",
			setup: func(t *testing.T, r *troubleRig) (string, *kisi.Client) {
				withPlan(access.PlanActive)(r)
				uid := r.user(t, email, true, true)
				_, err := r.c.Users.Update(t.Context(), uid, &kisi.UserUpdateRequest{AccessEnabled: kisi.Ptr(false)})
				require.NoError(t, err)
				r.role(t, r.c, uid, r.member, planStart, time.Time{})
				r.unlock(t, uid, r.front, cest("13:45"), string(kisi.CodeAccessDisabled))
				return "alice", nil
			},
			want: []wantFinding{
				{code: troubleshoot.CodeUserAccessDisabled, severity: troubleshoot.SeverityError, remedy: "Turn access back on"},
				{code: troubleshoot.CodeUnlockFailed, severity: troubleshoot.SeverityError, message: "fcd8ff", remedy: "Turn access back on"},
			},
		},
		{
			name: "restricted group",
			at:   "14:00",
			setup: func(t *testing.T, r *troubleRig) (string, *kisi.Client) {
				withPlan(access.PlanActive)(r)
				_, err := r.c.Groups.Update(t.Context(), r.member, &kisi.GroupUpdateRequest{
					TimeRestrictionEnabled: kisi.Ptr(true), GeofenceRestrictionEnabled: kisi.Ptr(true),
					PrimaryDeviceRestrictionEnabled: kisi.Ptr(true), ReaderRestrictionEnabled: kisi.Ptr(true),
					TapToAccessRestrictionEnabled: kisi.Ptr(true), LoginEnabled: kisi.Ptr(false)})
				require.NoError(t, err)
				uid := r.user(t, email, true, true)
				r.role(t, r.c, uid, r.member, planStart, time.Time{})
				r.unlock(t, uid, r.front, cest("06:10"), string(kisi.CodeAccessNotAllowedNow))
				r.unlock(t, uid, r.front, cest("13:20"), string(kisi.CodeTooFarAway))
				r.unlock(t, uid, r.front, cest("13:21"), string(kisi.CodeTooFarAway))
				r.unlock(t, uid, r.front, cest("13:25"), string(kisi.CodeAppsNotIncluded))
				return "alice", nil
			},
			want: []wantFinding{
				{code: troubleshoot.CodeTimeRestriction, severity: troubleshoot.SeverityWarning, message: "opening hours"},
				{code: troubleshoot.CodeGeofenceRestriction, severity: troubleshoot.SeverityWarning, remedy: "location access"},
				{code: troubleshoot.CodeReaderRestriction, severity: troubleshoot.SeverityWarning},
				{code: troubleshoot.CodePrimaryDeviceRestriction, severity: troubleshoot.SeverityWarning},
				{code: troubleshoot.CodeTapToAccessRestriction, severity: troubleshoot.SeverityWarning},
				{code: troubleshoot.CodeAppAccessOff, severity: troubleshoot.SeverityWarning},
				{code: troubleshoot.CodeUnlockFailed, severity: troubleshoot.SeverityError, message: "time restriction (opening hours) of group", remedy: "time restriction"},
				{code: troubleshoot.CodeUnlockFailed, severity: troubleshoot.SeverityError, message: "2 unlock attempts failed with a3995f", remedy: "location access"},
				{code: troubleshoot.CodeUnlockFailed, severity: troubleshoot.SeverityError, message: "f01337", remedy: "app access on"},
			},
		},
		{
			name: "deleted group",
			at:   "14:00",
			setup: func(t *testing.T, r *troubleRig) (string, *kisi.Client) {
				withPlan(access.PlanActive)(r)
				r.user(t, email, true, true)
				_, err := r.c.Groups.Delete(t.Context(), r.member)
				require.NoError(t, err)
				return "alice", nil
			},
			want: []wantFinding{{code: troubleshoot.CodeGroupMissing, severity: troubleshoot.SeverityError,
				message: "mapped from plan pro", remedy: "existing Kisi group"}},
		},
		{
			name: "group without doors",
			at:   "14:00",
			setup: func(t *testing.T, r *troubleRig) (string, *kisi.Client) {
				r.s.Plans = append(r.s.Plans, access.Plan{ID: "p2", PlanID: "storage", MemberID: "alice", Start: planStart, Status: access.PlanActive})
				uid := r.user(t, email, true, true)
				r.role(t, r.c, uid, r.empty, planStart, time.Time{})
				return "alice", nil
			},
			want: []wantFinding{{code: troubleshoot.CodeGroupNoDoors, severity: troubleshoot.SeverityError,
				message: "No locks found", remedy: "Add the doors"}},
		},
		{
			name: "key not admin",
			at:   "14:00",
			setup: func(t *testing.T, r *troubleRig) (string, *kisi.Client) {
				withPlan(access.PlanActive)(r)
				r.user(t, email, true, true)
				key, err := r.srv.NewUserKey("ops@example.com", "observer")
				require.NoError(t, err)
				return "alice", r.client(t, key)
			},
			want: []wantFinding{
				{code: troubleshoot.CodeKeyNotAdmin, severity: troubleshoot.SeverityError, message: "observer", remedy: "Organization administrator"},
				{code: troubleshoot.CodeRoleMissing, severity: troubleshoot.SeverityError, message: "key_not_admin"},
			},
		},
		{
			name: "key invalid",
			at:   "14:00",
			setup: func(t *testing.T, r *troubleRig) (string, *kisi.Client) {
				withPlan(access.PlanActive)(r)
				return "alice", r.client(t, "revoked-key")
			},
			want: []wantFinding{
				{code: troubleshoot.CodeKeyInvalid, severity: troubleshoot.SeverityError, remedy: "new API key"},
				{code: troubleshoot.CodeAccessNow, severity: troubleshoot.SeverityInfo},
			},
		},
		{
			name: "booking not yet open",
			at:   "13:52",
			setup: func(t *testing.T, r *troubleRig) (string, *kisi.Client) {
				r.s.Bookings = []access.Booking{{ID: "b1", ResourceID: "room1", MemberID: "alice", Start: cest("14:00"), End: cest("15:00")}}
				uid := r.user(t, email, true, true)
				r.role(t, r.c, uid, r.room, cest("13:55"), cest("15:05"))
				r.unlock(t, uid, r.roomDr, cest("13:50"), string(kisi.CodeAccessNotYetValid))
				return "alice", nil
			},
			want: []wantFinding{
				{code: troubleshoot.CodeUnlockFailed, severity: troubleshoot.SeverityError,
					message: `access not yet valid — the booking window for group 100008 "Room 1" opens at 13:55 CEST`,
					remedy:  "raise the buffer"},
				{code: troubleshoot.CodeRoleNotYetValid, severity: troubleshoot.SeverityInfo, remedy: "Nothing to fix"},
				{code: troubleshoot.CodeNoAccessNow, severity: troubleshoot.SeverityInfo, remedy: "access opens at"},
			},
		},
		{
			name: "expired role",
			at:   "14:00",
			setup: func(t *testing.T, r *troubleRig) (string, *kisi.Client) {
				withPlan(access.PlanActive)(r)
				uid := r.user(t, email, true, true)
				r.role(t, r.c, uid, r.member, planStart, time.Date(2026, time.June, 9, 0, 0, 0, 0, berlinTZ))
				r.unlock(t, uid, r.front, cest("13:00"), string(kisi.CodeAccessNoLongerValid))
				return "alice", nil
			},
			want: []wantFinding{
				{code: troubleshoot.CodeRoleExpired, severity: troubleshoot.SeverityError, remedy: "Run a sync"},
				{code: troubleshoot.CodeUnlockFailed, severity: troubleshoot.SeverityError, message: "Kisi's role was out of date", remedy: "Run a sync"},
			},
		},
		{
			name: "role not yet valid",
			at:   "14:00",
			setup: func(t *testing.T, r *troubleRig) (string, *kisi.Client) {
				withPlan(access.PlanActive)(r)
				uid := r.user(t, email, true, true)
				r.role(t, r.c, uid, r.member, time.Date(2026, time.June, 11, 0, 0, 0, 0, berlinTZ), time.Time{})
				return "alice", nil
			},
			want: []wantFinding{{code: troubleshoot.CodeRoleNotYetValid, severity: troubleshoot.SeverityError, remedy: "Run a sync"}},
		},
		{
			name: "unmanaged role",
			at:   "14:00",
			setup: func(t *testing.T, r *troubleRig) (string, *kisi.Client) {
				withPlan(access.PlanActive)(r)
				uid := r.user(t, email, true, true)
				key, err := r.srv.NewUserKey("frontdesk@example.com", "organization_administrator")
				require.NoError(t, err)
				r.role(t, r.client(t, key), uid, r.member, cest("08:00"), cest("12:00"))
				return "alice", nil
			},
			want: []wantFinding{
				{code: troubleshoot.CodeRoleUnmanaged, severity: troubleshoot.SeverityWarning, remedy: "remove this role in Kisi"},
				{code: troubleshoot.CodeRoleExpired, severity: troubleshoot.SeverityError, remedy: "Remove the expired hand-made role"},
			},
		},
		{
			name: "no kisi user",
			at:   "14:00",
			setup: func(t *testing.T, r *troubleRig) (string, *kisi.Client) {
				withPlan(access.PlanActive)(r)
				return "alice", nil
			},
			want: []wantFinding{{code: troubleshoot.CodeNoKisiUser, severity: troubleshoot.SeverityError, remedy: "Run a sync"}},
		},
		{
			name: "role missing",
			at:   "14:00",
			setup: func(t *testing.T, r *troubleRig) (string, *kisi.Client) {
				withPlan(access.PlanActive)(r)
				r.user(t, email, true, true)
				return "alice", nil
			},
			want: []wantFinding{
				{code: troubleshoot.CodeRoleMissing, severity: troubleshoot.SeverityError, remedy: "Run a sync"},
				{code: troubleshoot.CodeNoUnlockAttempts, severity: troubleshoot.SeverityInfo, remedy: "Bluetooth"},
			},
		},
		{
			name: "plan pending",
			at:   "14:00",
			setup: func(t *testing.T, r *troubleRig) (string, *kisi.Client) {
				withPlan(access.PlanPending)(r)
				r.user(t, email, true, true)
				return "alice", nil
			},
			want: []wantFinding{{code: troubleshoot.CodeNoAccessNow, severity: troubleshoot.SeverityError, message: "pending acceptance"}},
		},
		{
			name: "not mapped",
			at:   "14:00",
			setup: func(t *testing.T, r *troubleRig) (string, *kisi.Client) {
				r.s.Plans = []access.Plan{{ID: "p3", PlanID: "basic", MemberID: "alice", Start: planStart, Status: access.PlanActive}}
				return "alice", nil
			},
			want: []wantFinding{{code: troubleshoot.CodeNotMapped, severity: troubleshoot.SeverityError, remedy: "Map the member's plan"}},
		},
		{
			name: "unknown member",
			at:   "14:00",
			setup: func(*testing.T, *troubleRig) (string, *kisi.Client) {
				return "zed", nil
			},
			want: []wantFinding{{code: troubleshoot.CodeMemberUnknown, severity: troubleshoot.SeverityError}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			at := cest(tc.at)
			r := newTroubleRig(t, at)
			member, c := tc.setup(t, r)
			if c == nil {
				c = r.c
			}
			writes := r.srv.Count("POST", "") + r.srv.Count("PATCH", "") + r.srv.Count("DELETE", "")
			d, err := newChecker(t, c, r.m).Diagnose(t.Context(), r.s, member, at)
			require.NoError(t, err)
			requireFindings(t, d.Findings, tc.want)
			if tc.clean && d.Worst() != troubleshoot.SeverityInfo {
				t.Errorf("want only info findings, got:\n%s", dumpFindings(d.Findings))
			}
			for i := 1; i < len(d.Findings); i++ {
				if d.Findings[i].Severity > d.Findings[i-1].Severity {
					t.Fatalf("findings not sorted by severity:\n%s", dumpFindings(d.Findings))
				}
			}
			// Diagnose never writes to Kisi (POST /event_sets only reads).
			after := r.srv.Count("POST", "") - r.srv.Count("POST", "/event_sets") + r.srv.Count("PATCH", "") + r.srv.Count("DELETE", "")
			if after != writes {
				t.Errorf("Diagnose wrote to Kisi: %d writes before, %d after", writes, after)
			}
			checkGolden(t, "diagnose", tc.name, d.String())
		})
	}
}

// TestDiagnoseJSON checks the JSON a host's admin page receives.
func TestDiagnoseJSON(t *testing.T) {
	t.Parallel()
	at := cest("13:52")
	r := newTroubleRig(t, at)
	r.s.Bookings = []access.Booking{{ID: "b1", ResourceID: "room1", MemberID: "alice", Start: cest("14:00"), End: cest("15:00")}}
	uid := r.user(t, "alice@example.com", true, true)
	r.role(t, r.c, uid, r.room, cest("13:55"), cest("15:05"))
	r.unlock(t, uid, r.roomDr, cest("13:50"), string(kisi.CodeAccessNotYetValid))
	d, err := newChecker(t, r.c, r.m).Diagnose(t.Context(), r.s, "alice", at)
	require.NoError(t, err)
	b, err := json.MarshalIndent(d, "", "  ")
	require.NoError(t, err)
	checkGolden(t, "diagnose", "booking_not_yet_open.json", string(b)+"\n")

	var back struct {
		Findings []troubleshoot.Finding       `json:"findings"`
		Attempts []troubleshoot.UnlockAttempt `json:"attempts"`
	}
	require.NoError(t, json.Unmarshal(b, &back))
	if diff := cmp.Diff(d.Findings, back.Findings); diff != "" {
		t.Errorf("findings do not round-trip (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(d.Attempts, back.Attempts); diff != "" {
		t.Errorf("attempts do not round-trip (-want +got):\n%s", diff)
	}
}

// TestDiagnoseWithStore uses the reconciler's Store to tell managed roles
// from roles given by hand with the same key.
func TestDiagnoseWithStore(t *testing.T) {
	t.Parallel()
	at := cest("14:00")
	r := newTroubleRig(t, at)
	r.s.Plans = []access.Plan{proPlan(access.PlanActive)}
	st := access.NewMemoryStore()
	rec, err := access.NewReconciler(r.c, st, r.m, access.DefaultPolicy(), access.WithClock(r.clock), access.WithOrganization("acme"))
	require.NoError(t, err)
	_, err = rec.Sync(t.Context(), r.s)
	require.NoError(t, err)

	// A role in Room 1 given by hand with the owner's own key.
	u, _, err := r.c.Users.GetByEmail(t.Context(), "alice@example.com")
	require.NoError(t, err)
	r.role(t, r.c, u.ID, r.room, time.Time{}, time.Time{})

	d, err := newChecker(t, r.c, r.m, troubleshoot.WithStore(st, "acme")).Diagnose(t.Context(), r.s, "alice", at)
	require.NoError(t, err)
	requireFindings(t, d.Findings, []wantFinding{
		{code: troubleshoot.CodeRoleOK, severity: troubleshoot.SeverityInfo},
		{code: troubleshoot.CodeRoleUnmanaged, severity: troubleshoot.SeverityInfo, message: "Room 1"},
	})

	// Without the Store the hand-made role looks managed (same creator)
	// and, since the platform gives nothing in Room 1, unwanted.
	d, err = newChecker(t, r.c, r.m).Diagnose(t.Context(), r.s, "alice", at)
	require.NoError(t, err)
	requireFindings(t, d.Findings, []wantFinding{{code: troubleshoot.CodeRoleNotWanted, severity: troubleshoot.SeverityWarning}})
}

func TestDiagnoseArguments(t *testing.T) {
	t.Parallel()
	r := newTroubleRig(t, cest("14:00"))
	_, err := troubleshoot.New(nil, r.m, access.DefaultPolicy())
	require.Error(t, err)
	_, err = troubleshoot.New(r.c, r.m, access.DefaultPolicy(), troubleshoot.WithUnlockLookback(100*24*time.Hour))
	require.Error(t, err)
	_, err = troubleshoot.New(r.c, r.m, access.DefaultPolicy(), troubleshoot.WithMaxAttempts(0))
	require.Error(t, err)
	_, err = newChecker(t, r.c, r.m).Diagnose(t.Context(), r.s, "alice", cest("14:00"))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = newChecker(t, r.c, r.m).Diagnose(ctx, r.s, "alice", cest("14:00"))
	require.ErrorIs(t, err, context.Canceled)
}

// TestDiagnoseAttemptLimits lists only the most recent attempts but counts
// all of them, within the lookback.
func TestDiagnoseAttemptLimits(t *testing.T) {
	t.Parallel()
	at := cest("14:00")
	r := newTroubleRig(t, at)
	r.s.Plans = []access.Plan{proPlan(access.PlanActive)}
	uid := r.user(t, "alice@example.com", true, true)
	r.role(t, r.c, uid, r.member, planStart, time.Time{})
	r.unlock(t, uid, r.front, at.Add(-26*time.Hour), string(kisi.CodeTooFarAway)) // outside a 1-day lookback
	for _, hhmm := range []string{"13:00", "13:10", "13:20"} {
		r.unlock(t, uid, r.front, cest(hhmm), string(kisi.CodeTooFarAway))
	}
	d, err := newChecker(t, r.c, r.m, troubleshoot.WithMaxAttempts(2), troubleshoot.WithUnlockLookback(24*time.Hour)).
		Diagnose(t.Context(), r.s, "alice", at)
	require.NoError(t, err)
	require.Len(t, d.Attempts, 2)
	require.True(t, d.Attempts[0].At.Equal(cest("13:20")), "newest first")
	requireFindings(t, d.Findings, []wantFinding{{code: troubleshoot.CodeUnlockFailed, severity: troubleshoot.SeverityError, message: "3 unlock attempts failed"}})
}

// TestCheckerBesideReconciler runs both checks with the configuration of a
// Reconciler (its Store, organization and clock), through a wrapper around
// the client that counts the calls: Kisi access is an interface, so a
// host's wrapper works (the former Reconciler.Diagnose and
// Reconciler.CheckConnection asserted a *kisi.Client and failed on one).
func TestCheckerBesideReconciler(t *testing.T) {
	t.Parallel()
	at := cest("14:00")
	r := newTroubleRig(t, at)
	r.s.Plans = []access.Plan{proPlan(access.PlanActive)}
	st := access.NewMemoryStore()
	rec, err := access.NewReconciler(r.c, st, r.m, access.DefaultPolicy(), access.WithClock(r.clock))
	require.NoError(t, err)
	_, err = rec.Sync(t.Context(), r.s)
	require.NoError(t, err)

	k := &countingKisi{Kisi: r.c}
	chk, err := troubleshoot.New(k, r.m, access.DefaultPolicy(), troubleshoot.WithClock(r.clock),
		troubleshoot.WithStore(st, rec.Organization()))
	require.NoError(t, err)
	d, err := chk.Diagnose(t.Context(), r.s, "alice", at)
	require.NoError(t, err)
	requireFindings(t, d.Findings, []wantFinding{
		{code: troubleshoot.CodeRoleOK, severity: troubleshoot.SeverityInfo},
		// A regular user the SDK created, who has not signed up yet.
		{code: troubleshoot.CodeUserUnconfirmed, severity: troubleshoot.SeverityError, remedy: "invitation email"},
	})
	rep, err := chk.CheckConnection(t.Context())
	require.NoError(t, err)
	requireFindings(t, rep.Findings, []wantFinding{{code: troubleshoot.CodeGroupOK, severity: troubleshoot.SeverityInfo, message: "1 role"}})
	if k.calls.Load() == 0 {
		t.Error("the checks did not go through the wrapper")
	}
}

// BenchmarkDiagnose measures one diagnosis against the fake Kisi over
// loopback HTTP (a restricted group, a role and four unlock attempts).
func BenchmarkDiagnose(b *testing.B) {
	at := cest("14:00")
	r := newTroubleRig(b, at)
	r.s.Plans = []access.Plan{proPlan(access.PlanActive)}
	_, err := r.c.Groups.Update(b.Context(), r.member, &kisi.GroupUpdateRequest{TimeRestrictionEnabled: kisi.Ptr(true)})
	if err != nil {
		b.Fatal(err)
	}
	uid := r.user(b, "alice@example.com", true, true)
	r.role(b, r.c, uid, r.member, planStart, time.Time{})
	for _, code := range []string{"", "34ffaa", "a3995f", "f358de"} {
		r.unlock(b, uid, r.front, cest("13:00"), code)
	}
	chk := newChecker(b, r.c, r.m)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := chk.Diagnose(b.Context(), r.s, "alice", at); err != nil {
			b.Fatal(err)
		}
	}
}
