package access

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/kisisync/kisisync/access/state"
	"github.com/kisisync/kisisync/kisi"
)

// FailureClass says how a failed change affects a run (each is shown against
// the fake Kisi in RELIABILITY.md, "Failure scopes"). It is defined in
// access/state, where a park record keeps the class of the failure that
// parked it.
type FailureClass = state.FailureClass

// The failure classes.
const (
	// FailureSystemic: no other change of the run can succeed either (the
	// API key refused, Kisi unreachable, a run of server errors, 429s the
	// client's pacing could not absorb, the Store failing). The run stops
	// at once with a *[SystemicError]; NextRun backs off.
	FailureSystemic FailureClass = "systemic"
	// FailureMissing: the group of a change was deleted in Kisi. Its grants
	// are parked until the mapping changes or Verify sees the group again.
	FailureMissing FailureClass = "missing"
	// FailureUserDeleted: the member's Kisi user was deleted by hand. The
	// member's grants are parked, the user looked up again with back-off,
	// until a user with the member's email exists again (see
	// [WithRecreateDeletedUsers]).
	FailureUserDeleted FailureClass = "user_deleted"
	// FailureQuota: Kisi's email-link quota is full. Link creates are
	// parked with back-off, the soonest bookings first when room frees up.
	FailureQuota FailureClass = "quota"
	// FailureRefused: Kisi refused the change (a 4xx other than the
	// one-role conflict). It is parked with back-off and reported with
	// Kisi's message; the rest of the run goes on.
	FailureRefused FailureClass = "refused"
	// FailureForbidden: Kisi refused the API key on one group's roles or
	// links (403). That group's changes are parked with back-off, reported
	// with the group, and the run goes on with the others.
	FailureForbidden FailureClass = "forbidden"
	// FailureHost: the host's [Notifier] failed. The link exists in Kisi;
	// its notification alone is retried with back-off on later runs. It
	// never stops a run and is never counted against Kisi.
	FailureHost FailureClass = "host"
	// FailureUnknown: the outcome is unknown (a lost response). The object
	// is looked up before anything is created again.
	FailureUnknown FailureClass = "unknown"
	// FailureTransient: a server error or a timeout. Retried on the next
	// run; several in a row stop the run as systemic.
	FailureTransient FailureClass = "transient"
)

// systemicRun is how many transient or unknown failures in a row make a run
// stop as systemic.
const systemicRun = 3

// classify returns the class of a failed change's error.
func classify(err error) FailureClass {
	var se *storeError
	var ke *kisi.Error
	var he *hostError
	switch {
	case errors.As(err, &he):
		return FailureHost
	case errors.Is(err, kisi.ErrForbidden) && groupCall(err):
		return FailureForbidden
	case errors.As(err, &se), errors.Is(err, kisi.ErrUnauthorized), errors.Is(err, kisi.ErrForbidden),
		errors.Is(err, kisi.ErrRateLimited), unreachable(err):
		return FailureSystemic
	case errors.Is(err, errGroupMissing):
		return FailureMissing
	case errors.Is(err, errUserDeleted):
		return FailureUserDeleted
	case errors.Is(err, errQuota):
		return FailureQuota
	case errors.Is(err, kisi.ErrMaybeApplied):
		return FailureUnknown
	case errors.As(err, &ke) && ke.StatusCode >= 400 && ke.StatusCode < 500:
		return FailureRefused
	}
	return FailureTransient
}

// groupCall reports whether err came from a call on one group's roles or
// links, whose 403 concerns that group alone (a 403 on users or the
// organization concerns the whole key).
func groupCall(err error) bool {
	var ke *kisi.Error
	return errors.As(err, &ke) &&
		(strings.HasPrefix(ke.Endpoint, "/role_assignments") || strings.HasPrefix(ke.Endpoint, "/group_links"))
}

// unreachable reports a connection that could not be made: refused, no
// route, or a name that does not resolve.
func unreachable(err error) bool {
	var dns *net.DNSError
	var op *net.OpError
	return errors.As(err, &dns) || errors.As(err, &op) && op.Op == "dial"
}

