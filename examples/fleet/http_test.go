package fleet_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/state"
	"github.com/kisisync/kisisync/examples/fleet"
)

const (
	testSecret       = "whsec-test"
	testEventsSecret = "events-test"
)

// handlerConfig is a configuration of two organizations, one of them
// without a webhook secret.
func handlerConfig(t *testing.T) *fleet.Config {
	t.Helper()
	cfg, err := fleet.ParseConfig([]byte(`{
		"events_secret": "` + testEventsSecret + `",
		"organizations": [
			{"id": "org-a", "kisi_user": "u1", "api_key": "k", "base_url": "http://127.0.0.1:1", "webhook_secret": "` + testSecret + `"},
			{"id": "org-b", "kisi_user": "u1", "api_key": "k", "base_url": "http://127.0.0.1:1"}
		]}`))
	require.NoError(t, err)
	return cfg
}

// newHandler returns the HTTP endpoints of a worker over dsn that is not
// started (requests only queue jobs), keeping its records in store.
func newHandler(t *testing.T, dsn string, store access.Store) http.Handler {
	t.Helper()
	empty := fleet.LoaderFunc(func(context.Context, string) (access.Snapshot, error) { return access.Snapshot{}, nil })
	w, err := fleet.New(testPool(t, dsn), handlerConfig(t), store, empty, fleet.Options{ID: "test"})
	require.NoError(t, err)
	return fleet.NewHandler(w)
}

func signWith(secret, body string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(body))
	return hex.EncodeToString(mac.Sum(nil))
}

func sign(body string) string { return signWith(testSecret, body) }

func post(t *testing.T, h http.Handler, path, body string, header map[string]string) (int, string) {
	t.Helper()
	rw := serve(t, h, path, body, header)
	return rw.Code, rw.Body.String()
}

