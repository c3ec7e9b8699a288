package kisi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/kisisync/kisisync/kisi"
)

const (
	testKey    = "sk-test-SECRET-4f7b1c"
	pathPrefix = "/kisi"
)

// setup starts an httptest server whose mux is mounted under pathPrefix, so
// that a request to an absolute path fails, and a client pointed at it with
// pacing off and millisecond retries.
func setup(t *testing.T, opts ...kisi.Option) (*kisi.Client, *http.ServeMux, *httptest.Server) {
	t.Helper()
	mux := http.NewServeMux()
	api := http.NewServeMux()
	api.Handle(pathPrefix+"/", http.StripPrefix(pathPrefix, mux))
	api.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "request outside the base url: "+r.URL.Path, http.StatusTeapot)
	})
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	all := append([]kisi.Option{
		kisi.WithBaseURL(srv.URL + pathPrefix),
		kisi.WithRateLimit(rate.Inf, 0),
		kisi.WithRetry(2, time.Millisecond, 2*time.Millisecond),
	}, opts...)
	c, err := kisi.NewClient(testKey, all...)
	require.NoError(t, err)
	return c, mux, srv
}

// writeJSON answers with status and v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// checkAuth fails the test unless r carries the test key.
func checkAuth(t *testing.T, r *http.Request) {
	t.Helper()
	if got, want := r.Header.Get("Authorization"), "KISI-LOGIN "+testKey; got != want {
		t.Errorf("Authorization = %q, want %q", got, want)
	}
	if got := r.Header.Get("Accept"); got != "application/json" {
		t.Errorf("Accept = %q, want application/json", got)
	}
}

func TestNewClient(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		key     string
		opts    []kisi.Option
		wantErr string
	}{
		{name: "defaults", key: "k"},
		{name: "empty key", key: "", wantErr: "empty api key"},
		{name: "blank key", key: "  ", wantErr: "empty api key"},
		// A key read from a file often ends in a newline; net/http refuses
		// such a header value on every request, so refuse it up front.
		{name: "key with trailing newline", key: "k\n", wantErr: "api key contains"},
		{name: "key with space", key: "k k", wantErr: "api key contains"},
		{name: "key with control character", key: "k\x00", wantErr: "api key contains"},
		{name: "bad base url scheme", key: "k", opts: []kisi.Option{kisi.WithBaseURL("ftp://x")}, wantErr: "scheme must be http or https"},
		{name: "base url without host", key: "k", opts: []kisi.Option{kisi.WithBaseURL("https://")}, wantErr: "no host"},
		{name: "nil http client", key: "k", opts: []kisi.Option{kisi.WithHTTPClient(nil)}, wantErr: "nil http client"},
		{name: "nil logger", key: "k", opts: []kisi.Option{kisi.WithLogger(nil)}, wantErr: "nil logger"},
		{name: "nil clock", key: "k", opts: []kisi.Option{kisi.WithClock(nil)}, wantErr: "nil clock"},
		{name: "zero rate", key: "k", opts: []kisi.Option{kisi.WithRateLimit(0, 1)}, wantErr: "invalid rate limit"},
		{name: "zero burst", key: "k", opts: []kisi.Option{kisi.WithRateLimit(5, 0)}, wantErr: "invalid burst"},
		{name: "infinite rate", key: "k", opts: []kisi.Option{kisi.WithRateLimit(rate.Inf, 0)}},
		{name: "negative retries", key: "k", opts: []kisi.Option{kisi.WithRetry(-1, 0, 0)}, wantErr: "invalid retry max"},
		{name: "min above max", key: "k", opts: []kisi.Option{kisi.WithRetry(1, time.Second, time.Millisecond)}, wantErr: "invalid retry waits"},
		{name: "empty user agent", key: "k", opts: []kisi.Option{kisi.WithUserAgent(" ")}, wantErr: "empty user agent"},
		{name: "nil option ignored", key: "k", opts: []kisi.Option{nil}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := kisi.NewClient(tc.key, tc.opts...)
			if tc.wantErr != "" {
				require.Error(t, err)
				require.Nil(t, c)
				require.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.NotNil(t, c.RoleAssignments)
		})
	}
}

func TestBaseURLJoining(t *testing.T) {
	t.Parallel()
	for _, suffix := range []string{"", "/"} {
		t.Run("suffix "+suffix, func(t *testing.T) {
			t.Parallel()
			_, mux, srv := setup(t)
			mux.HandleFunc("GET /groups/7", func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, http.StatusOK, map[string]any{"id": 7, "name": "Members"})
			})
			c, err := kisi.NewClient(testKey, kisi.WithBaseURL(srv.URL+pathPrefix+suffix), kisi.WithRateLimit(rate.Inf, 0))
			require.NoError(t, err)
			g, _, err := c.Groups.Get(t.Context(), 7)
			require.NoError(t, err)
			if g.Name != "Members" {
				t.Errorf("group name = %q, want Members", g.Name)
			}
		})
	}
}

