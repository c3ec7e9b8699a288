package access

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/kisisync/kisisync/access/state"
	"github.com/kisisync/kisisync/internal/kisiglue"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/schedule"
)

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
		return ru.createLink(ctx, ch, nil)
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
	if errors.Is(err, errRoleGone) {
		// Deleted in Kisi since: nothing is in force to keep, or to
		// delete. The member gets the new window at once.
		if err := ru.del(ctx, ch.Key); err != nil {
			return err
		}
		if err := ru.create(ctx, ch); err != nil {
			return err
		}
		ru.rep.Replaced++
		return nil
	}
	if class := classify(err); err != nil && (class == FailureTransient || class == FailureUnknown) {
		// Kisi failed the PATCH (or its read-back): the role stays as it
		// was, and the renewal backs off like any failing key.
		return ru.park(ctx, ch, class, err)
	}
	if err != nil || done {
		if done {
			ru.rep.Replaced++
		}
		return err
	}
	now := ru.r.o.clock.Now()
	inForce := replacesInForce(ch, now)
	if inForce && (ru.creates == createsFail || ru.creates == createsDoubtful) {
		// A create that works (the creates before this change in a run,
		// the failing keys' retries, which NextRun counts) lets it be
		// replaced, as may the end of the failing creates' back-off; else
		// it ends by itself and is created anew.
		_, until := ru.createsInDoubt(now)
		ru.keepInForce(ch, now, until)
		return nil
	}
	if err := ru.remove(ctx, ch); err != nil {
		var held *stillHeld
		if class := classify(err); errors.As(err, &held) || class == FailureTransient || class == FailureUnknown {
			// Kisi failed the delete: the role is still there, or (its
			// answer lost, and the read that would tell failed too) may
			// be. The replacement backs off like any failing key; its next
			// try finds out, and creates the role if it is gone.
			return ru.park(ctx, ch, FailureTransient, err)
		}
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

// deferFor is how soon a role in force must end for the replacement whose
// delete failed to be tried before its back-off ends (see run.waiting).
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
	refused := errors.Is(cause, kisi.ErrValidation)
	if refused && !kisiglue.SameWindow(old, *ch.Window) {
		parked, wasParked := ru.recs[parkKey(ch.Key)]
		restore := ch
		restore.Window = &old
		err := ru.createGrant(ctx, restore)
		if err == nil {
			if wasParked { // the refusal of the new window keeps its back-off
				if err := ru.put(ctx, parked); err != nil {
					return errors.Join(cause, err)
				}
			}
			return fmt.Errorf("%w; the role's window until %s was restored", cause, old.End.UTC().Format(time.RFC3339))
		}
		refused = errors.Is(err, kisi.ErrValidation)
	}
	if err := ru.exposedOnce(ctx); err != nil {
		return errors.Join(cause, err)
	}
	rec := state.Record{Key: ch.Key, Kind: state.KindRole, State: state.StateExposed, Email: ch.Email, MemberID: ch.MemberID,
		GroupID: ch.GroupID, Window: old, Sources: ch.Sources}
	if err := ru.put(ctx, rec); err != nil {
		return errors.Join(cause, err)
	}
	if refused {
		// Kisi refuses the member outright, whatever the window: the one
		// exception to "no lockout", reported with its cause. Its create
		// backs off like any refused key instead of being sent by every
		// run (see waiting).
		return ru.park(ctx, ch, FailureRefused, cause)
	}
	ru.lockout = true
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
			switch there, lerr := ru.stillThere(ctx, ch); {
			case lerr == nil && !there:
				err = nil
			case lerr == nil:
				err = &stillHeld{err}
			}
		}
		if err != nil && !errors.Is(err, kisi.ErrNotFound) {
			return err
		}
	}
	if rec := ru.recs[ch.Key]; rec.Supersedes != nil {
		// The link it replaced goes with it.
		if err := ru.dropSuperseded(ctx, rec); err != nil {
			return err
		}
	}
	return ru.del(ctx, ch.Key)
}

// stillHeld is a failed delete whose object a read found still in Kisi.
type stillHeld struct{ err error }

