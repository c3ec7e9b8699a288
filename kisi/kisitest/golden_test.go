package kisitest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/kisi/kisitest"
)

// pngField shortens the base64 QR image in golden files.
var pngField = regexp.MustCompile(`"quick_response_code_image": "[^"]+"`)

// TestObjectsGolden records every object shape the server answers with, so
// that a key that disappears or changes type shows up in review.
func TestObjectsGolden(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(t0)
	srv := newServer(t, kisitest.WithClock(clock))
	w := seed(t, srv)
	team := must(t, srv, 200, "POST", "/teams", `{"team":{"name":"Acme"}}`).ID(t)
	unlockKey, err := srv.NewUserKey("ada@example.com", "")
	require.NoError(t, err)
	_ = call(t, srv, unlockKey, "POST", w.expand("/locks/{lock}/unlock"), "")

	steps := []struct{ method, path, body string }{
		{"GET", "/organization", ""},
		{"GET", "/user", ""},
		{"GET", "/roles/group_basic", ""},
		{"GET", "/places/{place}", ""},
		{"GET", "/locks/{lock}", ""},
		{"GET", "/groups/{group}", ""},
		{"GET", "/group_locks?group_id={group}", ""},
		{"POST", "/users", `{"user":{"email":"kiosk@example.com","name":"Kiosk","send_emails":false,"confirm":true,"metadata":{"member_id":"m-1"}}}`},
		{"GET", "/users?email=ADA@example.com", ""},
		{"POST", "/role_assignments", `{"role_assignment":{"role_id":"group_basic","applies_to_type":"Group","applies_to_id":{group},"assignee_type":"User","assignee_id":{user},"valid_from":"2026-03-02T08:55:00Z","valid_until":null,"notify":true}}`},
		{"POST", "/role_assignments", `{"role_assignment":{"role_id":"place_door_access","applies_to_type":"Place","applies_to_id":{place},"assignee_type":"User","assignee_id":{user}}}`},
		{"GET", "/role_assignments?applies_to_type=Organization", ""},
		{"POST", "/group_links", `{"group_link":{"group_id":{group},"name":"Guest Lee","email":"lee@example.com","valid_from":"2026-03-02T13:55:00Z","valid_until":"2026-03-02T15:05:00Z","link_enabled":true,"quick_response_code_type":"offline"}}`},
		{"GET", "/group_links", ""},
		{"GET", fmt.Sprintf("/teams/%d", team), ""},
		{"POST", "/team_memberships", fmt.Sprintf(`{"team_membership":{"team_id":%d,"member_type":"User","member_id":{user}}}`, team)},
		{"POST", "/event_sets", `{"event_set":{"event_type":"lock.unlock"}}`},
	}
	var out bytes.Buffer
	var eventSet int64
	for _, s := range steps {
		r := must(t, srv, 200, s.method, w.expand(s.path), w.expand(s.body))
		if s.path == "/event_sets" {
			eventSet = r.ID(t)
		}
		writeStep(t, &out, s.method, w.expand(s.path), r)
	}
	path := fmt.Sprintf("/event_sets/%d", eventSet)
	writeStep(t, &out, "GET", path, must(t, srv, 200, "GET", path, ""))
	golden(t, "objects.golden", out.Bytes())
}

func writeStep(t *testing.T, out *bytes.Buffer, method, path string, r result) {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, json.Indent(&b, r.Body, "", "  "))
	fmt.Fprintf(out, "%s %s -> %d", method, path, r.Status)
	if rng := r.Header.Get("X-Collection-Range"); rng != "" {
		fmt.Fprintf(out, " X-Collection-Range: %s", rng)
	}
	fmt.Fprintf(out, "\n%s\n\n", pngField.ReplaceAll(b.Bytes(), []byte(`"quick_response_code_image": "<base64 PNG>"`)))
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *kisitest.Update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create %s", path)
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}
