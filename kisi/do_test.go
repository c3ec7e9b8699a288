package kisi_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/kisi/kisitest"
)

func TestDo(t *testing.T) {
	t.Parallel()
	srv, c := fake(t, noLimit())
	ctx := t.Context()
	place, err := srv.AddPlace("HQ", "Europe/Berlin")
	require.NoError(t, err)

	var created kisi.Group
	resp, err := c.Do(ctx, &kisi.Request{Method: "POST", Path: "groups",
		Body: map[string]any{"group": map[string]any{"name": "Floor 2", "place_id": place}}}, &created)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NotZero(t, created.ID)

	got, _, err := c.Groups.Get(ctx, created.ID)
	require.NoError(t, err)
	require.Equal(t, "Floor 2", got.Name, "Do's create is seen by the service")

	var listed []*kisi.Group
	resp, err = c.Do(ctx, &kisi.Request{Method: "get", Path: "/groups",
		Query: url.Values{"query": {"Floor"}, "limit": {"1"}}}, &listed)
	require.NoError(t, err)
	require.Len(t, listed, 1)
	require.Equal(t, created.ID, listed[0].ID)
	require.Equal(t, 1, resp.Total, "Total from X-Collection-Range")

	path := fmt.Sprintf("groups/%d", created.ID)
	resp, err = c.Do(ctx, &kisi.Request{Method: "PATCH", Path: path, Body: map[string]any{"group": map[string]any{"name": "Floor 3"}}}, &created)
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	require.Equal(t, "Floor 2", created.Name, "a 204 leaves v as it is")

	_, err = c.Do(ctx, &kisi.Request{Method: "DELETE", Path: path}, nil)
	require.NoError(t, err)
	resp, err = c.Do(ctx, &kisi.Request{Method: "GET", Path: path}, &got)
	require.ErrorIs(t, err, kisi.ErrNotFound)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	msg := fmt.Sprintf("%v %+v %#v", err, err, err)
	require.Contains(t, msg, "GET /groups/{id}", "the endpoint is named by its template")
	require.NotContains(t, msg, srv.APIKey)
}

func TestDoRetriesAndPaces(t *testing.T) {
	t.Parallel()
	srv, _ := fake(t, noLimit())
	lim := rate.NewLimiter(rate.Every(time.Hour), 10)
	c, err := kisi.NewClient(srv.APIKey, kisi.WithBaseURL(srv.URL), kisi.WithLimiter(lim),
		kisi.WithRetry(3, time.Millisecond, 5*time.Millisecond))
	require.NoError(t, err)
	var mu sync.Mutex
	fails := map[string]int{"GET": 2, "POST": 1}
	srv.Intercept(func(r *http.Request) kisitest.Fault {
		mu.Lock()
		defer mu.Unlock()
		if r.URL.Path == "/organization" || r.URL.Path == "/groups" {
			if fails[r.Method] > 0 {
				fails[r.Method]--
				return kisitest.Fault{Status: http.StatusServiceUnavailable}
			}
		}
		return kisitest.Fault{}
	})
	var org kisi.Organization
	_, err = c.Do(t.Context(), &kisi.Request{Method: "GET", Path: "organization"}, &org)
	require.NoError(t, err, "a GET is retried on 503")
	require.NotZero(t, org.ID)
	require.Equal(t, 3, srv.Count("GET", "/organization"))

	_, err = c.Do(t.Context(), &kisi.Request{Method: "POST", Path: "groups", Body: map[string]any{"group": map[string]any{"name": "x"}}}, nil)
	require.ErrorIs(t, err, kisi.ErrMaybeApplied, "a POST is not retried on 503, and may have been applied")
	require.Equal(t, 1, srv.Count("POST", "/groups"))

	require.InDelta(t, 6, lim.Tokens(), 0.01, "each of the 4 attempts took a token of the client's limiter")
}

func TestDoRefusesBadRequests(t *testing.T) {
	t.Parallel()
	srv, c := fake(t, noLimit())
	for _, req := range []*kisi.Request{
		nil,
		{Method: "HEAD", Path: "groups"},
		{Method: "GET", Path: ""},
		{Method: "GET", Path: "/"},
		{Method: "GET", Path: "groups?limit=1"},
		{Method: "GET", Path: "groups#x"},
		{Method: "GET", Path: "https://evil.example/groups"},
		{Method: "GET", Path: "groups/../users"},
		{Method: "GET", Path: "groups//1"},
		{Method: "GET", Path: "./groups"},
	} {
		_, err := c.Do(t.Context(), req, nil)
		require.Error(t, err, "%+v", req)
	}
	require.Empty(t, srv.Requests(), "nothing was sent")
}

func TestDoLogsNoSecrets(t *testing.T) {
	t.Parallel()
	srv, _ := fake(t, noLimit())
	var buf bytes.Buffer
	c, err := kisi.NewClient(srv.APIKey, kisi.WithBaseURL(srv.URL), kisi.WithRateLimit(rate.Inf, 0),
		kisi.WithLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	require.NoError(t, err)
	_, err = c.Do(t.Context(), &kisi.Request{Method: "GET", Path: "users/4242", Query: url.Values{"email": {"ann@example.com"}}}, nil)
	require.ErrorIs(t, err, kisi.ErrNotFound)
	log := buf.String()
	require.Contains(t, log, "/users/{id}")
	for _, secret := range []string{srv.APIKey, "4242", "ann@example.com"} {
		require.False(t, strings.Contains(log, secret) || strings.Contains(err.Error(), secret), "%q in the log or the error", secret)
	}
}

// Do reaches an endpoint the services do not wrap, here Kisi's guests,
// through the client's key, pacing and retries.
func ExampleClient_Do() {
	srv := kisitest.NewServer(kisitest.WithoutRateLimit())
	defer srv.Close()
	c, err := kisi.NewClient(srv.APIKey, kisi.WithBaseURL(srv.URL))
	if err != nil {
		log.Fatal(err)
	}
	type guest struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	}
	var g guest
	ctx := context.Background()
	body := map[string]any{"guest": map[string]any{"name": "Gus"}}
	if _, err := c.Do(ctx, &kisi.Request{Method: "POST", Path: "guests", Body: body}, &g); err != nil {
		log.Fatal(err)
	}
	var guests []guest
	resp, err := c.Do(ctx, &kisi.Request{Method: "GET", Path: "guests", Query: url.Values{"query": {"Gus"}}}, &guests)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(guests[0].Name, resp.Total)
	_, err = c.Do(ctx, &kisi.Request{Method: "GET", Path: "floors/12"}, nil)
	fmt.Println(errors.Is(err, kisi.ErrNotFound))
	// Output:
	// Gus 1
	// true
}
