package kisitest

import (
	"log/slog"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/kisisync/kisisync/kisi"
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
	unlimited         map[string]bool
	budget            *Budget // shared with other servers; see WithBudget

	// Behaviours Kisi does not document; see the options of the same
	// names.
	expiredLinksCount    bool
	starEmptyRange       bool
	confirmedField       bool
	userEmailFilter      bool
	validityPrecision    time.Duration
	rejectNonGroupWindow bool
	duplicateRoleKey     string
	existingUserAnswer   bool
	eventSetsAtOnce      bool
	readsNeedOrgRole     bool
	customRoles          []CustomRole
}

func defaultConfig() config {
	return config{
		clock:             clockwork.NewRealClock(),
		logger:            slog.New(slog.DiscardHandler),
		rateLimit:         5,
		eventSetRateLimit: 1,
		emailLinkLimit:    kisi.EmailLinkLimit,
		prefix:            "/kisi",

		expiredLinksCount:    true,
		starEmptyRange:       true,
		confirmedField:       true,
		userEmailFilter:      true,
		rejectNonGroupWindow: true,
		duplicateRoleKey:     "assignee_id",
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
// once in the organization (default [kisi.EmailLinkLimit], Kisi's quota). Links whose
// valid_until has passed count until they are deleted, as Kisi's
// documentation says (see [WithExpiredLinksCounted]).
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

// WithUnlimitedUsers exempts the users with these emails from the rate
// limit, for a test's observer that reads the fake's state through the API
// as often as it likes without spending the budget of the keys under test.
// Emails match case-insensitively.
func WithUnlimitedUsers(emails ...string) Option {
	return func(cfg *config) {
		if cfg.unlimited == nil {
			cfg.unlimited = make(map[string]bool, len(emails))
		}
		for _, e := range emails {
			cfg.unlimited[strings.ToLower(strings.TrimSpace(e))] = true
		}
	}
}

// WithGroups creates organization-scoped groups with these names when the
// server starts, in order, so their ids ascend in the same order.
func WithGroups(names ...string) Option {
	return func(cfg *config) { cfg.groups = append(cfg.groups, names...) }
}

// The options below choose among behaviours Kisi does not document. Each
// default is the one Kisi's documentation or its own client points to (or,
// lacking that, the stricter answer); the probe in examples/kisiprobe tells
// which setting a real organization matches.

// WithExpiredLinksCounted sets whether email links whose valid_until has
// passed count toward the email-link quota until they are deleted (true,
// the default, as Kisi's documentation says) or stop counting when they
// expire (false).
func WithExpiredLinksCounted(counted bool) Option {
	return func(cfg *config) { cfg.expiredLinksCount = counted }
}

// WithStarEmptyRange sets whether an empty list answers
// "X-Collection-Range: */0" (true, the default: the form Kisi's own client
// parses) or "<offset>-<end>/0" like a non-empty page (false).
func WithStarEmptyRange(star bool) Option {
	return func(cfg *config) { cfg.starEmptyRange = star }
}

// WithConfirmedField sets whether user objects carry the deprecated
// "confirmed" key (true, the default, as Kisi still sends it) or leave it
// out (false), as they may once Kisi drops it.
func WithConfirmedField(present bool) Option {
	return func(cfg *config) { cfg.confirmedField = present }
}

// WithUserEmailFilter sets whether GET /users honours the spec's "email"
// filter (true, the default: an exact, case-insensitive match) or ignores it
// (false), as a server that knows only "query" would, listing every user.
// "query" works either way.
func WithUserEmailFilter(honoured bool) Option {
	return func(cfg *config) { cfg.userEmailFilter = honoured }
}

// WithValidityPrecision truncates the valid_from and valid_until of role
// assignments to a multiple of d when they are stored, e.g. time.Minute for
// a server that keeps whole minutes. The default, 0, keeps what the fake
// writes: milliseconds.
func WithValidityPrecision(d time.Duration) Option {
	return func(cfg *config) {
		if d >= 0 {
			cfg.validityPrecision = d
		}
	}
}

// WithNonGroupValidityRejected sets what a create of an organization- or
// place-scoped role assignment with a valid_from or valid_until gets: 422
// on "base" (true, the default) or 200 with the window dropped (false). The
// spec gives those scopes no window keys but does not say which answer
// comes.
func WithNonGroupValidityRejected(rejected bool) Option {
	return func(cfg *config) { cfg.rejectNonGroupWindow = rejected }
}

// WithDuplicateRoleErrorKey sets the key of the 422 a second role of one
// assignee in one scope gets (default "assignee_id"); Kisi documents the
// rule but not the key, e.g. "base" or "user_id".
func WithDuplicateRoleErrorKey(key string) Option {
	return func(cfg *config) {
		if key != "" {
			cfg.duplicateRoleKey = key
		}
	}
}

// WithExistingUserOnDuplicateEmail sets what a user create for an email
// that already has a user gets: 422 on "email" (false, the default) or 200
// with the existing user, unchanged (true). Kisi does not document which;
// the probe in examples/kisiprobe tells.
func WithExistingUserOnDuplicateEmail(existing bool) Option {
	return func(cfg *config) { cfg.existingUserAnswer = existing }
}

// WithEventSetsFinishedAtOnce sets whether POST /event_sets answers with
// the set finished and its first page of events (true) or in progress, to
// be polled (false, the default). Kisi documents both states without
// saying how long a set takes; a client must handle either.
func WithEventSetsFinishedAtOnce(atOnce bool) Option {
	return func(cfg *config) { cfg.eventSetsAtOnce = atOnce }
}

// WithReadsNeedOrganizationRole sets what a key whose user holds no
// organization role (not even Observer) may read. Kisi does not document
// it. false (the default): every key reads everything, as an administrator
// does. true: such a key reads only its own user (GET /user), the
// organization, the roles, places and locks; every other GET, of users,
// groups, role assignments, links, events or integrations, answers 403.
// Writes need an organization owner or administrator either way.
func WithReadsNeedOrganizationRole(need bool) Option {
	return func(cfg *config) { cfg.readsNeedOrgRole = need }
}

// CustomRole is an organization-defined role for [WithCustomRoles].
type CustomRole struct {
	// ID is the role_id, e.g. "night_shift".
	ID string
	// AppliesTo is "Organization", "Place" or "Group".
	AppliesTo string
	// Name is the display name.
	Name string
	// Permissions are the role's permissions as GET /roles lists them;
	// nil lists {"locks_unlock": true}. An organization role with
	// role_assignments_write and users_write may write, as every role
	// GET /roles lists with them may.
	Permissions map[string]bool
}

// WithCustomRoles adds organization-defined roles to GET /roles (with
// custom true and a custom_role_id). Role assignments accept a role id only
// if GET /roles lists it with the assignment's scope, so custom roles can be
// assigned once added here.
func WithCustomRoles(roles ...CustomRole) Option {
	return func(cfg *config) { cfg.customRoles = append(cfg.customRoles, roles...) }
}
