package kisi

import (
	"context"
	"crypto/x509"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"github.com/jonboulle/clockwork"
	"golang.org/x/time/rate"
)

// newRetryClient builds the transport stack once:
// retryablehttp.Client → rate-limiting RoundTripper → base transport.
// Every field of the retryablehttp.Client is set here.
func (c *Client) newRetryClient(o options) *retryablehttp.Client {
	var hc http.Client
	if o.httpClient != nil {
		hc = *o.httpClient // shallow copy; the caller's client is not modified
	} else {
		hc = http.Client{Timeout: DefaultTimeout}
	}
	base := hc.Transport
	if base == nil {
		base = defaultTransport()
	}
	var lim, esLim *rate.Limiter
	switch {
	case o.limiter != nil:
		lim = o.limiter
	case o.limit != rate.Inf:
		lim = rate.NewLimiter(o.limit, o.burst)
	}
	if lim != nil && lim.Limit() != rate.Inf {
		// Pacing is on: POST /event_sets also keeps Kisi's 1 per second.
		esLim = rate.NewLimiter(EventSetRateLimit, 1)
	}
	hc.Transport = &limitTransport{base: base, limiter: lim, eventSets: esLim, clock: o.clock}
	return &retryablehttp.Client{
		HTTPClient:      &hc,
		Logger:          nil, // untyped nil: we log ourselves, at debug, without URLs' query values
		RetryWaitMin:    o.retry.waitMin,
		RetryWaitMax:    o.retry.waitMax,
		RetryMax:        o.retry.max,
		RequestLogHook:  c.logRequest,
		ResponseLogHook: c.logResponse,
		CheckRetry:      c.checkRetry,
		Backoff:         noBackoff,
		ErrorHandler:    retryablehttp.PassthroughErrorHandler,
		PrepareRetry:    c.prepareRetry,
	}
}

func defaultTransport() http.RoundTripper {
	if t, ok := http.DefaultTransport.(*http.Transport); ok {
		return t.Clone()
	}
	return http.DefaultTransport
}

// limitTransport waits for a rate-limiter token before every attempt. It
// sits inside the retry loop, so retries are paced too.
type limitTransport struct {
	base      http.RoundTripper
	limiter   *rate.Limiter // nil: no pacing
	eventSets *rate.Limiter // POST /event_sets, on top of limiter; nil: none
	clock     clockwork.Clock
}

// RoundTrip implements http.RoundTripper.
func (t *limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	for _, lim := range t.limitersFor(req) {
		if err := waitToken(req.Context(), lim, t.clock); err != nil {
			if req.Body != nil {
				_ = req.Body.Close()
			}
			return nil, err
		}
	}
	return t.base.RoundTrip(req)
}

// limitersFor returns the limiters req waits for, in order: the endpoint's
// own limit first (so that a token of the shared limiter is not held while
// waiting for it), then the per-user limit.
func (t *limitTransport) limitersFor(req *http.Request) []*rate.Limiter {
	if t.limiter == nil {
		return nil
	}
	if t.eventSets != nil && req.Method == http.MethodPost {
		if st := stateFrom(req.Context()); st != nil && st.endpoint == "/event_sets" {
			return []*rate.Limiter{t.eventSets, t.limiter}
		}
	}
	return []*rate.Limiter{t.limiter}
}

// waitToken is limiter.Wait driven by clock, so a fake clock controls pacing.
func waitToken(ctx context.Context, lim *rate.Limiter, clock clockwork.Clock) error {
	now := clock.Now()
	r := lim.ReserveN(now, 1)
	if !r.OK() {
		return errors.New("rate limiter: burst is zero")
	}
	d := r.DelayFrom(now)
	if d <= 0 {
		return nil
	}
	timer := clock.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		r.CancelAt(clock.Now())
		return ctx.Err()
	case <-timer.Chan():
		return nil
	}
}

// idempotent reports whether a request with method may be sent again
// without changing the result.
func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}

