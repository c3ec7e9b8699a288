package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/kisi/kisitest"
)

// TestExplainGuest (issue 30): explain and diagnose take a drop-in guest's
// email and answer with the guest's bookings: each link with its window,
// whether it is open, how Kisi sends it, or why a booking gets none;
// diagnose adds the links Kisi holds. Before, a guest's email was refused
// with exit 2.
func TestExplainGuest(t *testing.T) {
	t.Parallel()
	sample := []string{"--snapshot", td("snapshot.json"), "--mapping", td("mapping.json")}
	dir := t.TempDir()
	// guestFiles writes a snapshot with grace's bookings and a mapping with
	// drop_in, and returns their flags.
	guestFiles := func(name, bookings, dropIn string) []string {
		snap := filepath.Join(dir, name+"_snapshot.json")
		require.NoError(t, os.WriteFile(snap, []byte(`{
  "locations": [{"id": "loft", "time_zone": "Europe/Berlin"}],
  "resources": [{"id": "room", "location_id": "loft"}, {"id": "nowhere", "location_id": "loft"}],
  "members": [{"id": "m1", "email": "ann@example.com"}],
  "bookings": [`+bookings+`]
}`), 0o600))
		m := filepath.Join(dir, name+"_mapping.json")
		require.NoError(t, os.WriteFile(m, []byte(`{"resources": {"room": [102]}, "drop_in": `+dropIn+`}`), 0o600))
		return []string{"--snapshot", snap, "--mapping", m, "--at", at}
	}
	booking := func(id, resource, start, end string) string {
		return fmt.Sprintf(`{"id": %q, "resource_id": %q, "guest": {"name": "Grace", "email": "grace@example.org"}, "start": "2026-06-10T%s:00+02:00", "end": "2026-06-10T%s:00+02:00"}`,
			id, resource, start, end)
	}
	links := `{"link": true}`
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     []string
	}{
		{name: "link ahead", args: append([]string{"explain", "--member", " Grace@Example.org ", "--at", at}, sample...),
			want: []string{"Drop-in guest Grace Hopper <grace@example.org> at Wed 10 Jun 2026 08:00 CEST",
				"Booking bk-2 of room-spree (Wed 10 Jun 2026 14:00–15:00 CEST):",
				"Link to group 102, valid 2026-06-10 13:55–15:05 CEST (the booking with 5 minutes before and 5 minutes after): not open yet, opens at 13:55 CEST (in 5 hours 55 minutes)",
				"as a link and a QR code"}},
		{name: "link open", args: append([]string{"explain", "--member", "grace@example.org", "--at", "2026-06-10T15:02:00+02:00"}, sample...),
			want: []string{"open now, until 15:05 CEST"}},
		{name: "ended and unmapped", args: append([]string{"explain", "--member", "grace@example.org"},
			guestFiles("ended", booking("b1", "room", "06:00", "07:00")+", "+booking("b2", "nowhere", "09:00", "10:00"), links)...),
			want: []string{"Booking b1 of room (Wed 10 Jun 2026 06:00–07:00 CEST): no link: the booking has ended",
				"Booking b2 of nowhere (Wed 10 Jun 2026 09:00–10:00 CEST): no link: resource nowhere maps to no Kisi group"}},
		{name: "no delivery", args: append([]string{"explain", "--member", "grace@example.org"},
			guestFiles("none", booking("b1", "room", "09:00", "10:00"), `{}`)...),
			want: []string{"no link: the mapping's drop_in chooses no delivery (link, qr, add_to_group), so nothing is created and Kisi emails the guest nothing"}},
		{name: "add to group", args: append([]string{"explain", "--member", "grace@example.org"},
			guestFiles("group", booking("b1", "room", "09:00", "10:00"), `{"add_to_group": true}`)...),
			want: []string{"no link: the mapping's drop_in sends no link", "Group 102: as a Kisi user (add_to_group), 2026-06-10 08:55–10:05 CEST."}},
		{name: "rejected booking", args: append([]string{"explain", "--member", "grace@example.org"},
			guestFiles("bad", booking("b1", "room", "10:00", "09:00"), links)...),
			want: []string{"Booking b1 of room", "no link: the booking is not synced:", "(give the record a start and an end after it)"}},
		{name: "json", args: append([]string{"explain", "--json", "--member", "grace@example.org", "--at", at}, sample...),
			want: []string{`"guest_email": "grace@example.org"`, `"booking_id": "bk-2"`, `"start": "2026-06-10T13:55:00+02:00"`}},
		{name: "no drawing", args: append([]string{"explain", "--timeline", "--member", "grace@example.org"}, sample...), wantCode: exitUsage,
			want: []string{"grace@example.org is a drop-in guest's email: --timeline, --svg and --html draw a member's week"}},
		{name: "diagnose on the fake", args: append([]string{"diagnose", "--fake", "--member", "grace@example.org", "--at", at}, sample...),
			want: []string{"Booking bk-2 of room-spree", "Kisi holds link ", " to group 102, valid 2026-06-10 13:55–15:05 CEST, enabled."}},
		{name: "diagnose json", args: append([]string{"diagnose", "--fake", "--json", "--member", "grace@example.org", "--at", at}, sample...),
			want: []string{`"kisi": [`, `"held": [`, `"link_enabled": true`}},
		{name: "a member's email", args: append([]string{"explain", "--member", "bruno@example.com", "--at", at}, sample...),
			want: []string{"Member m-bruno (Bruno Costa)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := invoke(t, noEnv, tc.args...)
			require.Equal(t, tc.wantCode, code, stdout+stderr)
			for _, w := range tc.want {
				require.Contains(t, stdout+stderr, w)
			}
		})
	}
}

