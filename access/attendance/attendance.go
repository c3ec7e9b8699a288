package attendance

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"maps"
	"strings"
	"sync"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/state"
	"github.com/kisisync/kisisync/kisi"
)

// Errors of [Tracker.Add]; test with [errors.Is]. An event that is not
// attendance wraps [ErrNotAttendance]; a successful unlock of an unknown
// person or at an unknown place wraps [access.ErrUnknownMember] or
// [access.ErrUnknownLocation].
var (
	// ErrNotAttendance reports an event that is not a successful unlock of a
	// lock by a user (a failed attempt, a link or guest unlock, another
	// event type).
	ErrNotAttendance = errors.New("not a successful unlock by a user")
	// ErrDuplicateEvent reports an event whose uuid was already turned into
	// a check-in (Kisi may deliver a webhook more than once).
	ErrDuplicateEvent = errors.New("event already seen")
)

// DefaultMemory is how many event uuids a [Tracker] remembers by default
// to drop repeated events.
const DefaultMemory = 10000

// Config configures a [Tracker].
//
// Members are matched by email, trimmed and case-folded as everywhere in
// this package. Kisi's webhook payload may carry only the user's id
// (actor_id), not the email: Users maps Kisi user ids to emails for those
// events ([UserEmails] builds it from the reconciler's Store records).
//
// The location of an unlock comes from the unlocked lock's Kisi place: the
// event's place_id looked up in Places (Kisi place id → platform location
// ID), with Locks (Kisi lock id → location ID) taking precedence for a lock
// whose place spans several locations. This host-supplied table is the
// clearest source: a place is a building, a location is a site of the
// platform, and the two are set up once side by side. (Inverting
// mapping.Locations is not used: a group may serve several locations, and
// it would need a Kisi request per lock.)
type Config struct {
	Members []access.Member
	Users   map[int64]string
	Places  map[int64]string
	Locks   map[int64]string
	// Memory is how many event uuids to remember (default
	// DefaultMemory); memory use is bounded by it.
	Memory int
}

// Tracker turns Kisi unlock events, from the verified webhook handler
// (kisi.NewWebhookHandler) or from event sets, into check-in records, so a
// platform can count attendance from door use. Each successful unlock of a
// known member at a known place becomes one [access.CheckIn] with ID
// "kisi-<event uuid>", the member, the location and the unlock time (Out is
// zero); an event uuid is turned into a check-in once, as long as it is
// among the last Memory uuids seen. A Tracker is safe for concurrent use.
type Tracker struct {
	mu      sync.Mutex
	members map[string]string // normalized email → member ID
	users   map[int64]string  // Kisi user id → normalized email
	places  map[int64]string
	locks   map[int64]string
	seen    map[string]struct{}
	ring    []string
	next    int
	memory  int
}

// New returns a Tracker for cfg. Members with an invalid email are
// ignored; a member whose email another member already has is ignored too
// (the first one gets the check-ins, as in [access.Desired]).
func New(cfg Config) (*Tracker, error) {
	if cfg.Memory < 0 {
		return nil, fmt.Errorf("attendance: negative memory %d", cfg.Memory)
	}
	a := &Tracker{memory: cfg.Memory, places: maps.Clone(cfg.Places), locks: maps.Clone(cfg.Locks)}
	if a.memory == 0 {
		a.memory = DefaultMemory
	}
	a.seen = make(map[string]struct{}, min(a.memory, 1024))
	a.setMembers(cfg.Members, cfg.Users)
	return a, nil
}

// SetMembers replaces the members and the user id → email table (for
// example after each snapshot), keeping the memory of events seen.
func (a *Tracker) SetMembers(members []access.Member, users map[int64]string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.setMembers(members, users)
}

func (a *Tracker) setMembers(members []access.Member, users map[int64]string) {
	a.members = make(map[string]string, len(members))
	for _, mb := range members {
		email, err := access.NormalizeEmail(mb.Email)
		if err != nil || mb.ID == "" {
			continue
		}
		if _, dup := a.members[email]; !dup {
			a.members[email] = mb.ID
		}
	}
	a.users = make(map[int64]string, len(users))
	for id, e := range users {
		if email, err := access.NormalizeEmail(e); err == nil {
			a.users[id] = email
		}
	}
}

// UserEmails returns the Kisi user id → email table of the user records of
// a reconciler's [access.Store], for [Config].Users.
func UserEmails(recs []state.Record) map[int64]string {
	out := map[int64]string{}
	for _, r := range recs {
		if r.Kind == state.KindUser && r.KisiID != 0 && r.Email != "" {
			out[r.KisiID] = r.Email
		}
	}
	return out
}

