package fleet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jonboulle/clockwork"
)

// Kisi's limit per user: KisiLimit requests in any KisiWindow.
const (
	KisiLimit  = 5
	KisiWindow = time.Second
)

// sendMargin widens the window the [SharedLimiter] keeps beyond
// KisiWindow, for the variation in the time from a send's grant to its
// arrival at Kisi: grantValid of it for this process to send the request,
// the rest for the way to Kisi.
const sendMargin = 100 * time.Millisecond

// grantValid is how long after its Take started a grant lets a request
// go. A request that would leave later — the statement came back late (a
// lock, a busy database or process), or the connection was ready only
// later (a dial, a stall) — asks again: the late grant stays counted, and
// the request cannot bunch up at Kisi with those granted after it. The
// database must answer the limiter well within it.
const grantValid = sendMargin / 2

// SharedLimiter paces the Kisi requests of each Kisi user across every
// process on one PostgreSQL: Kisi's limit is per user, whichever process,
// organization or key sends the request, so a limiter per process lets N
// processes send N times the budget.
//
// One row per Kisi user (fleet_rate) holds the user's pace, and a request
// is let go by one statement that checks and records it at once, on the
// database's clock, right before it is sent: it goes when both a GCRA of
// the configured rate (requests at least one interval apart) and a
// sliding log (at most [KisiLimit] sends in [KisiWindow] plus a margin)
// allow; otherwise the statement changes nothing and answers how long to
// wait before asking again. Nothing is reserved ahead, and a grant is
// used only right away (within grantValid of asking, on this process's
// clock, right before the request is written to its connection): a
// request that is late (a slow answer, a stalled process, a new
// connection) asks again, so it is counted when it actually goes and
// cannot bunch up with the ones after it. In each process one request per
// Kisi user asks at a time, so at most one per process waits on the row.
// Safe for concurrent use.
type SharedLimiter struct {
	pool     *pgxpool.Pool
	interval time.Duration
	clock    clockwork.Clock

	mu    sync.Mutex
	users map[string]chan struct{} // Kisi user → its turn in this process

	late atomic.Int64 // grants come too late to be used
}

// NewSharedLimiter returns a limiter of perSecond requests per second per
// Kisi user (and never more than Kisi's limit) over pool (the fleet_rate
// table, see [Migrate]).
func NewSharedLimiter(pool *pgxpool.Pool, perSecond float64, clock clockwork.Clock) *SharedLimiter {
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	return &SharedLimiter{pool: pool, interval: time.Duration(float64(time.Second) / perSecond), clock: clock,
		users: map[string]chan struct{}{}}
}

// takeSQL lets one request of a Kisi user go, or answers the wait before
// it may: $2 is the GCRA interval and $3 the window, in microseconds. It
// returns 0 when the request was let go and recorded.
const takeSQL = `WITH cur AS (
	SELECT kisi_user, tat, sends, clock_timestamp() AS now FROM fleet_rate WHERE kisi_user = $1 FOR UPDATE
), dec AS (
	SELECT kisi_user, now, greatest(now, tat,
		CASE WHEN cardinality(sends) >= 5 THEN sends[cardinality(sends) - 4] + $3::bigint * interval '1 microsecond' END) AS at
	FROM cur
), upd AS (
	UPDATE fleet_rate r SET tat = d.now + $2::bigint * interval '1 microsecond',
		sends = (r.sends || d.now)[greatest(1, cardinality(r.sends) - 3):]
	FROM dec d WHERE r.kisi_user = d.kisi_user AND d.at <= d.now
)
SELECT greatest(0, ceil(extract(epoch FROM at - now) * 1000000))::bigint FROM dec`

// Take lets one request of kisiUser go and reports 0, or changes nothing
// and reports how long to wait before asking again.
func (l *SharedLimiter) Take(ctx context.Context, kisiUser string) (time.Duration, error) {
	var us int64
	err := l.pool.QueryRow(ctx, takeSQL, kisiUser, l.interval.Microseconds(), (KisiWindow + sendMargin).Microseconds()).Scan(&us)
	if errors.Is(err, pgx.ErrNoRows) { // the user's first request

		if _, err = l.pool.Exec(ctx, `INSERT INTO fleet_rate (kisi_user) VALUES ($1) ON CONFLICT DO NOTHING`, kisiUser); err == nil {
			err = l.pool.QueryRow(ctx, takeSQL, kisiUser, l.interval.Microseconds(), (KisiWindow + sendMargin).Microseconds()).Scan(&us)
		}
	}
	if err != nil {
		return 0, fmt.Errorf("fleet: rate limiter of Kisi user %q: %w", kisiUser, err)
	}
	return time.Duration(us) * time.Microsecond, nil
}

