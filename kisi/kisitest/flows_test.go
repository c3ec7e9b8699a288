package kisitest_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/kisi/kisitest"
)

var t0 = time.Date(2026, time.March, 2, 9, 0, 0, 0, time.UTC)

func TestGroupLinkSecretOnlyOnCreate(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	w := seed(t, srv)
	created := must(t, srv, 200, "POST", "/group_links", w.expand(`{"group_link":{"group_id":{group},"name":"Guest Lee","email":"lee@example.com","valid_from":"2026-03-02T13:55:00Z","valid_until":"2026-03-02T15:05:00Z","link_enabled":true,"quick_response_code_type":"online"}}`)).Object(t)
	for _, k := range []string{"secret", "quick_response_code_token", "quick_response_code_image"} {
		v, ok := created[k].(string)
		require.True(t, ok && v != "", "%s missing in create response", k)
	}
	raw, err := base64.StdEncoding.DecodeString(created["quick_response_code_image"].(string))
	require.NoError(t, err)
	img, err := png.Decode(bytes.NewReader(raw))
	require.NoError(t, err, "quick_response_code_image is not a PNG")
	require.Equal(t, img.Bounds().Dx(), img.Bounds().Dy(), "QR image is square")
	require.Greater(t, img.Bounds().Dx(), 100)

	list := must(t, srv, 200, "GET", w.expand("/group_links?group_id={group}"), "").JSON(t).([]any)
	require.Len(t, list, 1)
	got := list[0].(map[string]any)
	for _, k := range []string{"secret", "quick_response_code_token", "quick_response_code_image"} {
		require.NotContains(t, got, k, "list must not reveal %s", k)
	}
	require.Equal(t, "2026-03-02T15:05:00.000Z", got["valid_until"])

	// A link without QR type gets a secret and null QR fields.
	plain := must(t, srv, 200, "POST", "/group_links", w.expand(`{"group_link":{"group_id":{group},"name":"Door only"}}`)).Object(t)
	require.NotEmpty(t, plain["secret"])
	require.Nil(t, plain["quick_response_code_image"])
	require.Contains(t, plain, "quick_response_code_image")

	// Revoking is DELETE; a second DELETE is 404.
	path := fmt.Sprintf("/group_links/%d", int64(created["id"].(float64)))
	must(t, srv, 204, "DELETE", path, "")
	must(t, srv, 404, "DELETE", path, "")
}

func TestEmailLinkCap(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(t0)
	srv := newServer(t, kisitest.WithClock(clock))
	w := seed(t, srv)
	var firstID int64
	for i := range 1000 {
		r := owner(t, srv, "POST", "/group_links", w.expand(fmt.Sprintf(`{"group_link":{"group_id":{group},"name":"g%d","email":"g%d@example.com"}}`, i, i)))
		require.Equal(t, 200, r.Status, "link %d: %s", i, r.Body)
		if i == 0 {
			firstID = r.ID(t)
		}
	}
	r := owner(t, srv, "POST", "/group_links", w.expand(`{"group_link":{"group_id":{group},"name":"one too many","email":"x@example.com"}}`))
	require.Equal(t, 422, r.Status)
	require.Contains(t, r.Object(t)["errors"], "base")

	// Links without email do not count; deleting a link frees a slot.
	must(t, srv, 200, "POST", "/group_links", w.expand(`{"group_link":{"group_id":{group},"name":"no email"}}`))
	must(t, srv, 204, "DELETE", fmt.Sprintf("/group_links/%d", firstID), "")
	must(t, srv, 200, "POST", "/group_links", w.expand(`{"group_link":{"group_id":{group},"name":"after delete","email":"y@example.com"}}`))

	// The total is in the header.
	r = must(t, srv, 200, "GET", "/group_links?limit=1", "")
	require.Equal(t, "0-0/1001", r.Header.Get("X-Collection-Range"))
}

