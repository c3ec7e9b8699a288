package kisi_test

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/kisi/kisitest"
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

// TestSchedulesForGroup (issue 31): a group's schedules decode as Kisi's
// schedules spec has them (type, consequence, enabled, the weekdays and
// hours of a recurring event, the instants of a single event, the dates of
// an all-day event, the region of a holiday calendar), with no time zone,
// and the raw object kept.
func TestSchedulesForGroup(t *testing.T) {
	t.Parallel()
	srv, c := fake(t, noLimit())
	place, err := srv.AddPlace("HQ", "Europe/Berlin")
	require.NoError(t, err)
	g1, err := srv.AddGroup("Day pass", place)
	require.NoError(t, err)
	g2, err := srv.AddGroup("Night", 0)
	require.NoError(t, err)
	weekdays := []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}
	start := time.Date(2026, 12, 24, 12, 0, 0, 0, time.UTC)
	seeds := []kisitest.Schedule{
		{Name: "Office hours", Days: weekdays, StartsAtTime: "08:00", EndsAtTime: "18:00"},
		{Name: "Party", StartsAt: start, EndsAt: start.Add(6 * time.Hour), Disabled: true},
		{Name: "Closed", StartsAtDate: "2026-12-31", EndsAtDate: "2027-01-01"},
		{Name: "Holidays", Region: "de_be", Override: true},
	}
	for _, sc := range seeds {
		_, err = srv.AddGroupSchedule(g1, sc)
		require.NoError(t, err)
	}
	_, err = srv.AddGroupSchedule(g2, kisitest.Schedule{Name: "Nights", Days: []time.Weekday{time.Saturday, time.Sunday}})
	require.NoError(t, err)

	got, err := c.Schedules.ForGroup(t.Context(), g1)
	require.NoError(t, err)
	require.Len(t, got, 4)
	type view struct {
		Name, Type, Consequence, When string
		Enabled, Override             bool
		Place                         int64
		Recurring                     *kisi.RecurringSchedule
		Days                          []time.Weekday
	}
	var views []view
	for _, sc := range got {
		require.Equal(t, kisi.ScopeGroup, sc.ScheduleableType)
		require.Equal(t, g1, sc.ScheduleableID)
		require.Empty(t, sc.TimeZone, "Kisi's schedule has no time zone")
		require.NotContains(t, string(sc.Raw), "time_zone")
		require.Contains(t, string(sc.Raw), `"resource_type":"Schedule"`)
		v := view{Name: sc.Name, Type: sc.Type, Consequence: sc.Consequence, When: sc.String(),
			Enabled: sc.Enabled, Override: sc.Override, Recurring: sc.Recurring}
		if sc.PlaceID != nil {
			v.Place = *sc.PlaceID
		}
		if sc.Recurring != nil {
			v.Days = sc.Recurring.Weekdays()
		}
		views = append(views, v)
	}
	want := []view{
		{Name: "Office hours", Type: kisi.ScheduleRecurring, Consequence: kisi.ScheduleAllow, When: "Mon–Fri 08:00–18:00",
			Enabled: true, Place: place, Days: weekdays,
			Recurring: &kisi.RecurringSchedule{Monday: true, Tuesday: true, Wednesday: true, Thursday: true, Friday: true, StartsAtTime: "08:00", EndsAtTime: "18:00"}},
		{Name: "Party", Type: kisi.ScheduleSingleEvent, Consequence: kisi.ScheduleAllow, When: "2026-12-24T12:00:00Z – 2026-12-24T18:00:00Z (disabled)", Place: place},
		{Name: "Closed", Type: kisi.ScheduleAllDayEvent, Consequence: kisi.ScheduleAllow, When: "2026-12-31 – 2027-01-01 all day", Enabled: true, Place: place},
		{Name: "Holidays", Type: kisi.ScheduleHolidayCalendar, Consequence: kisi.ScheduleAllow, When: "holidays of de_be", Enabled: true, Override: true, Place: place},
	}
	if diff := cmp.Diff(want, views); diff != "" {
		t.Errorf("schedules (-want +got):\n%s", diff)
	}
	require.Equal(t, "every day 09:00–17:00", (&kisi.Schedule{Enabled: true, Recurring: &kisi.RecurringSchedule{
		Monday: true, Tuesday: true, Wednesday: true, Thursday: true, Friday: true, Saturday: true, Sunday: true,
		StartsAtTime: "09:00", EndsAtTime: "17:00"}}).String())
	require.Equal(t, "Mon, Wed, Sat, Sun all day", (&kisi.Schedule{Enabled: true, Recurring: &kisi.RecurringSchedule{
		Monday: true, Wednesday: true, Saturday: true, Sunday: true}}).String())
}
