package troubleshoot

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/mapping"
)

// Kisi is the read-only part of the Kisi API a [Checker] uses. *[kisi.Client]
// satisfies it through its flat methods, so does any wrapper a host puts
// around the client (metrics, tracing, an adapter), as long as it keeps the
// client's errors wrapped: the checks tell outcomes apart with errors.Is
// ([kisi.ErrNotFound], [kisi.ErrUnauthorized], [kisi.ErrForbidden]).
// Nothing in it writes.
type Kisi interface {
	// CurrentUser returns the Kisi user the API key belongs to.
	CurrentUser(ctx context.Context) (*kisi.User, *kisi.Response, error)
	// GetOrganization returns the API key's organization.
	GetOrganization(ctx context.Context) (*kisi.Organization, *kisi.Response, error)
	// GetUserByEmail returns the user with email, or an error matching
	// kisi.ErrNotFound.
	GetUserByEmail(ctx context.Context, email string) (*kisi.User, *kisi.Response, error)
	// ListRoleAssignments returns one page of role assignments.
	ListRoleAssignments(ctx context.Context, opts *kisi.RoleAssignmentListOptions) ([]*kisi.RoleAssignment, *kisi.Response, error)
	// GetGroup returns the group id.
	GetGroup(ctx context.Context, id int64) (*kisi.Group, *kisi.Response, error)
	// GetPlace returns the place id.
	GetPlace(ctx context.Context, id int64) (*kisi.Place, *kisi.Response, error)
	// ListGroupLocks returns one page of the locks of groups.
	ListGroupLocks(ctx context.Context, opts *kisi.GroupLockListOptions) ([]*kisi.GroupLock, *kisi.Response, error)
	// ListGroupLinks returns one page of group links.
	ListGroupLinks(ctx context.Context, opts *kisi.GroupLinkListOptions) ([]*kisi.GroupLink, *kisi.Response, error)
	// EventSetEvents yields the events of an event set made for req.
	EventSetEvents(ctx context.Context, req *kisi.EventSetCreateRequest, pageSize int) iter.Seq2[*kisi.Event, error]
	// ListIntegrations reads the organization's integrations, to report an
	// event webhook Kisi disabled.
	ListIntegrations(ctx context.Context, opts *kisi.IntegrationListOptions) ([]*kisi.Integration, *kisi.Response, error)
}

// Checker inspects, read only, what only Kisi knows: the API key and the
// mapped groups ([Checker.CheckConnection]) and one member's Kisi user,
// roles and unlock attempts ([Checker.Diagnose]). Create one with [New];
// the zero value is not usable. A Checker keeps no state between calls
// and is safe for concurrent use.
type Checker struct {
	k Kisi
	m mapping.Mapping
	p access.Policy
	o options
}

// New returns a Checker that reads Kisi through k (a *kisi.Client or a
// wrapper of one) for mapping m and policy p, the ones the host's
// [access.Reconciler] uses. It does no I/O. It returns an error for a nil
// k or an invalid option.
func New(k Kisi, m mapping.Mapping, p access.Policy, opts ...Option) (*Checker, error) {
	if k == nil {
		return nil, errors.New("troubleshoot: nil kisi client")
	}
	o := options{clock: clockwork.NewRealClock(), lookback: DefaultUnlockLookback,
		maxAttempts: DefaultMaxAttempts, linkWarn: access.DefaultLinkWarning}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return nil, fmt.Errorf("troubleshoot: %w", err)
		}
	}
	return &Checker{k: k, m: m.Clone(), p: p, o: o}, nil
}

// Option configures a [Checker]; see the With… functions.
type Option func(*options) error

type options struct {
	clock       clockwork.Clock
	store       access.Store
	org         string
	lookback    time.Duration
	maxAttempts int
	linkWarn    int

	reportUnknownConfirmation bool
	unsignedWebhooks          bool // see WithUnsignedWebhooks
}

// Defaults of the options.
const (
	// DefaultUnlockLookback is how far back [Checker.Diagnose] reads unlock
	// attempts.
	DefaultUnlockLookback = 7 * 24 * time.Hour
	// DefaultMaxAttempts is how many recent unlock attempts a [Diagnosis]
	// lists.
	DefaultMaxAttempts = 20
)

// WithClock sets the clock [Checker.CheckConnection] reads "now" from, to
// tell which email links are still in force (default the real clock).
// [Checker.Diagnose] takes its instant as an argument instead.
func WithClock(c clockwork.Clock) Option {
	return func(o *options) error {
		if c == nil {
			return errors.New("nil clock")
		}
		o.clock = c
		return nil
	}
}

// WithStore names the [access.Store] and organization key of the
// [access.Reconciler] (see [access.Reconciler.Organization]), so that the
// checks know exactly which role assignments this SDK manages. Without it
// a role counts as managed when it is a group_basic role created by the API
// key's own Kisi user, which also counts roles a person gave by hand while
// signed in as that user.
func WithStore(st access.Store, org string) Option {
	return func(o *options) error {
		if st == nil {
			return errors.New("nil store")
		}
		if org == "" {
			return errors.New("empty organization")
		}
		o.store, o.org = st, org
		return nil
	}
}

// WithUnlockLookback sets how far before the diagnosed instant
// [Checker.Diagnose] reads the member's unlock attempts (default 7 days,
// at most 90 days, Kisi's limit for an event set).
func WithUnlockLookback(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 || d > 90*24*time.Hour {
			return fmt.Errorf("unlock lookback %v outside (0, 90 days]", d)
		}
		o.lookback = d
		return nil
	}
}

// WithMaxAttempts sets how many of the most recent unlock attempts a
// [Diagnosis] lists (default 20); findings still count every attempt read.
func WithMaxAttempts(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("max attempts %d not positive", n)
		}
		o.maxAttempts = n
		return nil
	}
}

// WithEmailLinkWarning sets the number of email links in force from which
// [Checker.CheckConnection] warns that Kisi's limit of [kisi.EmailLinkLimit]
// is near (default [access.DefaultLinkWarning], as the reconciler's
// [access.WithLinkWarning]).
func WithEmailLinkWarning(n int) Option {
	return func(o *options) error {
		if n <= 0 || n > kisi.EmailLinkLimit {
			return fmt.Errorf("email link warning %d outside (0, %d]", n, kisi.EmailLinkLimit)
		}
		o.linkWarn = n
		return nil
	}
}

// WithUnknownConfirmationReported sets what [Checker.Diagnose] says of a
// Kisi user whose answer carries no "confirmed" key (Kisi marks it
// deprecated) and who has never opened a door, so that Kisi's answer
// cannot tell whether the member signed up (see [kisi.User.Status]).
// False, the default, says nothing: the user counts as confirmed, because
// once Kisi drops the key every user would read "unconfirmed" and the
// remedy of an unconfirmed user (delete it) would remove working users.
// True adds a warning ([CodeUserConfirmationUnknown]) that asks the
// operator to check with the member, never to delete the user. A user Kisi
// still reports unconfirmed is reported ([CodeUserUnconfirmed]) either way.
func WithUnknownConfirmationReported(report bool) Option {
	return func(o *options) error {
		o.reportUnknownConfirmation = report
		return nil
	}
}

// *kisi.Client satisfies the interfaces of this package.
var (
	_ Kisi         = (*kisi.Client)(nil)
	_ ObserverKisi = (*kisi.Client)(nil)
)