// TestEmailLinkLimitOptionAndExpiry: an expired email link counts toward
// the quota until it is deleted (Kisi's documented rule), or stops counting
// when it expires under WithExpiredLinksCounted(false).
func TestEmailLinkLimitOptionAndExpiry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		counted      bool
		afterExpiry  int // status of a create once the first link expired
		afterDeleted int // status once it is deleted
	}{
		{name: "expired links count until deleted", counted: true, afterExpiry: 422, afterDeleted: 200},
		{name: "expired links stop counting", counted: false, afterExpiry: 200, afterDeleted: 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := clockwork.NewFakeClockAt(t0)
			srv := newServer(t, kisitest.WithClock(clock), kisitest.WithEmailLinkLimit(1), kisitest.WithExpiredLinksCounted(tc.counted))
			w := seed(t, srv)
			first := must(t, srv, 200, "POST", "/group_links", w.expand(`{"group_link":{"group_id":{group},"name":"a","email":"a@example.com","valid_until":"2026-03-02T10:00:00Z"}}`)).ID(t)
			must(t, srv, 422, "POST", "/group_links", w.expand(`{"group_link":{"group_id":{group},"name":"b","email":"b@example.com"}}`))
			clock.Advance(time.Hour) // the first link expires
			r := must(t, srv, tc.afterExpiry, "POST", "/group_links", w.expand(`{"group_link":{"group_id":{group},"name":"b","email":"b@example.com"}}`))
			if r.Status == 200 {
				must(t, srv, 204, "DELETE", fmt.Sprintf("/group_links/%d", r.ID(t)), "")
			}
			must(t, srv, 204, "DELETE", fmt.Sprintf("/group_links/%d", first), "")
			must(t, srv, tc.afterDeleted, "POST", "/group_links", w.expand(`{"group_link":{"group_id":{group},"name":"c","email":"c@example.com"}}`))
		})
	}
}

func TestPagination(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	var ids []int64
	for i := range 15 {
		ids = append(ids, must(t, srv, 200, "POST", "/groups", fmt.Sprintf(`{"group":{"name":"g%02d"}}`, i)).ID(t))
	}
	tests := []struct {
		query     string
		wantRange string
		wantIDs   []int64
	}{
		{"", "0-9/15", ids[:10]},
		{"?offset=10", "10-19/15", ids[10:]},
		{"?limit=10&offset=10", "10-19/15", ids[10:]},
		{"?limit=5&offset=5", "5-9/15", ids[5:10]},
		{"?limit=250", "0-249/15", ids},
		{"?offset=15", "15-24/15", nil},
		{"?offset=20000&limit=1", "20000-20000/15", nil},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			r := must(t, srv, 200, "GET", "/groups"+tc.query, "")
			require.Equal(t, tc.wantRange, r.Header.Get("X-Collection-Range"))
			var got []int64
			for _, g := range r.JSON(t).([]any) {
				got = append(got, int64(g.(map[string]any)["id"].(float64)))
			}
			if diff := cmp.Diff(tc.wantIDs, got); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
		})
	}

	// Default limits per endpoint.
	for i := range 60 {
		must(t, srv, 200, "POST", "/users", fmt.Sprintf(`{"user":{"email":"u%d@example.com"}}`, i))
		_, err := srv.AddPlace(fmt.Sprintf("p%d", i), "")
		require.NoError(t, err)
	}
	for _, tc := range []struct{ path, want string }{
		{"/users", "0-49/61"},
		{"/places", "0-49/60"},
		{"/role_assignments", "0-9/1"},
		{"/teams", "*/0"},
	} {
		r := must(t, srv, 200, "GET", tc.path, "")
		require.Equal(t, tc.want, r.Header.Get("X-Collection-Range"), tc.path)
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(t0)
	srv := kisitest.NewServer(kisitest.WithClock(clock))
	t.Cleanup(srv.Close)

	status := func(key string) int { return call(t, srv, key, "GET", "/organization", "").Status }
	for i := range 5 {
		require.Equal(t, 200, status(srv.APIKey), "request %d", i)
	}
	r := owner(t, srv, "GET", "/organization", "")
	require.Equal(t, 429, r.Status)
	require.Empty(t, r.Header.Get("Retry-After"))
	require.ElementsMatch(t, []string{"code", "error"}, keysOf(r.Object(t)))

	// Every key of the same user shares the quota; other users have their own.
	second, err := srv.NewUserKey("owner@kisitest.example", "")
	require.NoError(t, err)
	require.Equal(t, 429, status(second))
	other, err := srv.NewUserKey("someone@example.com", "observer")
	require.NoError(t, err)
	require.Equal(t, 200, status(other))

	clock.Advance(200 * time.Millisecond) // one token back
	require.Equal(t, 200, status(srv.APIKey))
	require.Equal(t, 429, status(srv.APIKey))
	clock.Advance(time.Second) // a full bucket, not more
	for range 5 {
		require.Equal(t, 200, status(srv.APIKey))
	}
	require.Equal(t, 429, status(srv.APIKey))

	// POST /event_sets: 1 per second on top.
	clock.Advance(time.Second)
	require.Equal(t, 200, owner(t, srv, "POST", "/event_sets", `{"event_set":{}}`).Status)
	require.Equal(t, 429, owner(t, srv, "POST", "/event_sets", `{"event_set":{}}`).Status)
	clock.Advance(time.Second)
	require.Equal(t, 200, owner(t, srv, "POST", "/event_sets", `{"event_set":{}}`).Status)
}

func TestRateLimitOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opt  kisitest.Option
		ok   int // successes in a burst of 12 at one instant
	}{
		{"default", nil, 5},
		{"ten per second", kisitest.WithRateLimit(10), 10},
		{"off", kisitest.WithoutRateLimit(), 12},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			opts := []kisitest.Option{kisitest.WithClock(clockwork.NewFakeClockAt(t0))}
			if tc.opt != nil {
				opts = append(opts, tc.opt)
			}
			srv := kisitest.NewServer(opts...)
			t.Cleanup(srv.Close)
			ok := 0
			for range 12 {
				if owner(t, srv, "GET", "/user", "").Status == 200 {
					ok++
				}
			}
			require.Equal(t, tc.ok, ok)
		})
	}
}

func keysOf(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestFaultsDeterministic(t *testing.T) {
	t.Parallel()
	run := func(seed int64) []int {
		srv := newServer(t)
		srv.SetFaults(kisitest.Faults{Seed: seed, ErrorRate: 0.3})
		var got []int
		for range 40 {
			got = append(got, owner(t, srv, "GET", "/organization", "").Status)
		}
		return got
	}
	a, b, c := run(7), run(7), run(8)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("same seed, different faults (-first +second):\n%s", diff)
	}
	require.NotEqual(t, a, c, "another seed should give another sequence")
	var errs, oks int
	for _, s := range a {
		switch s {
		case 500, 503:
			errs++
		case 200:
			oks++
		default:
			t.Fatalf("unexpected status %d", s)
		}
	}
	require.Positive(t, errs)
	require.Positive(t, oks)
}

func TestFaultErrorNotApplied(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	srv.SetFaults(kisitest.Faults{Seed: 1, ErrorRate: 1})
	r := owner(t, srv, "POST", "/groups", `{"group":{"name":"never"}}`)
	require.Contains(t, []int{500, 503}, r.Status)
	srv.SetFaults(kisitest.Faults{})
	r = must(t, srv, 200, "GET", "/groups", "")
	require.Equal(t, "*/0", r.Header.Get("X-Collection-Range"))
}

func TestFaultLostIsApplied(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		drop bool
	}{
		{"500", false},
		{"dropped connection", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t)
			srv.SetFaults(kisitest.Faults{Seed: 1, LostRate: 1, DropConnection: tc.drop, Methods: []string{"POST"}})
			req, err := http.NewRequestWithContext(t.Context(), "POST", srv.URL+"/groups", strings.NewReader(`{"group":{"name":"ghost"}}`))
			require.NoError(t, err)
			req.Header.Set("Authorization", "KISI-LOGIN "+srv.APIKey)
			resp, err := srv.Client().Do(req)
			if tc.drop {
				require.Error(t, err, "the connection should drop")
			} else {
				require.NoError(t, err)
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				require.Equal(t, 500, resp.StatusCode)
			}
			// GETs are not affected (Methods) and show the group was created.
			list := must(t, srv, 200, "GET", "/groups", "").JSON(t).([]any)
			require.Len(t, list, 1)
			require.Equal(t, "ghost", list[0].(map[string]any)["name"])
			reqs := srv.Requests()
			require.True(t, reqs[0].Lost)
		})
	}
}

func TestIntercept(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	w := seed(t, srv)
	srv.Intercept(func(r *http.Request) kisitest.Fault {
		body, _ := io.ReadAll(r.Body)
		if r.Method == "POST" && r.URL.Path == "/role_assignments" && bytes.Contains(body, []byte(`"notify":true`)) {
			return kisitest.Fault{Lost: true}
		}
		if r.Method == "DELETE" {
			return kisitest.Fault{Status: 503}
		}
		return kisitest.Fault{}
	})
	r := owner(t, srv, "POST", "/role_assignments", w.expand(`{"role_assignment":{"role_id":"group_basic","applies_to_type":"Group","applies_to_id":{group},"assignee_type":"User","assignee_id":{user},"notify":true}}`))
	require.Equal(t, 500, r.Status)
	list := must(t, srv, 200, "GET", w.expand("/role_assignments?applies_to_type=Group&applies_to_id={group}"), "").JSON(t).([]any)
	require.Len(t, list, 1, "the lost create was applied")
	id := int64(list[0].(map[string]any)["id"].(float64))
	must(t, srv, 503, "DELETE", fmt.Sprintf("/role_assignments/%d", id), "")
	srv.Intercept(nil)
	must(t, srv, 204, "DELETE", fmt.Sprintf("/role_assignments/%d", id), "")
}

