package fleet

import (
	"log/slog"
	"net/http"
	"net/http/httptrace"

	"github.com/jonboulle/clockwork"
)

// sendLog logs, at DEBUG, each Kisi request of a Kisi user at the moment
// its connection is ready to write it ("kisi request sent"): the request
// leaves right after, so these lines give the pace a Kisi user's requests
// left this process at, whatever keeps it (the [SharedLimiter], this
// process's limiter, or none). A request that net/http writes once more
// on another connection is logged again. It belongs above the
// [SharedLimiter]'s transport, whose hook may make the request wait its
// turn again when the connection comes: hooks added later run first, so
// this one sees the moment the request goes. Off (no hook at all) unless
// the logger logs DEBUG.
type sendLog struct {
	base  http.RoundTripper
	log   *slog.Logger
	clock clockwork.Clock
	user  string
}

// RoundTrip implements http.RoundTripper.
func (t sendLog) RoundTrip(r *http.Request) (*http.Response, error) {
	ctx := r.Context()
	if !t.log.Enabled(ctx, slog.LevelDebug) {
		return t.base.RoundTrip(r)
	}
	return t.base.RoundTrip(r.WithContext(httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(httptrace.GotConnInfo) {
			t.log.DebugContext(ctx, "kisi request sent", "kisi_user", t.user, "method", r.Method, "path", r.URL.Path,
				"sent", t.clock.Now())
		},
	})))
}