// TestDiagnoseGuestAgainstKisi: diagnose of a guest whose link Kisi does
// not hold (never applied, or deleted by hand) reports it as an ERROR and
// exits 1; once applied, it names the link and exits 0.
func TestDiagnoseGuestAgainstKisi(t *testing.T) {
	t.Parallel()
	srv := kisitest.NewServer(kisitest.WithoutRateLimit())
	t.Cleanup(srv.Close)
	group, err := srv.AddGroup("Room", 0)
	require.NoError(t, err)
	dir := t.TempDir()
	snap := filepath.Join(dir, "snapshot.json")
	require.NoError(t, os.WriteFile(snap, []byte(`{
  "locations": [{"id": "loft", "time_zone": "Europe/Berlin"}],
  "resources": [{"id": "room", "location_id": "loft"}],
  "bookings": [{"id": "b1", "resource_id": "room", "guest": {"name": "Grace", "email": "grace@example.org"}, "start": "2099-06-10T09:00:00+02:00", "end": "2099-06-10T10:00:00+02:00"}]
}`), 0o600))
	m := filepath.Join(dir, "mapping.json")
	require.NoError(t, os.WriteFile(m, []byte(fmt.Sprintf(`{"resources": {"room": [%d]}, "drop_in": {"link": true}}`, group)), 0o600))
	env := kisiEnv(srv, srv.APIKey)
	args := []string{"--snapshot", snap, "--mapping", m, "--state", filepath.Join(dir, "state.db")}

	code, stdout, stderr := invoke(t, env, append([]string{"diagnose", "--member", "grace@example.org"}, args...)...)
	require.Equal(t, exitFailed, code, stdout+stderr)
	require.Contains(t, stdout, fmt.Sprintf("ERROR Kisi holds no link of grace@example.org to group %d for booking b1", group))

	code, stdout, stderr = invoke(t, env, append([]string{"apply"}, args...)...)
	require.Equal(t, exitOK, code, stdout+stderr)
	code, stdout, stderr = invoke(t, env, append([]string{"diagnose", "--member", "grace@example.org"}, args...)...)
	require.Equal(t, exitOK, code, stdout+stderr)
	require.Contains(t, stdout, fmt.Sprintf(" to group %d, valid 2099-06-10 08:55–10:05 CEST, enabled.", group))
	require.False(t, strings.Contains(stdout, "ERROR"), stdout)
}
