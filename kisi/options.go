package kisi

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"
	"golang.org/x/time/rate"
)

// Option configures a [Client] in [NewClient]. An Option that receives an
// invalid value makes NewClient return an error.
type Option func(*options) error

type options struct {
	baseURL    string
	httpClient *http.Client
	logger     *slog.Logger
	limit      rate.Limit
	burst      int
	retry      retryConfig
	userAgent  string
	clock      clockwork.Clock
	limiter    *rate.Limiter // shared limiter; nil: one of the client's own
	// integration headers; empty: not sent
	integrationID, integrationContact string
}

// retryConfig bounds the retries of one call.
type retryConfig struct {
	max              int
	waitMin, waitMax time.Duration
}

// Defaults of the options.
const (
	// DefaultRateLimit is Kisi's per-user limit in requests per second.
	DefaultRateLimit rate.Limit = 5
	// DefaultBurst is the number of requests that may go out at once.
	DefaultBurst = 1
	// DefaultRetryMax is the number of retries after the first attempt.
	DefaultRetryMax = 4
	// DefaultRetryWaitMin is the first backoff wait.
	DefaultRetryWaitMin = 500 * time.Millisecond
	// DefaultRetryWaitMax caps every backoff wait, including a Retry-After.
	DefaultRetryWaitMax = 30 * time.Second
	// DefaultTimeout bounds each attempt of the default HTTP client.
	DefaultTimeout = 30 * time.Second
	// EventSetRateLimit is Kisi's own limit on POST /event_sets, in
	// requests per second; the client paces those requests to it on top of
	// the per-user limit.
	EventSetRateLimit rate.Limit = 1
)

func defaultOptions() options {
	return options{
		baseURL:   DefaultBaseURL,
		limit:     DefaultRateLimit,
		burst:     DefaultBurst,
		retry:     retryConfig{max: DefaultRetryMax, waitMin: DefaultRetryWaitMin, waitMax: DefaultRetryWaitMax},
		userAgent: defaultUserAgent,
	}
}

// WithBaseURL sets the API root, e.g. "https://api.kisi.io" or a fake
// server's URL with a path prefix; paths such as /role_assignments are
// appended to it whether or not it ends in a slash.
func WithBaseURL(u string) Option {
	return func(o *options) error {
		if _, err := parseBaseURL(u); err != nil {
			return err
		}
		o.baseURL = u
		return nil
	}
}

// WithHTTPClient sets the HTTP client whose transport, timeout, redirect
// policy and cookie jar the Client uses. The Client copies it and wraps its
// transport with the rate limiter; hc itself is not modified.
func WithHTTPClient(hc *http.Client) Option {
	return func(o *options) error {
		if hc == nil {
			return errors.New("nil http client")
		}
		o.httpClient = hc
		return nil
	}
}

// WithLogger sets the logger for debug lines about requests and retries and
// warnings about deprecated endpoints. The default discards everything.
// Logs never carry the API key, headers, bodies or query values.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return errors.New("nil logger")
		}
		o.logger = l
		return nil
	}
}

// WithRateLimit sets the pace of requests in requests per second and the
// burst. Every attempt, retries included, waits for a token. rate.Inf turns
// pacing off. The default is 5 per second with a burst of 1, Kisi's limit
// per user, shared by all the user's keys.
func WithRateLimit(limit rate.Limit, burst int) Option {
	return func(o *options) error {
		if limit <= 0 {
			return fmt.Errorf("invalid rate limit %v: must be positive", limit)
		}
		if burst < 1 && limit != rate.Inf {
			return fmt.Errorf("invalid burst %d: must be at least 1", burst)
		}
		o.limit, o.burst = limit, burst
		return nil
	}
}

// WithLimiter makes the client wait for tokens of l instead of a limiter of
// its own, so that several clients whose keys belong to one Kisi user share
// Kisi's per-user budget of 5 requests per second: create one
// rate.NewLimiter(kisi.DefaultRateLimit, kisi.DefaultBurst) and pass it to
// each of them. Tokens are reserved on the client's clock ([WithClock]). It
// overrides [WithRateLimit]. POST /event_sets keeps its own additional pace
// of [EventSetRateLimit] per client.
func WithLimiter(l *rate.Limiter) Option {
	return func(o *options) error {
		if l == nil {
			return errors.New("nil limiter")
		}
		if l.Burst() < 1 && l.Limit() != rate.Inf {
			return fmt.Errorf("invalid limiter burst %d: must be at least 1", l.Burst())
		}
		o.limiter = l
		return nil
	}
}

// Header names Kisi asks integration partners to send.
const (
	IntegrationIdentifierHeader = "X-Kisi-Integration-Identifier"
	IntegrationContactHeader    = "X-Kisi-Integration-Contact"
)

// WithIntegration sends identifier and contact as the
// X-Kisi-Integration-Identifier and X-Kisi-Integration-Contact headers on
// every request. Kisi asks integration partners to send both, so that it can
// tell which integration a request comes from and whom to contact about it
// (one page of Kisi's documentation calls them required, another
// recommended). identifier names the integration (e.g. "acme-coworking"),
// contact is an email address or URL. Both must be non-empty and free of
// control characters. Without this option neither header is sent.
func WithIntegration(identifier, contact string) Option {
	return func(o *options) error {
		identifier, contact = strings.TrimSpace(identifier), strings.TrimSpace(contact)
		if identifier == "" || contact == "" {
			return errors.New("integration identifier and contact must not be empty")
		}
		bad := func(r rune) bool { return r < ' ' || r == 0x7f }
		if strings.ContainsFunc(identifier, bad) || strings.ContainsFunc(contact, bad) {
			return errors.New("integration identifier or contact contains control characters")
		}
		o.integrationID, o.integrationContact = identifier, contact
		return nil
	}
}

// WithRetry sets the number of retries after the first attempt (0 disables
// retries) and the bounds of the exponential backoff between them.
func WithRetry(maxRetries int, waitMin, waitMax time.Duration) Option {
	return func(o *options) error {
		if maxRetries < 0 {
			return fmt.Errorf("invalid retry max %d: must not be negative", maxRetries)
		}
		if waitMin < 0 || waitMax < waitMin {
			return fmt.Errorf("invalid retry waits %v..%v: need 0 <= min <= max", waitMin, waitMax)
		}
		o.retry = retryConfig{max: maxRetries, waitMin: waitMin, waitMax: waitMax}
		return nil
	}
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option {
	return func(o *options) error {
		ua = strings.TrimSpace(ua)
		if ua == "" {
			return errors.New("empty user agent")
		}
		o.userAgent = ua
		return nil
	}
}

// WithClock sets the clock that paces requests, times backoff waits and
// event-set polling, and seeds the backoff jitter. The default is the real
// clock; tests pass a clockwork fake clock.
func WithClock(c clockwork.Clock) Option {
	return func(o *options) error {
		if c == nil {
			return errors.New("nil clock")
		}
		o.clock = c
		return nil
	}
}
