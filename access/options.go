package access

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/kisisync/kisisync/kisi"
)

// Option configures a [Reconciler]; see the With… functions.
type Option func(*options) error

type options struct {
	clock       clockwork.Clock
	org         string
	loc         *time.Location
	revokeLimit float64
	// explainedLimit bounds all cuts, explained or not.
	explainedLimit float64
	revokeFloor    int
	patch          bool
	notifier       Notifier
	logger         *slog.Logger
	leaseTTL       time.Duration
	retryAfter     time.Duration
	maxBackoff     time.Duration
	linkWarn       int
	holder         string
	approveAll     bool
	exclusive      bool
	recreateUsers  bool
	groupNames     map[int64]string
	progress       func(done, total int)
	inFlight       int
}

func defaultOptions() options {
	return options{
		clock:          clockwork.NewRealClock(),
		org:            "default",
		revokeLimit:    0.25,
		explainedLimit: 0.5,
		revokeFloor:    3,
		logger:         slog.New(slog.DiscardHandler),
		leaseTTL:       10 * time.Minute,
		retryAfter:     time.Minute,
		maxBackoff:     time.Hour,
		linkWarn:       DefaultLinkWarning,
		inFlight:       1,
	}
}

// WithRequestsInFlight lets a run keep up to n Kisi writes in flight at
// once (default 1, at most 5), all under the client's one rate limit: at
// a round trip of d, one request after another reaches at most 1/d
// requests a second, below Kisi's 5 once d is over 200 ms; n in flight
// reach n/d. Only runs of consecutive deletes and of consecutive creates
// overlap, one lane per email; the order rules hold as without it (see
// [Reconciler.Apply]): revocations end before the next change starts,
// each create's intent is recorded before its request, and replacements
// go one at a time.
//
// What it gains is the bulk of a large first sync over a slow link:
// onboarding 5,000 members (15,003 requests) at Kisi's 5 requests a
// second takes 50 minutes with 3 in flight at round trips of 50, 300 and
// 600 ms, against 50 minutes, 1 h 15 min and 2 h 30 min one after another
// (simulated time, bench's TestOnboardingPaced). Replacements, renewals
// among them, go one at a time and gain nothing.
//
// It stays off by default because it weakens, from one to n, bounds that
// hold one request after another: the writes in flight when a run stops
// or parks a group still reach Kisi. A run of server errors stops after
// three and up to n-1 more; a group deleted in Kisi gets up to n creates
// before it is parked; a run that stalls past its lease can send up to n
// writes that reach Kisi after another process took over
// (TestRequestsInFlightFailureBounds; their intents are in the Store, and
// the next run adopts them). Creates start soonest first but may reach
// Kisi out of that order (a guest's links quota may go to a later
// booking), and the ids Kisi gives vary from run to run. The [KisiAPI]
// given to [NewReconciler] must be safe for concurrent use, and the
// function of [WithProgress] is called from the lanes' goroutines (one
// call at a time, its count of changes done still rising by one). The
// operations simulator checks the invariants one request after another
// only.
func WithRequestsInFlight(n int) Option {
	return func(o *options) error {
		if n < 1 || n > 5 {
			return fmt.Errorf("access: requests in flight %d: want 1 to 5", n)
		}
		o.inFlight = n
		return nil
	}
}

// WithClock sets the clock that gives "now" for every run and the lease
// (default the real clock).
func WithClock(c clockwork.Clock) Option {
	return func(o *options) error {
		if c == nil {
			return errors.New("access: nil clock")
		}
		o.clock = c
		return nil
	}
}

// WithOrganization sets the organization key under which the Store keeps
// this reconciler's records and lease (default "default"). Use one
// Reconciler per Kisi organization.
func WithOrganization(org string) Option {
	return func(o *options) error {
		if org == "" {
			return errors.New("access: empty organization")
		}
		o.org = org
		return nil
	}
}

// WithLocation sets the time zone [Changes.String] renders times in
// (default: the time zone of the snapshot's first location, else UTC).
func WithLocation(loc *time.Location) Option {
	return func(o *options) error {
		if loc == nil {
			return errors.New("access: nil location")
		}
		o.loc = loc
		return nil
	}
}

// WithRevokeLimit sets the share (0 to 1) of managed grants and links one
// run may cut without approval when the sources of the cut access vanished
// from the snapshot, as from an empty or truncated one (default 0.25). A
// cut is a delete or shortening of access in force or entering Kisi within
// the lead time. A run that cuts more, and more than the floor of
// [WithRevokeFloor], applies everything else and holds the cuts: Apply and
// Sync return a *[RevokeLimitError] until the changes are approved with
// [Changes.Approve] (or every run with [WithApproveRevocations]).
func WithRevokeLimit(share float64) Option {
	return func(o *options) error {
		if share < 0 || share > 1 {
			return fmt.Errorf("access: revoke limit %v outside [0, 1]", share)
		}
		o.revokeLimit = share
		return nil
	}
}

// WithExplainedRevokeLimit sets the share (0 to 1) of managed grants and
// links one run may cut in all, including cuts explained by a record still
// in the snapshot (a cancelled plan, an End or a check-out set), before the
// guard holds the cuts (default 0.5). Routine life — a month end, an
// automatic check-out — stays under it; every open plan ended at once by an
// exporter bug does not.
func WithExplainedRevokeLimit(share float64) Option {
	return func(o *options) error {
		if share < 0 || share > 1 {
			return fmt.Errorf("access: explained revoke limit %v outside [0, 1]", share)
		}
		o.explainedLimit = share
		return nil
	}
}

