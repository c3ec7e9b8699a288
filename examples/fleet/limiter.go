package fleet

import (
	"sync"

	"golang.org/x/time/rate"
)

// Limiters hands out one rate limiter per Kisi user, so that all the
// organizations whose API keys belong to one Kisi user share Kisi's
// per-user budget within this process. Safe for concurrent use.
type Limiters struct {
	limit rate.Limit
	mu    sync.Mutex
	by    map[string]*rate.Limiter
}

// NewLimiters returns Limiters pacing each Kisi user to perSecond requests
// per second with a burst of 1.
func NewLimiters(perSecond float64) *Limiters {
	return &Limiters{limit: rate.Limit(perSecond), by: map[string]*rate.Limiter{}}
}

// For returns the limiter of the Kisi user kisiUser, the same one on every
// call.
func (l *Limiters) For(kisiUser string) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim := l.by[kisiUser]
	if lim == nil {
		lim = rate.NewLimiter(l.limit, 1)
		l.by[kisiUser] = lim
	}
	return lim
}
