package access_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
)

func TestPlanStatusJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status access.PlanStatus
		json   string
	}{
		{access.PlanPending, `"pending"`},
		{access.PlanActive, `"active"`},
		{access.PlanCancelled, `"cancelled"`},
	}
	for _, tc := range tests {
		t.Run(tc.status.String(), func(t *testing.T) {
			t.Parallel()
			data, err := json.Marshal(tc.status)
			require.NoError(t, err)
			require.Equal(t, tc.json, string(data))
			var back access.PlanStatus
			require.NoError(t, json.Unmarshal(data, &back))
			require.Equal(t, tc.status, back)
		})
	}
	var s access.PlanStatus
	require.NoError(t, json.Unmarshal([]byte(`"Canceled"`), &s))
	require.Equal(t, access.PlanCancelled, s)
	require.ErrorIs(t, json.Unmarshal([]byte(`"paused"`), &s), access.ErrInvalidStatus)
	_, err := json.Marshal(access.PlanStatus(9))
	require.Error(t, err)
	require.Equal(t, "PlanStatus(9)", access.PlanStatus(9).String())
}

func TestSnapshotJSONRoundTrip(t *testing.T) {
	t.Parallel()
	s, _ := fixture()
	s.Plans = []access.Plan{{ID: "p1", PlanID: "hot-desk", MemberID: "m1", Start: monday, Status: access.PlanActive}}
	s.Assignments = []access.Assignment{{ID: "as1", ResourceID: "room-1", MemberID: "m1", Start: monday, Rules: nil}}
	data, err := json.Marshal(s)
	require.NoError(t, err)
	require.Contains(t, string(data), `"status":"active"`)
	var back access.Snapshot
	require.NoError(t, json.Unmarshal(data, &back))
	if diff := cmp.Diff(s, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}