// checkRetry is the single retry decision:
//   - stop when the context is done;
//   - GET, PATCH, PUT and DELETE: retry transport errors and 429, 502, 503
//     and 504;
//   - POST: retry 429 (Kisi refuses the request before acting on it) and
//     transport errors that happened before the request headers were written
//     (dial errors, refused connections, the rate limiter), since such a
//     request never reached Kisi. A POST that failed after it was written is
//     not retried and its error wraps ErrMaybeApplied; a POST answered with a
//     5xx is not retried either and its *Error reports MaybeApplied.
//   - errors that no retry can fix (bad certificates, malformed URLs) are
//     returned at once.
func (c *Client) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return false, ctxErr
	}
	st := stateFrom(ctx)
	if st == nil {
		return false, err
	}
	retry := false
	if err != nil {
		switch {
		case !retryableTransportError(err):
			retry = false
		case idempotent(st.method):
			retry = true
		case !st.wrote.Load() || isDialError(err):
			retry = true
		default:
			st.maybeApplied = true
		}
	} else {
		switch resp.StatusCode {
		case http.StatusTooManyRequests:
			retry = true
		case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			retry = idempotent(st.method)
		}
	}
	if retry {
		st.wait = c.backoff(st.attempt, resp)
		st.attempt++
	}
	return retry, nil
}

func retryableTransportError(err error) bool {
	var certErr *x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalidErr x509.CertificateInvalidError
	switch {
	case errors.As(err, &certErr), errors.As(err, &hostErr), errors.As(err, &invalidErr):
		return false
	}
	return true
}

func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// backoff returns the wait before retry number attempt (0-based): an
// exponential step from waitMin doubling up to waitMax, with equal jitter
// (half fixed, half random). A Retry-After header, which Kisi does not send
// today, is honoured but capped at waitMax.
func (c *Client) backoff(attempt int, resp *http.Response) time.Duration {
	lo, hi := c.retry.waitMin, c.retry.waitMax
	if resp != nil {
		if s := resp.Header.Get("Retry-After"); s != "" {
			if secs, err := strconv.Atoi(s); err == nil && secs >= 0 {
				return min(time.Duration(secs)*time.Second, hi)
			}
		}
	}
	d := lo
	for i := 0; i < attempt && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	half := d / 2
	return half + time.Duration(c.jitter.int64N(int64(d-half)+1))
}

// noBackoff makes retryablehttp's own (real-time) wait zero; the wait
// computed by checkRetry happens in prepareRetry on the client's clock.
func noBackoff(_, _ time.Duration, _ int, _ *http.Response) time.Duration { return 0 }

// prepareRetry waits the backoff computed by checkRetry on the client's
// clock, returning early when the request's context is done.
func (c *Client) prepareRetry(req *http.Request) error {
	st := stateFrom(req.Context())
	if st == nil {
		return nil
	}
	st.wrote.Store(false)
	if st.wait <= 0 {
		return nil
	}
	timer := c.clock.NewTimer(st.wait)
	defer timer.Stop()
	select {
	case <-req.Context().Done():
		return req.Context().Err()
	case <-timer.Chan():
		return nil
	}
}

func (c *Client) logRequest(_ retryablehttp.Logger, req *http.Request, attempt int) {
	if !c.logger.Enabled(req.Context(), slog.LevelDebug) {
		return
	}
	st := stateFrom(req.Context())
	endpoint := req.URL.Path
	if st != nil {
		endpoint = st.endpoint
	}
	c.logger.LogAttrs(req.Context(), slog.LevelDebug, "kisi: request",
		slog.String("method", req.Method), slog.String("endpoint", endpoint), slog.Int("attempt", attempt+1))
}

func (c *Client) logResponse(_ retryablehttp.Logger, resp *http.Response) {
	ctx := resp.Request.Context()
	if !c.logger.Enabled(ctx, slog.LevelDebug) {
		return
	}
	c.logger.LogAttrs(ctx, slog.LevelDebug, "kisi: response",
		slog.String("method", resp.Request.Method), slog.Int("status", resp.StatusCode))
}
