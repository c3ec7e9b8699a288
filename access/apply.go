package access

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kisisync/kisisync/access/state"
	"github.com/kisisync/kisisync/kisi"
)

// Report is the outcome of [Reconciler.Apply] or [Reconciler.Sync].
type Report struct {
	// Created, Replaced and Deleted count grants and links written to Kisi
	// (a replacement counts once, in Replaced, whether made by delete and
	// create or by PATCH; Deleted includes the cleanup of expired ones, also
	// in Expired).
	Created  int `json:"created"`
	Replaced int `json:"replaced"`
	Deleted  int `json:"deleted"`
	// Failed counts changes that failed; they are retried next run, and the
	// error returned with the Report joins their causes.
	Failed int `json:"failed"`
	// NextRun is the next instant the desired access changes (a window
	// entering its lead time; a window ending, a check-in's day among them;
	// a drop-in link's window ending); zero if none. After a run with
	// failures or unresolved intents it is at most a short delay away (see
	// [WithRetryAfter]).
	NextRun time.Time `json:"next_run,omitzero"`
	// Expired counts grants and links whose window had ended and that were
	// deleted as cleanup (they are also counted in Deleted).
	Expired int `json:"expired"`
	// Adopted and Forgotten count Store corrections for interrupted creates.
	Adopted   int `json:"adopted"`
	Forgotten int `json:"forgotten"`
	// UsersCreated counts Kisi users created; Invitations the grants sent
	// with notify:true (each regular user's one Kisi invitation).
	UsersCreated int `json:"users_created"`
	Invitations  int `json:"invitations"`
	// Conflicts are grants held back by a role this SDK does not manage.
	Conflicts []Conflict `json:"conflicts,omitempty"`
	// Skipped are the snapshot records that were not synced, one error
	// each (as in [Changes].Skipped); every valid record was.
	Skipped []*RecordError `json:"skipped,omitempty"`
	// Unresolved counts pending intents that could not be looked up.
	Unresolved int `json:"unresolved,omitempty"`
	// Links counts the email links managed after the run, against Kisi's
	// limit of [kisi.EmailLinkLimit]; LinksNearLimit is set from the warning level of
	// [WithLinkWarning] on.
	Links          int  `json:"links"`
	LinksNearLimit bool `json:"links_near_limit,omitempty"`
	// Held are the cuts of access the revoke guard held back (see
	// [RevokeLimitError]); everything else was applied.
	Held []Change `json:"held,omitempty"`
	// Failures are the changes that failed, each with its class and Kisi's
	// message (Failed counts them, and a stopped run's last one).
	Failures []Failure `json:"failures,omitempty"`
	// NotAttempted counts the changes a run stopped by a *[SystemicError]
	// left for later.
	NotAttempted int `json:"not_attempted,omitempty"`
	// Parked are changes held back: their group is missing in Kisi, Kisi
	// refused them, or they wait for room under the email-link quota.
	Parked []Parked `json:"parked,omitempty"`
}

// Notifier is told of each group link the reconciler creates, for hosts
// that send the link or QR code in their own email. The secret is only
// available at creation; a Notifier error is reported and retried on the
// next runs until it succeeds.
type Notifier interface {
	// LinkCreated is called for l once it exists in Kisi. After an error
	// it is called again for the same link (same KisiID) on a later run,
	// so it must tolerate being called more than once.
	LinkCreated(ctx context.Context, l CreatedLink) error
}

// CreatedLink is a group link just created in Kisi, with its credentials.
type CreatedLink struct {
	Link
	// KisiID is the link's ID in Kisi.
	KisiID int64 `json:"kisi_id"`
	// Secret authenticates the link (KISI-GROUP-LINK <secret>).
	Secret string `json:"secret,omitempty"`
	// QRImage is the base64 PNG QR code, when QR was requested.
	QRImage string `json:"qr_image,omitempty"`
}

