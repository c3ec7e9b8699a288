package troubleshoot_test

import (
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/troubleshoot"
	"github.com/kisisync/kisisync/kisi/kisitest"
)

// TestDiagnoseConfirmedKey (issue 31): Kisi marks the user's "confirmed"
// key deprecated. Once it is gone, a working user must not read
// "unconfirmed" (whose remedy deletes the user); with
// WithUnknownConfirmationReported(true) Diagnose warns that it cannot tell,
// and a user Kisi still reports unconfirmed is reported either way.
func TestDiagnoseConfirmedKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		keySent   bool
		confirmed bool // the user's state in Kisi
		opened    bool // the user has opened a door
		report    bool // WithUnknownConfirmationReported
		want      []troubleshoot.Code
		status    string
	}{
		{name: "key dropped, user confirmed", confirmed: true, status: "unknown"},
		{name: "key dropped, user unconfirmed", status: "unknown"},
		{name: "key dropped, reported", confirmed: true, report: true,
			want: []troubleshoot.Code{troubleshoot.CodeUserConfirmationUnknown}, status: "unknown"},
		{name: "key dropped, opened a door", opened: true, report: true, status: "active"},
		{name: "key sent, unconfirmed", keySent: true,
			want: []troubleshoot.Code{troubleshoot.CodeUserUnconfirmed}, status: "pending"},
		{name: "key sent, unconfirmed, reported", keySent: true, report: true,
			want: []troubleshoot.Code{troubleshoot.CodeUserUnconfirmed}, status: "pending"},
		{name: "key sent, confirmed", keySent: true, confirmed: true, report: true, status: "active"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			at := cest("14:00")
			r := newTroubleRig(t, at, kisitest.WithConfirmedField(tc.keySent))
			r.s.Plans = append(r.s.Plans, proPlan(access.PlanActive))
			uid, err := r.srv.AddUser("alice@example.com", "Alice", tc.confirmed)
			require.NoError(t, err)
			r.role(t, r.c, uid, r.member, planStart, time.Time{})
			if tc.opened {
				r.unlock(t, uid, r.front, cest("09:12"), "")
			}
			d, err := newChecker(t, r.c, r.m, troubleshoot.WithUnknownConfirmationReported(tc.report)).Diagnose(t.Context(), r.s, "alice", at)
			require.NoError(t, err)
			var got []troubleshoot.Code
			for _, f := range d.Findings {
				if f.Code == troubleshoot.CodeUserUnconfirmed || f.Code == troubleshoot.CodeUserConfirmationUnknown {
					got = append(got, f.Code)
				}
				if f.Code == troubleshoot.CodeUserConfirmationUnknown {
					require.NotContains(t, f.Remedy, "Remove the user", "an unknown state never asks to delete")
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("confirmation findings (-want +got):\n%s", diff)
			}
			require.NotNil(t, d.User)
			require.Equal(t, tc.status, d.User.Status)
			require.Equal(t, !slices.Contains(got, troubleshoot.CodeUserUnconfirmed) && tc.status == "active", d.User.Confirmed)
		})
	}
}
