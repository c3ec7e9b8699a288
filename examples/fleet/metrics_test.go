package fleet

import (
	"context"
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/state"
)

func TestObserveFailures(t *testing.T) {
	tests := []struct {
		name   string
		report *access.Report
		err    error
		want   map[string]float64
	}{
		{"classes of the report", &access.Report{Failures: []access.Failure{
			{Class: access.FailureUnknown}, {Class: access.FailureTransient}, {Class: access.FailureUnknown},
		}}, errors.New("joined"), map[string]float64{"unknown": 2, "transient": 1}},
		{"systemic stop", &access.Report{Failures: []access.Failure{{Class: access.FailureSystemic}}},
			&access.SystemicError{Err: errors.New("401")}, map[string]float64{"systemic": 1}},
		{"no plan", nil, errors.New("snapshot unreadable"), map[string]float64{"run": 1}},
		{"busy", nil, &state.LeaseHeldError{Organization: "o"}, map[string]float64{}},
		{"held", nil, &access.RevokeLimitError{Organization: "o"}, map[string]float64{}},
		{"clean", &access.Report{}, nil, map[string]float64{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMetrics()
			m.observeFailures(tc.report, tc.err)
			got := map[string]float64{}
			for _, class := range []string{"systemic", "missing", "quota", "refused", "unknown", "transient", "run"} {
				if v := testutil.ToFloat64(m.Failures.WithLabelValues(class)); v > 0 {
					got[class] = v
				}
			}
			require.Equal(t, tc.want, got)
		})
	}
}

// TestScopesOf: each failure class counts in the scope DESIGN.md gives it;
// a change waiting on its parked user counts for the user; a run that
// stopped or could not plan counts once for its organization, or for the
// host when its snapshot could not be loaded.
func TestScopesOf(t *testing.T) {
	users := map[string]bool{"bob@example.com": true}
	failure := func(class access.FailureClass, group int64, email string) access.Failure {
		return access.Failure{Class: class, GroupID: group, Email: email}
	}
	parked := func(class access.FailureClass, group int64, email string) access.Parked {
		return access.Parked{Class: class, GroupID: group, Email: email}
	}
	tests := []struct {
		name string
		out  outcome
		want scopes
	}{
		{"clean", outcome{report: &access.Report{}}, scopes{failing: scopeCounts{}, parked: scopeCounts{}}},
		{"every class", outcome{parkedUsers: users, report: &access.Report{
			Failures: []access.Failure{
				failure(access.FailureMissing, 1, "a@example.com"), failure(access.FailureForbidden, 2, "a@example.com"),
				failure(access.FailureUserDeleted, 1, "c@example.com"), failure(access.FailureRefused, 1, "bob@example.com"),
				failure(access.FailureRefused, 1, "a@example.com"), failure(access.FailureTransient, 1, "a@example.com"),
				failure(access.FailureUnknown, 1, "a@example.com"), failure(access.FailureQuota, 1, "g@example.com"),
				failure(access.FailureHost, 1, "g@example.com"),
			},
			Parked: []access.Parked{
				parked(access.FailureMissing, 1, "a@example.com"), parked(access.FailureRefused, 1, "bob@example.com"),
				parked(access.FailureRefused, 1, "a@example.com"), parked(access.FailureQuota, 1, "g@example.com"),
			},
		}, err: errors.New("joined")}, scopes{
			failing: scopeCounts{ScopeGroup: 2, ScopeUser: 2, ScopeChange: 3, ScopeQuota: 1, ScopeHost: 1},
			parked:  scopeCounts{ScopeGroup: 1, ScopeUser: 1, ScopeChange: 1, ScopeQuota: 1},
		}},
		{"stopped", outcome{report: &access.Report{Failures: []access.Failure{
			failure(access.FailureTransient, 1, "a@example.com"), failure(access.FailureTransient, 1, "b@example.com"),
		}}, err: &access.SystemicError{Err: errors.New("Kisi keeps failing")}}, scopes{
			failing: scopeCounts{ScopeOrganization: 1, ScopeChange: 2}, parked: scopeCounts{},
		}},
		{"key refused", outcome{report: &access.Report{Failures: []access.Failure{failure(access.FailureSystemic, 0, "")}},
			err: &access.SystemicError{Err: errors.New("401")}}, scopes{failing: scopeCounts{ScopeOrganization: 1}, parked: scopeCounts{}}},
		{"store failing", outcome{err: errors.New("load store")}, scopes{failing: scopeCounts{ScopeOrganization: 1}, parked: scopeCounts{}}},
		{"snapshot failing", outcome{err: errors.New("load snapshot"), loadFailed: true}, scopes{failing: scopeCounts{ScopeHost: 1}, parked: scopeCounts{}}},
		{"busy", outcome{err: &state.LeaseHeldError{Organization: "o"}}, scopes{failing: scopeCounts{}, parked: scopeCounts{}}},
		{"held", outcome{err: &access.RevokeLimitError{Organization: "o"}}, scopes{failing: scopeCounts{}, parked: scopeCounts{}}},
		{"budget spent", outcome{err: context.DeadlineExceeded, budgetSpent: true}, scopes{failing: scopeCounts{}, parked: scopeCounts{}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, scopesOf(tc.out))
		})
	}
}

// TestParkRecordScope: the Store's park records of each scope, as GET
// /status/{org} reports them.
func TestParkRecordScope(t *testing.T) {
	recs := []state.Record{
		{Key: "park/organization", Kind: state.KindPark, Class: access.FailureSystemic},
		{Key: "park/organization", Kind: state.KindPark, Class: access.FailureUnknown},
		{Key: "park/group/7/fp", Kind: state.KindPark, GroupID: 7, Class: access.FailureMissing},
		{Key: "park/forbidden/7/grant", Kind: state.KindPark, GroupID: 7, Class: access.FailureForbidden},
		{Key: "park/user/bob@example.com", Kind: state.KindPark, Email: "bob@example.com", Class: access.FailureRefused},
		{Key: "park/role/a@example.com/7", Kind: state.KindPark, Email: "a@example.com", GroupID: 7, Class: access.FailureRefused},
		{Key: "park/patch", Kind: state.KindPark},
	}
	users := parkedUsers(recs)
	var got []string
	for _, r := range recs {
		got = append(got, scopeOf(r.Class, r.GroupID, r.Email, users))
	}
	want := []string{ScopeOrganization, ScopeOrganization, ScopeGroup, ScopeGroup, ScopeUser, ScopeChange, ""}
	require.Equal(t, want, got)
}