func TestUserAgent(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t, kisi.WithUserAgent("host-platform/1.0"))
	var got string
	mux.HandleFunc("GET /organization", func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Get("User-Agent")
		writeJSON(w, http.StatusOK, map[string]any{"id": 1, "name": "Acme"})
	})
	_, _, err := c.Organization.Get(t.Context())
	require.NoError(t, err)
	if got != "host-platform/1.0" {
		t.Errorf("User-Agent = %q, want host-platform/1.0", got)
	}
}

// TestWithHTTPClientNotModified checks that the caller's client keeps its
// transport.
func TestWithHTTPClientNotModified(t *testing.T) {
	t.Parallel()
	hc := &http.Client{Timeout: time.Second}
	_, err := kisi.NewClient("k", kisi.WithHTTPClient(hc))
	require.NoError(t, err)
	if hc.Transport != nil {
		t.Errorf("caller's http.Client transport was replaced by %T", hc.Transport)
	}
}

func TestDeprecationHeaders(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &mu}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	c, mux, _ := setup(t, kisi.WithLogger(logger))
	mux.HandleFunc("GET /roles", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Deprecation", "Sun, 01 Jun 2025 00:00:00 GMT")
		w.Header().Set("Sunset", "Mon, 01 Jun 2026 00:00:00 GMT")
		writeJSON(w, http.StatusOK, []any{})
	})
	for range 3 {
		_, resp, err := c.Roles.List(t.Context())
		require.NoError(t, err)
		want := &kisi.Response{Deprecation: "Sun, 01 Jun 2025 00:00:00 GMT", Sunset: "Mon, 01 Jun 2026 00:00:00 GMT"}
		got := &kisi.Response{Deprecation: resp.Deprecation, Sunset: resp.Sunset}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("response headers (-want +got):\n%s", diff)
		}
	}
	mu.Lock()
	out := logs.String()
	mu.Unlock()
	if n := strings.Count(out, "deprecated"); n != 1 {
		t.Errorf("deprecation warnings = %d, want 1; logs:\n%s", n, out)
	}
	if !strings.Contains(out, "GET /roles") || !strings.Contains(out, "level=WARN") {
		t.Errorf("warning does not name the endpoint at warn level:\n%s", out)
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestRetryGETServiceUnavailable(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	var calls atomic.Int32
	mux.HandleFunc("GET /groups/1", func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"code": "ffffff", "error": "Unexpected issue"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"id": 1, "name": "A"})
	})
	g, resp, err := c.Groups.Get(t.Context(), 1)
	require.NoError(t, err)
	if g.ID != 1 || resp.StatusCode != http.StatusOK {
		t.Errorf("got group %d status %d, want 1 and 200", g.ID, resp.StatusCode)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("attempts = %d, want 2", n)
	}
}

