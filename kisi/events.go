package kisi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// Event is one entry of Kisi's event stream, as returned in event sets and
// delivered by webhooks. Unlock attempts have Type "lock.unlock" and
// ObjectType "Lock"; a failed one has Success false and ErrorCode set.
// Nullable fields are pointers; absent keys leave their zero value.
type Event struct {
	// UUID identifies the event; a webhook may deliver one event more
	// than once, so deduplicate on it.
	UUID string `json:"uuid"`
	// Type is "<object>.<action>", e.g. [EventLockUnlock].
	Type   string `json:"type"`
	Action string `json:"action,omitempty"`
	// ActorType is who acted: "User", "Guest", "GroupLink" or
	// "MarketplaceInstallation"; nil when there is none. ActorID, ActorName
	// and ActorEmail describe that actor, nil when unknown.
	ActorType  *string `json:"actor_type"`
	ActorID    *int64  `json:"actor_id"`
	ActorName  *string `json:"actor_name"`
	ActorEmail *string `json:"actor_email"`
	// AuthenticatedByType is the credential used, e.g. "Login", "Card",
	// "GroupLink", "ApplePassInstance", "OauthAccessToken" or "AccessKey";
	// nil when none. AuthenticatedByID is its ID.
	AuthenticatedByType *string `json:"authenticated_by_type,omitempty"`
	AuthenticatedByID   *int64  `json:"authenticated_by_id,omitempty"`
	// AuthorizedByType, AuthorizedByID and AuthorizedByRoleID name what
	// allowed the action (Kisi documents them no further); nil when not
	// reported.
	AuthorizedByType   *string `json:"authorized_by_type,omitempty"`
	AuthorizedByID     *int64  `json:"authorized_by_id,omitempty"`
	AuthorizedByRoleID *string `json:"authorized_by_role_id,omitempty"`
	// ObjectType, ObjectID and ObjectName name what the action was on,
	// e.g. "Lock" and the door; Object is Kisi's raw JSON of it, nil when
	// absent.
	ObjectType string          `json:"object_type"`
	ObjectID   int64           `json:"object_id"`
	ObjectName string          `json:"object_name"`
	Object     json.RawMessage `json:"object,omitempty"`
	// Success reports whether the action succeeded; an unlock that Kisi
	// refused has Success false and ErrorCode set.
	Success bool `json:"success"`
	// Code is an undocumented code Kisi may send; nil when absent.
	Code *string `json:"code,omitempty"`
	// ErrorCode is Kisi's six-character reason for a failure (see
	// [ErrorCode.Description]); nil when the action succeeded or Kisi gave
	// none. ErrorMessage is its text.
	ErrorCode    *ErrorCode `json:"error_code"`
	ErrorMessage *string    `json:"error_message"`
	// Message is a human-readable description; nil when absent.
	Message *string `json:"message,omitempty"`
	// Sequence groups the related events of one action (an opaque
	// string); empty when absent.
	Sequence       string `json:"sequence,omitempty"`
	OrganizationID int64  `json:"organization_id"`
	// PlaceID is the place the event happened at; nil when it belongs to
	// no place.
	PlaceID *int64 `json:"place_id"`
	// CreatedAt is the instant the event happened.
	CreatedAt time.Time `json:"created_at"`
}

// Event types this package refers to.
const (
	EventLockUnlock           = "lock.unlock"
	EventRoleAssignmentCreate = "role_assignment.create"
	EventRoleAssignmentDelete = "role_assignment.destroy"
)

// Status values of an EventSet.
const (
	EventSetInProgress = "in_progress"
	EventSetFinished   = "finished"
	EventSetFailed     = "failed"
)

// EventSet is a server-side query over the event stream. It is built
// asynchronously: poll until Status is finished, then page with Cursor.
type EventSet struct {
	ID int64 `json:"id"`
	// Status is [EventSetInProgress], [EventSetFinished] or
	// [EventSetFailed].
	Status string `json:"status"`
	// Interval is the ISO 8601 interval queried (see [EventInterval]).
	Interval string `json:"interval"`
	// Events is the current page; empty while in progress.
	Events []*Event `json:"events"`
	// Cursor reads the next page; nil while in progress or when there are
	// no more events.
	Cursor *string `json:"cursor"`
	// PlaceID is set for a place-scoped set; nil otherwise.
	PlaceID *int64 `json:"place_id"`
	// CreatedAt is when the set was created; Kisi keeps it about a day.
	CreatedAt time.Time `json:"created_at"`
}

