package kisitest

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

type event struct {
	uuid                  string
	typ                   string
	actorType             string
	actorID               int64
	actorName, actorEmail string
	objectType            string
	objectID              int64
	objectName            string
	placeID               int64
	success               bool
	errorCode             string
	sequence              string
	at                    time.Time
}

type wireEvent struct {
	UUID                string         `json:"uuid"`
	Type                string         `json:"type"`
	ActorType           *string        `json:"actor_type"`
	ActorID             *int64         `json:"actor_id"`
	ActorName           *string        `json:"actor_name"`
	ActorEmail          *string        `json:"actor_email"`
	AuthenticatedByType *string        `json:"authenticated_by_type"`
	AuthenticatedByID   *int64         `json:"authenticated_by_id"`
	AuthorizedByType    *string        `json:"authorized_by_type"`
	AuthorizedByID      *int64         `json:"authorized_by_id"`
	AuthorizedByRoleID  *string        `json:"authorized_by_role_id"`
	ObjectType          string         `json:"object_type"`
	ObjectID            int64          `json:"object_id"`
	ObjectName          string         `json:"object_name"`
	Object              map[string]any `json:"object"`
	Action              string         `json:"action"`
	CreatedAt           string         `json:"created_at"`
	Message             *string        `json:"message"`
	Success             bool           `json:"success"`
	Code                *string        `json:"code"`
	Sequence            string         `json:"sequence"`
	OrganizationID      int64          `json:"organization_id"`
	PlaceID             *int64         `json:"place_id"`
	ErrorCode           *string        `json:"error_code"`
	ErrorMessage        *string        `json:"error_message"`
	Details             map[string]any `json:"details"`
	Via                 map[string]any `json:"via"`
}

// errorMessages gives the text of the error codes the fake produces or
// that tests commonly record (REFERENCE §1.7).
var errorMessages = map[string]string{
	"afc496": "Access denied.",
	"f358de": "Your access is not yet valid. Please try again later.",
	"f35ade": "Your access is no longer valid.",
	"f398de": "Your access is invalid.",
	"34ffaa": "Access is not allowed at this moment. Please try again later.",
	"fcd8ef": "Access denied.",
	"fcd8ff": "Your access has been disabled.",
	"f01337": "Your group's access rights for this place do not include apps.",
	"34bd8f": "This device is not your primary device.",
	"a3995f": "You are too far away.",
	"bb4faa": "You are not close enough to the door.",
	"bbc93f": "In-app access is disabled. Tap your phone on the reader.",
	"fad001": "The door is locked down.",
	"fad002": "The place is locked down.",
	"fac001": "The Kisi controller is unavailable.",
	"ffffff": "An unexpected issue occurred.",
}

func errorMessage(code string) string {
	if m, ok := errorMessages[code]; ok {
		return m
	}
	return "Error " + code
}