// Add turns one event into a check-in. It returns an error wrapping
// [ErrNotAttendance] for an event that is not a successful unlock by a
// user, [ErrDuplicateEvent] for a uuid seen before, [ErrUnknownMember] when
// no member has the user's email and [ErrUnknownLocation] when the lock's
// place is not mapped. Only a returned check-in marks the uuid as seen. An
// event without uuid cannot be deduplicated and is refused as not
// attendance.
func (a *Tracker) Add(ev *kisi.Event) (access.CheckIn, error) {
	ci, err := a.convert(ev)
	if err != nil {
		return access.CheckIn{}, err
	}
	if !a.claim(ev.UUID) {
		return access.CheckIn{}, fmt.Errorf("attendance: event %s: %w", ev.UUID, ErrDuplicateEvent)
	}
	return ci, nil
}

// convert maps an event to a check-in without marking it seen.
func (a *Tracker) convert(ev *kisi.Event) (access.CheckIn, error) {
	if ev == nil {
		return access.CheckIn{}, fmt.Errorf("attendance: nil event: %w", ErrNotAttendance)
	}
	if ev.UUID == "" || ev.Type != kisi.EventLockUnlock || !ev.Success ||
		ev.ActorType == nil || *ev.ActorType != kisi.AssigneeUser ||
		(ev.ObjectType != "" && ev.ObjectType != "Lock") {
		return access.CheckIn{}, fmt.Errorf("attendance: event %q of type %q: %w", ev.UUID, ev.Type, ErrNotAttendance)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	email := ""
	if ev.ActorEmail != nil {
		email, _ = access.NormalizeEmail(*ev.ActorEmail)
	}
	if email == "" && ev.ActorID != nil {
		email = a.users[*ev.ActorID]
	}
	memberID, ok := a.members[email]
	if !ok {
		actor := int64(0)
		if ev.ActorID != nil {
			actor = *ev.ActorID
		}
		return access.CheckIn{}, fmt.Errorf("attendance: event %s: kisi user %d: %w", ev.UUID, actor, access.ErrUnknownMember)
	}
	loc, ok := a.locks[ev.ObjectID]
	if !ok && ev.PlaceID != nil {
		loc, ok = a.places[*ev.PlaceID]
	}
	if !ok || strings.TrimSpace(loc) == "" {
		place := int64(0)
		if ev.PlaceID != nil {
			place = *ev.PlaceID
		}
		return access.CheckIn{}, fmt.Errorf("attendance: event %s: lock %d of place %d: %w", ev.UUID, ev.ObjectID, place, access.ErrUnknownLocation)
	}
	return access.CheckIn{ID: "kisi-" + ev.UUID, MemberID: memberID, LocationID: loc, At: ev.CreatedAt}, nil
}

// claim marks uuid as seen and reports whether it was new; the oldest
// uuid is forgotten when the memory is full.
func (a *Tracker) claim(uuid string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, dup := a.seen[uuid]; dup {
		return false
	}
	if len(a.ring) < a.memory {
		a.ring = append(a.ring, uuid)
	} else {
		delete(a.seen, a.ring[a.next])
		a.ring[a.next] = uuid
		a.next = (a.next + 1) % a.memory
	}
	a.seen[uuid] = struct{}{}
	return true
}

// release forgets uuid (after a sink failed), so a redelivery counts.
func (a *Tracker) release(uuid string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.seen, uuid)
}

// Collect turns every event of seq (for example
// client.EventSets.Events(ctx, req, 0) with EventType lock.unlock) into
// check-ins, in the order of seq, skipping events that are not attendance,
// repeated or of unknown members or places. It stops at the first error of
// seq and returns it with the check-ins so far.
func (a *Tracker) Collect(seq iter.Seq2[*kisi.Event, error]) ([]access.CheckIn, error) {
	var out []access.CheckIn
	for ev, err := range seq {
		if err != nil {
			return out, fmt.Errorf("attendance: read events: %w", err)
		}
		if ci, err := a.Add(ev); err == nil {
			out = append(out, ci)
		}
	}
	return out, nil
}

// WebhookFunc returns a callback for kisi.NewWebhookHandler that hands each
// new check-in to sink and acknowledges every other event. When sink fails
// the uuid is forgotten and the error returned to the handler, which still
// acknowledges the delivery (Kisi documents no redelivery and disables an
// integration that keeps failing) and passes the error to its error
// handler: catch the event up through event sets
// ([kisi.EventSetsService.CatchUp]), where [Tracker.Collect] counts it once.
// A nil sink discards the check-ins.
func (a *Tracker) WebhookFunc(sink func(context.Context, access.CheckIn) error) func(context.Context, *kisi.Event) error {
	if sink == nil {
		sink = func(context.Context, access.CheckIn) error { return nil }
	}
	return func(ctx context.Context, ev *kisi.Event) error {
		ci, err := a.Add(ev)
		if err != nil {
			return nil // not attendance, repeated or unknown: acknowledge
		}
		if err := sink(ctx, ci); err != nil {
			a.release(ev.UUID)
			return fmt.Errorf("attendance: store check-in %s: %w", ci.ID, err)
		}
		return nil
	}
}