// EventSetCreateRequest is the body of POST /event_sets. Every field is an
// optional filter; Interval defaults to the past 90 days (the maximum
// width). Comma-separated lists are accepted by EventType and EventUUID.
type EventSetCreateRequest struct {
	Interval        string  `json:"interval,omitempty"`
	EventActorID    *int64  `json:"event_actor_id,omitempty"`
	EventActorType  *string `json:"event_actor_type,omitempty"`
	EventObjectID   *int64  `json:"event_object_id,omitempty"`
	EventObjectType *string `json:"event_object_type,omitempty"`
	EventPlaceID    *int64  `json:"event_place_id,omitempty"`
	EventSuccess    *bool   `json:"event_success,omitempty"`
	EventType       *string `json:"event_type,omitempty"`
	EventUUID       *string `json:"event_uuid,omitempty"`
	EventSequence   *string `json:"event_sequence,omitempty"`
	PlaceID         *int64  `json:"place_id,omitempty"`
	EventAuthByID   *int64  `json:"event_authenticated_by_id,omitempty"`
	EventAuthByType *string `json:"event_authenticated_by_type,omitempty"`
}

// EventInterval formats [start, end) as the ISO 8601 interval Kisi expects
// in EventSetCreateRequest.Interval, in UTC.
func EventInterval(start, end time.Time) string {
	return start.UTC().Format(time.RFC3339) + "/" + end.UTC().Format(time.RFC3339)
}

// EventSetGetOptions selects a page of a finished event set.
type EventSetGetOptions struct {
	Limit  int    // default 50
	Cursor string // from EventSet.Cursor; empty for the first page
}

// ErrEventSetFailed is returned when Kisi reports an event set as failed.
var ErrEventSetFailed = errors.New("kisi: event set failed")

// DefaultEventSetPoll is the wait between polls of an event set in progress.
const DefaultEventSetPoll = time.Second

// EventSetsService queries the event stream through event sets. Kisi
// allows one POST /event_sets per second; the client paces Create to it (see
// [EventSetRateLimit]) on top of its per-user pace.
type EventSetsService service

// Create starts an event set; a nil req, like an empty one, asks for every
// event of the past 90 days.
func (s *EventSetsService) Create(ctx context.Context, req *EventSetCreateRequest) (*EventSet, *Response, error) {
	if req == nil {
		req = new(EventSetCreateRequest)
	}
	return createOne[EventSet](ctx, s.client, "event_sets", "event_set", req)
}

// Get returns an event set with one page of its events (nil opts: the first
// page at Kisi's default size).
func (s *EventSetsService) Get(ctx context.Context, id int64, opts *EventSetGetOptions) (*EventSet, *Response, error) {
	q := url.Values{}
	if opts != nil {
		if opts.Limit > 0 {
			q.Set("limit", strconv.Itoa(opts.Limit))
		}
		setString(q, "cursor", opts.Cursor)
	}
	return getOne[EventSet](ctx, s.client, idPath("event_sets", id), idEndpoint("event_sets"), q)
}

// Wait polls the event set every poll (DefaultEventSetPoll when poll <= 0),
// timed by the client's clock, until it is no longer in progress, and
// returns it with its first page. It returns ctx's error when ctx is done
// and an error matching ErrEventSetFailed when Kisi reports a failure.
func (s *EventSetsService) Wait(ctx context.Context, id int64, poll time.Duration) (*EventSet, *Response, error) {
	if poll <= 0 {
		poll = DefaultEventSetPoll
	}
	for {
		set, resp, err := s.Get(ctx, id, nil)
		if err != nil {
			return nil, resp, err
		}
		switch set.Status {
		case EventSetInProgress:
		case EventSetFailed:
			return set, resp, fmt.Errorf("kisi: event set %d: %w", id, ErrEventSetFailed)
		default:
			return set, resp, nil
		}
		if err := sleep(ctx, s.client, poll); err != nil {
			return nil, resp, fmt.Errorf("kisi: wait for event set %d: %w", id, err)
		}
	}
}

// Events creates an event set for req (nil: every event of the past 90
// days), waits until it is finished and yields its events, following the
// cursor lazily with pages of pageSize (Kisi's default of 50 when pageSize
// <= 0). It stops after a page whose cursor is null, repeats a cursor it
// already followed, or holds no events. It yields (nil, err) once on an
// error. Each range creates a new event set.
func (s *EventSetsService) Events(ctx context.Context, req *EventSetCreateRequest, pageSize int) iter.Seq2[*Event, error] {
	return func(yield func(*Event, error) bool) {
		for page, err := range s.pages(ctx, req, pageSize) {
			if err != nil {
				yield(nil, err)
				return
			}
			for _, ev := range page {
				if !yield(ev, nil) {
					return
				}
			}
		}
	}
}

