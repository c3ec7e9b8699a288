package kisi_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/kisisync/kisisync/kisi"
)

// clockElapsed runs the calls concurrently and advances clock by step
// whenever one of them waits on it, until all are done. It returns the
// clock time the calls took.
func clockElapsed(t *testing.T, clock *clockwork.FakeClock, step time.Duration, calls ...func() error) time.Duration {
	t.Helper()
	start := clock.Now()
	errs := make(chan error, len(calls))
	var wg sync.WaitGroup
	for _, call := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- call()
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for {
		select {
		case <-done:
			close(errs)
			for err := range errs {
				require.NoError(t, err)
			}
			return clock.Since(start)
		default:
		}
		bctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
		err := clock.BlockUntilContext(bctx, 1)
		cancel()
		if err == nil {
			clock.Advance(step)
		}
	}
}

// TestEventSetPacing: POST /event_sets waits for Kisi's own 1 request per
// second on top of the 5 per second of every other call.
func TestEventSetPacing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		path     string
		min, max time.Duration
	}{
		// Three requests: two waits each.
		{name: "POST /event_sets at 1/s", path: "event_sets", min: 2 * time.Second, max: 2400 * time.Millisecond},
		{name: "POST /groups at 5/s", path: "groups", min: 400 * time.Millisecond, max: 800 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := clockwork.NewFakeClockAt(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
			c, mux, _ := setup(t, kisi.WithClock(clock), kisi.WithRateLimit(5, 1))
			mux.HandleFunc("POST /event_sets", func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, http.StatusOK, map[string]any{"id": 7, "status": "in_progress"})
			})
			mux.HandleFunc("POST /groups", func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, http.StatusOK, map[string]any{"id": 8, "name": "g"})
			})
			ctx := t.Context()
			call := func() error {
				if tc.path == "event_sets" {
					_, _, err := c.EventSets.Create(ctx, nil)
					return err
				}
				_, _, err := c.Groups.Create(ctx, &kisi.GroupCreateRequest{Name: "g"})
				return err
			}
			got := clockElapsed(t, clock, 100*time.Millisecond, func() error {
				for range 3 {
					if err := call(); err != nil {
						return err
					}
				}
				return nil
			})
			if got < tc.min || got > tc.max {
				t.Errorf("three requests took %v of clock time, want %v..%v", got, tc.min, tc.max)
			}
		})
	}
}

// TestSharedLimiter: clients whose keys belong to one Kisi user share
// Kisi's 5 requests per second when given one limiter: after client a's
// request, client b's waits for the next token (200 ms of clock time) when
// they share a limiter and goes at once when each has its own.
func TestSharedLimiter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		shared bool
		want   time.Duration // clock time b's request waited
	}{
		{name: "one limiter for both", shared: true, want: 200 * time.Millisecond},
		{name: "a limiter each", shared: false, want: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := clockwork.NewFakeClockAt(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
			lim := rate.NewLimiter(kisi.DefaultRateLimit, kisi.DefaultBurst)
			opt := func() kisi.Option {
				if tc.shared {
					return kisi.WithLimiter(lim)
				}
				return kisi.WithRateLimit(kisi.DefaultRateLimit, kisi.DefaultBurst)
			}
			a, mux, srv := setup(t, kisi.WithClock(clock), opt())
			mux.HandleFunc("GET /groups/1", func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, http.StatusOK, map[string]any{"id": 1})
			})
			b, err := kisi.NewClient("other-key-of-the-same-user", kisi.WithBaseURL(srv.URL+pathPrefix),
				kisi.WithClock(clock), opt())
			require.NoError(t, err)
			ctx := t.Context()
			_, _, err = a.Groups.Get(ctx, 1)
			require.NoError(t, err)

			start := clock.Now()
			done := make(chan error, 1)
			go func() {
				_, _, err := b.Groups.Get(ctx, 1)
				done <- err
			}()
			if tc.shared {
				require.NoError(t, clock.BlockUntilContext(ctx, 1), "b waits for a token")
				select {
				case err := <-done:
					t.Fatalf("b's request went out without waiting (err %v)", err)
				default:
				}
				clock.Advance(200 * time.Millisecond)
			}
			require.NoError(t, <-done)
			if got := clock.Since(start); got != tc.want {
				t.Errorf("b's request waited %v of clock time, want %v", got, tc.want)
			}
		})
	}
}

func TestWithLimiterInvalid(t *testing.T) {
	t.Parallel()
	for name, opt := range map[string]kisi.Option{
		"nil":        kisi.WithLimiter(nil),
		"zero burst": kisi.WithLimiter(rate.NewLimiter(5, 0)),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if _, err := kisi.NewClient("k", opt); err == nil {
				t.Error("NewClient accepted an invalid limiter")
			}
		})
	}
}

// TestIntegrationHeaders: WithIntegration sends Kisi's two partner headers
// on every request; without it neither is sent.
func TestIntegrationHeaders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		opts        []kisi.Option
		id, contact string
	}{
		{name: "without the option"},
		{name: "with the option", opts: []kisi.Option{kisi.WithIntegration(" acme-coworking ", "ops@acme.example")},
			id: "acme-coworking", contact: "ops@acme.example"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, mux, _ := setup(t, tc.opts...)
			var gotID, gotContact []string
			mux.HandleFunc("GET /groups/1", func(w http.ResponseWriter, r *http.Request) {
				gotID, gotContact = r.Header.Values(kisi.IntegrationIdentifierHeader), r.Header.Values(kisi.IntegrationContactHeader)
				writeJSON(w, http.StatusOK, map[string]any{"id": 1})
			})
			_, _, err := c.Groups.Get(t.Context(), 1)
			require.NoError(t, err)
			want := func(s string) []string {
				if s == "" {
					return nil
				}
				return []string{s}
			}
			require.Equal(t, want(tc.id), gotID)
			require.Equal(t, want(tc.contact), gotContact)
		})
	}
	for name, opt := range map[string]kisi.Option{
		"empty identifier":  kisi.WithIntegration("", "ops@acme.example"),
		"empty contact":     kisi.WithIntegration("acme", " "),
		"control character": kisi.WithIntegration("ac\nme", "ops@acme.example"),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := kisi.NewClient("k", opt); err == nil {
				t.Error("NewClient accepted an invalid integration option")
			}
		})
	}
}

// TestEmptyListStarRange: "X-Collection-Range: */0" on an empty list gives
// Total 0 and no next page.
func TestEmptyListStarRange(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	mux.HandleFunc("GET /groups", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Collection-Range", "*/0")
		writeJSON(w, http.StatusOK, []any{})
	})
	groups, resp, err := c.Groups.List(t.Context(), nil)
	require.NoError(t, err)
	if len(groups) != 0 || resp.Total != 0 || resp.NextOffset != 0 {
		t.Errorf("got %d groups, Total %d, NextOffset %d; want 0, 0, 0", len(groups), resp.Total, resp.NextOffset)
	}
}
