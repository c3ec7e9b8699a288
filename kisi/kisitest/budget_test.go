package kisitest_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/kisi/kisitest"
)

// get sends GET path with key to srv and returns the status.
func get(t *testing.T, srv *kisitest.Server, key, path string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+path, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "KISI-LOGIN "+key)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// TestBudgetShared: two organizations (two servers) whose keys belong to
// one Kisi user draw on one budget; an observer exempted from the limit
// is not charged; MaxIn reports the user's peak.
func TestBudgetShared(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	budget := kisitest.NewBudget(5)
	a := kisitest.NewServer(kisitest.WithClock(clock), kisitest.WithBudget(budget), kisitest.WithUnlimitedUsers("watcher@example.com"))
	t.Cleanup(a.Close)
	b := kisitest.NewServer(kisitest.WithClock(clock), kisitest.WithBudget(budget))
	t.Cleanup(b.Close)
	watcher, err := a.NewUserKey("watcher@example.com", "observer")
	require.NoError(t, err)

	var got []int
	for i := range 6 {
		srv := a
		if i%2 == 1 {
			srv = b
		}
		got = append(got, get(t, srv, srv.APIKey, "/organization"))
	}
	require.Equal(t, []int{200, 200, 200, 200, 200, 429}, got, "one budget for both servers")
	require.Equal(t, 200, get(t, a, watcher, "/organization"), "the observer is not charged")

	clock.Advance(200 * time.Millisecond)
	require.Equal(t, 200, get(t, b, b.APIKey, "/organization"))
	require.Equal(t, 429, get(t, a, a.APIKey, "/organization"))

	require.Equal(t, 2, budget.Refused())
	require.Len(t, budget.Admitted(), 6)
	n, at := budget.MaxIn(time.Second)
	require.Equal(t, 6, n)
	require.Equal(t, clock.Now().Add(-200*time.Millisecond), at)
	n, _ = budget.MaxIn(100 * time.Millisecond)
	require.Equal(t, 5, n)
}

// TestBudgetCountsOnly: a budget of 0 per second refuses nothing and still
// records every request, for measuring a client that does not pace itself.
func TestBudgetCountsOnly(t *testing.T) {
	t.Parallel()
	budget := kisitest.NewBudget(0)
	srv := kisitest.NewServer(kisitest.WithBudget(budget))
	t.Cleanup(srv.Close)
	for range 12 {
		require.Equal(t, 200, get(t, srv, srv.APIKey, "/organization"))
	}
	n, _ := budget.MaxIn(time.Minute)
	require.Equal(t, 12, n)
	require.Zero(t, budget.Refused())
}