// Apply makes the changes in Kisi, in order, under the Store's lease, and
// records every side effect in the Store as it happens. One failing change
// does not stop the others: failures are counted in the Report (with their
// [FailureClass]), joined into the returned error, and retried next run —
// unless the failure is systemic: then the run stops with a
// *[SystemicError] and the Report counts what was not attempted.
//
// Apply returns [ErrStalePlan] if the Store changed since c was planned,
// and an error matching [state.ErrLeaseHeld] if another run holds the lease.
// When c cuts more access than the revoke limits allow and is not
// approved, Apply applies everything but the cuts and its error includes a
// *[RevokeLimitError].
//
// Apply trusts c only as far as its own Store confirms it, so Changes kept
// as JSON for review are safe to apply: it refuses Changes planned for
// another organization, counts the revocations for the guard itself, and
// fails (and leaves alone) a delete or replacement of any object its Store
// does not record as created by this SDK. A create whose window has ended
// by the time Apply reaches it is skipped.
func (r *Reconciler) Apply(ctx context.Context, c *Changes) (*Report, error) {
	if c == nil {
		return nil, errors.New("access: apply nil changes")
	}
	if c.Organization != r.o.org {
		return nil, fmt.Errorf("access: changes planned for organization %q applied to %q", c.Organization, r.o.org)
	}
	release, recs, err := r.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	if fingerprint(r.o.org, recs) != c.Base {
		return nil, ErrStalePlan
	}
	return r.apply(ctx, c, recs)
}

// run is the state of one Apply or Verify: the Store's records as the run
// changes them, and what it did.
type run struct {
	r *Reconciler
	// k is the Reconciler's Kisi API with every write fenced by the lease.
	k    KisiAPI
	rep  *Report
	recs map[string]state.Record
	errs []error
	// tried holds the links whose Notifier was called in this run.
	tried map[string]bool
	// inviting counts, per email, the role intents still pending: one of
	// them may have carried the user's invitation.
	inviting map[string]int
	// streak counts the transient or unknown failures in a row.
	streak int
	// quotaFull is set once Kisi refused a link for its email-link quota:
	// the run creates no more links.
	quotaFull bool
	// lockout is set when a replacement removed a role in force and could
	// not create its successor: the next run must come soon, back-off or
	// not.
	lockout bool
	// guard is the revoke guard's count of the run's plan: which cuts it
	// holds (see holdsCut).
	guard guardCount
	// orgWaits is set when changes waited for the organization's
	// back-off (see waiting): the run proves nothing about Kisi's health.
	orgWaits bool
	// worked is set once a change of the run went through: Kisi took the
	// organization's requests again.
	worked bool
	// marked is set once the run recorded that it is writing (see mark).
	marked bool
	// creates is what the run knows of Kisi's role creates. A role in
	// force is replaced by delete and create only while they work (or to
	// find out, once): a failing create leaves its member without a role.
	creates createHealth
	// Verify only: the mapped groups, and the organization's users once
	// listed; past Kisi's offset cap (usersCapped), each group's users
	// once listed.
	mapped      map[int64]bool
	kisiUsers   map[int64]*kisi.User
	usersCapped bool
	groupUsers  map[int64]map[int64]*kisi.User
	// known are the organization's users by email, when the run listed
	// them (see prefetchUsers).
	known map[string]*kisi.User
	// mu guards the run while changes are applied with requests in flight
	// (parallel is set): each lane holds it but while its Kisi write is
	// in flight (see applyConcurrently).
	mu       sync.Mutex
	parallel bool
}

// failingWrites reports whether a write of a role failed (a server error,
// an unknown outcome) and still waits for its back-off at now.
func (ru *run) failingWrites(now time.Time) bool {
	for _, rec := range ru.recs {
		if rec.Kind == state.KindPark && (rec.Class == FailureTransient || rec.Class == FailureUnknown) &&
			strings.HasPrefix(rec.Key, "park/role/") && now.Before(rec.RetryAt) {
			return true
		}
	}
	return false
}

// createHealth is what a run knows of Kisi's role creates.
type createHealth int