func (st *state) recordEvent(e *event) {
	st.eventN++
	e.uuid = fmt.Sprintf("6b1c%04x-%04x-4000-8000-%012x", st.org.id&0xffff, st.eventN>>16&0xffff, st.eventN)
	if e.sequence == "" {
		e.sequence = e.uuid
	}
	if u := st.users[e.actorID]; u != nil && e.actorType == "User" {
		e.actorName, e.actorEmail = u.name, u.email
	}
	if l := st.locks[e.objectID]; l != nil && e.objectType == "Lock" {
		e.objectName = l.name
	}
	st.events = append(st.events, e)
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func idPtr(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}

func (st *state) renderEvent(e *event) wireEvent {
	w := wireEvent{
		UUID: e.uuid, Type: e.typ, ActorType: strPtr(e.actorType), ActorID: idPtr(e.actorID),
		ActorName: strPtr(e.actorName), ActorEmail: strPtr(e.actorEmail),
		ObjectType: e.objectType, ObjectID: e.objectID, ObjectName: e.objectName,
		Object:    map[string]any{"id": e.objectID, "name": e.objectName},
		Action:    e.typ[strings.IndexByte(e.typ, '.')+1:],
		CreatedAt: ts(e.at), Success: e.success, Sequence: e.sequence, OrganizationID: st.org.id,
		PlaceID: idPtr(e.placeID), ErrorCode: strPtr(e.errorCode), Details: map[string]any{}, Via: map[string]any{},
	}
	if e.actorType == "User" {
		w.AuthenticatedByType = strPtr("Login")
	}
	if e.errorCode != "" {
		msg := errorMessage(e.errorCode)
		w.ErrorMessage, w.Message = &msg, &msg
	}
	return w
}

func (st *state) routeEvents(c *call) response {
	if len(c.segs) == 2 && c.segs[1] == "types" && c.method == http.MethodGet {
		return jsonResponse(eventTypes)
	}
	return notFound()
}

// eventSetTTL is how long Kisi keeps an event set.
const eventSetTTL = 24 * time.Hour

// maxEventInterval is the widest interval an event set may cover.
const maxEventInterval = 90 * 24 * time.Hour

type eventSet struct {
	id         int64
	createdAt  time.Time
	finished   bool
	interval   string
	from, to   time.Time
	filters    eventFilters
	placeID    int64
	events     []*event
	wireFilter map[string]any
}

type eventFilters struct {
	actorID, objectID, placeID int64
	actorType, objectType      string
	success                    *bool
	types, uuids, sequences    []string
}

func (f *eventFilters) match(e *event) bool {
	switch {
	case f.actorID != 0 && e.actorID != f.actorID,
		f.actorType != "" && e.actorType != f.actorType,
		f.objectID != 0 && e.objectID != f.objectID,
		f.objectType != "" && e.objectType != f.objectType,
		f.placeID != 0 && e.placeID != f.placeID,
		f.success != nil && e.success != *f.success,
		f.types != nil && !slices.Contains(f.types, e.typ),
		f.uuids != nil && !slices.Contains(f.uuids, e.uuid),
		f.sequences != nil && !slices.Contains(f.sequences, e.sequence):
		return false
	}
	return true
}

func commaList(s *string) []string {
	if s == nil || *s == "" {
		return nil
	}
	var out []string
	for _, p := range strings.Split(*s, ",") {
		out = append(out, strings.TrimSpace(p))
	}
	return out
}

func (st *state) routeEventSets(c *call) response {
	if c.collection() && c.method == http.MethodPost {
		return st.createEventSet(c)
	}
	id, ok := c.member()
	if !ok || c.method != http.MethodGet {
		return notFound()
	}
	es := st.eventSets[id]
	if es == nil || c.now.Sub(es.createdAt) >= eventSetTTL {
		return notFound()
	}
	return st.fetchEventSet(c, es)
}

func (st *state) createEventSet(c *call) response {
	f := &fields{m: nil, errs: map[string][]string{}}
	if len(strings.TrimSpace(string(c.body))) > 0 {
		var bad response
		var ok bool
		if f, bad, ok = c.decode("event_set"); !ok {
			return bad
		}
	}
	es := &eventSet{createdAt: c.now}
	es.from, es.to = c.now.Add(-maxEventInterval), c.now
	if s := f.str("interval"); s != nil {
		from, to, msg := parseInterval(*s)
		switch {
		case msg != "":
			f.fail("interval", msg)
		case to.Sub(from) > maxEventInterval:
			f.fail("interval", "must not be longer than 90 days")
		case !to.After(from):
			f.fail("interval", "must end after it starts")
		}
		es.from, es.to = from, to
	}
	es.interval = ts(es.from) + "/" + ts(es.to)
	fl := eventFilters{
		actorID: f.id("event_actor_id"), objectID: f.id("event_object_id"), placeID: f.id("event_place_id"),
		success: f.boolean("event_success"), types: commaList(f.str("event_type")),
		uuids: commaList(f.str("event_uuid")), sequences: commaList(f.str("event_sequence")),
	}
	if s := f.str("event_actor_type"); s != nil {
		fl.actorType = *s
	}
	if s := f.str("event_object_type"); s != nil {
		fl.objectType = *s
	}
	es.placeID = f.id("place_id")
	if es.placeID != 0 && fl.placeID != 0 {
		f.fail("place_id", "only one of event_place_id and place_id may be set")
	}
	if es.placeID != 0 {
		fl.placeID = es.placeID
	}
	if resp, bad := f.invalid(); bad {
		return resp
	}
	es.filters = fl
	es.wireFilter = map[string]any{}
	for _, k := range []string{
		"event_actor_id", "event_actor_type", "event_authenticated_by_id", "event_authenticated_by_type",
		"event_object_id", "event_object_type", "event_place_id", "event_success", "event_sequence",
		"event_type", "event_uuid",
	} {
		es.wireFilter[k] = nil
		if f.m != nil && !f.isNull(k) {
			es.wireFilter[k] = f.m[k]
		}
	}
	for _, e := range st.events {
		if !e.at.Before(es.from) && e.at.Before(es.to) && fl.match(e) {
			es.events = append(es.events, e)
		}
	}
	// Newest first.
	slices.Reverse(es.events)
	slices.SortStableFunc(es.events, func(a, b *event) int { return b.at.Compare(a.at) })
	es.id = st.newID()
	st.eventSets[es.id] = es
	if st.cfg.eventSetsAtOnce {
		return st.fetchEventSet(c, es)
	}
	return jsonResponse(st.renderEventSet(es, nil, nil))
}

func (st *state) fetchEventSet(c *call, es *eventSet) response {
	if !es.finished {
		es.finished = true
	}
	limit := 50
	if v := c.query.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return badRequest("limit must be between 1 and 1000")
		}
		limit = n
	}
	offset := 0
	if v := c.query.Get("cursor"); v != "" {
		raw, err := base64.RawURLEncoding.DecodeString(v)
		n, err2 := strconv.Atoi(strings.TrimPrefix(string(raw), "offset:"))
		if err != nil || err2 != nil || !strings.HasPrefix(string(raw), "offset:") || n < 0 || n > len(es.events) {
			return badRequest("cursor is invalid")
		}
		offset = n
	}
	end := min(offset+limit, len(es.events))
	page := make([]wireEvent, 0, end-offset)
	for _, e := range es.events[offset:end] {
		page = append(page, st.renderEvent(e))
	}
	var cursor *string
	if end < len(es.events) {
		s := base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "offset:%d", end))
		cursor = &s
	}
	return jsonResponse(st.renderEventSet(es, page, cursor))
}