// pages creates an event set for req, waits until it is finished and
// yields its pages in Kisi's order (see Events), or (nil, err) once.
func (s *EventSetsService) pages(ctx context.Context, req *EventSetCreateRequest, pageSize int) iter.Seq2[[]*Event, error] {
	return func(yield func([]*Event, error) bool) {
		set, _, err := s.Create(ctx, req)
		if err != nil {
			yield(nil, err)
			return
		}
		if set.Status == EventSetInProgress || set.Status == "" {
			set, _, err = s.Wait(ctx, set.ID, 0)
			if err != nil {
				yield(nil, err)
				return
			}
		} else if set.Status == EventSetFailed {
			yield(nil, fmt.Errorf("kisi: event set %d: %w", set.ID, ErrEventSetFailed))
			return
		}
		seen := map[string]bool{}
		for {
			if len(set.Events) > 0 && !yield(set.Events, nil) {
				return
			}
			// Stop on a null cursor and, defensively, on a cursor already
			// followed or a page without events, either of which would
			// otherwise loop for ever.
			if set.Cursor == nil || *set.Cursor == "" || seen[*set.Cursor] || len(set.Events) == 0 {
				return
			}
			seen[*set.Cursor] = true
			next, _, err := s.Get(ctx, set.ID, &EventSetGetOptions{Limit: pageSize, Cursor: *set.Cursor})
			if err != nil {
				yield(nil, err)
				return
			}
			set = next
		}
	}
}

// EventCursor is where a catch-up through event sets ([EventSetsService.CatchUp])
// resumes. After and UUIDs say what was handled: every event created before
// After, and the events created at After whose uuids UUIDs holds, so that
// none is handled twice. Gap is set when a catch-up stopped part-way
// through an event set. The host stores the cursor (it marshals to JSON)
// between runs; the zero value starts at the oldest event an event set can
// reach (90 days back).
type EventCursor struct {
	After time.Time `json:"after"`
	UUIDs []string  `json:"uuids,omitempty"`
	// Gap, when set, is an older part of the stream still to handle: Kisi
	// serves an event set newest first, so a catch-up that stopped on a
	// failing page had handled the newer events and not the older ones.
	Gap *EventGap `json:"gap,omitempty"`
}

// EventGap is the part of the stream a catch-up left unhandled between the
// cursor's After and Before (see [EventCursor.Gap]).
type EventGap struct {
	// Before is the oldest handled instant of the window the catch-up
	// stopped in: events from the cursor's After up to Before.At remain,
	// except those at Before.At whose uuids Before.UUIDs holds.
	Before EventMark `json:"before"`
	// Next is where the cursor moves once the gap is handled: the newest
	// event handled.
	Next EventMark `json:"next"`
}

// EventMark is an instant of the event stream and the uuids of the events
// created at that instant that were handled.
type EventMark struct {
	At    time.Time `json:"at"`
	UUIDs []string  `json:"uuids,omitempty"`
}

// has reports whether ev is at m's instant and m holds its uuid.
func (m EventMark) has(ev *Event) bool {
	return ev.CreatedAt.Equal(m.At) && slices.Contains(m.UUIDs, ev.UUID)
}

// extend moves m to ev when ev is beyond it (later when newer is true,
// earlier otherwise) and adds ev's uuid when ev is at m's instant. An empty
// mark (no uuids) takes ev.
func (m *EventMark) extend(ev *Event, newer bool) {
	c := ev.CreatedAt.Compare(m.At)
	switch {
	case len(m.UUIDs) == 0 || (newer && c > 0) || (!newer && c < 0):
		*m = EventMark{At: ev.CreatedAt, UUIDs: []string{ev.UUID}}
	case c == 0 && !slices.Contains(m.UUIDs, ev.UUID):
		m.UUIDs = append(slices.Clip(m.UUIDs), ev.UUID)
	}
}

// merge returns the later (newer true) or earlier of m and o, with the
// uuids of both when they are at one instant.
func (m EventMark) merge(o EventMark, newer bool) EventMark {
	if len(o.UUIDs) == 0 {
		return m
	}
	out := m
	for _, id := range o.UUIDs {
		out.extend(&Event{UUID: id, CreatedAt: o.At}, newer)
	}
	return out
}

// MaxEventSetWindow is the widest interval one event set may query.
const MaxEventSetWindow = 90 * 24 * time.Hour

