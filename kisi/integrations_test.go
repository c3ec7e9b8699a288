package kisi_test

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/kisi"
)

// TestIntegrationsEventWebhook: create an event webhook with a new
// signature key, see Kisi disable it after errors, re-enable it.
func TestIntegrationsEventWebhook(t *testing.T) {
	t.Parallel()
	srv, c := fake(t, noLimit())
	ctx := t.Context()

	in, key, err := c.Integrations.CreateEventWebhook(ctx, "kisisync", "https://hooks.example/kisi", kisi.EventLockUnlock)
	require.NoError(t, err)
	if len(key) != 64 {
		t.Errorf("signature key has %d characters, want 64", len(key))
	}
	stored, err := srv.IntegrationSignatureKey(in.ID)
	require.NoError(t, err)
	require.Equal(t, key, stored, "the key Kisi stored")

	got, _, err := c.Integrations.Get(ctx, in.ID)
	require.NoError(t, err)
	want := &kisi.Integration{ID: in.ID, Name: "kisisync", Type: kisi.IntegrationEventWebhook, Enabled: true,
		URL: "https://hooks.example/kisi", EnabledEvents: []string{kisi.EventLockUnlock},
		OrganizationID: srv.OrganizationID(), CreatedAt: got.CreatedAt, UpdatedAt: got.UpdatedAt}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("integration (-want +got):\n%s", diff)
	}

	hooks, err := c.Integrations.EventWebhooks(ctx)
	require.NoError(t, err)
	require.Len(t, hooks, 1)
	require.False(t, hooks[0].Failing())

	require.NoError(t, srv.DisableIntegrationDueToError(in.ID))
	hooks, err = c.Integrations.EventWebhooks(ctx)
	require.NoError(t, err)
	require.True(t, hooks[0].Failing(), "disabled_due_to_error")
	require.False(t, hooks[0].Enabled)
	require.NotNil(t, hooks[0].DisabledDueToErrorAt)

	_, err = c.Integrations.Update(ctx, in.ID, &kisi.IntegrationUpdateRequest{Enabled: kisi.Ptr(true)})
	require.NoError(t, err)
	got, _, err = c.Integrations.Get(ctx, in.ID)
	require.NoError(t, err)
	require.True(t, got.Enabled)
	require.False(t, got.Failing())

	_, err = c.Integrations.Delete(ctx, in.ID)
	require.NoError(t, err)
	hooks, err = c.Integrations.EventWebhooks(ctx)
	require.NoError(t, err)
	require.Empty(t, hooks)
}

// TestIntegrationRequestsRedactKey: the signature key never shows in
// formatted or logged requests.
func TestIntegrationRequestsRedactKey(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-signature-key"
	create := kisi.IntegrationCreateRequest{Name: "n", Type: kisi.IntegrationEventWebhook, URL: "https://h.example/x?token=abc", SignatureKey: secret}
	update := kisi.IntegrationUpdateRequest{SignatureKey: kisi.Ptr(secret)}
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("req", "create", create)
	for _, s := range []string{
		fmt.Sprint(create), fmt.Sprintf("%+v", create), fmt.Sprintf("%#v", &create), fmt.Sprintf("%v", update), fmt.Sprintf("%#v", update), logged.String(),
	} {
		if strings.Contains(s, secret) || strings.Contains(s, "token=abc") {
			t.Errorf("secret in %q", s)
		}
	}
}

// TestSchedulesForGroup: the time restrictions of one group, with Kisi's
// raw object kept.
func TestSchedulesForGroup(t *testing.T) {
	t.Parallel()
	srv, c := fake(t, noLimit())
	g1, err := srv.AddGroup("Day pass", 0)
	require.NoError(t, err)
	g2, err := srv.AddGroup("Night", 0)
	require.NoError(t, err)
	id, err := srv.AddSchedule(g1, "Office hours", "Europe/Berlin")
	require.NoError(t, err)
	_, err = srv.AddSchedule(g2, "Nights", "")
	require.NoError(t, err)

	got, err := c.Schedules.ForGroup(t.Context(), g1)
	require.NoError(t, err)
	require.Len(t, got, 1)
	sc := got[0]
	if sc.ID != id || sc.Name != "Office hours" || sc.ScheduleableType != kisi.ScopeGroup || sc.ScheduleableID != g1 || sc.TimeZone != "Europe/Berlin" {
		t.Errorf("schedule = %+v", sc)
	}
	require.Contains(t, string(sc.Raw), `"resource_type":"Schedule"`)
}
