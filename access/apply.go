package access

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/kisisync/kisisync/access/state"
	"github.com/kisisync/kisisync/internal/kisiglue"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/schedule"
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
	// marked is set once the run recorded that it is writing (see mark).
	marked bool
	// creates is what the run knows of Kisi's role creates. A role in
	// force is replaced by delete and create only while they work (or to
	// find out, once): a failing create leaves its member without a role.
	creates createHealth
	// Verify only: the mapped groups, and the organization's users once
	// listed.
	mapped    map[int64]bool
	kisiUsers map[int64]*kisi.User
	// known are the organization's users by email, when the run listed
	// them (see prefetchUsers).
	known map[string]*kisi.User
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
	createsDoubtful                     // none tried yet, and a role write of an earlier run waits for its back-off
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
	if ru.failingWrites(now) {
		// An earlier run's write of a role failed and waits for its
		// back-off: no role in force is replaced by delete and create
		// until a create works again, but one about to end.
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
	for i, ch := range c.Changes {
		if stop != nil {
			break
		}
		if held && guarded(cut(ch, ru.recs, now, r.p.Lead)) {
			ch.Held = true
			rep.Held = append(rep.Held, ch)
			continue
		}
		if ru.waiting(ch) {
			continue
		}
		if stop = ru.step(ctx, ch); stop != nil {
			stop.NotAttempted = len(c.Changes) - i - 1
			rep.NotAttempted = stop.NotAttempted
			break
		}
		if r.o.progress != nil {
			r.o.progress(i+1, len(c.Changes))
		}
	}
	if r.o.notifier != nil && stop == nil {
		ru.retryNotifications(ctx)
	}
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
	case stop != nil || rep.Unresolved > 0:
		// The organization's own back-off, kept in the Store so that every
		// process (and a restarted one) continues it.
		n := ru.orgFailed(ctx)
		if ru.lockout {
			// A member is without access inside their window: no back-off.
			rep.NextRun = earliest(rep.NextRun, now.Add(r.o.retryAfter))
		} else {
			rep.NextRun = earliest(rep.NextRun, now.Add(r.o.backoff(n)))
			if stop != nil {
				rep.NextRun = now.Add(r.o.backoff(n))
			}
		}
	default:
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

// step applies one change and accounts for its failure. It returns a
// *SystemicError when the run must stop.
func (ru *run) step(ctx context.Context, ch Change) *SystemicError {
	r := ru.r
	err := ctx.Err()
	if err == nil {
		err = ru.renew(ctx)
	}
	if err != nil {
		ru.rep.Failed++
		return &SystemicError{Organization: r.o.org, Err: err, Advice: "the run was cancelled or lost its lease; the next run goes on"}
	}
	err = ru.do(ctx, ch)
	r.o.logger.DebugContext(ctx, "access: change", "organization", r.o.org, "action", string(ch.Action),
		"object", string(ch.Object), "group_id", ch.GroupID, "kisi_id", ch.KisiID, "ok", err == nil)
	if err == nil {
		ru.streak = 0
		return ru.allowed(ctx, ch)
	}
	ru.rep.Failed++
	class := classify(err)
	switch {
	case class == FailureForbidden:
		err = ru.forbid(ctx, ch, err)
	case class == FailureTransient && ch.Action == ActionDelete:
		// Kisi failing a revocation: it backs off like any failing key. (A
		// replacement is not parked: its delete may have happened with the
		// answer lost, leaving the member without a role until it is done.)
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

func (ru *run) do(ctx context.Context, ch Change) error {
	if err := ru.check(ch); err != nil {
		return err
	}
	switch ch.Action {
	case ActionAdopt:
		rec := ru.recs[ch.Key]
		rec.State, rec.KisiID, rec.Window = state.StateSettled, ch.KisiID, *ch.Window
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

func (ru *run) create(ctx context.Context, ch Change) error {
	if ended(*ch.Window, ru.r.o.clock.Now()) {
		// The clock moved past the window since Plan: nothing to grant.
		ru.r.o.logger.DebugContext(ctx, "access: window ended before apply; not created", "organization", ru.r.o.org,
			"object", string(ch.Object), "group_id", ch.GroupID)
		return nil
	}
	if rec, ok := ru.recs[groupParkKey(ch.GroupID, ru.r.mappingFP)]; ok {
		// Found deleted earlier in this run: no request for the others.
		ru.rep.Parked = append(ru.rep.Parked, parkedOf(ch.Object, ch.Key, rec))
		return nil
	}
	if ch.Object == ObjectLink {
		return ru.createLink(ctx, ch)
	}
	return ru.createGrant(ctx, ch)
}

// replaceGrant changes the window of a role: a PATCH where Kisi supports
// it, else delete and create. Kisi holds one role per user and group, so
// between the two the member has no role: a role in force is replaced that
// way only while the run's creates work (or, once, to find out), and a
// member left without one is handled by uncovered.
func (ru *run) replaceGrant(ctx context.Context, ch Change) error {
	done, err := ru.patch(ctx, ch)
	if err != nil || done {
		if done {
			ru.rep.Replaced++
		}
		return err
	}
	now := ru.r.o.clock.Now()
	inForce := replacesInForce(ch, now)
	if inForce && (ru.creates == createsFail || ru.creates == createsDoubtful && ch.Old.End.After(now.Add(deferFor))) {
		// The role in force stays, valid until its end; no request.
		retry := now.Add(ru.r.o.retryAfter)
		ru.rep.Parked = append(ru.rep.Parked, Parked{Object: ch.Object, Key: ch.Key, Email: ch.Email, GroupID: ch.GroupID,
			Class: FailureTransient, RetryAt: retry,
			Reason: fmt.Sprintf("Kisi is failing creates, so the role in force is kept (valid until %s) and replaced once one works",
				ch.Old.End.UTC().Format(time.RFC3339))})
		ru.rep.NextRun = earliest(ru.rep.NextRun, retry)
		return nil
	}
	if err := ru.remove(ctx, ch); err != nil {
		return err
	}
	if err := ru.create(ctx, ch); err != nil {
		if inForce {
			return ru.uncovered(ctx, ch, *ch.Old, err)
		}
		return err
	}
	ru.rep.Replaced++
	return nil
}

// deferFor is how long a role in force must still be valid for its
// replacement to wait when only an earlier run's write failed: one ending
// sooner is replaced anyway (its create tells whether creates work again),
// as its member loses access at its end either way. Once a create failed
// in the run, nothing is replaced.
const deferFor = time.Hour

// uncovered handles the failed create of a role whose member is without
// one inside the window old (a replacement deleted it, in this run or an
// earlier one). Kisi refusing the new window restores old at once, the
// refusal parked; otherwise the member is recorded exposed
// ([state.StateExposed]): the next runs create the role first, without
// back-off, until Kisi holds one.
func (ru *run) uncovered(ctx context.Context, ch Change, old schedule.Interval, cause error) error {
	now := ru.r.o.clock.Now()
	if errors.Is(cause, errUserDeleted) || ended(old, now) {
		// The member's user is gone, which is respected; or the old window
		// is over anyway.
		return cause
	}
	// A create whose outcome is unknown is recorded exposed too: Kisi
	// holds one role per user and group, so if it did happen, the next
	// create is refused and finds it (see roleRefused).
	if errors.Is(cause, kisi.ErrValidation) && !kisiglue.SameWindow(old, *ch.Window) {
		parked, wasParked := ru.recs[parkKey(ch.Key)]
		restore := ch
		restore.Window = &old
		if err := ru.createGrant(ctx, restore); err == nil {
			if wasParked { // the refusal of the new window keeps its back-off
				if err := ru.put(ctx, parked); err != nil {
					return errors.Join(cause, err)
				}
			}
			return fmt.Errorf("%w; the role's window until %s was restored", cause, old.End.UTC().Format(time.RFC3339))
		}
	}
	ru.lockout = true
	rec := state.Record{Key: ch.Key, Kind: state.KindRole, State: state.StateExposed, Email: ch.Email, MemberID: ch.MemberID,
		GroupID: ch.GroupID, Window: old, Sources: ch.Sources}
	if err := ru.put(ctx, rec); err != nil {
		return errors.Join(cause, err)
	}
	return cause
}

// remove deletes the Kisi object of ch and its record. A 404 means it is
// already gone.
//
// The client retries transport errors, 429 and 502–504 itself and leaves a
// 500 to its caller; a revocation is security-relevant, so a 500 alone is
// tried once more here. No retry is stacked on the client's own.
func (ru *run) remove(ctx context.Context, ch Change) error {
	del := ru.k.DeleteRoleAssignment
	if ch.Object == ObjectLink {
		del = ru.k.DeleteGroupLink
	}
	if ch.KisiID != 0 {
		_, err := onceMore(func() (*kisi.Response, error) { return del(ctx, ch.KisiID) })
		if err != nil && !errors.Is(err, kisi.ErrNotFound) && !definite(err) && classify(err) != FailureSystemic {
			// The answer was lost, maybe after the delete happened: one read
			// tells, so a replacement does not leave the member locked out
			// until the next run.
			if there, lerr := ru.stillThere(ctx, ch); lerr == nil && !there {
				err = nil
			}
		}
		if err != nil && !errors.Is(err, kisi.ErrNotFound) {
			return err
		}
	}
	return ru.del(ctx, ch.Key)
}

// stillThere reports whether the Kisi object of ch exists.
func (ru *run) stillThere(ctx context.Context, ch Change) (bool, error) {
	rec := ru.recs[ch.Key]
	if ch.Object == ObjectLink {
		links, err := ru.r.linksOf(ctx, ch.GroupID, rec.Email)
		return slices.ContainsFunc(links, func(l *kisi.GroupLink) bool { return l.ID == ch.KisiID }), err
	}
	roles, err := ru.r.rolesOf(ctx, ch.GroupID, rec.UserID)
	return slices.ContainsFunc(roles, func(ra *kisi.RoleAssignment) bool { return ra.ID == ch.KisiID }), err
}

// definite reports whether err is a Kisi answer that says the request was
// refused and not applied (a 4xx other than 429).
func definite(err error) bool {
	if errors.Is(err, kisi.ErrMaybeApplied) {
		return false
	}
	var ke *kisi.Error
	return errors.As(err, &ke) && ke.StatusCode >= 400 && ke.StatusCode < 500 && ke.StatusCode != 429
}

// patch changes a role's window in place when enabled and not found
// unsupported in this organization. It reports whether the replacement is
// done. Kisi refusing the new window (422) keeps the old role, valid as it
// was, and parks the change; a missing role is created again; any other
// refusal, or a window that did not change, means Kisi does not support
// it: remembered in the Store, and the replacement deletes and creates.
func (ru *run) patch(ctx context.Context, ch Change) (bool, error) {
	r := ru.r
	if _, unsupported := ru.recs[patchParkKey]; !r.o.patch || unsupported || kisiglue.OpenEnded(*ch.Window) || ch.KisiID == 0 {
		return false, nil
	}
	rec, ok := ru.recs[ch.Key]
	if !ok || rec.UserID == 0 || rec.State != state.StateSettled {
		return false, nil
	}
	from, until := kisiglue.Validity(*ch.Window)
	if _, err := ru.k.UpdateRoleAssignment(ctx, ch.KisiID, &kisi.RoleAssignmentUpdateRequest{Validity: &kisi.Validity{From: from, Until: until}}); err != nil {
		switch {
		case errors.Is(err, kisi.ErrNotFound):
			return false, nil
		case errors.Is(err, kisi.ErrValidation):
			return false, ru.park(ctx, ch, FailureRefused, err)
		case errors.Is(err, kisi.ErrForbidden):
			return false, err // the key's rights, not PATCH: see step
		case errors.Is(err, kisi.ErrRejected):
			return false, ru.patchUnsupported(ctx, fmt.Sprintf("Kisi refused it: %v", err))
		}
		return false, err
	}
	roles, err := r.rolesOf(ctx, ch.GroupID, rec.UserID)
	if err != nil {
		return false, fmt.Errorf("read back patched window: %w", err)
	}
	for _, ra := range roles {
		if ra.ID == ch.KisiID && kisiglue.SameWindow(kisiglue.RoleWindow(ra), *ch.Window) {
			rec.Window, rec.Sources, rec.MemberID = *ch.Window, ch.Sources, ch.MemberID
			return true, ru.put(ctx, rec)
		}
	}
	return false, ru.patchUnsupported(ctx, "the window read back unchanged")
}

// patchUnsupported records that Kisi does not change a role's window with
// PATCH in this organization (why says how it showed): from then on every
// process replaces a role by delete and create.
func (ru *run) patchUnsupported(ctx context.Context, why string) error {
	ru.r.o.logger.WarnContext(ctx, "access: Kisi does not change a role's window with PATCH; renewals delete and create",
		"organization", ru.r.o.org, "why", why)
	return ru.put(ctx, state.Record{Key: patchParkKey, Kind: state.KindPark,
		Reason: "Kisi does not change a role's window with PATCH (" + why + "): renewals delete and create"})
}

// createAttempts bounds the creates of one grant within a run: after a
// create whose outcome is unknown while the member is inside the window
// (a replacement's delete may just have removed their access), after the
// user was found deleted in Kisi, and after this SDK's own stale role was
// removed.
const createAttempts = 5

// errRetry marks a failed create that may be tried again at once.
type errRetry struct{ err error }

func (e *errRetry) Error() string { return e.err.Error() }
func (e *errRetry) Unwrap() error { return e.err }

// createGrant creates the role of ch, retrying within the run where that
// ends a lockout sooner than the next run would.
func (ru *run) createGrant(ctx context.Context, ch Change) error {
	for attempt := 1; ; attempt++ {
		err := ru.tryGrant(ctx, ch)
		var again *errRetry
		if errors.As(err, &again) && attempt < createAttempts {
			continue
		}
		if errors.As(err, &again) {
			err = again.err
		}
		switch {
		case err == nil:
			ru.creates = createsWork
		case classify(err) == FailureTransient || classify(err) == FailureUnknown:
			// Kisi failing creates; a refusal of one member says nothing
			// of the others' creates.
			ru.creates = createsFail
		}
		return err
	}
}

// tryGrant makes one attempt at the role of ch.
func (ru *run) tryGrant(ctx context.Context, ch Change) error {
	user, err := ru.ensureUser(ctx, ch)
	if err != nil {
		return err
	}
	// Kisi's one invitation rides on the user's first grant; while a grant
	// whose outcome is unknown may have carried it, no other does.
	notify := !user.Managed && !user.Invited && ru.inviting[ch.Email] == 0
	intent := state.Record{Key: ch.Key, Kind: state.KindRole, State: state.StatePending, Email: ch.Email, MemberID: ch.MemberID,
		GroupID: ch.GroupID, UserID: user.KisiID, Window: *ch.Window, Sources: ch.Sources}
	if err := ru.put(ctx, intent); err != nil {
		return err
	}
	from, until := kisiglue.Validity(*ch.Window)
	ra, _, err := ru.k.CreateRoleAssignment(ctx, &kisi.RoleAssignmentCreateRequest{
		RoleID: kisi.RoleGroupBasic, AppliesToType: kisi.ScopeGroup, AppliesToID: ch.GroupID,
		AssigneeType: kisi.AssigneeUser, AssigneeID: user.KisiID, Notify: notify, ValidFrom: from, ValidUntil: until,
	})
	if err != nil {
		return ru.createFailed(ctx, ch, intent, user, err)
	}
	intent.State, intent.KisiID = state.StateSettled, ra.ID
	if err := ru.settle(ctx, intent); err != nil {
		return err
	}
	ru.created(ch)
	if notify {
		ru.rep.Invitations++
		user.Invited = true
		if err := ru.put(ctx, user); err != nil {
			return err
		}
	}
	return nil
}

// settle records a created object and drops the park record of its key.
func (ru *run) settle(ctx context.Context, rec state.Record) error {
	if err := ru.put(ctx, rec); err != nil {
		return err
	}
	if _, ok := ru.recs[parkKey(rec.Key)]; ok {
		return ru.del(ctx, parkKey(rec.Key))
	}
	return nil
}

// createFailed settles an intent after a failed create of a role: it tells
// the failure classes ([FailureClass]) apart with at most one read.
func (ru *run) createFailed(ctx context.Context, ch Change, intent, user state.Record, cause error) error {
	switch {
	case !definite(cause):
		return ru.unknownOutcome(ctx, ch, intent, cause)
	case errors.Is(cause, kisi.ErrValidation):
		return ru.roleRefused(ctx, ch, intent, user, cause)
	case errors.Is(cause, kisi.ErrNotFound):
		return ru.roleMissing(ctx, ch, intent, user, cause)
	}
	if err := ru.del(ctx, intent.Key); err != nil {
		return errors.Join(cause, err)
	}
	switch classify(cause) {
	case FailureForbidden:
		return cause // the whole group waits (see forbid)
	case FailureSystemic:
		return cause // the whole organization waits (see apply)
	}
	return ru.park(ctx, ch, FailureRefused, cause)
}

// unknownOutcome handles a create that may or may not have reached Kisi.
// Outside the window the intent stays pending and the next run looks it up.
// Inside it the member may be locked out now (a replacement deleted the old
// role): look it up at once and create again if it is not there.
func (ru *run) unknownOutcome(ctx context.Context, ch Change, intent state.Record, cause error) error {
	if ch.Window.Start.After(ru.r.o.clock.Now()) || classify(cause) == FailureSystemic {
		return cause
	}
	roles, err := ru.r.rolesOf(ctx, ch.GroupID, intent.UserID)
	if err != nil {
		return cause // still pending: looked up next run
	}
	for _, ra := range roles {
		if ra.RoleID == kisi.RoleGroupBasic && kisiglue.SameWindow(kisiglue.RoleWindow(ra), intent.Window) {
			intent.State, intent.KisiID = state.StateSettled, ra.ID
			ru.rep.Adopted++
			return ru.settle(ctx, intent)
		}
	}
	if len(roles) > 0 {
		return cause // something else is there: the next run sorts it out
	}
	if err := ru.del(ctx, intent.Key); err != nil {
		return errors.Join(cause, err)
	}
	return &errRetry{cause}
}

// roleRefused handles a 422 on a role create. Kisi holds one role per user
// and group: the role there is this SDK's own (created for the same
// window, or left by a lost Store: its user carries the SDK's tag), a
// hand-made one (a conflict, left alone unless the groups are declared the
// platform's), or none (a plain refusal, parked with back-off).
func (ru *run) roleRefused(ctx context.Context, ch Change, intent, user state.Record, cause error) error {
	roles, err := ru.r.rolesOf(ctx, ch.GroupID, intent.UserID)
	if err != nil {
		return errors.Join(cause, fmt.Errorf("look up existing role: %w", err))
	}
	for _, ra := range roles {
		if ra.RoleID == kisi.RoleGroupBasic && kisiglue.SameWindow(kisiglue.RoleWindow(ra), intent.Window) {
			intent.State, intent.KisiID = state.StateSettled, ra.ID
			ru.rep.Adopted++
			return ru.settle(ctx, intent)
		}
	}
	if len(roles) == 0 {
		if err := ru.del(ctx, intent.Key); err != nil {
			return errors.Join(cause, err)
		}
		return ru.park(ctx, ch, FailureRefused, cause)
	}
	if user.Created || ru.r.o.exclusive {
		// This SDK's own role (its Store lost it, or a run that lost its
		// lease made it) or one in a group the platform owns: recorded
		// first (a fenced write), never deleted unrecorded. One out of
		// force is replaced at once; one in force is kept, and the next
		// run compares its window with the desired one like any other (a
		// shorter one passes the guard).
		ra := roles[0]
		found := kisiglue.RoleWindow(ra)
		intent.State, intent.KisiID, intent.Window = state.StateSettled, ra.ID, found
		ru.rep.Adopted++
		if err := ru.settle(ctx, intent); err != nil {
			return errors.Join(cause, err)
		}
		now := ru.r.o.clock.Now()
		if found.Start.After(now) || ended(found, now) {
			if err := ru.remove(ctx, Change{Object: ObjectGrant, Key: intent.Key, KisiID: ra.ID}); err != nil {
				return errors.Join(cause, fmt.Errorf("remove role %d: %w", ra.ID, err))
			}
			return &errRetry{cause}
		}
		ru.rep.NextRun = earliest(ru.rep.NextRun, now.Add(ru.r.o.retryAfter))
		return nil
	}
	intent.State, intent.KisiID = state.StateConflict, roles[0].ID
	ru.rep.Conflicts = append(ru.rep.Conflicts, Conflict{Email: ch.Email, GroupID: ch.GroupID, KisiID: roles[0].ID, Window: intent.Window})
	return ru.put(ctx, intent)
}

// roleMissing handles a 404 on a role create: one read tells a deleted group
// (its grants are parked) from a deleted user (created again at once; the
// record keeps its invitation flag, so no second invitation goes out).
func (ru *run) roleMissing(ctx context.Context, ch Change, intent, user state.Record, cause error) error {
	if err := ru.del(ctx, intent.Key); err != nil {
		return errors.Join(cause, err)
	}
	_, _, err := ru.k.GetGroup(ctx, ch.GroupID)
	switch {
	case errors.Is(err, kisi.ErrNotFound):
		return ru.parkGroup(ctx, ch.GroupID, cause)
	case err != nil:
		return errors.Join(cause, fmt.Errorf("look up group %d: %w", ch.GroupID, err))
	}
	user.KisiID = 0 // gone from Kisi: ensureUser finds or creates it again
	if !ru.r.o.recreateUsers {
		user.State = state.StateGone // respected until a user with the email exists again
	}
	if err := ru.put(ctx, user); err != nil {
		return err
	}
	if !ru.r.o.recreateUsers {
		return ru.userDeleted(ctx, ch, cause)
	}
	return &errRetry{fmt.Errorf("user %s was deleted in Kisi: %w", ch.Email, cause)}
}

// userDeleted parks ch, whose member's Kisi user was deleted by hand (as
// Kisi's answer seen says, if any).
func (ru *run) userDeleted(ctx context.Context, ch Change, seen error) error {
	err := fmt.Errorf("%w: %s; create a user with this email in Kisi to give the member access again", errUserDeleted, ch.Email)
	if seen != nil {
		err = fmt.Errorf("%w (%w)", err, seen)
	}
	return ru.park(ctx, ch, FailureUserDeleted, err)
}

// park holds ch back with back-off after Kisi refused or failed it.
func (ru *run) park(ctx context.Context, ch Change, class FailureClass, cause error) error {
	rec := state.Record{Key: parkKey(ch.Key), Kind: state.KindPark, Email: ch.Email, GroupID: ch.GroupID,
		Class: class, Reason: cause.Error()}
	if window := cmp.Or(ch.Window, ch.Old); window != nil { // Old: a delete
		rec.Window = *window
	}
	return ru.backOff(ctx, ch, rec, cause)
}

// backOff stores the park record rec of ch, one failure later than the
// record it replaces, and reports ch parked until its retry.
func (ru *run) backOff(ctx context.Context, ch Change, rec state.Record, cause error) error {
	rec.Attempts = ru.recs[rec.Key].Attempts + 1
	rec.RetryAt = ru.r.o.clock.Now().Add(ru.r.o.backoff(rec.Attempts))
	if err := ru.put(ctx, rec); err != nil {
		return errors.Join(cause, err)
	}
	ru.rep.Parked = append(ru.rep.Parked, parkedOf(ch.Object, ch.Key, rec))
	ru.rep.NextRun = earliest(ru.rep.NextRun, rec.RetryAt)
	return cause
}

// orgFailed records a run of the organization that stopped, or left
// creates it could not look up, and returns how many in a row did.
func (ru *run) orgFailed(ctx context.Context) int {
	rec := ru.recs[orgParkKey]
	rec.Key, rec.Kind, rec.Class = orgParkKey, state.KindPark, FailureSystemic
	rec.Attempts++
	rec.RetryAt = ru.r.o.clock.Now().Add(ru.r.o.backoff(rec.Attempts))
	_ = ru.put(ctx, rec) // a failing Store is the failure itself: the count stays
	return rec.Attempts
}

// orgRecovered ends the organization's back-off after a run that neither
// stopped nor left anything to look up.
func (ru *run) orgRecovered(ctx context.Context) {
	if _, ok := ru.recs[orgParkKey]; ok {
		_ = ru.del(ctx, orgParkKey)
	}
}

// parkGroup parks every grant and link of a group deleted in Kisi until the
// mapping changes or Verify sees the group again.
func (ru *run) parkGroup(ctx context.Context, groupID int64, cause error) error {
	key := groupParkKey(groupID, ru.r.mappingFP)
	rec := state.Record{Key: key, Kind: state.KindPark, GroupID: groupID, Class: FailureMissing,
		Reason: fmt.Sprintf("group %d was deleted in Kisi", groupID)}
	if err := ru.put(ctx, rec); err != nil {
		return errors.Join(cause, err)
	}
	return fmt.Errorf("%w (group %d): %w", errGroupMissing, groupID, cause)
}

// waiting reports whether ch waits for a back-off: the roles or links of
// its group after a 403, or its own key after a server error (for a
// delete; a create that failed is held back when planned). Such a change
// is reported parked and sends no request.
func (ru *run) waiting(ch Change) bool {
	var keys []string
	if ch.Object == ObjectGrant || ch.Object == ObjectLink {
		keys = append(keys, forbiddenKey(ch.GroupID, ch.Object))
	}
	if ch.Action == ActionDelete {
		keys = append(keys, parkKey(ch.Key))
	}
	if ch.Action == ActionCreate && ch.Object == ObjectGrant && ru.recs[ch.Key].State != state.StateExposed {
		keys = append(keys, userParkKey(ch.Email))
	}
	now := ru.r.o.clock.Now()
	for _, key := range keys {
		rec, ok := ru.recs[key]
		if ok && rec.Class != FailureMissing && now.Before(rec.RetryAt) && (rec.Class == FailureForbidden ||
			rec.Class == FailureTransient || strings.HasPrefix(key, "park/user/")) {
			ru.rep.Parked = append(ru.rep.Parked, parkedOf(ch.Object, ch.Key, rec))
			ru.rep.NextRun = earliest(ru.rep.NextRun, rec.RetryAt)
			return true
		}
	}
	return false
}

// forbid parks the roles or links (as ch) of the group of ch after Kisi
// refused the API key on them (403): the group's other changes of that kind
// wait, with back-off, while the run goes on.
func (ru *run) forbid(ctx context.Context, ch Change, cause error) error {
	what := "roles"
	if ch.Object == ObjectLink {
		what = "links"
	}
	name := ru.r.o.groupNames[ch.GroupID]
	if name == "" {
		name = fmt.Sprintf("group %d", ch.GroupID)
	}
	rec := state.Record{Key: forbiddenKey(ch.GroupID, ch.Object), Kind: state.KindPark, GroupID: ch.GroupID,
		Class:  FailureForbidden,
		Reason: fmt.Sprintf("the API key may not change the %s of %s in Kisi (403): give its user rights on the place", what, name)}
	return ru.backOff(ctx, ch, rec, cause)
}

// allowed drops the 403 park of the group of ch (for its kind of object)
// once a write to it succeeded.
func (ru *run) allowed(ctx context.Context, ch Change) *SystemicError {
	if _, ok := ru.recs[forbiddenKey(ch.GroupID, ch.Object)]; !ok || ch.GroupID == 0 {
		return nil
	}
	if err := ru.del(ctx, forbiddenKey(ch.GroupID, ch.Object)); err != nil {
		return &SystemicError{Organization: ru.r.o.org, Err: err, Advice: advice(err)}
	}
	return nil
}

// parkedOf reports the park record rec of the change with key.
func parkedOf(object ObjectKind, key string, rec state.Record) Parked {
	return Parked{Object: object, Key: key, Email: rec.Email, GroupID: rec.GroupID, Class: rec.Class,
		Reason: rec.Reason, RetryAt: rec.RetryAt}
}

// ensureUser returns the user record of ch.Email: from the Store, else
// from the run's listing of the organization's users, else created — and
// looked up only when Kisi answers that the email is taken (a user created
// by hand, or by this SDK before a lost response).
func (ru *run) ensureUser(ctx context.Context, ch Change) (state.Record, error) {
	key := state.UserKey(ch.Email)
	prev, had := ru.recs[key]
	if had && prev.KisiID != 0 {
		return prev, nil
	}
	// A user deleted in Kisi keeps its record without an id: the invitation
	// it had survives, so the user found or created again gets none.
	invited := had && prev.Invited
	if u, ok := ru.known[ch.Email]; ok {
		return ru.foundUser(ctx, ch, u)
	}
	if had && prev.State == state.StateGone && !ru.r.o.recreateUsers {
		// Deleted by hand: only a user someone created again counts.
		found, err := ru.findUser(ctx, ch.Email)
		switch {
		case err != nil:
			return state.Record{}, fmt.Errorf("find user: %w", err)
		case found == nil:
			return state.Record{}, ru.userDeleted(ctx, ch, nil)
		}
		return ru.foundUser(ctx, ch, found)
	}
	req := &kisi.UserCreateRequest{Email: ch.Email, Name: ch.Name, Metadata: map[string]any{MetadataKey: MetadataValue}}
	if ch.Managed {
		req.SendEmails, req.Confirm = kisi.Ptr(false), kisi.Ptr(true)
	}
	u, _, err := ru.k.CreateUser(ctx, req)
	switch {
	case err == nil:
		ru.rep.UsersCreated++
		rec := state.Record{Key: key, Kind: state.KindUser, KisiID: u.ID, Email: ch.Email, MemberID: ch.MemberID,
			Created: true, Managed: ch.Managed, Invited: invited || ch.Managed, Confirmed: u.Confirmed}
		return rec, ru.putUser(ctx, rec)
	case !emailTaken(err) && !errors.Is(err, kisi.ErrMaybeApplied):
		return state.Record{}, ru.parkUser(ctx, ch, fmt.Errorf("create user: %w", err))
	}
	// The email is taken, or the create may have happened with its answer
	// lost: one lookup settles it.
	found, ferr := onceMore(func() (*kisi.User, error) { return ru.findUser(ctx, ch.Email) })
	if ferr != nil {
		return state.Record{}, fmt.Errorf("find user: %w", ferr)
	}
	if found == nil {
		return state.Record{}, ru.parkUser(ctx, ch, fmt.Errorf("create user: %w; no user with this email was found", err))
	}
	return ru.foundUser(ctx, ch, found)
}

// parkUser parks the Kisi user of ch after its create failed with cause
// (refused, failing, or lost and not found): every grant of the email
// waits for one back-off, the user's, rather than each for its own. A
// failure of the whole organization or of the group is left to its scope.
func (ru *run) parkUser(ctx context.Context, ch Change, cause error) error {
	class := classify(cause)
	if class == FailureSystemic || class == FailureForbidden {
		return cause
	}
	rec := state.Record{Key: userParkKey(ch.Email), Kind: state.KindPark, Email: ch.Email, Class: class,
		Reason: cause.Error()}
	return fmt.Errorf("%w (%w)", errUserParked, ru.backOff(ctx, ch, rec, cause))
}

// errUserParked marks the failure of a change whose user is parked (see
// parkUser): the change itself is not parked again.
var errUserParked = errors.New("the member's Kisi user waits for its back-off")

// foundUser records a Kisi user that existed before this run wanted it.
func (ru *run) foundUser(ctx context.Context, ch Change, u *kisi.User) (state.Record, error) {
	created := kisiglue.MarkedBySDK(u)
	rec := state.Record{Key: state.UserKey(ch.Email), Kind: state.KindUser, KisiID: u.ID, Email: ch.Email, MemberID: ch.MemberID,
		Created: created, Managed: ch.Managed, Confirmed: u.Status() == kisi.UserStatusActive,
		// A user someone else created already had Kisi's invitation; one
		// of this SDK's got it with its first grant (a lost Store does not
		// tell which; a second email would do more harm than none, and
		// Diagnose reports the users who never signed in).
		Invited: true}
	return rec, ru.putUser(ctx, rec)
}

// putUser records a Kisi user the run created or found, and ends its
// back-off.
func (ru *run) putUser(ctx context.Context, rec state.Record) error {
	if err := ru.put(ctx, rec); err != nil {
		return err
	}
	if _, ok := ru.recs[userParkKey(rec.Email)]; ok {
		return ru.del(ctx, userParkKey(rec.Email))
	}
	return nil
}

// emailTaken reports Kisi's answer to a user create for an email that has a
// user already: a 422 on the email field, or a 200 with the existing user
// (kisi.ErrEmailTaken matches both).
func emailTaken(err error) bool {
	return errors.Is(err, kisi.ErrEmailTaken)
}

// findUser looks a user up by email (Kisi's query filter, all pages, exact
// match of the normalized email); nil if there is none.
func (ru *run) findUser(ctx context.Context, email string) (*kisi.User, error) {
	for u, err := range kisi.Items(ctx, ru.r.k.ListUsers, &kisi.UserListOptions{Query: email}) {
		if err != nil {
			return nil, err
		}
		if kisi.NormalizeEmail(u.Email) == email {
			return u, nil
		}
	}
	return nil, nil
}

// listUsersMin is the number of users a run must create or find before it
// considers listing the organization's users instead of creating first.
const listUsersMin = 100

// prefetchUsers lists the organization's users once when that is cheap next
// to the users the run needs: at least listUsersMin unknown emails, and a
// listing of at most a tenth as many requests. Onboarding a space whose
// members mostly have Kisi users then costs one request per hundred users
// instead of a refused create and a lookup each; a space whose members are
// new pays at most 10% more. The listing stops at the first page when it
// would cost more. Its error is that of a failed listing.
func (ru *run) prefetchUsers(ctx context.Context, c *Changes) error {
	need := make(map[string]bool)
	for _, ch := range c.Changes {
		if ch.Object != ObjectGrant || (ch.Action != ActionCreate && ch.Action != ActionReplace) {
			continue
		}
		if rec, ok := ru.recs[state.UserKey(ch.Email)]; !ok || rec.KisiID == 0 {
			need[ch.Email] = true
		}
	}
	if len(need) < listUsersMin {
		return nil
	}
	ru.known = make(map[string]*kisi.User)
	for page, err := range kisi.Pages(ctx, ru.k.ListUsers, nil) {
		if errors.Is(err, kisi.ErrOffsetCap) {
			return nil // the users beyond Kisi's offset cap are created first
		}
		if err != nil {
			ru.known = nil
			return err // creating first still works, unless the failure is systemic
		}
		for _, u := range page.Items {
			ru.known[kisi.NormalizeEmail(u.Email)] = u
		}
		if total := page.Response.Total; page.Offset == 0 && total > 0 && (total+kisi.MaxLimitUsers-1)/kisi.MaxLimitUsers > len(need)/10 {
			ru.known = nil // too many users to list: create first
			return nil
		}
	}
	return nil
}

func (ru *run) createLink(ctx context.Context, ch Change) error {
	if ru.quotaFull && ch.Email != "" {
		// Kisi refused a link for its quota earlier in this run: wait, and
		// send no more requests that must fail.
		if err := ru.park(ctx, ch, FailureQuota, fmt.Errorf("%w: waiting for room", errQuota)); !errors.Is(err, errQuota) {
			return err
		}
		return nil
	}
	intent := state.Record{Key: ch.Key, Kind: state.KindLink, State: state.StatePending, Email: ch.Email, GroupID: ch.GroupID,
		BookingID: ch.BookingID, Name: ch.Name, SendLink: ch.SendLink, QR: ch.QR, Window: *ch.Window, Sources: ch.Sources}
	if err := ru.put(ctx, intent); err != nil {
		return err
	}
	from, until := kisiglue.Validity(*ch.Window)
	req := &kisi.GroupLinkCreateRequest{GroupID: ch.GroupID, Name: kisiglue.LinkName(ch.Name, ch.BookingID), LinkEnabled: kisi.Ptr(ch.SendLink),
		ValidFrom: from, ValidUntil: until}
	if ch.Email != "" {
		req.Email = kisi.Ptr(ch.Email)
	}
	if ch.QR {
		req.QuickResponseCodeType = kisi.Ptr("online")
	}
	l, _, err := ru.k.CreateGroupLink(ctx, req)
	if err != nil {
		return ru.linkFailed(ctx, ch, intent, err)
	}
	intent.State, intent.KisiID = state.StateSettled, l.ID
	created := CreatedLink{Link: Link{BookingID: ch.BookingID, GroupID: ch.GroupID, Name: ch.Name, Email: ch.Email,
		Window: *ch.Window, SendLink: ch.SendLink, QR: ch.QR}, KisiID: l.ID}
	if l.Secret != nil {
		created.Secret = *l.Secret
	}
	if l.QuickResponseCodeImage != nil {
		created.QRImage = *l.QuickResponseCodeImage
	}
	if ru.r.o.notifier != nil {
		// Kept until the Notifier accepts it, so a failed notification can
		// be retried; dropped after.
		intent.Secret, intent.QRImage = created.Secret, created.QRImage
	}
	if err := ru.settle(ctx, intent); err != nil {
		return err
	}
	ru.created(ch)
	if ru.r.o.notifier != nil {
		return ru.notify(ctx, intent, created)
	}
	return nil
}

// linkFailed settles an intent after a failed create of a link: an unknown
// outcome stays pending (looked up next run); a 404 means the group was
// deleted; a refusal for the email-link quota parks this and the run's
// other links; any other refusal parks the link with back-off.
func (ru *run) linkFailed(ctx context.Context, ch Change, intent state.Record, cause error) error {
	if !definite(cause) {
		return cause
	}
	if err := ru.del(ctx, intent.Key); err != nil {
		return errors.Join(cause, err)
	}
	switch {
	case errors.Is(cause, kisi.ErrNotFound):
		return ru.parkGroup(ctx, ch.GroupID, cause)
	case ch.Email != "" && quotaRefusal(cause):
		ru.quotaFull = true
		return ru.park(ctx, ch, FailureQuota, fmt.Errorf("%w: %w", errQuota, cause))
	case classify(cause) == FailureForbidden:
		return cause // the whole group waits (see forbid)
	}
	return ru.park(ctx, ch, FailureRefused, cause)
}

// quotaRefusal reports Kisi's answer to a link beyond the email-link quota:
// a 422 whose message speaks of the limit. Kisi documents no error code
// for it, so its text is the only sign.
func quotaRefusal(err error) bool {
	var ke *kisi.Error
	if !errors.As(err, &ke) || ke.StatusCode != http.StatusUnprocessableEntity {
		return false
	}
	texts := []string{ke.Message}
	for _, msgs := range ke.Fields {
		texts = append(texts, msgs...)
	}
	for _, t := range texts {
		if strings.Contains(strings.ToLower(t), "limit") {
			return true
		}
	}
	return false
}

func (ru *run) notify(ctx context.Context, rec state.Record, l CreatedLink) error {
	ru.tried[rec.Key] = true
	if err := ru.r.o.notifier.LinkCreated(ctx, l); err != nil {
		// The host's failure, not Kisi's: retried alone, with back-off.
		rec.Attempts++
		rec.RetryAt = ru.r.o.clock.Now().Add(ru.r.o.backoff(rec.Attempts))
		ru.rep.NextRun = earliest(ru.rep.NextRun, rec.RetryAt)
		cause := &hostError{fmt.Errorf("notify link %d: %w", rec.KisiID, err)}
		if perr := ru.put(ctx, rec); perr != nil {
			return errors.Join(cause, perr)
		}
		return cause
	}
	rec.Notified, rec.Secret, rec.QRImage, rec.Attempts, rec.RetryAt = true, "", "", 0, time.Time{}
	return ru.put(ctx, rec)
}

// retryNotifications retries links whose Notifier call failed earlier.
func (ru *run) retryNotifications(ctx context.Context) {
	keys := slices.Sorted(maps.Keys(ru.recs))
	for _, key := range keys {
		rec := ru.recs[key]
		if rec.Kind != state.KindLink || rec.State != state.StateSettled || rec.Notified || ru.tried[key] ||
			rec.Secret == "" && rec.QRImage == "" {
			continue
		}
		if now := ru.r.o.clock.Now(); now.Before(rec.RetryAt) {
			ru.rep.NextRun = earliest(ru.rep.NextRun, rec.RetryAt)
			continue
		}
		l := CreatedLink{Link: Link{BookingID: rec.BookingID, GroupID: rec.GroupID, Name: rec.Name, Email: rec.Email,
			Window: rec.Window, SendLink: rec.SendLink, QR: rec.QR}, KisiID: rec.KisiID, Secret: rec.Secret, QRImage: rec.QRImage}
		if err := ru.notify(ctx, rec, l); err != nil {
			ru.rep.Failed++
			ru.rep.Failures = append(ru.rep.Failures, Failure{Action: ActionCreate, Object: ObjectLink, Key: key,
				Email: rec.Email, GroupID: rec.GroupID, Class: classify(err), Message: err.Error(), Err: err})
			ru.errs = append(ru.errs, fmt.Errorf("access: %w", err))
		}
	}
}