const (
	createsUntried  createHealth = iota // none tried yet
	createsDoubtful                     // none tried yet, and an earlier run's create failed since the last that worked
	createsWork                         // the last one succeeded
	createsFail                         // the last one failed
)

func (r *Reconciler) newRun(recs []state.Record) *run {
	ru := &run{r: r, rep: &Report{}, recs: make(map[string]state.Record, len(recs)),
		tried: map[string]bool{}, inviting: map[string]int{}}
	ru.k = fencedKisi{KisiAPI: r.k, ru: ru}
	for _, rec := range recs {
		ru.track(rec, 1)
		ru.recs[rec.Key] = rec
	}
	return ru
}

// track counts rec in (d = 1) or out of (d = -1) the run's tallies.
func (ru *run) track(rec state.Record, d int) {
	switch {
	case rec.Kind == state.KindLink && rec.State == state.StateSettled && rec.Email != "":
		ru.rep.Links += d
	case rec.Kind == state.KindRole && rec.State == state.StatePending:
		ru.inviting[rec.Email] += d
	}
}

func (r *Reconciler) apply(ctx context.Context, c *Changes, recs []state.Record) (*Report, error) {
	return r.applyAfter(ctx, c, recs, nil)
}

// applyAfter is apply after a Verify of the same run that failed with
// verr (nil if none or no Verify): a failure of the whole organization
// stops the run before it writes.
func (r *Reconciler) applyAfter(ctx context.Context, c *Changes, recs []state.Record, verr error) (*Report, error) {
	now := r.o.clock.Now()
	ru := r.newRun(recs)
	rep := ru.rep
	rep.NextRun = c.NextRun
	rep.Conflicts = slices.Clone(c.Conflicts)
	rep.Skipped = c.Skipped
	rep.Unresolved = c.Unresolved
	rep.Parked = slices.Clone(c.Parked)
	v := r.judge(c, ru.recs, now)
	held := r.holds(c, v)
	if doubt, _ := ru.createsInDoubt(now); doubt || ru.failingWrites(now) {
		// An earlier run's role create failed, and none worked since (see
		// creates.go); or a write of a role waits for its back-off.
		ru.creates = createsDoubtful
	}
	var stop *SystemicError
	err := verr
	if err == nil || classify(err) != FailureSystemic {
		err = ru.prefetchUsers(ctx, c)
	}
	if err != nil && classify(err) == FailureSystemic {
		stop = &SystemicError{Organization: r.o.org, Err: err, Advice: advice(err), NotAttempted: len(c.Changes)}
		rep.NotAttempted = len(c.Changes)
	}
	ru.guard = v
	if stop == nil {
		stop = ru.applyAll(ctx, c.Changes, held, now)
	}
	if r.o.notifier != nil && stop == nil {
		ru.retryNotifications(ctx)
	}
	ru.lookupsFailed(ctx)
	ru.unmark(ctx)
	rep.LinksNearLimit = rep.Links >= r.o.linkWarn
	// Soon again only for what cannot wait: a held cut to approve, a member
	// without a role inside their window, a create of unknown outcome to
	// look up. Every other failure waits for the back-off of its key (a
	// park record), which NextRun already counts.
	if held || ru.lockout || slices.ContainsFunc(rep.Failures, func(f Failure) bool { return f.Class == FailureUnknown }) {
		rep.NextRun = earliest(rep.NextRun, now.Add(r.o.retryAfter))
	}
	if stop != nil {
		ru.errs = []error{stop}
	}
	switch {
	case stop != nil:
		// The organization's own back-off, kept in the Store so that every
		// process (and a restarted one) continues it. (A lookup of a lost
		// create that failed backs off on its own key: lookupsFailed.)
		n := ru.orgFailed(ctx, stop != nil)
		if ru.lockout {
			// A member is without access inside their window: no back-off.
			rep.NextRun = earliest(rep.NextRun, now.Add(r.o.retryAfter))
		} else {
			rep.NextRun = earliest(rep.NextRun, now.Add(r.o.backoff(n)))
			if stop != nil {
				rep.NextRun = now.Add(r.o.backoff(n))
			}
		}
	case !ru.orgWaits && ru.worked:
		ru.orgRecovered(ctx)
	}
	r.o.logger.DebugContext(ctx, "access: run applied", "organization", r.o.org, "created", rep.Created,
		"replaced", rep.Replaced, "deleted", rep.Deleted, "failed", rep.Failed, "held", len(rep.Held),
		"not_attempted", rep.NotAttempted)
	if held {
		return rep, errors.Join(append([]error{r.limitError(v)}, ru.errs...)...)
	}
	return rep, errors.Join(ru.errs...)
}