func serve(t *testing.T, h http.Handler, path, body string, header map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	for k, v := range header {
		r.Header.Set(k, v)
	}
	rw := httptest.NewRecorder()
	h.ServeHTTP(rw, r)
	return rw
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
	h := newHandler(t, dsn, access.NewMemoryStore())
	tests := []struct {
		name, body string
		header     map[string]string // default: signed with the events secret
		status     int
		contains   string
	}{
		{"unsigned", `{"organization":"org-a","type":"booking.created"}`, map[string]string{}, http.StatusUnauthorized, "invalid webhook signature: missing"},
		{"signed with another secret", `{"organization":"org-a","type":"booking.created"}`,
			map[string]string{"X-Signature": signWith("guess", `{"organization":"org-a","type":"booking.created"}`)}, http.StatusUnauthorized, "mismatch"},
		{"not json", `booking changed`, nil, http.StatusBadRequest, "malformed event: body is not an event object"},
		{"not an object", `["org-a"]`, nil, http.StatusBadRequest, "malformed event"},
		{"unknown key", `{"organization":"org-a","type":"booking.created","org":"x"}`, nil, http.StatusBadRequest, `unknown field \"org\"`},
		{"wrong type", `{"organization":7,"type":"booking.created"}`, nil, http.StatusBadRequest, "malformed event"},
		{"no organization", `{"type":"booking.created"}`, nil, http.StatusBadRequest, `missing \"organization\"`},
		{"nothing", `{}`, nil, http.StatusBadRequest, `missing \"organization\" and \"type\"`},
		{"two objects", `{"organization":"org-a","type":"x"}{"organization":"org-a","type":"x"}`, nil, http.StatusBadRequest, "data after the event object"},
		{"unknown organization", `{"organization":"org-z","type":"booking.created"}`, nil, http.StatusNotFound, `unknown organization \"org-z\"`},
		{"too large", `{"organization":"org-a","type":"` + strings.Repeat("x", 70<<10) + `"}`, nil, http.StatusRequestEntityTooLarge, "body larger than"},
		{"queued", `{"organization":"org-a","type":"booking.created","id":"b-1"}`, nil, http.StatusAccepted, `"status":"queued"`},
		{"queued again", `{"organization":"org-a","type":"plan.cancelled","verify":true}`, nil, http.StatusAccepted, `"status":"queued"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			header := tc.header
			if header == nil {
				header = map[string]string{"X-Signature": signWith(testEventsSecret, tc.body)}
			}
			status, body := post(t, h, "/events", tc.body, header)
			require.Equal(t, tc.status, status, body)
			require.Contains(t, body, tc.contains)
		})
	}
	// Two wakes, one job: unique by organization.
	require.Equal(t, []string{"available"}, jobsOf(t, dsn, "org-a"))
	require.Empty(t, jobsOf(t, dsn, "org-z"))
}

// TestEventsWithoutSecret: with no events secret configured, every event
// is refused, signed or not.
func TestEventsWithoutSecret(t *testing.T) {
	dsn := testDatabase(t)
	cfg := handlerConfig(t)
	cfg.EventsSecret = ""
	empty := fleet.LoaderFunc(func(context.Context, string) (access.Snapshot, error) { return access.Snapshot{}, nil })
	w, err := fleet.New(testPool(t, dsn), cfg, access.NewMemoryStore(), empty, fleet.Options{ID: "test"})
	require.NoError(t, err)
	body := `{"organization":"org-a","type":"booking.created"}`
	status, answer := post(t, fleet.NewHandler(w), "/events", body, map[string]string{"X-Signature": signWith("", body)})
	require.Equal(t, http.StatusUnauthorized, status)
	require.Contains(t, answer, "no events secret configured")
	require.Empty(t, jobsOf(t, dsn, "org-a"))
}

func TestWebhooks(t *testing.T) {
	dsn := testDatabase(t)
	ctx := t.Context()
	store := access.NewMemoryStore()
	// The Store holds role 501 of org-a: its creation is the echo of the
	// reconciler's own write, its deletion someone else's.
	now := time.Now()
	token, err := store.Lease(ctx, "org-a", "seed", now, now.Add(time.Minute))
	require.NoError(t, err)
	require.NoError(t, store.Put(ctx, "org-a", token, state.Record{Key: "role/1/m@x.example", Kind: state.KindRole,
		State: state.StateSettled, GroupID: 1, KisiID: 501, Email: "m@x.example"}))
	_, err = store.Lease(ctx, "org-a", "seed", now, time.Time{})
	require.NoError(t, err)

	h := newHandler(t, dsn, store)
	other := newHandler(t, dsn, store) // another process on the same database
	event := func(uuid, typ string, id int) string {
		return fmt.Sprintf(`{"uuid":%q,"type":%q,"object_type":"RoleAssignment","object_id":%d}`, uuid, typ, id)
	}
	ok := event("e-1", "role_assignment.destroy", 501)
	noUUID := `{"type":"user.destroy","object_type":"User","object_id":9}`
	signed := func(body string) map[string]string { return map[string]string{"X-Signature": sign(body)} }
	tests := []struct {
		name    string
		handler http.Handler
		path    string
		body    string
		header  map[string]string
		status  int
		verify  int // Verify requests of org-a after the delivery
	}{
		{"unsigned", h, "/webhooks/kisi/org-a", ok, nil, http.StatusUnauthorized, 0},
		{"wrong signature", h, "/webhooks/kisi/org-a", ok, map[string]string{"X-Signature": sign("other body")}, http.StatusUnauthorized, 0},
		{"garbage signature", h, "/webhooks/kisi/org-a", ok, map[string]string{"X-Signature": "zz"}, http.StatusUnauthorized, 0},
		{"signed but not json", h, "/webhooks/kisi/org-a", "nope", signed("nope"), http.StatusBadRequest, 0},
		{"our role deleted by someone", h, "/webhooks/kisi/org-a", ok, signed(ok), http.StatusOK, 1},
		{"repeated", h, "/webhooks/kisi/org-a", ok, signed(ok), http.StatusOK, 1},
		{"repeated to another process", other, "/webhooks/kisi/org-a", ok, signed(ok), http.StatusOK, 1},
		{"no uuid", h, "/webhooks/kisi/org-a", noUUID, signed(noUUID), http.StatusOK, 2},
		{"no uuid repeated to another process", other, "/webhooks/kisi/org-a", noUUID, signed(noUUID), http.StatusOK, 2},
		{"echo of our own create", h, "/webhooks/kisi/org-a", event("e-2", "role_assignment.create", 501), signed(event("e-2", "role_assignment.create", 501)), http.StatusOK, 2},
		{"a role created by hand", h, "/webhooks/kisi/org-a", event("e-3", "role_assignment.create", 502), signed(event("e-3", "role_assignment.create", 502)), http.StatusOK, 3},
		{"a role we do not hold deleted", h, "/webhooks/kisi/org-a", event("e-4", "role_assignment.destroy", 503), signed(event("e-4", "role_assignment.destroy", 503)), http.StatusOK, 3},
		{"unlock", h, "/webhooks/kisi/org-a", event("e-5", "lock.unlock", 7), signed(event("e-5", "lock.unlock", 7)), http.StatusOK, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := post(t, tc.handler, tc.path, tc.body, tc.header)
			require.Equal(t, tc.status, status, body)
			var verify int
			require.NoError(t, testPool(t, dsn).QueryRow(ctx,
				`SELECT coalesce((SELECT verify_wanted FROM fleet_org WHERE org = 'org-a'), 0)`).Scan(&verify))
			require.Equal(t, tc.verify, verify)
		})
	}
	require.Equal(t, []string{"available"}, jobsOf(t, dsn, "org-a"))
}

// TestWebhookUnknownOrganization: a delivery for an organization that is
// unknown or takes no webhooks gets the very answer of a forged one.
func TestWebhookUnknownOrganization(t *testing.T) {
	dsn := testDatabase(t)
	h := newHandler(t, dsn, access.NewMemoryStore())
	body := `{"uuid":"e-1","type":"role_assignment.destroy","object_type":"RoleAssignment","object_id":7}`
	forged := serve(t, h, "/webhooks/kisi/org-a", body, map[string]string{"X-Signature": signWith("guess", body)})
	require.Equal(t, http.StatusUnauthorized, forged.Code)
	for _, path := range []string{"/webhooks/kisi/org-z", "/webhooks/kisi/org-b"} {
		got := serve(t, h, path, body, map[string]string{"X-Signature": sign(body)})
		require.Equal(t, forged.Code, got.Code, path)
		require.Equal(t, forged.Header(), got.Header(), path)
		require.Equal(t, forged.Body.String(), got.Body.String(), path)
	}
}

func TestWakesOn(t *testing.T) {
	t.Parallel()
	for typ, want := range map[string]bool{
		"role_assignment.create": true, "role_assignment.destroy": true, "group_link.destroy": true,
		"user.destroy": true, "group.destroy": true,
		"lock.unlock": false, "lock.opened": false, "place.update": false, "user.update_password": false, "": false,
	} {
		require.Equal(t, want, fleet.WakesOn(typ), typ)
	}
}

// TestEventsListener: a host serving POST /events on a listener of its own
// leaves it out of the main handler.
func TestEventsListener(t *testing.T) {
	dsn := testDatabase(t)
	empty := fleet.LoaderFunc(func(context.Context, string) (access.Snapshot, error) { return access.Snapshot{}, nil })
	w, err := fleet.New(testPool(t, dsn), handlerConfig(t), access.NewMemoryStore(), empty, fleet.Options{ID: "test"})
	require.NoError(t, err)
	body := `{"organization":"org-a","type":"booking.created"}`
	signed := map[string]string{"X-Signature": signWith(testEventsSecret, body)}
	status, _ := post(t, fleet.NewHandler(w, fleet.WithoutEvents()), "/events", body, signed)
	require.Equal(t, http.StatusNotFound, status)
	events := fleet.NewEventsHandler(w)
	status, answer := post(t, events, "/events", body, signed)
	require.Equal(t, http.StatusAccepted, status, answer)
	status, _ = post(t, events, "/webhooks/kisi/org-a", body, signed)
	require.Equal(t, http.StatusNotFound, status)
}
