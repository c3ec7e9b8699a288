package access

import (
	"context"
	"errors"
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

// createsDoubtful reports whether replacements of object in force wait at
// now, and until when at the latest (zero: until a create works).
func (ru *run) createsDoubtful(object ObjectKind, now time.Time) (bool, time.Time) {
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
