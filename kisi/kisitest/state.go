package kisitest

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// state is the organization's data. Every method runs under Server.mu.
type state struct {
	cfg      config
	nextID   int64
	keyN     int
	ownerKey string

	org   organization
	owner *user
	keys  map[string]*user // API key secret → user

	users           map[int64]*user
	places          map[int64]*place
	locks           map[int64]*lock
	groups          map[int64]*group
	groupLocks      map[int64]*groupLock
	roleAssignments map[int64]*roleAssignment
	groupLinks      map[int64]*groupLink
	teams           map[int64]*team
	memberships     map[int64]*teamMembership
	guests          map[int64]*guest
	defaultGroupN   int64 // default place groups created
	events          []*event
	eventSets       map[int64]*eventSet
	eventN          int
	integrations    map[int64]*integration
	schedules       map[int64]*schedule

	buckets   map[int64]*bucket // per user
	esBuckets map[int64]*bucket // POST /event_sets, per user
}

func newState(cfg config, now time.Time) *state {
	now = now.UTC()
	st := &state{
		cfg:             cfg,
		nextID:          100000,
		keys:            map[string]*user{},
		users:           map[int64]*user{},
		places:          map[int64]*place{},
		locks:           map[int64]*lock{},
		groups:          map[int64]*group{},
		groupLocks:      map[int64]*groupLock{},
		roleAssignments: map[int64]*roleAssignment{},
		groupLinks:      map[int64]*groupLink{},
		teams:           map[int64]*team{},
		memberships:     map[int64]*teamMembership{},
		guests:          map[int64]*guest{},
		eventSets:       map[int64]*eventSet{},
		integrations:    map[int64]*integration{},
		schedules:       map[int64]*schedule{},
		buckets:         map[int64]*bucket{},
		esBuckets:       map[int64]*bucket{},
	}
	st.org = organization{meta: st.newMeta(now), name: "Kisitest Coworking", domain: "kisitest"}
	st.owner = st.addUser("owner@kisitest.example", "Organization Owner", true, now)
	st.org.userID = st.owner.id
	st.addRoleAssignment(&roleAssignment{
		roleID: "organization_owner", appliesToType: "Organization", appliesToID: st.org.id,
		assigneeType: "User", assigneeID: st.owner.id,
	}, now)
	st.ownerKey = st.newKey(st.owner)
	for _, name := range cfg.groups {
		g := &group{meta: st.newMeta(now), name: name, loginEnabled: true}
		st.groups[g.id] = g
	}
	return st
}

func (st *state) newID() int64 {
	st.nextID++
	return st.nextID
}

// newKey mints a deterministic API key secret for u.
func (st *state) newKey(u *user) string {
	st.keyN++
	k := fmt.Sprintf("kisitest-%06d-%016x", st.keyN, uint64(u.id)*0x9e3779b97f4a7c15^uint64(st.keyN))
	st.keys[k] = u
	return k
}

func (st *state) authenticate(header string) *user {
	secret, ok := strings.CutPrefix(header, "KISI-LOGIN ")
	if !ok || secret == "" {
		return nil
	}
	u := st.keys[secret]
	if u == nil || st.users[u.id] != u {
		return nil
	}
	return u
}

// bucket is a token bucket refilled continuously on the server clock.
type bucket struct {
	tokens float64
	last   time.Time
}

func (b *bucket) take(now time.Time, perSecond int) bool {
	r := float64(perSecond)
	if b.last.IsZero() {
		b.tokens, b.last = r, now
	}
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = min(r, b.tokens+el*r)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true
	}
	return false
}

// allow applies the per-user rate limit (shared by all keys of a user, as
// at Kisi) and, for POST /event_sets, the stricter endpoint limit.
func (st *state) allow(u *user, now time.Time, eventSet bool) bool {
	if b := st.cfg.budget; b != nil && !st.cfg.unlimited[strings.ToLower(u.email)] {
		return b.allow(now, eventSet)
	}
	if st.cfg.rateLimit <= 0 || st.cfg.unlimited[strings.ToLower(u.email)] {
		return true
	}
	if eventSet {
		eb := st.esBuckets[u.id]
		if eb == nil {
			eb = &bucket{}
			st.esBuckets[u.id] = eb
		}
		if !eb.peek(now, st.cfg.eventSetRateLimit) {
			return false
		}
		if !st.userBucket(u).take(now, st.cfg.rateLimit) {
			return false
		}
		return eb.take(now, st.cfg.eventSetRateLimit)
	}
	return st.userBucket(u).take(now, st.cfg.rateLimit)
}

