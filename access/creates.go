package access

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kisisync/kisisync/access/state"
)

// The Store remembers, per kind of object, that Kisi failed a create (a
// server error, an unknown outcome) and none worked since. While it does,
// nothing in force is replaced by delete and create — a member or guest
// would be left without access between the two — but for one replacement
// that finds out once the failure's back-off ends; once a replacement left
// someone without access (State exposed: the incident's one exposure),
// none until a create works, however long Kisi keeps failing and whoever
// comes and goes meanwhile.

// createsFailingKey returns the key of that record for object.
func createsFailingKey(object ObjectKind) string {
	if object == ObjectLink {
		return "park/creates/link"
	}
	return "park/creates"
}

// createsInDoubt reports whether replacements of object in force wait at
// now, and until when at the latest (zero: until a create works).
func (ru *run) createsInDoubt(object ObjectKind, now time.Time) (bool, time.Time) {
	rec, ok := ru.recs[createsFailingKey(object)]
	switch {
	case !ok:
		return false, time.Time{}
	case rec.State == state.StateExposed:
		return true, time.Time{}
	}
	return now.Before(rec.RetryAt), rec.RetryAt
}

// createWorked forgets that creates of object failed.
func (ru *run) createWorked(ctx context.Context, object ObjectKind) error {
	if _, ok := ru.recs[createsFailingKey(object)]; !ok {
		return nil
	}
	return ru.del(ctx, createsFailingKey(object))
}

// createFailedAgain remembers that a create of object failed with cause, one
// failure later.
func (ru *run) createFailedAgain(ctx context.Context, object ObjectKind, cause error) error {
	key := createsFailingKey(object)
	rec, ok := ru.recs[key]
	if !ok {
		rec = state.Record{Key: key, Kind: state.KindPark,
			Reason: "Kisi failed a create: what is in force is kept, not replaced by delete and create, until a create works"}
	}
	return errors.Join(cause, ru.put(ctx, ru.retried(Change{}, rec)))
}

// exposedOnce records that a replacement of object left someone without
// access: none is tried again until a create works.
func (ru *run) exposedOnce(ctx context.Context, object ObjectKind) error {
	rec, ok := ru.recs[createsFailingKey(object)]
	if !ok || rec.State == state.StateExposed {
		return nil
	}
	rec.State = state.StateExposed
	return ru.put(ctx, rec)
}

// keepInForce reports the replacement ch (of a role or a link, what)
// parked: what it replaces stays in force, valid until its end, and no
// request is sent; it is tried again by then, or when the failing creates'
// back-off ends (until, if after now).
func (ru *run) keepInForce(ch Change, now, until time.Time, what string) {
	retry := ch.Old.End
	if until.After(now) {
		retry = earliest(retry, until)
	}
	ru.rep.Parked = append(ru.rep.Parked, Parked{Object: ch.Object, Key: ch.Key, Email: ch.Email, GroupID: ch.GroupID,
		Class: FailureTransient, RetryAt: retry,
		Reason: fmt.Sprintf("Kisi is failing creates, so the %s in force is kept (valid until %s) and replaced once one works",
			what, ch.Old.End.UTC().Format(time.RFC3339))})
	ru.rep.NextRun = earliest(ru.rep.NextRun, retry)
}
