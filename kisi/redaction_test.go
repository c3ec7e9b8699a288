package kisi_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/kisisync/kisisync/kisi"
)

// TestRedaction runs every error path with a debug logger and searches the
// errors (in every format) and the log output for the key and for query
// values such as an email address.
func TestRedaction(t *testing.T) {
	t.Parallel()
	const email = "private.person@example.com"
	var logs bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(&lockedWriter{w: &logs, mu: &mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, mux, srv := setup(t, kisi.WithLogger(logger))
	mux.HandleFunc("GET /users", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Deprecation", "true")
		switch r.URL.Query().Get("query") {
		case "401":
			writeJSON(w, http.StatusUnauthorized, map[string]string{"code": "afc516", "error": "bad key"})
		case "422":
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"errors": map[string][]string{"email": {"is invalid"}}})
		case "garbage":
			writeJSON(w, http.StatusOK, "not a list")
		case "lost":
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				_ = conn.Close()
			}
		default:
			writeJSON(w, http.StatusServiceUnavailable, nil)
		}
	})
	mux.HandleFunc("POST /users", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			_ = conn.Close()
		}
	})
	ctx := t.Context()
	var errs []error
	for _, q := range []string{"401", "422", "garbage", "lost", "503"} {
		_, _, err := c.Users.List(ctx, &kisi.UserListOptions{Email: email, Query: q})
		require.Error(t, err, q)
		errs = append(errs, err)
	}
	_, _, err := c.Users.Create(ctx, &kisi.UserCreateRequest{Email: email})
	require.Error(t, err)
	errs = append(errs, err)
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	_, _, err = c.Users.List(canceled, &kisi.UserListOptions{Email: email})
	errs = append(errs, err)

	// A closed server: connection refused on every attempt.
	closed, err := kisi.NewClient(testKey, kisi.WithBaseURL(srv.URL+"/kisi"), kisi.WithRateLimit(rate.Inf, 0), kisi.WithRetry(1, 0, 0), kisi.WithLogger(logger))
	require.NoError(t, err)
	dead := deadURL(t)
	refused, err := kisi.NewClient(testKey, kisi.WithBaseURL(dead), kisi.WithRateLimit(rate.Inf, 0), kisi.WithRetry(1, 0, 0), kisi.WithLogger(logger))
	require.NoError(t, err)
	_, _, err = refused.Users.List(ctx, &kisi.UserListOptions{Email: email})
	require.Error(t, err)
	errs = append(errs, err)

	var out strings.Builder
	for _, err := range errs {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
			fmt.Fprintf(&out, verb+"\n", err)
		}
	}
	for _, v := range []any{c, closed, struct{ C *kisi.Client }{c}} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
			fmt.Fprintf(&out, verb+"\n", v)
		}
	}
	logger.Info("client", "client", c)
	mu.Lock()
	out.WriteString(logs.String())
	mu.Unlock()
	all := out.String()
	for _, secret := range []string{testKey, email, "private.person"} {
		if strings.Contains(all, secret) {
			t.Errorf("output contains %q:\n%s", secret, all)
		}
	}
	if !strings.Contains(all, "REDACTED") {
		t.Errorf("formatted client does not say REDACTED:\n%s", all)
	}
	if !strings.Contains(all, "kisi: request") {
		t.Errorf("debug log has no request lines:\n%s", all)
	}
}

// deadURL returns the URL of a server that has been closed.
func deadURL(t *testing.T) string {
	t.Helper()
	s := httptest.NewServer(http.NotFoundHandler())
	s.Close()
	return s.URL
}

// TestBaseURLErrorRedaction checks that an unparsable base URL does not
// echo its user info (which may hold a password) in the error.
func TestBaseURLErrorRedaction(t *testing.T) {
	t.Parallel()
	const secret = "pa55word-SECRET"
	for _, raw := range []string{
		"https://user:" + secret + "@api.kisi.io/%zz",
		"ftp://user:" + secret + "@api.kisi.io",
		"https://user:" + secret + "@api.kisi.io:bad/",
	} {
		_, err := kisi.NewClient("k", kisi.WithBaseURL(raw))
		require.Error(t, err, raw)
		for _, s := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
			require.NotContains(t, s, secret, raw)
		}
	}
}
