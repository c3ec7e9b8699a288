package fleet_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/examples/fleet"
)

// TestSharedLimiterReserve: slots of one Kisi user are one interval apart
// whichever process reserves them; other users are not affected.
func TestSharedLimiterReserve(t *testing.T) {
	dsn := testDatabase(t)
	// Two limiters on two pools: two processes.
	a := fleet.NewSharedLimiter(testPool(t, dsn), 1, nil)
	b := fleet.NewSharedLimiter(testPool(t, dsn), 1, nil)
	ctx := t.Context()
	reserve := func(l *fleet.SharedLimiter, user string) time.Duration {
		t.Helper()
		d, err := l.Reserve(ctx, user)
		require.NoError(t, err)
		return d
	}
	// Each wait is the slot's distance from the moment of the reservation:
	// between n intervals less the time since the first one, and n.
	first := time.Now()
	require.Zero(t, reserve(a, "u1"))
	for n, l := range []*fleet.SharedLimiter{b, a, b} { // b: another process
		d := reserve(l, "u1")
		slot := time.Duration(n+1) * time.Second
		require.LessOrEqual(t, d, slot, "slot %d", n+1)
		require.GreaterOrEqual(t, d, slot-time.Since(first), "slot %d", n+1)
	}
	require.Zero(t, reserve(b, "u2"), "another Kisi user has its own budget")

	// A request whose deadline comes before its slot is not sent.
	short, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	require.Error(t, a.Wait(short, "u1"))
	var sent atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { sent.Store(true) }))
	t.Cleanup(srv.Close)
	req, err := http.NewRequestWithContext(short, http.MethodGet, srv.URL, nil)
	require.NoError(t, err)
	_, err = a.Transport("u1", http.DefaultTransport).RoundTrip(req)
	require.Error(t, err)
	require.False(t, sent.Load())
}

// TestSharedLimiterNoHiddenResend: when a reused connection fails after a
// GET was sent, net/http would send it again by itself, past the limiter;
// through the shared limiter's transport it is not.
func TestSharedLimiterNoHiddenResend(t *testing.T) {
	dsn := testDatabase(t)
	lim := fleet.NewSharedLimiter(testPool(t, dsn), 1000, nil)
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
		if hits.Add(1) == 1 {
			return // keeps the connection for the next request
		}
		conn, _, err := http.NewResponseController(rw).Hijack()
		if err == nil {
			conn.Close() // the request was read: a lost response
		}
	}))
	t.Cleanup(srv.Close)
	tests := []struct {
		name string
		rt   func(http.RoundTripper) http.RoundTripper
		want int32
	}{
		{"plain net/http sends it twice", func(b http.RoundTripper) http.RoundTripper { return b }, 3},
		{"through the limiter once", func(b http.RoundTripper) http.RoundTripper { return lim.Transport("u1", b) }, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hits.Store(0)
			rt := tc.rt(&http.Transport{})
			for i := range 2 {
				req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL, nil)
				require.NoError(t, err)
				resp, err := rt.RoundTrip(req)
				if i == 0 {
					require.NoError(t, err)
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				} else {
					require.Error(t, err)
				}
			}
			require.Equal(t, tc.want, hits.Load())
		})
	}
}