func (b *bucket) peek(now time.Time, perSecond int) bool {
	c := *b
	return c.take(now, perSecond)
}

func (st *state) userBucket(u *user) *bucket {
	b := st.buckets[u.id]
	if b == nil {
		b = &bucket{}
		st.buckets[u.id] = b
	}
	return b
}

// isAdmin reports whether u may write: it holds an organization role whose
// permissions, as GET /roles lists them, include role_assignments_write
// and users_write (the owner, administrators, and the other built-in or
// custom organization roles that GET /roles gives those permissions). The
// server requires it for every write except unlocking.
func (st *state) isAdmin(u *user) bool {
	for _, ra := range st.roleAssignments {
		if ra.assigneeType != "User" || ra.assigneeID != u.id || ra.appliesToType != "Organization" {
			continue
		}
		for _, r := range st.roles() {
			if r.ID == ra.roleID && r.AppliesTo == "Organization" && r.Permissions["role_assignments_write"] && r.Permissions["users_write"] {
				return true
			}
		}
	}
	return false
}

// hasOrgRole reports whether u holds any organization role.
func (st *state) hasOrgRole(u *user) bool {
	for _, ra := range st.roleAssignments {
		if ra.assigneeType == "User" && ra.assigneeID == u.id && ra.appliesToType == "Organization" {
			return true
		}
	}
	return false
}

// openReads are the collections a key without an organization role still
// reads under WithReadsNeedOrganizationRole: what a door user's app needs.
var openReads = map[string]bool{"user": true, "organization": true, "roles": true, "places": true, "locks": true}

func (st *state) route(c *call) response {
	if c.method != http.MethodGet && !(c.method == http.MethodPost && len(c.segs) == 3 && c.segs[0] == "locks" && c.segs[2] == "unlock") && !st.isAdmin(c.user) {
		return forbidden()
	}
	if c.method == http.MethodGet && st.cfg.readsNeedOrgRole && !openReads[c.segs[0]] && !st.hasOrgRole(c.user) {
		return forbidden()
	}
	switch c.segs[0] {
	case "organization":
		return st.routeOrganization(c)
	case "user":
		return st.routeCurrentUser(c)
	case "roles":
		return st.routeRoles(c)
	case "places":
		return st.routePlaces(c)
	case "locks":
		return st.routeLocks(c)
	case "groups":
		return st.routeGroups(c)
	case "group_locks":
		return st.routeGroupLocks(c)
	case "role_assignments":
		return st.routeRoleAssignments(c)
	case "group_links":
		return st.routeGroupLinks(c)
	case "users":
		return st.routeUsers(c)
	case "teams":
		return st.routeTeams(c)
	case "guests":
		return st.routeGuests(c)
	case "members":
		return st.routeMembers(c)
	case "team_memberships":
		return st.routeTeamMemberships(c)
	case "event_sets":
		return st.routeEventSets(c)
	case "events":
		return st.routeEvents(c)
	case "integrations":
		return st.routeIntegrations(c)
	case "schedules":
		return st.routeSchedules(c)
	}
	return notFound()
}

// collection reports whether c addresses the collection (e.g. /groups).
func (c *call) collection() bool { return len(c.segs) == 1 }

// member returns the id of /resource/{id}; false when the path is not of
// that shape or the id is not a positive integer.
func (c *call) member() (int64, bool) {
	if len(c.segs) != 2 {
		return 0, false
	}
	id, err := strconv.ParseInt(c.segs[1], 10, 64)
	return id, err == nil && id > 0
}

// fields is a decoded request object with presence tracking and collected
// validation errors.
type fields struct {
	m    map[string]json.RawMessage
	errs map[string][]string
}

// decode unwraps the body {"<key>": {...}}. A missing wrapper or malformed
// JSON is a 400, like a Rails server's params.require.
func (c *call) decode(key string) (*fields, response, bool) {
	var outer map[string]json.RawMessage
	if len(c.body) == 0 || json.Unmarshal(c.body, &outer) != nil {
		return nil, badRequest("Malformed JSON body"), false
	}
	raw, ok := outer[key]
	var m map[string]json.RawMessage
	if !ok || json.Unmarshal(raw, &m) != nil || m == nil {
		return nil, badRequest("param is missing or the value is empty: " + key), false
	}
	return &fields{m: m, errs: map[string][]string{}}, response{}, true
}

