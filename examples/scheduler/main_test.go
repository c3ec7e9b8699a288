package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/kisi"
)

func noEnv(string) string { return "" }

var berlin = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		panic(err)
	}
	return loc
}()

var start = time.Date(2026, time.June, 10, 8, 0, 0, 0, berlin)

func TestOnce(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	code := runWith(t.Context(), []string{"-once"}, noEnv, &out, &out, clockwork.NewFakeClockAt(start))
	require.Equal(t, 0, code, out.String())
	require.Contains(t, out.String(), "msg=synced created=3 replaced=0 deleted=0 failed=0")
	require.Contains(t, out.String(), "msg=verified groups=2 missing=0")
}

func TestBadFlags(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	require.Equal(t, 2, runWith(t.Context(), []string{"-floor", "1h", "-ceiling", "1m"}, noEnv, &out, &out, clockwork.NewFakeClock()))
	require.Contains(t, out.String(), "-floor")
	out.Reset()
	env := func(k string) string {
		if k == "KISI_API_KEY" {
			return "secret-for-tests"
		}
		return ""
	}
	require.Equal(t, 2, runWith(t.Context(), nil, env, &out, &out, clockwork.NewFakeClock()))
	require.Contains(t, out.String(), "-state, -snapshot and -mapping are required")
	require.NotContains(t, out.String(), "secret-for-tests")
}

// recorder is a Syncer that notes when each run happened.
type recorder struct {
	Syncer
	clock clockwork.Clock
	mu    sync.Mutex
	syncs []string
}

func (r *recorder) Sync(ctx context.Context, s access.Snapshot) (*access.Report, error) {
	r.mu.Lock()
	r.syncs = append(r.syncs, r.clock.Now().In(berlin).Format("15:04:05"))
	r.mu.Unlock()
	return r.Syncer.Sync(ctx, s)
}

func (r *recorder) times() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.syncs...)
}

// TestRunFollowsNextRun runs the scheduler on a fake clock against the
// demo space: it wakes at each change of access (bookings entering their
// lead time, windows ending), never later than the ceiling, and soon after
// Wake; it stops when its context ends.
func TestRunFollowsNextRun(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		ceiling time.Duration
		wake    bool
		want    []string
	}{
		// Booking 08:10–08:40 (window 08:05–08:45); the next is 09:10–09:40,
		// in Kisi from 08:45 (20 minutes before 09:05).
		{name: "next run", ceiling: time.Hour, want: []string{"08:00:00", "08:45:00", "09:45:00", "10:45:00"}},
		{name: "ceiling", ceiling: 15 * time.Minute, want: []string{"08:00:00", "08:15:00", "08:30:00", "08:45:00"}},
		// With no floor a wake-up runs at once (the floor is checked in TestClamp).
		{name: "wake", ceiling: time.Hour, wake: true, want: []string{"08:00:00", "08:00:00", "08:00:00", "08:00:00"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := clockwork.NewFakeClockAt(start)
			srv, groups, err := startDemo(clock)
			require.NoError(t, err)
			t.Cleanup(srv.Close)
			c, err := kisi.NewClient(srv.APIKey, kisi.WithBaseURL(srv.URL), kisi.WithRateLimit(1000, 100))
			require.NoError(t, err)
			r, err := access.NewReconciler(c, access.NewMemoryStore(), demoMapping(groups), access.DefaultPolicy(), access.WithClock(clock))
			require.NoError(t, err)
			rec := &recorder{Syncer: r, clock: clock}
			var logs bytes.Buffer
			s := NewScheduler(rec, LoaderFunc(func(context.Context) (access.Snapshot, error) { return demoSnapshot(start), nil }),
				clock, slog.New(slog.NewTextHandler(&logs, nil)))
			s.Ceiling = tc.ceiling
			if tc.wake {
				s.Floor = 0
			}

			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() { done <- s.Run(ctx) }()
			for len(rec.times()) < len(tc.want) {
				require.NoError(t, clock.BlockUntilContext(ctx, 1))
				if tc.wake {
					n := len(rec.times())
					s.Wake()
					require.Eventually(t, func() bool { return len(rec.times()) > n }, 10*time.Second, time.Millisecond)
					continue
				}
				clock.Advance(time.Minute) // step, so that a run late by more than a minute shows
			}
			require.NoError(t, clock.BlockUntilContext(ctx, 1))
			cancel()
			require.NoError(t, <-done)
			if diff := cmp.Diff(tc.want, rec.times()[:len(tc.want)]); diff != "" {
				t.Errorf("sync times (-want +got):\n%s\nlogs:\n%s", diff, logs.String())
			}
			require.True(t, strings.HasSuffix(strings.TrimSpace(logs.String()), "msg=stopped"), logs.String())
		})
	}
}

func TestClamp(t *testing.T) {
	t.Parallel()
	s := NewScheduler(nil, nil, clockwork.NewFakeClockAt(start), slog.New(slog.DiscardHandler))
	tests := []struct {
		name string
		next time.Time
		want time.Time
	}{
		{name: "due now waits the floor", next: start, want: start.Add(30 * time.Second)},
		{name: "in between", next: start.Add(5 * time.Minute), want: start.Add(5 * time.Minute)},
		{name: "far away waits the ceiling", next: start.Add(24 * time.Hour), want: start.Add(15 * time.Minute)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := s.clamp(start, tc.next); !got.Equal(tc.want) {
				t.Errorf("clamp(%v) = %v, want %v", tc.next, got, tc.want)
			}
		})
	}
}
