package access

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kisisync/kisisync/access/state"
)

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
	return ru.parked(ctx, ch, ru.retried(ch, rec), cause)
}

// parked stores the park record rec of ch and reports ch parked until its
// retry.
func (ru *run) parked(ctx context.Context, ch Change, rec state.Record, cause error) error {
	if err := ru.put(ctx, rec); err != nil {
		return errors.Join(cause, err)
	}
	p := parkedOf(ch.Object, ch.Key, rec)
	p.Email = cmp.Or(ch.Email, rec.Email) // a group's record names no member
	ru.rep.Parked = append(ru.rep.Parked, p)
	ru.rep.NextRun = earliest(ru.rep.NextRun, rec.RetryAt)
	return cause
}

// retried returns the park record rec of ch one failure later: its
// attempts and its retry.
func (ru *run) retried(ch Change, rec state.Record) state.Record {
	prev, ok := ru.recs[rec.Key]
	if !ok && ch.GroupID != 0 {
		// A change that failed before in another way (its own key after
		// server errors, or its group after a 403) has been failing all
		// that time: it goes on from that back-off.
		if prev, ok = ru.recs[parkKey(ch.Key)]; !ok {
			prev, ok = ru.recs[forbiddenKey(ch.GroupID, ch.Object)]
		}
	}
	rec.Attempts, rec.RetryAt = ru.failedOnce(prev, ok)
	return rec
}

// failedOnce returns the attempts and the retry of a key that failed once
// more after the record prev of its last failure (ok: there was one).
func (ru *run) failedOnce(prev state.Record, ok bool) (int, time.Time) {
	now := ru.r.o.clock.Now()
	attempts := prev.Attempts + 1
	delay := ru.r.o.backoff(attempts)
	if ok && !prev.Updated.IsZero() {
		// A key that was not tried for a while (the organization's runs
		// backed off meanwhile) has been failing all that time: its delay
		// grows with that time, not only with its attempts.
		delay = max(delay, min(now.Sub(prev.Updated), ru.r.o.maxBackoff))
	}
	return attempts, now.Add(delay)
}

// failedAgain goes on with the back-off of ch's key (or of its user's)
// when a failure of the whole organization stops the run at it: the key
// has failed once more, and the organization's back-off alone would let it
// be tried at its every retry.
func (ru *run) failedAgain(ctx context.Context, ch Change, cause error) {
	keys := []string{parkKey(ch.Key)}
	if ch.Object == ObjectGrant && ch.Action == ActionCreate {
		keys = append(keys, userParkKey(ch.Email))
	}
	for _, key := range keys {
		rec, ok := ru.recs[key]
		switch {
		case ok:
			// Failing before, in whatever scope (a server error, its
			// group's 403): one failure more.
			_ = ru.backOff(ctx, ch, rec, cause) // the run stops either way
		case !ok && key == parkKey(ch.Key) && (ch.Object == ObjectGrant || ch.Object == ObjectLink):
			// Its first failure: kept, so that if the key goes on failing
			// in a scope of its own (its group's 403 once Kisi takes the
			// organization's requests again), its back-off goes on from
			// here. Its retry is never later than the organization's.
			_ = ru.park(ctx, ch, FailureTransient, cause)
		}
	}
}

// orgFailed records a run of the organization that stopped, or left
// creates it could not look up, and returns how many in a row did.
func (ru *run) orgFailed(ctx context.Context, stopped bool) int {
	rec := ru.recs[orgParkKey]
	rec.Key, rec.Kind, rec.Class = orgParkKey, state.KindPark, FailureUnknown
	if stopped || ru.orgWaits {
		// Stopped, or came sooner for a member without a role while the
		// rest waited: the organization's back-off goes on.
		rec.Class = FailureSystemic
	}
	rec.Attempts++
	rec.RetryAt = ru.r.o.clock.Now().Add(ru.r.o.backoff(rec.Attempts))
	_ = ru.put(ctx, rec) // a failing Store is the failure itself: the count stays
	return rec.Attempts
}

// orgRecovered ends the organization's back-off after a run that neither
// stopped nor left anything to look up, and in which a change went through:
// a run whose every change waited for its own back-off proves nothing.
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

// waiting reports whether ch waits for a back-off: the organization's in a
// run that comes sooner for a member left without a role, the roles or
// links of its group after a 403, or its own key after a server error (for a
// delete, or a replacement whose delete failed, unless the role it
// replaces is in force and ends within deferFor; a create that failed is
// held back when planned). Such a change is reported parked and sends no request.
func (ru *run) waiting(ch Change) bool {
	now := ru.r.o.clock.Now()
	if rec, ok := ru.recs[orgParkKey]; ok && rec.Class == FailureSystemic && now.Before(rec.RetryAt) &&
		ru.recs[ch.Key].State != state.StateExposed && ru.exposing() {
		// Kisi failed the organization's last run as a whole, and this
		// one comes before its back-off ends only for a member left
		// without a role: the other changes wait for the back-off. (A run
		// the host woke probes with its first change; the key that stopped
		// the last run waits for its own back-off: see failedAgain.)
		rec.Email, rec.GroupID = ch.Email, ch.GroupID
		ru.rep.Parked = append(ru.rep.Parked, parkedOf(ch.Object, ch.Key, rec))
		ru.rep.NextRun = earliest(ru.rep.NextRun, rec.RetryAt)
		ru.orgWaits = true
		return true
	}
	var keys []string
	if ch.Object == ObjectGrant || ch.Object == ObjectLink {
		keys = append(keys, forbiddenKey(ch.GroupID, ch.Object))
	}
	endsSoon := replacesInForce(ch, now) && !ch.Old.End.After(now.Add(deferFor))
	if ch.Action == ActionDelete || ch.Action == ActionReplace && !endsSoon && ru.recs[ch.Key].State != state.StateExposed {
		keys = append(keys, parkKey(ch.Key))
	}
	if ch.Action == ActionCreate && ch.Object == ObjectGrant && ru.recs[ch.Key].State != state.StateExposed {
		keys = append(keys, userParkKey(ch.Email))
	}
	if rec, ok := ru.recs[parkKey(ch.Key)]; ok && ch.Action == ActionCreate && ru.recs[ch.Key].State == state.StateExposed &&
		rec.Class == FailureRefused && now.Before(rec.RetryAt) {
		// A member Kisi refused outright after a replacement: retried
		// with back-off, as any refused key.
		ru.rep.Parked = append(ru.rep.Parked, parkedOf(ch.Object, ch.Key, rec))
		ru.rep.NextRun = earliest(ru.rep.NextRun, rec.RetryAt)
		return true
	}
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

// exposing reports whether the Store records a member left without a
// role inside their window (see uncovered).
func (ru *run) exposing() bool {
	for _, rec := range ru.recs {
		if rec.State == state.StateExposed {
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
	// The change itself backs off too: when other writes to the group
	// work (Kisi refused the key this one only), the group's park goes
	// and this change's stays.
	own := state.Record{Key: parkKey(ch.Key), Kind: state.KindPark, Email: ch.Email, GroupID: ch.GroupID,
		Class: FailureForbidden, Reason: rec.Reason}
	if window := cmp.Or(ch.Window, ch.Old); window != nil {
		own.Window = *window
	}
	own, rec = ru.retried(ch, own), ru.retried(ch, rec) // both from the records before either is written
	if err := ru.put(ctx, own); err != nil {
		return errors.Join(cause, err)
	}
	return ru.parked(ctx, ch, rec, cause)
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