// lookupsFailed backs off the lookups of lost creates that failed in this
// run's plan, like any failing key: until the back-off ends, the next
// plans do not ask Kisi again (see Reconciler.plan).
func (ru *run) lookupsFailed(ctx context.Context) {
	for i, p := range ru.rep.Parked {
		if p.Class != FailureUnknown || !p.RetryAt.IsZero() || ru.recs[p.Key].State != state.StatePending {
			continue
		}
		// State pending: the lookup waits (a lost create's own park,
		// without it, lets the next run look up at once).
		rec := state.Record{Key: parkKey(p.Key), Kind: state.KindPark, State: state.StatePending, Email: p.Email, GroupID: p.GroupID,
			Class: FailureUnknown, Reason: p.Reason}
		rec = ru.retried(Change{Key: p.Key, Object: p.Object, GroupID: p.GroupID}, rec)
		if err := ru.put(ctx, rec); err != nil {
			return // a failing Store fails the run's other writes too
		}
		ru.rep.Parked[i].RetryAt = rec.RetryAt
		ru.rep.NextRun = earliest(ru.rep.NextRun, rec.RetryAt)
	}
}

// step applies one change and accounts for its failure. It returns a
// *SystemicError when the run must stop.
func (ru *run) step(ctx context.Context, ch Change) *SystemicError {
	r := ru.r
	err := ctx.Err()
	if err == nil {
		err = ru.renew(ctx)
	}
	if err != nil {
		// Not sent; named in the report all the same, as its run's stop.
		ru.rep.Failed++
		ru.rep.Failures = append(ru.rep.Failures, Failure{Action: ch.Action, Object: ch.Object, Key: ch.Key, Email: ch.Email,
			GroupID: ch.GroupID, Class: FailureSystemic, Message: err.Error(), Err: err})
		return &SystemicError{Organization: r.o.org, Err: err, Advice: "the run was cancelled or lost its lease; the next run goes on"}
	}
	err = ru.do(ctx, ch)
	r.o.logger.DebugContext(ctx, "access: change", "organization", r.o.org, "action", string(ch.Action),
		"object", string(ch.Object), "group_id", ch.GroupID, "kisi_id", ch.KisiID, "ok", err == nil)
	if err == nil {
		ru.streak, ru.worked = 0, true
		return ru.allowed(ctx, ch)
	}
	ru.rep.Failed++
	class := classify(err)
	switch {
	case class == FailureForbidden:
		err = ru.forbid(ctx, ch, err)
	case class == FailureTransient && (ch.Action == ActionDelete || ch.Action == ActionReplace && ch.Object == ObjectLink):
		// Kisi failing a revocation, or the delete of a link whose booking
		// moved: it backs off like any failing key. (A role's replacement
		// backs off in replaceGrant.)
		err = ru.park(ctx, ch, FailureTransient, err)
	case (class == FailureTransient || class == FailureUnknown) && ch.Action == ActionCreate &&
		ru.recs[ch.Key].State != state.StateExposed && !errors.Is(err, errUserParked):
		// Kisi failing a create (or its user's), or leaving its outcome
		// unknown: the key backs off too. A pending intent is still looked
		// up by the next run; a member left without a role is not parked.
		err = ru.park(ctx, ch, class, err)
	}
	ru.rep.Failures = append(ru.rep.Failures, Failure{Action: ch.Action, Object: ch.Object, Key: ch.Key, Email: ch.Email,
		GroupID: ch.GroupID, Class: class, Message: err.Error(), Err: err})
	switch class {
	case FailureTransient, FailureUnknown:
		ru.streak++
	default:
		ru.streak = 0
	}
	if class == FailureSystemic || ru.streak >= systemicRun {
		ru.failedAgain(ctx, ch, err)
		return &SystemicError{Organization: r.o.org, Err: err, Advice: advice(err)}
	}
	ru.errs = append(ru.errs, fmt.Errorf("access: %s %s %s → group %d: %w", ch.Action, ch.Object, ch.Email, ch.GroupID, err))
	return nil
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}

