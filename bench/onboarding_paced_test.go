//go:build go1.25

package bench_test

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/kisi/kisitest"
)

var onboardAll = flag.Bool("onboard.all", false, "TestOnboardingPaced: also 50 and 600 ms round trips and 2 requests in flight")

// pacedWire serves a client's requests in process from a fake Kisi after half a round
// trip each way, on the clock of a synctest bubble, and counts what it served.
type pacedWire struct {
	h   http.Handler
	rtt time.Duration

	mu       sync.Mutex
	requests int
	tooMany  int // answered 429
	inFlight int
	most     int // requests in flight at once, at most
}

// RoundTrip implements http.RoundTripper.
func (w *pacedWire) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
	}
	w.mu.Lock()
	w.inFlight++
	w.most = max(w.most, w.inFlight)
	w.mu.Unlock()
	time.Sleep(w.rtt / 2)
	sreq := req.Clone(req.Context())
	sreq.Body = io.NopCloser(bytes.NewReader(body))
	rec := httptest.NewRecorder()
	w.h.ServeHTTP(rec, sreq)
	time.Sleep(w.rtt - w.rtt/2)
	resp := rec.Result()
	resp.Request = req
	w.mu.Lock()
	w.inFlight--
	w.requests++
	if resp.StatusCode == http.StatusTooManyRequests {
		w.tooMany++
	}
	w.mu.Unlock()
	return resp, nil
}

// served returns the requests served so far.
func (w *pacedWire) served() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.requests
}

// pacedOnboarding is one onboarding in simulated time.
type pacedOnboarding struct {
	requests, tooMany, most, runs int
	// took is the simulated time from the first run's start to the end of the last run
	// that sent a request.
	took time.Duration
}

// onboardPaced onboards the given number of members (none of them in Kisi; each granted two
// groups, so three writes each) into a fake Kisi that admits 5 requests per second of its one
// Kisi user and answers after a round trip of rtt, through a client at its default pace of 5
// requests per second, with inFlight requests in flight. It runs in a synctest bubble: every
// wait (the round trips, the client's pace, the fake's token bucket) passes on the bubble's
// clock, which moves only when every goroutine waits, so the time it measures is what the
// requests cost and does not depend on this machine's CPU or load.
func onboardPaced(t *testing.T, members int, rtt time.Duration, inFlight int) pacedOnboarding {
	t.Helper()
	var res pacedOnboarding
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		srv := kisitest.NewServer()
		// Served in process below: the listener's goroutine waits on the network, which
		// would keep the bubble's clock from moving.
		srv.Close()
		m, snap := onboardingSpace(t, srv, start, members, 0)
		w := &pacedWire{h: srv.Handler(), rtt: rtt}
		client, err := kisi.NewClient(srv.APIKey, kisi.WithBaseURL(srv.URL), kisi.WithHTTPClient(&http.Client{Transport: w}))
		require.NoError(t, err)
		r, err := access.NewReconciler(client, access.NewMemoryStore(), m, access.DefaultPolicy(), access.WithRequestsInFlight(inFlight))
		require.NoError(t, err)
		for res.runs = 1; res.runs <= 5; res.runs++ {
			before := w.served()
			_, err := r.Sync(t.Context(), snap)
			require.NoError(t, err)
			if w.served() == before {
				break
			}
			res.took = time.Since(start)
			time.Sleep(time.Minute)
		}
		require.LessOrEqual(t, res.runs, 5, "onboarding did not settle")
		require.Equal(t, 2*members, srv.Count("POST", "/role_assignments"), "one create per grant")
		require.Equal(t, members, srv.Count("POST", "/users"), "one create per user")
		res.requests, res.tooMany, res.most = w.requests, w.tooMany, w.most
	})
	return res
}

// TestOnboardingPaced (issue 32) onboards 5,000 members (1,000 under the race detector) at
// Kisi's 5 requests per second and a round trip of 300 ms, one request after another and with
// 3 in flight, in simulated time. The floor is the writes at 5 per second: 3 per member, 50
// minutes for 5,000. One after another, a round trip over 200 ms holds a run below 5 per
// second; with 3 in flight the onboarding must take within 10% of the floor, without a 429.
// -onboard.all adds round trips of 50 and 600 ms and 2 in flight.
func TestOnboardingPaced(t *testing.T) {
	t.Parallel()
	type tc struct {
		rtt      time.Duration
		inFlight int
	}
	cases := []tc{{300 * time.Millisecond, 1}, {300 * time.Millisecond, 3}}
	if *onboardAll {
		cases = []tc{
			{50 * time.Millisecond, 1}, {50 * time.Millisecond, 3},
			{300 * time.Millisecond, 1}, {300 * time.Millisecond, 2}, {300 * time.Millisecond, 3},
			{600 * time.Millisecond, 1}, {600 * time.Millisecond, 2}, {600 * time.Millisecond, 3},
		}
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("rtt=%v/in-flight=%d", c.rtt, c.inFlight), func(t *testing.T) {
			t.Parallel()
			members := onboardSize()
			floor := time.Duration(3*members) * time.Second / 5
			res := onboardPaced(t, members, c.rtt, c.inFlight)
			t.Logf("%d members: %d requests in %d runs took %v of simulated time, %.3f× the floor of %v (%.2f requests/s); %d answered 429; at most %d in flight",
				members, res.requests, res.runs, res.took.Round(time.Second), float64(res.took)/float64(floor), floor,
				float64(res.requests)/res.took.Seconds(), res.tooMany, res.most)
			require.Zero(t, res.tooMany, "requests answered 429")
			require.LessOrEqual(t, res.most, c.inFlight, "requests in flight at once")
			if c.inFlight >= 3 && c.rtt <= 300*time.Millisecond {
				require.LessOrEqual(t, float64(res.took), 1.1*float64(floor), "within 10%% of the floor")
			}
		})
	}
}
