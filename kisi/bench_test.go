package kisi_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/time/rate"

	"github.com/kisisync/kisisync/kisi"
)

const (
	benchOne  = `{"id":3,"role_id":"group_basic","notify":false,"applies_to_type":"Group","applies_to_id":12,"assignee_type":"User","assignee_id":7,"valid_from":"2026-03-02T09:00:00Z","valid_until":"2026-03-02T17:00:00Z","created_at":"2026-03-01T09:00:00Z","updated_at":"2026-03-01T09:00:00Z"}`
	benchList = "[" + benchOne + "," + benchOne + "," + benchOne + "," + benchOne + "," + benchOne + "," + benchOne + "," + benchOne + "," + benchOne + "," + benchOne + "," + benchOne + "]"
)

func benchServer(b *testing.B) *httptest.Server {
	b.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /kisi/role_assignments/3", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, benchOne)
	})
	mux.HandleFunc("GET /kisi/role_assignments", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Collection-Range", "0-9/10")
		_, _ = io.WriteString(w, benchList)
	})
	srv := httptest.NewServer(mux)
	b.Cleanup(srv.Close)
	return srv
}

// BenchmarkRawHTTPGet is the baseline: the same GET with a bare
// http.Client, reading the body without decoding it.
func BenchmarkRawHTTPGet(b *testing.B) {
	srv := benchServer(b)
	hc := &http.Client{}
	b.ReportAllocs()
	for b.Loop() {
		resp, err := hc.Get(srv.URL + "/kisi/role_assignments/3")
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
}

// BenchmarkClientGet measures one typed GET through the whole client
// stack (retry loop, limiter off, error check, JSON decoding).
func BenchmarkClientGet(b *testing.B) {
	srv := benchServer(b)
	c, err := kisi.NewClient(testKey, kisi.WithBaseURL(srv.URL+"/kisi"), kisi.WithRateLimit(rate.Inf, 0))
	if err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := c.RoleAssignments.Get(ctx, 3); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkClientList measures a list page of ten role assignments.
func BenchmarkClientList(b *testing.B) {
	srv := benchServer(b)
	c, err := kisi.NewClient(testKey, kisi.WithBaseURL(srv.URL+"/kisi"), kisi.WithRateLimit(rate.Inf, 0))
	if err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	opts := &kisi.RoleAssignmentListOptions{AppliesToType: kisi.ScopeGroup, AppliesToID: 12}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := c.RoleAssignments.List(ctx, opts); err != nil {
			b.Fatal(err)
		}
	}
}

// cannedTransport answers every request in memory, so that a benchmark
// through it measures the client alone.
type cannedTransport struct{ body string }

func (t cannedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_ = r.Body.Close()
	}
	return &http.Response{
		StatusCode: http.StatusOK,
		Header:     http.Header{"Content-Type": {"application/json"}},
		Body:       io.NopCloser(strings.NewReader(t.body)),
		Request:    r,
	}, nil
}

// BenchmarkClientOverhead measures the client's own cost per request: a
// typed GET answered in memory, without network or server.
func BenchmarkClientOverhead(b *testing.B) {
	c, err := kisi.NewClient(testKey,
		kisi.WithBaseURL("https://api.kisi.io"),
		kisi.WithRateLimit(rate.Inf, 0),
		kisi.WithHTTPClient(&http.Client{Transport: cannedTransport{body: benchOne}}))
	if err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := c.RoleAssignments.Get(ctx, 3); err != nil {
			b.Fatal(err)
		}
	}
}