func TestRetryPolicy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		method    string
		statuses  []int // answered in turn; the last one repeats
		wantCalls int32
		wantIs    []error
		wantOK    bool
	}{
		{name: "GET 503 then 200", method: http.MethodGet, statuses: []int{503, 200}, wantCalls: 2, wantOK: true},
		{name: "GET 502 504 200", method: http.MethodGet, statuses: []int{502, 504, 200}, wantCalls: 3, wantOK: true},
		{name: "GET 429 gives up after retries", method: http.MethodGet, statuses: []int{429}, wantCalls: 3, wantIs: []error{kisi.ErrRateLimited}},
		{name: "GET 500 not retried", method: http.MethodGet, statuses: []int{500, 200}, wantCalls: 1},
		{name: "GET 404 not retried", method: http.MethodGet, statuses: []int{404}, wantCalls: 1, wantIs: []error{kisi.ErrNotFound}},
		{name: "DELETE 503 then 204", method: http.MethodDelete, statuses: []int{503, 204}, wantCalls: 2, wantOK: true},
		{name: "PATCH 429 then 204", method: http.MethodPatch, statuses: []int{429, 204}, wantCalls: 2, wantOK: true},
		{name: "POST 429 then 200", method: http.MethodPost, statuses: []int{429, 200}, wantCalls: 2, wantOK: true},
		{name: "POST 503 maybe applied", method: http.MethodPost, statuses: []int{503, 200}, wantCalls: 1, wantIs: []error{kisi.ErrMaybeApplied}},
		{name: "POST 500 maybe applied", method: http.MethodPost, statuses: []int{500, 200}, wantCalls: 1, wantIs: []error{kisi.ErrMaybeApplied}},
		{name: "POST 422 not maybe applied", method: http.MethodPost, statuses: []int{422}, wantCalls: 1, wantIs: []error{kisi.ErrValidation}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, mux, _ := setup(t)
			var calls atomic.Int32
			mux.HandleFunc("/role_assignments/", func(w http.ResponseWriter, r *http.Request) {
				i := int(calls.Add(1)) - 1
				status := tc.statuses[min(i, len(tc.statuses)-1)]
				switch {
				case status == http.StatusNoContent:
					w.WriteHeader(status)
				case status < 300:
					writeJSON(w, status, map[string]any{"id": 5, "role_id": "group_basic"})
				default:
					writeJSON(w, status, map[string]string{"code": "ffffff", "error": "Unexpected issue"})
				}
			})
			mux.HandleFunc("/role_assignments", func(w http.ResponseWriter, r *http.Request) {
				i := int(calls.Add(1)) - 1
				status := tc.statuses[min(i, len(tc.statuses)-1)]
				if status < 300 {
					writeJSON(w, status, map[string]any{"id": 5, "role_id": "group_basic"})
					return
				}
				writeJSON(w, status, map[string]any{"errors": map[string][]string{"assignee": {"has already been taken"}}})
			})
			ctx := t.Context()
			var err error
			switch tc.method {
			case http.MethodGet:
				_, _, err = c.RoleAssignments.Get(ctx, 5)
			case http.MethodDelete:
				_, err = c.RoleAssignments.Delete(ctx, 5)
			case http.MethodPatch:
				_, err = c.RoleAssignments.Update(ctx, 5, &kisi.RoleAssignmentUpdateRequest{Notify: kisi.Ptr(false)})
			case http.MethodPost:
				_, _, err = c.RoleAssignments.Create(ctx, &kisi.RoleAssignmentCreateRequest{RoleID: "group_basic"})
			}
			if tc.wantOK {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
			}
			for _, target := range tc.wantIs {
				if !errors.Is(err, target) {
					t.Errorf("errors.Is(%v, %v) = false", err, target)
				}
			}
			if got := calls.Load(); got != tc.wantCalls {
				t.Errorf("attempts = %d, want %d", got, tc.wantCalls)
			}
		})
	}
}

// TestPOSTLostResponse: the server reads the create and drops the
// connection without answering. The client must not send it again.
func TestPOSTLostResponse(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	var calls atomic.Int32
	mux.HandleFunc("POST /group_links", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		_ = conn.Close()
	})
	_, _, err := c.GroupLinks.Create(t.Context(), &kisi.GroupLinkCreateRequest{GroupID: 1, Name: "Guest"})
	require.Error(t, err)
	if !errors.Is(err, kisi.ErrMaybeApplied) {
		t.Errorf("errors.Is(%v, ErrMaybeApplied) = false", err)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("POST sent %d times, want 1", n)
	}
}

