package fleet_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/examples/fleet"
)

// TestSharedLimiterTake: requests of one Kisi user go one interval apart
// whichever process asks, never more than Kisi's limit in its window, and
// a request that may not go yet is told how long to wait and not counted;
// other users are not affected.
func TestSharedLimiterTake(t *testing.T) {
	dsn := testDatabase(t)
	ctx := t.Context()
	take := func(l *fleet.SharedLimiter, user string) time.Duration {
		t.Helper()
		d, err := l.Take(ctx, user)
		require.NoError(t, err)
		return d
	}
	t.Run("interval", func(t *testing.T) {
		// Two limiters on two pools: two processes.
		a := fleet.NewSharedLimiter(testPool(t, dsn), 1, nil)
		b := fleet.NewSharedLimiter(testPool(t, dsn), 1, nil)
		first := time.Now()
		require.Zero(t, take(a, "u1"))
		for range 2 { // asking again changes nothing
			d := take(b, "u1")
			require.LessOrEqual(t, d, time.Second)
			require.GreaterOrEqual(t, d, time.Second-time.Since(first))
		}
		require.Zero(t, take(b, "u2"), "another Kisi user has its own budget")
	})
	t.Run("window", func(t *testing.T) {
		a := fleet.NewSharedLimiter(testPool(t, dsn), 1000, nil)
		first := time.Now()
		for range fleet.KisiLimit {
			require.NoError(t, a.Wait(ctx, "u3")) // a millisecond apart
		}
		d := take(a, "u3")
		require.Greater(t, d, fleet.KisiWindow-time.Since(first), "the sixth waits for the window")
	})
	t.Run("deadline", func(t *testing.T) {
		a := fleet.NewSharedLimiter(testPool(t, dsn), 1, nil)
		require.NoError(t, a.Wait(ctx, "u4"))
		short, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		require.Error(t, a.Wait(short, "u4"))
		var sent atomic.Bool
		srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { sent.Store(true) }))
		t.Cleanup(srv.Close)
		req, err := http.NewRequestWithContext(short, http.MethodGet, srv.URL, nil)
		require.NoError(t, err)
		_, err = a.Transport("u4", http.DefaultTransport).RoundTrip(req)
		require.Error(t, err)
		require.False(t, sent.Load())
	})
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

// TestSharedLimiterStaleGrant: a grant lets a request go at once; a request
// that would leave later than grantValid after its Take started (the
// statement answered late, or the request stalled before its connection
// was ready) asks again, so that it cannot bunch up at Kisi with the
// requests granted after it. Before, such a request went on its first
// grant however late: in the load test a Kisi user's fake saw 6 requests in
// one second when a statement came back a few hundred milliseconds late.
func TestSharedLimiterStaleGrant(t *testing.T) {
	dsn := testDatabase(t)
	pool := testPool(t, dsn)
	const stall = 300 * time.Millisecond
	tests := []struct {
		name string
		// before runs before the request; it returns what releases it.
		before func(t *testing.T, clock *clockwork.FakeClock, user string) func()
		// stall advances the clock between the grant and the connection.
		stall      bool
		wantGrants int
	}{
		{name: "prompt", wantGrants: 1},
		{name: "a slow statement", wantGrants: 2, before: func(t *testing.T, clock *clockwork.FakeClock, user string) func() {
			// Another process holds the user's row while the clock passes.
			ctx := t.Context()
			_, err := pool.Exec(ctx, `INSERT INTO fleet_rate (kisi_user) VALUES ($1)`, user)
			require.NoError(t, err)
			tx, err := pool.Begin(ctx)
			require.NoError(t, err)
			_, err = tx.Exec(ctx, `SELECT 1 FROM fleet_rate WHERE kisi_user = $1 FOR UPDATE`, user)
			require.NoError(t, err)
			return func() {
				require.Eventually(t, func() bool {
					var waiting bool
					err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
						WHERE datname = current_database() AND wait_event_type = 'Lock')`).Scan(&waiting)
					return err == nil && waiting
				}, 10*time.Second, time.Millisecond, "the request never asked")
				clock.Advance(stall)
				require.NoError(t, tx.Commit(ctx))
			}
		}},
		{name: "a stall before the connection", stall: true, wantGrants: 2},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			user := fmt.Sprintf("stale-%d", i)
			clock := clockwork.NewFakeClock()
			// A pace so fast that asking again never waits: only the
			// grants tell what happened.
			lim := fleet.NewSharedLimiter(pool, 1e6, clock)
			var hits atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
			t.Cleanup(srv.Close)
			base := http.RoundTripper(&http.Transport{})
			if tc.stall {
				inner := base
				base = roundTripFunc(func(r *http.Request) (*http.Response, error) {
					clock.Advance(stall)
					return inner.RoundTrip(r)
				})
			}
			release := func() {}
			if tc.before != nil {
				release = tc.before(t, clock, user)
			}
			done := make(chan error, 1)
			go func() {
				req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL, strings.NewReader("{}"))
				if err == nil {
					var resp *http.Response
					if resp, err = lim.Transport(user, base).RoundTrip(req); err == nil {
						resp.Body.Close()
					}
				}
				done <- err
			}()
			release()
			require.NoError(t, <-done)
			require.Equal(t, int32(1), hits.Load())
			var grants int
			require.NoError(t, pool.QueryRow(t.Context(), `SELECT cardinality(sends) FROM fleet_rate WHERE kisi_user = $1`, user).Scan(&grants))
			require.Equal(t, tc.wantGrants, grants, "grants recorded")
			require.Equal(t, int64(tc.wantGrants-1), lim.Late(), "late grants")
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
