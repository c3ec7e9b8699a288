package fleet_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/examples/fleet"
)

const testSecret = "whsec-test"

// handlerConfig is a configuration of two organizations, one of them
// without a webhook secret.
func handlerConfig(t *testing.T) *fleet.Config {
	t.Helper()
	cfg, err := fleet.ParseConfig([]byte(`{
		"organizations": [
			{"id": "org-a", "kisi_user": "u1", "api_key": "k", "base_url": "http://127.0.0.1:1", "webhook_secret": "` + testSecret + `"},
			{"id": "org-b", "kisi_user": "u1", "api_key": "k", "base_url": "http://127.0.0.1:1"}
		]}`))
	require.NoError(t, err)
	return cfg
}

// newHandler returns the HTTP endpoints of a worker over dsn that is not
// started (requests only queue jobs).
func newHandler(t *testing.T, dsn string) http.Handler {
	t.Helper()
	empty := fleet.LoaderFunc(func(context.Context, string) (access.Snapshot, error) { return access.Snapshot{}, nil })
	w, err := fleet.New(testPool(t, dsn), handlerConfig(t), access.NewMemoryStore(), empty, fleet.Options{ID: "test"})
	require.NoError(t, err)
	return fleet.NewHandler(w)
}

func sign(body string) string {
	mac := hmac.New(sha256.New, []byte(testSecret))
	mac.Write([]byte(body))
	return hex.EncodeToString(mac.Sum(nil))
}

func post(t *testing.T, h http.Handler, path, body string, header map[string]string) (int, string) {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	for k, v := range header {
		r.Header.Set(k, v)
	}
	rw := httptest.NewRecorder()
	h.ServeHTTP(rw, r)
	b, _ := io.ReadAll(rw.Result().Body)
	return rw.Code, string(b)
}

// jobsOf returns the states of org's sync jobs.
func jobsOf(t *testing.T, dsn, org string) []string {
	t.Helper()
	rows, err := testPool(t, dsn).Query(context.Background(),
		`SELECT state::text FROM river_job WHERE kind = 'kisisync_sync' AND args->>'org' = $1 ORDER BY id`, org)
	require.NoError(t, err)
	var out []string
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		out = append(out, s)
	}
	require.NoError(t, rows.Err())
	return out
}

func TestEvents(t *testing.T) {
	dsn := testDatabase(t)
	h := newHandler(t, dsn)
	tests := []struct {
		name, body string
		status     int
		contains   string
	}{
		{"not json", `booking changed`, http.StatusBadRequest, "malformed event: body is not an event object"},
		{"not an object", `["org-a"]`, http.StatusBadRequest, "malformed event"},
		{"unknown key", `{"organization":"org-a","type":"booking.created","org":"x"}`, http.StatusBadRequest, `unknown field \"org\"`},
		{"wrong type", `{"organization":7,"type":"booking.created"}`, http.StatusBadRequest, "malformed event"},
		{"no organization", `{"type":"booking.created"}`, http.StatusBadRequest, `missing \"organization\"`},
		{"nothing", `{}`, http.StatusBadRequest, `missing \"organization\" and \"type\"`},
		{"two objects", `{"organization":"org-a","type":"x"}{"organization":"org-a","type":"x"}`, http.StatusBadRequest, "data after the event object"},
		{"unknown organization", `{"organization":"org-z","type":"booking.created"}`, http.StatusNotFound, `unknown organization \"org-z\"`},
		{"too large", `{"organization":"org-a","type":"` + strings.Repeat("x", 70<<10) + `"}`, http.StatusRequestEntityTooLarge, "body larger than"},
		{"queued", `{"organization":"org-a","type":"booking.created","id":"b-1"}`, http.StatusAccepted, `"status":"queued"`},
		{"queued again", `{"organization":"org-a","type":"plan.cancelled","verify":true}`, http.StatusAccepted, `"status":"queued"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := post(t, h, "/events", tc.body, nil)
			require.Equal(t, tc.status, status, body)
			require.Contains(t, body, tc.contains)
		})
	}
	// Two wakes, one job: unique by organization.
	require.Equal(t, []string{"available"}, jobsOf(t, dsn, "org-a"))
	require.Empty(t, jobsOf(t, dsn, "org-z"))
}

func TestWebhooks(t *testing.T) {
	dsn := testDatabase(t)
	h := newHandler(t, dsn)
	other := newHandler(t, dsn) // another process on the same database
	event := func(uuid, typ string) string {
		return fmt.Sprintf(`{"uuid":%q,"type":%q,"object_type":"RoleAssignment","object_id":7}`, uuid, typ)
	}
	ok := event("e-1", "role_assignment.destroy")
	signed := func(body string) map[string]string { return map[string]string{"X-Signature": sign(body)} }
	tests := []struct {
		name    string
		handler http.Handler
		path    string
		body    string
		header  map[string]string
		status  int
		want    string
	}{
		{"unsigned", h, "/webhooks/kisi/org-a", ok, nil, http.StatusUnauthorized, "invalid webhook signature: missing"},
		{"wrong signature", h, "/webhooks/kisi/org-a", ok, map[string]string{"X-Signature": sign("other body")}, http.StatusUnauthorized, "invalid webhook signature: mismatch"},
		{"garbage signature", h, "/webhooks/kisi/org-a", ok, map[string]string{"X-Signature": "zz"}, http.StatusUnauthorized, "invalid webhook signature"},
		{"no secret configured", h, "/webhooks/kisi/org-b", ok, signed(ok), http.StatusUnauthorized, "no webhook secret configured"},
		{"unknown organization", h, "/webhooks/kisi/org-z", ok, signed(ok), http.StatusNotFound, "unknown organization"},
		{"signed but not json", h, "/webhooks/kisi/org-a", "nope", signed("nope"), http.StatusBadRequest, "malformed webhook"},
		{"accepted", h, "/webhooks/kisi/org-a", ok, signed(ok), http.StatusOK, `"status":"accepted"`},
		{"replayed", h, "/webhooks/kisi/org-a", ok, signed(ok), http.StatusConflict, "delivery e-1 was already received: replay refused"},
		{"replayed to another process", other, "/webhooks/kisi/org-a", ok, signed(ok), http.StatusConflict, "already received"},
		{"unlock acknowledged", h, "/webhooks/kisi/org-a", event("e-2", "lock.unlock"), signed(event("e-2", "lock.unlock")), http.StatusOK, "accepted"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := post(t, tc.handler, tc.path, tc.body, tc.header)
			require.Equal(t, tc.status, status, body)
			require.Contains(t, body, tc.want)
		})
	}
	require.Equal(t, []string{"available"}, jobsOf(t, dsn, "org-a"))
	var verify int
	require.NoError(t, testPool(t, dsn).QueryRow(context.Background(),
		`SELECT verify_wanted FROM fleet_org WHERE org = 'org-a'`).Scan(&verify))
	require.Equal(t, 1, verify, "one Verify asked for: the unlock and the replays wake nothing")
}