// errGroupMissing and errQuota mark the failures of those classes.
var (
	errGroupMissing = errors.New("the group was deleted in Kisi")
	errQuota        = errors.New("the email-link quota of Kisi is full")
	errUserDeleted  = errors.New("the member's Kisi user was deleted by hand")
)

// hostError is a failure of the host's Notifier.
type hostError struct{ err error }

func (e *hostError) Error() string { return e.err.Error() }
func (e *hostError) Unwrap() error { return e.err }

// storeError is a failed Store write: it stops the run, since nothing the run
// does after it can be recorded.
type storeError struct{ err error }

func (e *storeError) Error() string { return e.err.Error() }
func (e *storeError) Unwrap() error { return e.err }

// SystemicError is returned by Apply and Sync when a failure stopped the
// run: the API key refused (401/403), Kisi unreachable, a run of server
// errors or timeouts, 429s the client's pacing could not absorb, or the
// Store failing. The changes after it were not attempted; [Report.NextRun]
// backs off exponentially, up to [WithMaxBackoff], while runs keep failing
// this way.
type SystemicError struct {
	// Organization is the organization of the run.
	Organization string
	// NotAttempted counts the changes the run left for later.
	NotAttempted int
	// Advice says what to do about it.
	Advice string
	// Err is the failure that stopped the run.
	Err error
}

// Error implements error.
func (e *SystemicError) Error() string {
	return fmt.Sprintf("access: run for %q stopped with %d changes not attempted: %v; %s",
		e.Organization, e.NotAttempted, e.Err, e.Advice)
}

// Unwrap returns the failure that stopped the run.
func (e *SystemicError) Unwrap() error { return e.Err }

// advice says what to do about a systemic failure.
func advice(err error) string {
	var se *storeError
	switch {
	case errors.Is(err, kisi.ErrUnauthorized):
		return "the API key is wrong, expired or revoked: set a valid key of an organization administrator"
	case errors.Is(err, kisi.ErrForbidden):
		return "the API key's user may not do this: use the key of an organization administrator"
	case errors.Is(err, kisi.ErrRateLimited):
		return "Kisi keeps answering 429: other clients use the same Kisi user's 5 requests per second; share one limiter between them"
	case unreachable(err):
		return "Kisi cannot be reached: check the network, DNS and the base URL"
	case errors.As(err, &se):
		return "the Store failed: nothing more can be recorded in this run"
	}
	return "Kisi keeps failing with server errors or timeouts: the run is retried with back-off"
}

// Failure is one change that failed, with its class and Kisi's message.
type Failure struct {
	Action  Action       `json:"action"`
	Object  ObjectKind   `json:"object"`
	Key     string       `json:"key"`
	Email   string       `json:"email,omitempty"`
	GroupID int64        `json:"group_id,omitempty"`
	Class   FailureClass `json:"class"`
	Message string       `json:"message"`
	// Err is the error itself, for errors.Is and errors.As.
	Err error `json:"-"`
}

// Parked is a change held back: its group is missing in Kisi, Kisi refused
// it, or it waits for room under the email-link quota.
type Parked struct {
	Object  ObjectKind   `json:"object"`
	Key     string       `json:"key"`
	Email   string       `json:"email,omitempty"`
	GroupID int64        `json:"group_id"`
	Class   FailureClass `json:"class"`
	Reason  string       `json:"reason"`
	// RetryAt is when it is tried again; zero while its group is missing
	// (until the mapping changes or Verify sees the group again).
	RetryAt time.Time `json:"retry_at,omitzero"`
}

// backoff is the wait before the next attempt after n failures in a row:
// the retry delay doubling up to the ceiling.
func (o *options) backoff(n int) time.Duration {
	d := o.retryAfter
	for i := 1; i < n && d < o.maxBackoff; i++ {
		d *= 2
	}
	return min(d, o.maxBackoff)
}
