package kisitest

import (
	"slices"
	"sync"
	"time"
)

// Budget is one Kisi user's rate budget shared by several servers: at Kisi
// every API key of a user draws on one quota, whichever organization the
// key belongs to, so a test that gives each organization its own [Server]
// shares a Budget between the servers of one user (see [WithBudget]) to see
// and enforce that user's total. It records the time of every request it
// admits and counts the ones it refused, for assertions on the rate a
// user's keys reached. Safe for concurrent use.
type Budget struct {
	perSecond int

	mu       sync.Mutex
	user     bucket // Kisi's per-user limit
	eventSet bucket // POST /event_sets, on top
	admitted []time.Time
	refused  int
}

// NewBudget returns a budget of perSecond requests per second with Kisi's
// refill (a bucket of perSecond tokens, as the server's own limiter), plus
// 1 per second for POST /event_sets. perSecond <= 0 counts requests without
// ever refusing one.
func NewBudget(perSecond int) *Budget { return &Budget{perSecond: perSecond} }

// WithBudget makes the server charge the requests of its rate-limited users
// (all but [WithUnlimitedUsers]) to b instead of a bucket of their own, and
// answer 429 when b is spent. The servers sharing b should share a clock
// ([WithClock]); the real one by default.
func WithBudget(b *Budget) Option {
	return func(cfg *config) { cfg.budget = b }
}

// allow admits or refuses one request at now.
func (b *Budget) allow(now time.Time, eventSet bool) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	ok := true
	if b.perSecond > 0 {
		if eventSet {
			ok = b.eventSet.peek(now, 1) && b.user.take(now, b.perSecond) && b.eventSet.take(now, 1)
		} else {
			ok = b.user.take(now, b.perSecond)
		}
	}
	if !ok {
		b.refused++
		return false
	}
	b.admitted = append(b.admitted, now)
	return true
}

// Admitted returns the times of the requests the budget admitted, in the
// order admitted.
func (b *Budget) Admitted() []time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.admitted)
}

// Refused returns how many requests the budget answered with 429.
func (b *Budget) Refused() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.refused
}

// MaxIn returns the most requests the budget admitted within any window of
// length d (a window includes its start, not its end), and where the
// first such window starts.
func (b *Budget) MaxIn(d time.Duration) (n int, at time.Time) {
	times := b.Admitted()
	slices.SortFunc(times, time.Time.Compare)
	lo := 0
	for hi, t := range times {
		for !t.Before(times[lo].Add(d)) {
			lo++
		}
		if c := hi - lo + 1; c > n {
			n, at = c, times[lo]
		}
	}
	return n, at
}