func (f *fields) fail(k, msg string) { f.errs[k] = append(f.errs[k], msg) }

func (f *fields) has(k string) bool {
	_, ok := f.m[k]
	return ok
}

func (f *fields) isNull(k string) bool {
	v, ok := f.m[k]
	return !ok || string(v) == "null"
}

// str returns the string at k, nil when absent or null.
func (f *fields) str(k string) *string {
	if f.isNull(k) {
		return nil
	}
	var s string
	if json.Unmarshal(f.m[k], &s) != nil {
		f.fail(k, "is invalid")
		return nil
	}
	return &s
}

// required returns the non-blank string at k or records "can't be blank".
func (f *fields) required(k string) string {
	s := f.str(k)
	if s == nil || strings.TrimSpace(*s) == "" {
		if _, bad := f.errs[k]; !bad {
			f.fail(k, "can't be blank")
		}
		return ""
	}
	return *s
}

// id returns the id at k (a JSON number or numeric string), 0 when absent
// or null.
func (f *fields) id(k string) int64 {
	if f.isNull(k) {
		return 0
	}
	raw := strings.Trim(string(f.m[k]), `"`)
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || n <= 0 {
		f.fail(k, "is invalid")
		return 0
	}
	return n
}

func (f *fields) requiredID(k string) int64 {
	if f.isNull(k) {
		f.fail(k, "can't be blank")
		return 0
	}
	return f.id(k)
}

func (f *fields) boolean(k string) *bool {
	if f.isNull(k) {
		return nil
	}
	var b bool
	if json.Unmarshal(f.m[k], &b) != nil {
		f.fail(k, "is invalid")
		return nil
	}
	return &b
}

func (f *fields) number(k string) *float64 {
	if f.isNull(k) {
		return nil
	}
	var n float64
	if json.Unmarshal(f.m[k], &n) != nil {
		f.fail(k, "is invalid")
		return nil
	}
	return &n
}

// time returns the time at k, nil when absent or null. Like Rails, it
// reads RFC 3339 and also a time without a zone or a bare date, both in
// UTC (the zone of an API that stores UTC).
func (f *fields) time(k string) *time.Time {
	s := f.str(k)
	if s == nil {
		return nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02T15:04", time.DateOnly} {
		if t, err := time.Parse(layout, *s); err == nil {
			t = t.UTC()
			return &t
		}
	}
	f.fail(k, "is invalid")
	return nil
}

func (f *fields) invalid() (response, bool) {
	if len(f.errs) == 0 {
		return response{}, false
	}
	return validationResponse(f.errs), true
}

const timeLayout = "2006-01-02T15:04:05.000Z07:00"

func ts(t time.Time) string { return t.UTC().Format(timeLayout) }

func tsPtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := ts(*t)
	return &s
}

// page is the parsed limit/offset of a list request.
type page struct{ limit, offset int }

// paging parses limit and offset with Kisi's per-endpoint default and
// maximum; offsets above 20000 and limits above the maximum are a 400.
func (c *call) paging(def, maxLimit int) (page, response, bool) {
	p := page{limit: def}
	if v := c.query.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			return p, badRequest(fmt.Sprintf("limit must be between 1 and %d", maxLimit)), false
		}
		p.limit = n
	}
	if v := c.query.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > maxOffset {
			return p, badRequest(fmt.Sprintf("offset must be between 0 and %d", maxOffset)), false
		}
		p.offset = n
	}
	return p, response{}, true
}

// maxOffset is Kisi's cap on offset for every paginated list.
const maxOffset = 20000

// paginate returns one page of items (already in id order) rendered by
// render, with X-Collection-Range "offset-(offset+limit-1)/total".
func paginate[T any, W any](items []T, p page, render func(T) W) response {
	out := make([]W, 0, p.limit)
	for i := p.offset; i < len(items) && i < p.offset+p.limit; i++ {
		out = append(out, render(items[i]))
	}
	resp := jsonResponse(out)
	resp.rng = fmt.Sprintf("%d-%d/%d", p.offset, p.offset+p.limit-1, len(items))
	return resp
}

// sorted returns the values of m whose keep is true, in ascending id order.
func sorted[T any](m map[int64]*T, keep func(*T) bool) []*T {
	out := make([]*T, 0, len(m))
	for _, id := range slices.Sorted(maps.Keys(m)) {
		if keep == nil || keep(m[id]) {
			out = append(out, m[id])
		}
	}
	return out
}