// errSlotTooLate is returned when the request's deadline comes before it
// may go.
var errSlotTooLate = errors.New("fleet: the Kisi user's next request may go only after the request's deadline")

// turn returns the channel that gives this process's requests of kisiUser
// their turn to ask, one at a time.
func (l *SharedLimiter) turn(kisiUser string) chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.users[kisiUser]
	if c == nil {
		c = make(chan struct{}, 1)
		l.users[kisiUser] = c
	}
	return c
}

// Wait returns once a request of kisiUser may go (and is counted as
// sent), or with an error when ctx ends first or its deadline comes
// before the request may go. The request must go at once (see
// [SharedLimiter.Transport], which sees to it).
func (l *SharedLimiter) Wait(ctx context.Context, kisiUser string) error {
	_, err := l.wait(ctx, kisiUser)
	return err
}

// wait is Wait; it returns when the Take that granted the request started.
func (l *SharedLimiter) wait(ctx context.Context, kisiUser string) (time.Time, error) {
	turn := l.turn(kisiUser)
	select {
	case turn <- struct{}{}:
	case <-ctx.Done():
		return time.Time{}, ctx.Err()
	}
	defer func() { <-turn }()
	for {
		asked := l.clock.Now()
		d, err := l.Take(ctx, kisiUser)
		switch {
		case err != nil:
			return time.Time{}, err
		case d == 0 && l.fresh(asked):
			return asked, nil
		case d == 0:
			l.late.Add(1)
			continue // granted too late to be used: ask again
		}
		if dl, ok := ctx.Deadline(); ok && dl.Before(l.clock.Now().Add(d)) {
			return time.Time{}, errSlotTooLate
		}
		t := l.clock.NewTimer(d)
		select {
		case <-t.Chan():
		case <-ctx.Done():
			t.Stop()
			return time.Time{}, ctx.Err()
		}
	}
}

// Late returns how many grants came too late for their request to use
// (see grantValid): each cost its Kisi user a slot. Many mean the
// database answers the limiter too slowly, or connections to Kisi are
// often new.
func (l *SharedLimiter) Late() int64 { return l.late.Load() }

// fresh reports whether a grant whose Take started at asked may still
// let its request go.
func (l *SharedLimiter) fresh(asked time.Time) bool {
	return l.clock.Since(asked) <= grantValid
}

// Transport returns a RoundTripper that waits until a request of kisiUser
// may go before every request it passes to base, and asks again when the
// request's connection is ready too late for its grant (see grantValid)
// or net/http sends it once more on another connection. It belongs below
// the Kisi client's own limiter and retries (kisi.WithHTTPClient), so
// every attempt is paced. base must be an *http.Transport, or pass the
// request's httptrace hooks on to one.
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
	asked, err := t.l.wait(r.Context(), t.user)
	if err != nil {
		if r.Body != nil {
			_ = r.Body.Close()
		}
		return nil, err
	}
	if r.Body == nil || r.Body == http.NoBody {
		// net/http sends a bodiless GET again by itself when a reused
		// connection fails after sending it, and that second request
		// would not wait its turn. A body it cannot replay (empty,
		// without GetBody) turns that off; an empty body still goes out
		// as none. The Kisi client's own retry, which waits its turn,
		// sends it again instead.
		r = r.Clone(r.Context())
		r.Body, r.GetBody, r.ContentLength = io.NopCloser(strings.NewReader("")), nil, 0
	}
	// The grant holds for one write, right away. GotConn comes right
	// before the request is written, in this goroutine (HTTP/1 and 2).
	ctx, used := r.Context(), false
	return t.base.RoundTrip(r.WithContext(httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) {
			if !used && t.l.fresh(asked) {
				used = true
				return
			}
			if !used {
				t.l.late.Add(1)
			}
			// Late, or sent again: ask again, even if ctx ended meanwhile
			// (then the request goes paced, and its answer is dropped).
			if asked, err = t.l.wait(context.WithoutCancel(ctx), t.user); err != nil {
				// No grant (the database fails): the request must not
				// go out unpaced. Over HTTP/2 this also ends the other
				// requests on the connection; their retries ask again.
				_ = info.Conn.Close()
			}
		},
	})))
}
