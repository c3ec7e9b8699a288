package kisitest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/kisi/kisitest"
)

// result is one raw HTTP exchange.
type result struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a generic value.
func (r result) JSON(t *testing.T) any {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal(r.Body, &v), "body %s", r.Body)
	return v
}

// Object decodes the body as a JSON object.
func (r result) Object(t *testing.T) map[string]any {
	t.Helper()
	m, ok := r.JSON(t).(map[string]any)
	require.True(t, ok, "body is not an object: %s", r.Body)
	return m
}

// ID returns the "id" of a JSON object body.
func (r result) ID(t *testing.T) int64 {
	t.Helper()
	id, ok := r.Object(t)["id"].(float64)
	require.True(t, ok, "no id in %s", r.Body)
	return int64(id)
}

// call sends one request with the given key ("" for none) through raw
// net/http.
func call(t testing.TB, srv *kisitest.Server, key, method, path, body string) result {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = bytes.NewBufferString(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, rd)
	require.NoError(t, err)
	req.Header.Set("Accept", "application/json")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "KISI-LOGIN "+key)
	}
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return result{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// owner sends a request with the owner's key.
func owner(t testing.TB, srv *kisitest.Server, method, path, body string) result {
	t.Helper()
	return call(t, srv, srv.APIKey, method, path, body)
}

// mustOK sends a request as the owner and requires the status.
func must(t *testing.T, srv *kisitest.Server, status int, method, path, body string) result {
	t.Helper()
	r := owner(t, srv, method, path, body)
	require.Equal(t, status, r.Status, "%s %s: %s", method, path, r.Body)
	return r
}

func newServer(t *testing.T, opts ...kisitest.Option) *kisitest.Server {
	t.Helper()
	srv := kisitest.NewServer(append([]kisitest.Option{kisitest.WithoutRateLimit()}, opts...)...)
	t.Cleanup(srv.Close)
	return srv
}

// world is a small seeded organization.
type world struct {
	place, lock, group, user int64
}

func seed(t *testing.T, srv *kisitest.Server) world {
	t.Helper()
	var w world
	w.place = must(t, srv, 200, "POST", "/places", `{"place":{"name":"HQ","address":"1 Main St","time_zone":"Europe/Berlin"}}`).ID(t)
	w.lock = must(t, srv, 200, "POST", "/locks", jsonf(`{"lock":{"name":"Front door","place_id":%d}}`, w.place)).ID(t)
	w.group = must(t, srv, 200, "POST", "/groups", jsonf(`{"group":{"name":"Members","place_id":%d}}`, w.place)).ID(t)
	must(t, srv, 200, "POST", "/group_locks", jsonf(`{"group_lock":{"group_id":%d,"lock_id":%d}}`, w.group, w.lock))
	w.user = must(t, srv, 200, "POST", "/users", `{"user":{"email":"Ada@Example.com","name":"Ada"}}`).ID(t)
	return w
}

func jsonf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

var sortStrings = cmpopts.SortSlices(func(a, b string) bool { return a < b })

func readResult(t *testing.T, resp *http.Response) result {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return result{Status: resp.StatusCode, Header: resp.Header, Body: b}
}