// renew extends the lease once a third of it has passed since it was
// taken or last renewed (planning included), before the run writes again:
// every Kisi write of a run goes out with at least two thirds of the lease
// left (see fencedKisi), a margin longer than a request can last.
func (ru *run) renew(ctx context.Context) error {
	if ru.r.o.clock.Since(*ru.r.leased.Load()) < ru.r.o.leaseTTL/3 {
		return nil
	}
	if err := ru.r.renew(ctx); err != nil {
		if errors.Is(err, state.ErrLeaseHeld) {
			err = fmt.Errorf("%w: %w", state.ErrLeaseLost, err)
		}
		return fmt.Errorf("access: renew lease of %q: %w", ru.r.o.org, err)
	}
	return nil
}

// created counts a create; a replacement counts once, in Replaced, however
// it is made.
func (ru *run) created(ch Change) {
	if ch.Action == ActionCreate {
		ru.rep.Created++
	}
}

func (ru *run) put(ctx context.Context, rec state.Record) error {
	rec.Updated = ru.r.o.clock.Now()
	if err := ru.r.st.Put(ctx, ru.r.o.org, ru.r.token.Load(), rec); err != nil {
		return &storeError{fmt.Errorf("store %s: %w", rec.Key, err)}
	}
	if old, ok := ru.recs[rec.Key]; ok {
		ru.track(old, -1)
	}
	ru.track(rec, 1)
	ru.recs[rec.Key] = rec
	return nil
}

func (ru *run) del(ctx context.Context, key string) error {
	if err := ru.r.st.Delete(ctx, ru.r.o.org, ru.r.token.Load(), key); err != nil {
		return &storeError{fmt.Errorf("store delete %s: %w", key, err)}
	}
	if old, ok := ru.recs[key]; ok {
		ru.track(old, -1)
	}
	delete(ru.recs, key)
	return nil
}

// check refuses a change its Store does not back: a delete or replacement
// of an object not recorded as created by this SDK (with that Kisi id), an
// adoption without a pending intent, a create over a live record, a forget
// of a live record, a key that does not name the change's object.
func (ru *run) check(ch Change) error {
	var kind state.RecordKind
	var key string
	switch ch.Object {
	case ObjectGrant:
		kind, key = state.KindRole, state.RoleKey(ch.Email, ch.GroupID)
	case ObjectLink:
		kind, key = state.KindLink, state.LinkKey(ch.BookingID, ch.GroupID)
	case ObjectPark:
		if ch.Action != ActionForget || !strings.HasPrefix(ch.Key, "park/") {
			return fmt.Errorf("%s of park record %q", ch.Action, ch.Key)
		}
		return nil
	default:
		return fmt.Errorf("unknown object %q", ch.Object)
	}
	if ch.Key != key {
		return fmt.Errorf("key %q does not name this %s (want %q)", ch.Key, ch.Object, key)
	}
	if ch.Window == nil && (ch.Action == ActionCreate || ch.Action == ActionReplace || ch.Action == ActionAdopt) {
		return fmt.Errorf("%s without a window", ch.Action)
	}
	rec, ok := ru.recs[ch.Key]
	if ok && rec.Kind != kind {
		return fmt.Errorf("store record %s is a %s, not a %s", ch.Key, rec.Kind, ch.Object)
	}
	switch ch.Action {
	case ActionDelete, ActionReplace:
		if ch.Action == ActionDelete && supersededBy(rec, ch) {
			return nil
		}
		if !ok || rec.State != state.StateSettled || rec.KisiID != ch.KisiID {
			return fmt.Errorf("%s %d is not recorded as created by kisisync: left alone", ch.Object, ch.KisiID)
		}
	case ActionAdopt:
		if !ok || rec.State != state.StatePending {
			return fmt.Errorf("no pending intent %s to adopt", ch.Key)
		}
	case ActionCreate:
		if ok && (rec.State == state.StateSettled || rec.State == state.StatePending) {
			return fmt.Errorf("%s already recorded (%s): plan again", ch.Key, rec.State)
		}
	case ActionForget:
		// Forgetting a live object would leave it in Kisi for good.
		if ok && rec.State == state.StateSettled {
			return fmt.Errorf("%s %d is in Kisi: not forgotten", ch.Object, rec.KisiID)
		}
	}
	return nil
}

