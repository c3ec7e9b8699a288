package kisitest_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
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

// TestSchedulesConformance: GET /schedules filters by scheduleable_type
// and scheduleable_id.
func TestSchedulesConformance(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	w := seed(t, srv)
	id, err := srv.AddSchedule(w.group, "Office hours", "Europe/Berlin")
	require.NoError(t, err)
	_, err = srv.AddSchedule(w.group+1000, "x", "")
	require.Error(t, err)
	got := must(t, srv, 200, "GET", fmt.Sprintf("/schedules?scheduleable_type=Group&scheduleable_id=%d", w.group), "").JSON(t).([]any)
	require.Len(t, got, 1)
	require.Equal(t, float64(id), got[0].(map[string]any)["id"])
	r := must(t, srv, 200, "GET", "/schedules?scheduleable_type=Group&scheduleable_id=1", "")
	require.Equal(t, "*/0", r.Header.Get("X-Collection-Range"))
}