func (st *state) renderEventSet(es *eventSet, page []wireEvent, cursor *string) map[string]any {
	out := map[string]any{
		"id":         es.id,
		"created_at": ts(es.createdAt),
		"status":     "in_progress",
		"interval":   es.interval,
		"cursor":     cursor,
		"place_id":   idPtr(es.placeID),
	}
	for k, v := range es.wireFilter {
		out[k] = v
	}
	if es.finished {
		out["status"] = "finished"
		out["events"] = page
	}
	return out
}

// parseInterval reads an ISO 8601 interval: start/end, start/duration or
// duration/end. A bare duration is not accepted.
func parseInterval(s string) (from, to time.Time, msg string) {
	a, b, ok := strings.Cut(s, "/")
	if !ok {
		return from, to, "must be start/end, start/duration or duration/end"
	}
	ta, errA := time.Parse(time.RFC3339, a)
	tb, errB := time.Parse(time.RFC3339, b)
	switch {
	case errA == nil && errB == nil:
		return ta.UTC(), tb.UTC(), ""
	case errA == nil:
		end, ok := addISODuration(ta, b, 1)
		if !ok {
			return from, to, "is invalid"
		}
		return ta.UTC(), end.UTC(), ""
	case errB == nil:
		start, ok := addISODuration(tb, a, -1)
		if !ok {
			return from, to, "is invalid"
		}
		return start.UTC(), tb.UTC(), ""
	}
	return from, to, "is invalid"
}

// maxDurationComponent bounds each number of an ISO 8601 duration, far
// above any interval an event set accepts, so that no sum overflows.
const maxDurationComponent = 100000

// addISODuration adds sign times the ISO 8601 duration d (PnYnMnWnDTnHnMnS,
// integer components) to t.
func addISODuration(t time.Time, d string, sign int) (time.Time, bool) {
	rest, ok := strings.CutPrefix(d, "P")
	if !ok || rest == "" {
		return t, false
	}
	datePart, timePart, hasT := strings.Cut(rest, "T")
	if hasT && timePart == "" {
		return t, false
	}
	var y, mo, dd int
	var dur time.Duration
	parse := func(part string, units map[byte]func(int)) bool {
		num := ""
		for i := 0; i < len(part); i++ {
			ch := part[i]
			if ch >= '0' && ch <= '9' {
				num += string(ch)
				continue
			}
			fn, ok := units[ch]
			if !ok || num == "" {
				return false
			}
			n, err := strconv.Atoi(num)
			if err != nil || n > maxDurationComponent {
				return false
			}
			fn(n)
			num = ""
		}
		return num == ""
	}
	if !parse(datePart, map[byte]func(int){
		'Y': func(n int) { y = n }, 'M': func(n int) { mo = n },
		'W': func(n int) { dd += 7 * n }, 'D': func(n int) { dd += n },
	}) || !parse(timePart, map[byte]func(int){
		'H': func(n int) { dur += time.Duration(n) * time.Hour },
		'M': func(n int) { dur += time.Duration(n) * time.Minute },
		'S': func(n int) { dur += time.Duration(n) * time.Second },
	}) {
		return t, false
	}
	return t.AddDate(sign*y, sign*mo, sign*dd).Add(time.Duration(sign) * dur), true
}
