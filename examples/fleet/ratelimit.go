package fleet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jonboulle/clockwork"
)

// SharedLimiter paces the Kisi requests of each Kisi user across every
// process on one PostgreSQL: Kisi's limit is per user, whichever process,
// organization or key sends the request, so a limiter per process lets N
// processes send N times the budget.
//
// It is a GCRA with a burst of 1 kept in one row per Kisi user
// (fleet_rate): each request reserves the next free slot in one statement
// (the slot is max(the row's time, the database's now); the row moves one
// interval past it) and waits until that slot, so requests of one user are
// at least one interval apart on the database's clock, whichever process
// sends them. Only the wait is measured on the process's clock, so clock
// skew between hosts does not matter. A request whose context ends while
// it waits gives up its slot, which stays unused: the budget is never
// overspent. Safe for concurrent use.
type SharedLimiter struct {
	pool     *pgxpool.Pool
	interval time.Duration
	clock    clockwork.Clock
}

// NewSharedLimiter returns a limiter of perSecond requests per second per
// Kisi user over pool (the fleet_rate table, see [Migrate]).
func NewSharedLimiter(pool *pgxpool.Pool, perSecond float64, clock clockwork.Clock) *SharedLimiter {
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	return &SharedLimiter{pool: pool, interval: time.Duration(float64(time.Second) / perSecond), clock: clock}
}

// reserveSQL reserves the next slot of a Kisi user in one statement and
// returns the wait until it in microseconds ($2 is the interval in
// microseconds). It reads clock_timestamp(), not now(): the time after
// the row lock was taken, so that the wait does not include the time spent
// queueing behind other processes' reservations.
const reserveSQL = `INSERT INTO fleet_rate AS r (kisi_user, tat) VALUES ($1, clock_timestamp() + $2::bigint * interval '1 microsecond')
ON CONFLICT (kisi_user) DO UPDATE SET tat = greatest(r.tat, clock_timestamp()) + $2::bigint * interval '1 microsecond'
RETURNING (extract(epoch FROM r.tat - clock_timestamp()) * 1000000)::bigint - $2::bigint`

// Reserve reserves the next request slot of kisiUser and returns how long
// to wait for it.
func (l *SharedLimiter) Reserve(ctx context.Context, kisiUser string) (time.Duration, error) {
	var us int64
	if err := l.pool.QueryRow(ctx, reserveSQL, kisiUser, l.interval.Microseconds()).Scan(&us); err != nil {
		return 0, fmt.Errorf("fleet: rate limiter of Kisi user %q: %w", kisiUser, err)
	}
	return max(0, time.Duration(us)*time.Microsecond), nil
}

// errSlotTooLate is returned when the reserved slot is after the request's
// deadline.
var errSlotTooLate = errors.New("fleet: the Kisi user's next request slot is after the request's deadline")

// Wait reserves the next request slot of kisiUser and waits for it.
func (l *SharedLimiter) Wait(ctx context.Context, kisiUser string) error {
	d, err := l.Reserve(ctx, kisiUser)
	if err != nil || d == 0 {
		return err
	}
	if dl, ok := ctx.Deadline(); ok && dl.Before(l.clock.Now().Add(d)) {
		return errSlotTooLate
	}
	t := l.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.Chan():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Transport returns a RoundTripper that waits for a slot of kisiUser before
// every request it passes to base. It belongs below the Kisi client's own
// limiter and retries (kisi.WithHTTPClient), so every attempt is paced.
func (l *SharedLimiter) Transport(kisiUser string, base http.RoundTripper) http.RoundTripper {
	return sharedTransport{l: l, user: kisiUser, base: base}
}

type sharedTransport struct {
	l    *SharedLimiter
	user string
	base http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t sharedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := t.l.Wait(r.Context(), t.user); err != nil {
		if r.Body != nil {
			_ = r.Body.Close()
		}
		return nil, err
	}
	if r.Body == nil || r.Body == http.NoBody {
		// net/http sends a bodiless GET again by itself when a reused
		// connection fails after sending it, and that second request
		// would not wait for a slot. A body it cannot replay (empty,
		// without GetBody) turns that off; an empty body still goes out
		// as none. The Kisi client's own retry, which waits for a slot,
		// sends it again instead.
		r = r.Clone(r.Context())
		r.Body, r.GetBody, r.ContentLength = io.NopCloser(strings.NewReader("")), nil, 0
	}
	return t.base.RoundTrip(r)
}