// supersededBy reports whether ch deletes the link that rec's link replaced
// (see replaceLinkInForce).
func supersededBy(rec state.Record, ch Change) bool {
	return ch.Object == ObjectLink && rec.State == state.StateSettled && rec.Supersedes != nil && rec.Supersedes.KisiID == ch.KisiID
}

func (ru *run) do(ctx context.Context, ch Change) error {
	if err := ru.check(ch); err != nil {
		return err
	}
	switch ch.Action {
	case ActionAdopt:
		rec := ru.recs[ch.Key]
		rec.State, rec.KisiID, rec.Window = state.StateSettled, ch.KisiID, *ch.Window
		if rec.Supersedes != nil && rec.Supersedes.KisiID == ch.KisiID {
			// The link in force whose replacement never reached Kisi: it
			// stays, sent before.
			rec.Supersedes, rec.Notified = nil, true
			return ru.put(ctx, rec)
		}
		if rec.Kind == state.KindLink && ru.r.o.notifier != nil {
			// Its secret was lost with the answer, but Kisi emailed the
			// link to the guest: a new link would be a second email.
			rec.Notified = true
			ru.r.o.logger.WarnContext(ctx, "access: link found in Kisi after a lost answer; Kisi emailed it to the guest, the Notifier is not called",
				"organization", ru.r.o.org, "group_id", rec.GroupID, "kisi_id", rec.KisiID)
		}
		if err := ru.settle(ctx, rec); err != nil { // the create happened: no back-off
			return err
		}
		ru.rep.Adopted++
		// The adopted grant carried the invitation if one was due.
		if user, ok := ru.recs[state.UserKey(rec.Email)]; ok && rec.Kind == state.KindRole && !user.Invited {
			user.Invited = true
			return ru.put(ctx, user)
		}
		return nil
	case ActionForget:
		if err := ru.del(ctx, ch.Key); err != nil {
			return err
		}
		ru.rep.Forgotten++
		return nil
	case ActionDelete:
		if rec := ru.recs[ch.Key]; supersededBy(rec, ch) {
			return ru.dropSuperseded(ctx, rec)
		}
		if err := ru.remove(ctx, ch); err != nil {
			return err
		}
		ru.rep.Deleted++
		if ch.Expired {
			ru.rep.Expired++
		}
		return nil
	case ActionReplace:
		if ch.Object == ObjectGrant {
			return ru.replaceGrant(ctx, ch)
		}
		if replacesInForce(ch, ru.r.o.clock.Now()) {
			return ru.replaceLinkInForce(ctx, ch)
		}
		if err := ru.remove(ctx, ch); err != nil {
			return err
		}
		if err := ru.create(ctx, ch); err != nil {
			return err
		}
		ru.rep.Replaced++
		return nil
	case ActionCreate:
		if rec, ok := ru.recs[ch.Key]; ok && rec.State == state.StateExposed {
			if err := ru.create(ctx, ch); err != nil {
				return ru.uncovered(ctx, ch, rec.Window, err)
			}
			return nil
		}
		return ru.create(ctx, ch)
	}
	return fmt.Errorf("unknown action %q", ch.Action)
}