// WithRevokeFloor sets how many revocations a run may always make, whatever
// the share (default 3), so a small space can cancel a booking without
// approval.
func WithRevokeFloor(n int) Option {
	return func(o *options) error {
		if n < 0 {
			return fmt.Errorf("access: negative revoke floor %d", n)
		}
		o.revokeFloor = n
		return nil
	}
}

// WithApproveRevocations turns the revoke guard off: every run is applied
// as if approved. Use it only where the snapshot is known to be complete.
func WithApproveRevocations() Option {
	return func(o *options) error {
		o.approveAll = true
		return nil
	}
}

// WithPatchValidity lets a replacement change a role's window with one
// PATCH instead of delete + create. Kisi does not document PATCH of the
// window, so the first PATCH of an organization is read back: once Kisi is
// seen to change the window, that is kept in the Store and later PATCHes
// are sent alone, one request per renewal; on a mismatch the organization
// falls back to delete + create for good (also kept in the Store). A
// [Reconciler.Verify] that finds a role's window other than recorded makes
// the next PATCH be read back again. Open-ended windows are always delete +
// create.
func WithPatchValidity(enabled bool) Option {
	return func(o *options) error {
		o.patch = enabled
		return nil
	}
}

// WithNotifier sets a [Notifier] told of every group link created, with its
// secret and QR code, for hosts that send their own email.
func WithNotifier(n Notifier) Option {
	return func(o *options) error {
		o.notifier = n
		return nil
	}
}

// WithLogger sets the logger (default discards). Runs log at Debug; errors
// are returned, not logged. No email or secret is logged.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return errors.New("access: nil logger")
		}
		o.logger = l
		return nil
	}
}

// WithLeaseTTL sets how long a run's lease lasts before another run may
// take over (default 10 minutes); a long run renews it as it goes.
func WithLeaseTTL(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("access: lease ttl %v not positive", d)
		}
		o.leaseTTL = d
		return nil
	}
}

// WithRetryAfter caps [Report.NextRun] after a run that left failures or
// unresolved intents (default 1 minute), so the host retries soon.
func WithRetryAfter(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("access: retry delay %v not positive", d)
		}
		o.retryAfter = d
		return nil
	}
}

// WithMaxBackoff caps the back-off of [Report.NextRun] after runs stopped
// by a systemic failure, and of changes parked after Kisi refused them
// (default 1 hour). The back-off starts at the delay of [WithRetryAfter]
// and doubles with each failure in a row.
func WithMaxBackoff(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("access: max back-off %v not positive", d)
		}
		o.maxBackoff = d
		return nil
	}
}

// DefaultLinkWarning is the number of email links at which warnings say
// that Kisi's limit of [kisi.EmailLinkLimit] concurrent email links is near, unless
// set otherwise: in [Report] ([WithLinkWarning]) and in the connection check
// of access/troubleshoot.
const DefaultLinkWarning = kisi.EmailLinkLimit * 9 / 10

// WithLinkWarning sets the number of email links at which [Report] warns
// that Kisi's limit of [kisi.EmailLinkLimit] concurrent email links is near (default
// [DefaultLinkWarning], 900).
func WithLinkWarning(n int) Option {
	return func(o *options) error {
		if n <= 0 || n > kisi.EmailLinkLimit {
			return fmt.Errorf("access: link warning %d outside (0, %d]", n, kisi.EmailLinkLimit)
		}
		o.linkWarn = n
		return nil
	}
}

// WithHolder names this reconciler in the Store's lease (default a random
// id per Reconciler). Two Reconcilers with the same holder do not exclude
// each other.
func WithHolder(id string) Option {
	return func(o *options) error {
		if id == "" {
			return errors.New("access: empty lease holder")
		}
		o.holder = id
		return nil
	}
}

// WithExclusiveGroups declares the mapped groups the platform's own, as a
// space sets up when it moves onto the platform: [Reconciler.Verify] adopts
// every role found in them, the next run keeps those it would hold and
// corrects the rest (under the revoke guard), and a grant blocked by a
// hand-made role replaces it. Without it, hand-made roles are never
// touched: they are reported as "not managed here", and a grant they block
// is a [Conflict], shown at plan time.
func WithExclusiveGroups() Option {
	return func(o *options) error {
		o.exclusive = true
		return nil
	}
}

// WithRecreateDeletedUsers makes the reconciler create a member's Kisi
// user again when it finds it deleted in Kisi. By default a user deleted by
// hand is respected: some platforms document deleting the Kisi user as the
// way to remove access while keeping the plan. The member's grants are then
// parked (class [FailureUserDeleted]), looked up again with back-off, and
// resume once a user with the member's email exists in Kisi again.
func WithRecreateDeletedUsers() Option {
	return func(o *options) error {
		o.recreateUsers = true
		return nil
	}
}

// WithGroupNames gives the names of Kisi groups, shown in [Changes] (the
// reconciler does not read them from Kisi, to keep runs free of reads).
func WithGroupNames(names map[int64]string) Option {
	return func(o *options) error {
		o.groupNames = maps.Clone(names)
		return nil
	}
}

// WithProgress sets a function told of the progress of each Apply (and
// Sync): after each change is applied, or has failed, it is called with the
// number of changes done so far and the total of the run. It is called from
// the goroutine running Apply, one call at a time, never concurrently; it
// should return quickly. It is not called for a run the revoke guard holds,
// nor for the changes left when a run stops early.
func WithProgress(fn func(done, total int)) Option {
	return func(o *options) error {
		o.progress = fn
		return nil
	}
}