// TestCreateWithoutID: a 200 to a create whose body lacks the new object's
// id must not pass as an object with id 0, which nobody could ever delete.
func TestCreateWithoutID(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, reply string }{
		{"null body", `null`},
		{"object without id", `{"role_id":"group_basic"}`},
		{"id zero", `{"id":0}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, mux, _ := setup(t)
			var calls atomic.Int32
			mux.HandleFunc("POST /role_assignments", func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				_, _ = io.WriteString(w, tc.reply)
			})
			ra, _, err := c.RoleAssignments.Create(t.Context(), &kisi.RoleAssignmentCreateRequest{
				RoleID: "group_basic", AppliesToType: "Group", AppliesToID: 1, AssigneeType: "User", AssigneeID: 2})
			require.Error(t, err)
			if !errors.Is(err, kisi.ErrMaybeApplied) {
				t.Errorf("errors.Is(%v, ErrMaybeApplied) = false", err)
			}
			if ra != nil {
				t.Errorf("Create returned %+v, want nil", ra)
			}
			if n := calls.Load(); n != 1 {
				t.Errorf("POST sent %d times, want 1", n)
			}
		})
	}
}

// TestGETLostResponseRetried: the same failure on a GET is retried.
func TestGETLostResponseRetried(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	var calls atomic.Int32
	mux.HandleFunc("GET /groups/3", func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				_ = conn.Close()
			}
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"id": 3})
	})
	_, _, err := c.Groups.Get(t.Context(), 3)
	require.NoError(t, err)
	if n := calls.Load(); n != 2 {
		t.Errorf("attempts = %d, want 2", n)
	}
}

// dialFailTransport fails the first dial like a refused connection, then
// delegates.
type dialFailTransport struct {
	fails atomic.Int32
	base  http.RoundTripper
}

func (d *dialFailTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if d.fails.Add(1) == 1 {
		if r.Body != nil {
			_ = r.Body.Close()
		}
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	}
	return d.base.RoundTrip(r)
}

// TestPOSTDialErrorRetried: a POST that never reached the server is sent
// again.
func TestPOSTDialErrorRetried(t *testing.T) {
	t.Parallel()
	tr := &dialFailTransport{base: http.DefaultTransport}
	c, mux, _ := setup(t, kisi.WithHTTPClient(&http.Client{Transport: tr}))
	var calls atomic.Int32
	mux.HandleFunc("POST /users", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		writeJSON(w, http.StatusOK, map[string]any{"id": 9, "email": "a@example.com"})
	})
	u, _, err := c.Users.Create(t.Context(), &kisi.UserCreateRequest{Email: "a@example.com"})
	require.NoError(t, err)
	if u.ID != 9 || calls.Load() != 1 || tr.fails.Load() != 2 {
		t.Errorf("user %d, server calls %d, transport calls %d; want 9, 1, 2", u.ID, calls.Load(), tr.fails.Load())
	}
}

func TestContextCanceled(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	mux.HandleFunc("GET /groups/1", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusServiceUnavailable, nil)
	})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, _, err := c.Groups.Get(ctx, 1)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

// TestPacing: 20 requests under 5/s with burst 1 need 19 waits of 200 ms
// on the client's (fake) clock.
func TestPacing(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	clock := clockwork.NewFakeClockAt(start)
	c, mux, _ := setup(t, kisi.WithClock(clock), kisi.WithRateLimit(5, 1))
	var calls atomic.Int32
	mux.HandleFunc("GET /groups/1", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		writeJSON(w, http.StatusOK, map[string]any{"id": 1})
	})
	ctx := t.Context()
	done := make(chan error, 1)
	go func() {
		for range 20 {
			if _, _, err := c.Groups.Get(ctx, 1); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	waits := 0
	for {
		select {
		case err := <-done:
			require.NoError(t, err)
			if waits != 19 {
				t.Errorf("pacing waits = %d, want 19", waits)
			}
			if elapsed := clock.Since(start); elapsed < 3800*time.Millisecond || elapsed > 4*time.Second {
				t.Errorf("20 requests took %v of clock time, want about 3.8s", elapsed)
			}
			if n := calls.Load(); n != 20 {
				t.Errorf("server saw %d requests, want 20", n)
			}
			return
		default:
		}
		bctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		err := clock.BlockUntilContext(bctx, 1)
		cancel()
		if err == nil {
			waits++
			clock.Advance(201 * time.Millisecond)
		}
	}
}

// TestBackoffOnClock: a retry waits on the client's clock, not real time.
func TestBackoffOnClock(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClock()
	c, mux, _ := setup(t, kisi.WithClock(clock), kisi.WithRetry(1, time.Hour, 2*time.Hour))
	var calls atomic.Int32
	mux.HandleFunc("GET /teams/2", func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"id": 2, "name": "Ops"})
	})
	ctx := t.Context()
	done := make(chan error, 1)
	go func() {
		_, _, err := c.Teams.Get(ctx, 2)
		done <- err
	}()
	require.NoError(t, clock.BlockUntilContext(ctx, 1))
	if n := calls.Load(); n != 1 {
		t.Fatalf("attempts before the backoff = %d, want 1", n)
	}
	clock.Advance(2 * time.Hour)
	require.NoError(t, <-done)
	if n := calls.Load(); n != 2 {
		t.Errorf("attempts = %d, want 2", n)
	}
}

// TestBackoffRespectsContext: canceling during a long backoff returns at
// once.
func TestBackoffRespectsContext(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClock()
	c, mux, _ := setup(t, kisi.WithClock(clock), kisi.WithRetry(3, time.Hour, time.Hour))
	mux.HandleFunc("GET /teams/2", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, _, err := c.Teams.Get(ctx, 2)
		done <- err
	}()
	require.NoError(t, clock.BlockUntilContext(t.Context(), 1))
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	mux.HandleFunc("GET /places/{id}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"id": 4, "name": "HQ", "address": "1 Main St"})
	})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := c.Places.Get(t.Context(), 4)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

func TestString(t *testing.T) {
	t.Parallel()
	c, _, srv := setup(t)
	want := fmt.Sprintf("kisi.Client{BaseURL: %s/kisi/, APIKey: REDACTED}", srv.URL)
	if got := c.String(); got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
