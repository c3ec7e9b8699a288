package kisitest

import (
	"log/slog"
	"strings"

	"github.com/jonboulle/clockwork"
)

// Option configures a [Server] created by [NewServer].
type Option func(*config)

type config struct {
	clock             clockwork.Clock
	logger            *slog.Logger
	rateLimit         int
	eventSetRateLimit int
	patchableValidity bool
	emailLinkLimit    int
	prefix            string
	groups            []string
}

func defaultConfig() config {
	return config{
		clock:             clockwork.NewRealClock(),
		logger:            slog.New(slog.DiscardHandler),
		rateLimit:         5,
		eventSetRateLimit: 1,
		emailLinkLimit:    1000,
		prefix:            "/kisi",
	}
}

// WithClock sets the clock the server reads "now" from: created_at and
// updated_at, event times, validity checks, the rate limiter and fault
// latency all use it. The default is the real clock.
func WithClock(c clockwork.Clock) Option {
	return func(cfg *config) {
		if c != nil {
			cfg.clock = c
		}
	}
}

// WithLogger sets the logger that receives one Debug record per request
// (method, path, status). API keys and bodies are never logged. The default
// discards everything.
func WithLogger(l *slog.Logger) Option {
	return func(cfg *config) {
		if l != nil {
			cfg.logger = l
		}
	}
}

// WithRateLimit sets how many requests per second each user may make before
// the server answers 429, like Kisi's 5 requests per second per user (the
// default). n <= 0 turns rate limiting off, as [WithoutRateLimit] does.
// POST /event_sets keeps its own limit of 1 per second while limiting is on.
func WithRateLimit(n int) Option {
	return func(cfg *config) {
		cfg.rateLimit = n
		if n <= 0 {
			cfg.eventSetRateLimit = 0
		} else if cfg.eventSetRateLimit == 0 {
			cfg.eventSetRateLimit = 1
		}
	}
}

// WithoutRateLimit turns rate limiting off, including the 1 per second
// limit of POST /event_sets.
func WithoutRateLimit() Option {
	return WithRateLimit(0)
}

// WithPatchableValidity sets whether PATCH /role_assignments/{id} may change
// valid_from and valid_until. Kisi documents only role_id and notify, so by
// default the server ignores the two keys (answering 204 without changing
// the window), as a server with strict parameter lists would; a client that
// verifies its PATCH by reading the object back sees the old window.
func WithPatchableValidity(ok bool) Option {
	return func(cfg *config) { cfg.patchableValidity = ok }
}

// WithEmailLinkLimit sets how many group links with an email may exist at
// once in the organization (default 1000, Kisi's quota). Links whose
// valid_until has passed do not count.
func WithEmailLinkLimit(n int) Option {
	return func(cfg *config) {
		if n >= 0 {
			cfg.emailLinkLimit = n
		}
	}
}

// WithPathPrefix sets the path prefix the API is mounted under (default
// "/kisi"), so a client that builds absolute paths instead of appending to
// its base URL fails. The prefix must start with "/" and not end with one;
// "" mounts the API at the root.
func WithPathPrefix(prefix string) Option {
	return func(cfg *config) {
		prefix = strings.TrimRight(prefix, "/")
		if prefix != "" && prefix[0] != '/' {
			prefix = "/" + prefix
		}
		cfg.prefix = prefix
	}
}

// WithGroups creates organization-scoped groups with these names when the
// server starts, in order, so their ids ascend in the same order.
func WithGroups(names ...string) Option {
	return func(cfg *config) { cfg.groups = append(cfg.groups, names...) }
}
