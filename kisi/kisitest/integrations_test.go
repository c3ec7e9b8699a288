package kisitest_test

import (
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/kisi/kisitest"
)

// TestIntegrationsConformance: POST /integrations validates the webhook
// fields, never echoes signature_key, and the error state shows in
// disabled_due_to_error until the integration is enabled again.
func TestIntegrationsConformance(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	must(t, srv, 422, "POST", "/integrations", `{"integration":{"name":"w","type":"event_webhook"}}`)
	must(t, srv, 422, "POST", "/integrations", `{"integration":{"name":"w","type":"fax","url":"https://h.example"}}`)
	must(t, srv, 422, "POST", "/integrations", `{"integration":{"name":"w","type":"event_webhook","url":"https://h.example","enabled_events":["lock.nope"]}}`)
	r := must(t, srv, 200, "POST", "/integrations", `{"integration":{"name":"w","type":"event_webhook","url":"https://h.example/k","signature_key":"abc","enabled_events":["lock.unlock"]}}`)
	obj := r.Object(t)
	require.NotContains(t, obj, "signature_key")
	require.Equal(t, false, obj["disabled_due_to_error"])
	id := r.ID(t)
	key, err := srv.IntegrationSignatureKey(id)
	require.NoError(t, err)
	require.Equal(t, "abc", key)

	require.NoError(t, srv.DisableIntegrationDueToError(id))
	obj = must(t, srv, 200, "GET", fmt.Sprintf("/integrations/%d", id), "").Object(t)
	require.Equal(t, true, obj["disabled_due_to_error"])
	require.Equal(t, false, obj["enabled"])
	require.NotNil(t, obj["disabled_due_to_error_at"])
	require.Len(t, must(t, srv, 200, "GET", "/integrations?enabled=true", "").JSON(t), 0)

	must(t, srv, 204, "PATCH", fmt.Sprintf("/integrations/%d", id), `{"integration":{"enabled":true}}`)
	obj = must(t, srv, 200, "GET", fmt.Sprintf("/integrations/%d", id), "").Object(t)
	require.Equal(t, false, obj["disabled_due_to_error"])
	must(t, srv, 204, "DELETE", fmt.Sprintf("/integrations/%d", id), "")
}

// TestSchedulesConformance (issue 31): GET /schedules filters by
// scheduleable_type and scheduleable_id, and a schedule has exactly the
// keys Kisi's schedules spec lists for its type (no time_zone); seeds Kisi
// would refuse are refused.
func TestSchedulesConformance(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	w := seed(t, srv)
	id, err := srv.AddGroupSchedule(w.group, kisitest.Schedule{Name: "Office hours",
		Days: []time.Weekday{time.Monday, time.Friday}, StartsAtTime: "08:00", EndsAtTime: "18:00"})
	require.NoError(t, err)
	for _, bad := range []kisitest.Schedule{
		{Name: "no day"},
		{Name: "bad time", Days: []time.Weekday{time.Monday}, StartsAtTime: "8am"},
		{Name: "ends first", Days: []time.Weekday{time.Monday}, StartsAtTime: "18:00", EndsAtTime: "08:00"},
		{Name: "half single", StartsAt: time.Now()},
		{Name: "bad date", StartsAtDate: "31.12.2026", EndsAtDate: "2027-01-01"},
	} {
		_, err = srv.AddGroupSchedule(w.group, bad)
		require.Error(t, err, bad.Name)
	}
	_, err = srv.AddGroupSchedule(w.group+1000, kisitest.Schedule{Name: "x", Days: []time.Weekday{time.Monday}})
	require.Error(t, err)
	got := must(t, srv, 200, "GET", fmt.Sprintf("/schedules?scheduleable_type=Group&scheduleable_id=%d", w.group), "").JSON(t).([]any)
	require.Len(t, got, 1)
	sc := got[0].(map[string]any)
	require.Equal(t, float64(id), sc["id"])
	keys := slices.Sorted(maps.Keys(sc))
	want := []string{"consequence", "created_at", "enabled", "ends_at_time", "friday", "id", "integration_id", "monday",
		"name", "next_occurence", "override", "place", "place_id", "resource_type", "saturday", "scheduleable", "scheduleable_id",
		"scheduleable_type", "starts_at_time", "sunday", "thursday", "tuesday", "type", "updated_at", "wednesday"}
	require.Equal(t, want, keys)
	require.Equal(t, "recurring_event", sc["type"])
	require.Equal(t, true, sc["monday"])
	require.Equal(t, false, sc["tuesday"])
	require.Equal(t, "08:00", sc["starts_at_time"])
	r := must(t, srv, 200, "GET", "/schedules?scheduleable_type=Group&scheduleable_id=1", "")
	require.Equal(t, "*/0", r.Header.Get("X-Collection-Range"))
}