func TestLatencyFollowsClock(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(t0)
	srv := newServer(t, kisitest.WithClock(clock))
	srv.SetFaults(kisitest.Faults{Latency: 2 * time.Second})
	done := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("GET", srv.URL+"/user", nil)
		req.Header.Set("Authorization", "KISI-LOGIN "+srv.APIKey)
		resp, err := srv.Client().Do(req)
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	require.NoError(t, clock.BlockUntilContext(t.Context(), 1))
	select {
	case <-done:
		t.Fatal("answered before the latency passed")
	default:
	}
	clock.Advance(2 * time.Second)
	require.Equal(t, 200, <-done)
}

func TestUnlockAndEventSets(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(t0)
	srv := newServer(t, kisitest.WithClock(clock))
	w := seed(t, srv)
	// Ada's access starts in an hour.
	must(t, srv, 200, "POST", "/role_assignments", w.expand(`{"role_assignment":{"role_id":"group_basic","applies_to_type":"Group","applies_to_id":{group},"assignee_type":"User","assignee_id":{user},"valid_from":"2026-03-02T10:00:00Z","valid_until":"2026-03-02T18:00:00Z"}}`))
	ada, err := srv.NewUserKey("ada@example.com", "")
	require.NoError(t, err)
	r := call(t, srv, ada, "POST", w.expand("/locks/{lock}/unlock"), "")
	require.Equal(t, 403, r.Status)
	require.Equal(t, "f358de", r.Object(t)["code"])
	clock.Advance(time.Hour)
	r = call(t, srv, ada, "POST", w.expand("/locks/{lock}/unlock"), "")
	require.Equal(t, 200, r.Status, "%s", r.Body)
	clock.Advance(8 * time.Hour)
	require.Equal(t, "f35ade", call(t, srv, ada, "POST", w.expand("/locks/{lock}/unlock"), "").Object(t)["code"])

	// Recorded attempts join the stream.
	for i := range 3 {
		_, err := srv.RecordUnlock(kisitest.Unlock{UserID: w.user, LockID: w.lock, At: t0.Add(time.Duration(i+1) * time.Minute), ErrorCode: "fcd8ff"})
		require.NoError(t, err)
	}
	_, err = srv.RecordUnlock(kisitest.Unlock{UserID: 1, LockID: w.lock})
	require.Error(t, err)

	created := must(t, srv, 200, "POST", "/event_sets", w.expand(`{"event_set":{"interval":"2026-03-01T00:00:00Z/P3D","event_type":"lock.unlock","event_object_id":{lock}}}`)).Object(t)
	require.Equal(t, "in_progress", created["status"])
	require.NotContains(t, created, "events")
	require.Nil(t, created["cursor"])
	path := fmt.Sprintf("/event_sets/%d", int64(created["id"].(float64)))

	var all []map[string]any
	query := "?limit=4"
	for pages := 0; ; pages++ {
		require.Less(t, pages, 5)
		got := must(t, srv, 200, "GET", path+query, "").Object(t)
		require.Equal(t, "finished", got["status"])
		for _, e := range got["events"].([]any) {
			all = append(all, e.(map[string]any))
		}
		cur, _ := got["cursor"].(string)
		if cur == "" {
			break
		}
		query = "?limit=4&cursor=" + cur
	}
	require.Len(t, all, 6)
	var codes []any
	for _, e := range all {
		require.Equal(t, "lock.unlock", e["type"])
		codes = append(codes, e["error_code"])
	}
	// Newest first.
	if diff := cmp.Diff([]any{"f35ade", nil, "fcd8ff", "fcd8ff", "fcd8ff", "f358de"}, codes); diff != "" {
		t.Errorf("error codes (-want +got):\n%s", diff)
	}
	require.Equal(t, false, all[0]["success"])
	require.Equal(t, true, all[1]["success"])

	// Intervals wider than 90 days are refused.
	r = owner(t, srv, "POST", "/event_sets", `{"event_set":{"interval":"2026-01-01T00:00:00Z/2026-04-02T00:00:00Z"}}`)
	require.Equal(t, 422, r.Status)
	require.Contains(t, r.Object(t)["errors"], "interval")
	must(t, srv, 422, "POST", "/event_sets", `{"event_set":{"interval":"P1D"}}`)

	// Event sets expire after a day.
	clock.Advance(25 * time.Hour)
	must(t, srv, 404, "GET", path, "")
}