// CatchUp reads the events matching filter (nil: all types) created from
// cur.After up to until, through event sets, and calls fn with each page as
// Kisi serves it, skipping the events cur says were handled. Memory is
// bounded by one page (Kisi's default of 50 events), whatever the number of
// events in the window. It is the way back to events a webhook did not
// deliver, or whose handling failed (Kisi documents no redelivery), and the
// path for hosts without a webhook.
//
// Kisi serves an event set newest first, so pages come newest first, and
// within a page in Kisi's order. The returned cursor covers every page fn
// accepted. When fn fails CatchUp stops and returns fn's error with a
// cursor that leaves that page (and any older event) for the next call:
// the next CatchUp handles the older part first (see [EventCursor.Gap]),
// then moves on to newer events. No event is passed to fn twice across
// calls that carry the returned cursor on.
//
// A cursor older than [MaxEventSetWindow] before until (rounded up to a
// whole second) starts at that limit: older events are beyond Kisi's reach.
// filter.Interval is ignored. Events created at until or later are left
// for the next call.
func (s *EventSetsService) CatchUp(ctx context.Context, filter *EventSetCreateRequest, cur EventCursor, until time.Time,
	fn func(context.Context, []*Event) error,
) (EventCursor, error) {
	if fn == nil {
		return cur, errors.New("kisi: catch up events: nil callback")
	}
	// The interval is written in whole seconds and Kisi measures its width
	// exactly: the end is rounded up, and the oldest start is counted back
	// from that rounded end, so the width never exceeds the maximum.
	end := ceilSecond(until)
	oldest := end.Add(-MaxEventSetWindow)
	for {
		start := cur.After
		if start.Before(oldest) {
			start = oldest
		}
		// Normal windows end before until; a gap ends at its Before.At,
		// included.
		inWindow := func(ev *Event) bool { return ev.CreatedAt.Before(until) }
		last := end
		if g := cur.Gap; g != nil {
			if g.Before.At.Before(start) {
				// The gap fell out of reach.
				cur = EventCursor{After: g.Next.At, UUIDs: g.Next.UUIDs}
				continue
			}
			inWindow = func(ev *Event) bool { return !ev.CreatedAt.After(g.Before.At) && !g.Before.has(ev) }
			last = ceilSecond(g.Before.At.Add(time.Nanosecond))
		} else if !start.Before(until) {
			return cur, nil
		}
		after := EventMark{At: cur.After, UUIDs: cur.UUIDs}
		req := EventSetCreateRequest{}
		if filter != nil {
			req = *filter
		}
		req.Interval = EventInterval(start.Truncate(time.Second), last)
		var low, high EventMark // oldest and newest handled so far
		for page, err := range s.pages(ctx, &req, 0) {
			if err != nil {
				return cur, fmt.Errorf("kisi: catch up events: %w", err)
			}
			evs := slices.DeleteFunc(page, func(ev *Event) bool {
				return ev.CreatedAt.Before(start) || !inWindow(ev) || after.has(ev)
			})
			if len(evs) == 0 {
				continue
			}
			if err := fn(ctx, evs); err != nil {
				return cur.stopped(low, high, evs[0]), err
			}
			for _, ev := range evs {
				low.extend(ev, false)
				high.extend(ev, true)
			}
		}
		if g := cur.Gap; g != nil {
			cur = EventCursor{After: g.Next.At, UUIDs: g.Next.UUIDs}
			continue
		}
		next := after.merge(high, true)
		return EventCursor{After: next.At, UUIDs: next.UUIDs}, nil
	}
}

// stopped is the cursor after a window in which the events between low and
// high (both empty when none) were handled and the page starting with
// failed was not.
func (cur EventCursor) stopped(low, high EventMark, failed *Event) EventCursor {
	if len(low.UUIDs) == 0 {
		return cur
	}
	switch {
	case !failed.CreatedAt.After(low.At):
		// Newest first, as Kisi serves event sets: the older part remains.
		gap := EventGap{Before: low, Next: EventMark{At: cur.After, UUIDs: cur.UUIDs}.merge(high, true)}
		if cur.Gap != nil {
			gap = EventGap{Before: cur.Gap.Before.merge(low, false), Next: cur.Gap.Next}
		}
		cur.Gap = &gap
	case !failed.CreatedAt.Before(high.At) && cur.Gap == nil:
		// Oldest first: the newer part remains.
		next := EventMark{At: cur.After, UUIDs: cur.UUIDs}.merge(high, true)
		cur.After, cur.UUIDs = next.At, next.UUIDs
	}
	// Otherwise the pages were in no order: nothing can be said to be done,
	// and the next call passes those pages again.
	return cur
}

// ceilSecond rounds t up to a whole second.
func ceilSecond(t time.Time) time.Time {
	if r := t.Truncate(time.Second); r.Before(t) {
		return r.Add(time.Second)
	}
	return t
}

// sleep waits d on the client's clock or until ctx is done.
func sleep(ctx context.Context, c *Client, d time.Duration) error {
	t := c.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.Chan():
		return nil
	}
}

// EventsService reads event metadata.
type EventsService service

// Types returns every event type Kisi knows (GET /events/types), the values
// accepted by EventSetCreateRequest.EventType and webhook filters.
func (s *EventsService) Types(ctx context.Context) ([]string, *Response, error) {
	var types []string
	resp, err := s.client.do(ctx, request{method: "GET", path: "events/types", endpoint: "/events/types"}, &types)
	if err != nil {
		return nil, resp, err
	}
	return types, resp, nil
}
