package access

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kisisync/kisisync/access/state"
)

// The Store remembers that Kisi failed a role create (a server error, an
// unknown outcome) and none worked since. While it does, no role in force is
// replaced by delete and create — Kisi holds one role per user and group, so
// the member would be without one between the two — but for one replacement
// that finds out once the failure's back-off ends; once a replacement left
// someone without access (State exposed: the incident's one exposure), none
// until a create works, however long Kisi keeps failing and whoever comes
// and goes meanwhile. (A link in force is replaced by creating the new one
// first: see run.replaceLinkInForce.)

// createsFailingKey is the key of that record.
const createsFailingKey = "park/creates"

// createsInDoubt reports whether replacements of roles in force wait at
// now, and until when at the latest (zero: until a create works).
func (ru *run) createsInDoubt(now time.Time) (bool, time.Time) {
	rec, ok := ru.recs[createsFailingKey]
	switch {
	case !ok:
		return false, time.Time{}
	case rec.State == state.StateExposed:
		return true, time.Time{}
	}
	return now.Before(rec.RetryAt), rec.RetryAt
}

// createWorked forgets that role creates failed.
func (ru *run) createWorked(ctx context.Context) error {
	if _, ok := ru.recs[createsFailingKey]; !ok {
		return nil
	}
	return ru.del(ctx, createsFailingKey)
}

// createFailedAgain remembers that a role create failed with cause, one
// failure later.
func (ru *run) createFailedAgain(ctx context.Context, cause error) error {
	rec, ok := ru.recs[createsFailingKey]
	if !ok {
		rec = state.Record{Key: createsFailingKey, Kind: state.KindPark,
			Reason: "Kisi failed a create: what is in force is kept, not replaced by delete and create, until a create works"}
	}
	return errors.Join(cause, ru.put(ctx, ru.retried(Change{}, rec)))
}

// exposedOnce records that a replacement left a member without a role: none
// is tried again until a create works.
func (ru *run) exposedOnce(ctx context.Context) error {
	rec, ok := ru.recs[createsFailingKey]
	if !ok || rec.State == state.StateExposed {
		return nil
	}
	rec.State = state.StateExposed
	return ru.put(ctx, rec)
}

// keepInForce reports the replacement ch of a role parked: the role it
// replaces stays in force, valid until its end, and no request is sent; it
// is tried again by then, or when the failing creates' back-off ends (until,
// if after now).
func (ru *run) keepInForce(ch Change, now, until time.Time) {
	retry := ch.Old.End
	if until.After(now) {
		retry = earliest(retry, until)
	}
	ru.rep.Parked = append(ru.rep.Parked, Parked{Object: ch.Object, Key: ch.Key, Email: ch.Email, GroupID: ch.GroupID,
		Class: FailureTransient, RetryAt: retry,
		Reason: fmt.Sprintf("Kisi is failing creates, so the role in force is kept (valid until %s) and replaced once one works",
			ch.Old.End.UTC().Format(time.RFC3339))})
	ru.rep.NextRun = earliest(ru.rep.NextRun, retry)
}