func (e *stillHeld) Error() string { return e.err.Error() }
func (e *stillHeld) Unwrap() error { return e.err }

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
//
// Kisi answers a PATCH with no body, so whether it changed the window is
// read back, until once it did: remembered in the Store too, later PATCHes
// go alone, one request each. A Verify that finds a role's window other
// than recorded forgets it (see forgetPatchVerified).
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
			return false, errRoleGone
		case errors.Is(err, kisi.ErrValidation):
			return false, ru.park(ctx, ch, FailureRefused, err)
		case errors.Is(err, kisi.ErrForbidden):
			return false, err // the key's rights, not PATCH: see step
		case errors.Is(err, kisi.ErrRejected):
			return false, ru.patchUnsupported(ctx, fmt.Sprintf("Kisi refused it: %v", err))
		}
		return false, err
	}
	if _, verified := ru.recs[patchVerifiedKey]; verified {
		rec.Window, rec.Sources, rec.MemberID = *ch.Window, ch.Sources, ch.MemberID
		return true, ru.put(ctx, rec)
	}
	roles, err := r.rolesOf(ctx, ch.GroupID, rec.UserID)
	if err != nil {
		return false, fmt.Errorf("read back patched window: %w", err)
	}
	for _, ra := range roles {
		if ra.ID == ch.KisiID && kisiglue.SameWindow(kisiglue.RoleWindow(ra), *ch.Window) {
			rec.Window, rec.Sources, rec.MemberID = *ch.Window, ch.Sources, ch.MemberID
			if err := ru.put(ctx, rec); err != nil {
				return true, err
			}
			return true, ru.put(ctx, state.Record{Key: patchVerifiedKey, Kind: state.KindPark,
				Reason: "Kisi changed a role's window with PATCH (read back): later PATCHes are not read back"})
		}
	}
	return false, ru.patchUnsupported(ctx, "the window read back unchanged")
}

// errRoleGone is a PATCH answered 404: the role is no longer in Kisi.
var errRoleGone = errors.New("the role is no longer in Kisi")

// forgetPatchVerified makes the next PATCH of a window be read back again:
// a role's window in Kisi differs from the one recorded, which a PATCH
// that stopped changing windows would also explain.
func (ru *run) forgetPatchVerified(ctx context.Context) error {
	if _, ok := ru.recs[patchVerifiedKey]; !ok {
		return nil
	}
	return ru.del(ctx, patchVerifiedKey)
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
			return ru.createWorked(ctx)
		case classify(err) == FailureTransient || classify(err) == FailureUnknown:
			// Kisi failing creates; a refusal of one member says nothing
			// of the others' creates.
			ru.creates = createsFail
			return ru.createFailedAgain(ctx, err)
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
	prev := ru.recs[ch.Key] // the intent replaces it: a conflict keeps its back-off
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
		return ru.createFailed(ctx, ch, intent, prev, user, err)
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

// createFailed settles an intent after a failed create of a role (prev is
// the record of its key before the intent): it tells the failure classes
// ([FailureClass]) apart with at most one read.
func (ru *run) createFailed(ctx context.Context, ch Change, intent, prev, user state.Record, cause error) error {
	switch {
	case !definite(cause) && prev.State == state.StateConflict:
		// The retry of a conflict: the role that blocked it stands as far
		// as this run knows, so the conflict is kept, one failure later. A
		// create that reached Kisi all the same is found, with its window,
		// by the refusal of the next retry.
		prev.Attempts, prev.RetryAt = ru.failedOnce(prev, true)
		if err := ru.put(ctx, prev); err != nil {
			return errors.Join(cause, err)
		}
		ru.rep.Conflicts = append(ru.rep.Conflicts, Conflict{Email: ch.Email, GroupID: ch.GroupID, KisiID: prev.KisiID, Window: *ch.Window})
		return cause
	case !definite(cause):
		return ru.unknownOutcome(ctx, ch, intent, cause)
	case errors.Is(cause, kisi.ErrValidation):
		return ru.roleRefused(ctx, ch, intent, prev, user, cause)
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
// platform's), or none (a plain refusal, parked with back-off). A role
// this SDK cannot prove it made is hand-made: one it made for a user it
// did not create, once its Store forgot it, carries no mark of its own
// (Kisi's created_by names the API key's user, whom a person may share).
// A conflict backs off on its key, from the conflict prev recorded before.
func (ru *run) roleRefused(ctx context.Context, ch Change, intent, prev, user state.Record, cause error) error {
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
	intent.Attempts, intent.RetryAt = ru.failedOnce(prev, prev.State == state.StateConflict)
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