func TestRequestLog(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	must(t, srv, 200, "POST", "/groups", `{"group":{"name":"a"}}`)
	must(t, srv, 200, "GET", "/groups?limit=5", "")
	call(t, srv, "", "GET", "/groups", "")
	want := []kisitest.Request{
		{Method: "POST", Path: "/groups", Status: 200},
		{Method: "GET", Path: "/groups", Query: "limit=5", Status: 200},
		{Method: "GET", Path: "/groups", Status: 401},
	}
	if diff := cmp.Diff(want, srv.Requests()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	require.Equal(t, 2, srv.Count("GET", "/groups"))
	require.Equal(t, 3, srv.Count("", "/"))
	srv.ResetRequests()
	require.Empty(t, srv.Requests())
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	w := seed(t, srv)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 10 {
				email := fmt.Sprintf("c%d-%d@example.com", i, j)
				r := owner(t, srv, "POST", "/users", fmt.Sprintf(`{"user":{"email":%q}}`, email))
				if r.Status != 200 {
					errs <- fmt.Errorf("create %s: %d", email, r.Status)
					return
				}
				uid, _ := r.Object(t)["id"].(float64)
				r = owner(t, srv, "POST", "/role_assignments", w.expand(fmt.Sprintf(`{"role_assignment":{"role_id":"group_basic","applies_to_type":"Group","applies_to_id":{group},"assignee_type":"User","assignee_id":%d}}`, int64(uid))))
				if r.Status != 200 {
					errs <- errors.New("create role")
					return
				}
				srv.Requests()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	r := must(t, srv, 200, "GET", w.expand("/role_assignments?applies_to_type=Group&applies_to_id={group}&limit=1"), "")
	require.Equal(t, "0-0/80", r.Header.Get("X-Collection-Range"))
}

func TestCloseEndsLatencyWaits(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(t0)
	srv := kisitest.NewServer(kisitest.WithClock(clock))
	srv.SetFaults(kisitest.Faults{Latency: time.Hour})
	done := make(chan struct{})
	go func() {
		defer close(done)
		req, _ := http.NewRequest("GET", srv.URL+"/user", nil)
		if resp, err := srv.Client().Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	require.NoError(t, clock.BlockUntilContext(t.Context(), 1))
	srv.Close()
	<-done
}

func TestUnlimitedUsers(t *testing.T) {
	t.Parallel()
	srv := kisitest.NewServer(kisitest.WithClock(clockwork.NewFakeClockAt(t0)),
		kisitest.WithUnlimitedUsers(" Watcher@Example.com "))
	t.Cleanup(srv.Close)
	watcher, err := srv.NewUserKey("watcher@example.com", "observer")
	require.NoError(t, err)
	other, err := srv.NewUserKey("other@example.com", "observer")
	require.NoError(t, err)

	count := func(key string) (ok int) {
		for range 12 {
			if call(t, srv, key, "GET", "/organization", "").Status == 200 {
				ok++
			}
		}
		return ok
	}
	require.Equal(t, 12, count(watcher), "the unlimited user")
	require.Equal(t, 5, count(other), "another user keeps Kisi's limit")
	require.Equal(t, 5, count(srv.APIKey), "the watcher spent none of the owner's budget")
}

func TestHandlerServesInProcess(t *testing.T) {
	t.Parallel()
	srv := kisitest.NewServer(kisitest.WithClock(clockwork.NewFakeClockAt(t0)))
	t.Cleanup(srv.Close)
	srv.Intercept(func(r *http.Request) kisitest.Fault {
		if r.Method == http.MethodPost {
			return kisitest.Fault{Lost: true, Drop: true}
		}
		return kisitest.Fault{}
	})

	serve := func(method, path, body string) *http.Response {
		req := httptest.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "KISI-LOGIN "+srv.APIKey)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, req)
		return rec.Result()
	}
	require.Equal(t, http.StatusOK, serve("GET", "/organization", "").StatusCode)
	// A recorder cannot be hijacked: a dropped connection is answered 500,
	// and the request was still applied.
	require.Equal(t, http.StatusInternalServerError,
		serve("POST", "/groups", `{"group":{"name":"Lobby"}}`).StatusCode)
	resp := serve("GET", "/groups", "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Contains(t, string(body), `"name":"Lobby"`)
}
