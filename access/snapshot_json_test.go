package access_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/schedule"
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

func TestPolicyJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		p    access.Policy
		json string
	}{
		{name: "default", p: access.DefaultPolicy(), json: `{"buffer":{"before":"5m","after":"5m"},"lead":"20m"}`},
		{name: "everything", p: access.Policy{
			Buffer:          schedule.Buffer{Before: 30 * time.Minute, After: 10 * time.Minute},
			ResourceBuffers: map[string]schedule.Buffer{"room-1": {Before: 15 * time.Minute}, "desk-2": {}},
			CheckInFor:      90 * time.Minute,
			Lead:            time.Hour,
		}, json: `{"buffer":{"before":"30m","after":"10m"},"resource_buffers":{"desk-2":{"before":"0s","after":"0s"},"room-1":{"before":"15m","after":"0s"}},"check_in_for":"1h30m","lead":"1h"}`},
		{name: "zero", p: access.Policy{}, json: `{"buffer":{"before":"0s","after":"0s"},"lead":"0s"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			data, err := json.Marshal(tc.p)
			require.NoError(t, err)
			require.Equal(t, tc.json, string(data))
			var back access.Policy
			require.NoError(t, json.Unmarshal(data, &back))
			if diff := cmp.Diff(tc.p, back); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
	_, err := json.Marshal(access.Policy{Lead: -time.Minute})
	require.ErrorIs(t, err, access.ErrInvalidPolicy)
}

func TestPolicyUnmarshalJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		json    string
		want    access.Policy // decoded into DefaultPolicy()
		wantErr string
	}{
		{name: "empty keeps defaults", json: `{}`, want: access.DefaultPolicy()},
		{name: "null keeps defaults", json: `null`, want: access.DefaultPolicy()},
		{name: "hand written", json: `{
			"lead": "45m",
			"check_in_for": "8h",
			"resource_buffers": {"room-1": {"before": "15m", "after": "10m"}}
		}`, want: access.Policy{
			Buffer:          schedule.DefaultBuffer,
			ResourceBuffers: map[string]schedule.Buffer{"room-1": {Before: 15 * time.Minute, After: 10 * time.Minute}},
			CheckInFor:      8 * time.Hour,
			Lead:            45 * time.Minute,
		}},
		{name: "buffer replaced whole", json: `{"buffer": {"before": "30m"}}`,
			want: access.Policy{Buffer: schedule.Buffer{Before: 30 * time.Minute}, Lead: 20 * time.Minute}},
		{name: "lead as number", json: `{"lead": 1200}`,
			wantErr: `access: invalid policy: lead: want a duration string such as "5m" or "1h30m", got the number 1200`},
		{name: "check-in unparsable", json: `{"check_in_for": "8 hours"}`,
			wantErr: `access: invalid policy: check_in_for: cannot parse "8 hours" as a duration such as "5m" or "1h30m"`},
		{name: "negative lead", json: `{"lead": "-20m"}`, wantErr: `access: invalid policy: lead: "-20m" is negative`},
		{name: "buffer side as number", json: `{"buffer": {"before": 5, "after": "5m"}}`,
			wantErr: `access: invalid policy: schedule: buffer: before: want a duration string such as "5m" or "1h30m", got the number 5`},
		{name: "resource buffer", json: `{"resource_buffers": {"room-1": {"after": "ten minutes"}}}`,
			wantErr: `access: invalid policy: resource_buffers["room-1"]: schedule: buffer: after: cannot parse "ten minutes" as a duration such as "5m" or "1h30m"`},
		{name: "resource buffers not an object", json: `{"resource_buffers": ["room-1"]}`,
			wantErr: `access: invalid policy: resource_buffers: want an object from resource IDs to buffers`},
		{name: "unknown field", json: `{"led": "20m"}`,
			wantErr: `access: invalid policy: unknown field "led" (want buffer, resource_buffers, check_in_for, lead or validity)`},
		{name: "not an object", json: `"20m"`,
			wantErr: `access: invalid policy: want an object such as {"buffer": {"before": "5m", "after": "5m"}, "lead": "20m"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := access.DefaultPolicy()
			err := json.Unmarshal([]byte(tc.json), &got)
			if tc.wantErr != "" {
				require.ErrorIs(t, err, access.ErrInvalidPolicy)
				require.EqualError(t, err, tc.wantErr)
				require.Equal(t, access.DefaultPolicy(), got, "a failed decode changes nothing")
				return
			}
			require.NoError(t, err)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Unmarshal (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzPolicyJSON checks that decoding never panics, accepts only valid
// policies, and that whatever decodes encodes and decodes back unchanged.
func FuzzPolicyJSON(f *testing.F) {
	for _, s := range []string{`{"buffer":{"before":"5m","after":"5m"},"lead":"20m"}`, `{"resource_buffers":{"r":{"before":"1h"}},"check_in_for":"8h"}`,
		`{"lead":1200}`, `{"lead":"-1m"}`, `{"led":"1m"}`, `null`, `[]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p := access.DefaultPolicy()
		if err := json.Unmarshal(data, &p); err != nil {
			return
		}
		require.NoError(t, p.Validate())
		out, err := json.Marshal(p)
		require.NoError(t, err)
		var back access.Policy
		require.NoError(t, json.Unmarshal(out, &back))
		if diff := cmp.Diff(p, back, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
	})
}

func ExamplePolicy_UnmarshalJSON() {
	p := access.DefaultPolicy() // fields left out of the JSON keep these values
	err := json.Unmarshal([]byte(`{
		"resource_buffers": {"room-1": {"before": "15m", "after": "10m"}},
		"lead": "30m"
	}`), &p)
	if err != nil {
		panic(err)
	}
	fmt.Println(p.Buffer.Before, p.ResourceBuffers["room-1"].Before, p.Lead)
	out, _ := json.Marshal(p)
	fmt.Println(string(out))

	fmt.Println(json.Unmarshal([]byte(`{"lead": 1200}`), &p))
	// Output:
	// 5m0s 15m0s 30m0s
	// {"buffer":{"before":"5m","after":"5m"},"resource_buffers":{"room-1":{"before":"15m","after":"10m"}},"lead":"30m"}
	// access: invalid policy: lead: want a duration string such as "5m" or "1h30m", got the number 1200
}
