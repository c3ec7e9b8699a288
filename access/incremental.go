package access

import (
	"cmp"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/kisisync/kisisync/mapping"
	"github.com/kisisync/kisisync/schedule"
)

// Incremental planning.
//
// A platform event touches a few members, yet a plan computes the desired
// access of every member again: at 100,000 members and a million bookings,
// seconds of CPU. A Reconciler keeps instead what it computed from the last
// snapshot it planned (compiled): a copy of its records, the identities
// (emails) each record reaches, the desired grants and links, the record
// errors, and per identity when its access next changes with time. The next
// plan compares the snapshot with the copy and computes again only the
// identities that a changed record reaches, or whose access changed with
// time since (an edge passed), from all their records, and keeps the
// others' results. It gives what the full computation gives, record errors
// and the next change included (TestIncrementalEqualsFull); whenever it
// cannot tell, it computes in full and keeps that.
//
// Computed in full, always, when:
//   - the locations, resources, members or teams changed (they decide who
//     an identity is and whom a record reaches; they change rarely);
//   - a record of the other kinds has an empty or repeated ID (the first
//     record with an ID wins: the winner depends on records of others);
//   - the clock went back, or many records or identities are to be
//     computed again (then the full computation is cheaper);
//   - a weekly rule could not be expanded (its error names the horizon);
//   - the next change is not found within a day, or two identities change
//     at one instant given in different locations: nextChange decides those
//     over the whole snapshot.

// incrementalPlans turns incremental planning on for new Reconcilers.
const incrementalPlans = true

// noReach is the reach of a record that reaches no identity.
const noReach int32 = -1

// teamReach encodes the reach of a record held by team t (an index of
// compiled.teamKeys) as a negative number below noReach.
func teamReach(t int32) int32 { return -2 - t }

// desiredOut is what a plan needs of the desired access of a snapshot at an
// instant.
type desiredOut struct {
	grants []Grant
	links  []Link
	errs   []error // the record errors
	next   time.Time
	nextOK bool
}

// recRef names a record of a kind with an ID (kinds: kPlan … kCheckIn).
type recRef struct {
	kind string
	id   string
}

// keyState is what compiled keeps of one identity (key): a member's or a
// guest's normalized email.
type keyState struct {
	email string
	// refs counts the records that reach it: with none, it has no access
	// and nothing to change with time.
	refs int32
	// exact: next is the earliest instant after the time it was computed
	// at when its access changes (see [nextWithinDay]); else there is none
	// up to bound.
	exact bool
	next  time.Time
	bound time.Time
}

// compiled is what a Reconciler kept of the last snapshot it planned.
type compiled struct {
	at time.Time
	m  mapping.Mapping
	p  Policy

	// The structure, compared whole with the next snapshot's.
	locations []Location
	resources []Resource
	members   []Member
	teams     []Team

	// Identity lookups of the structure, read only.
	member   map[string]int32 // member ID → key
	byEmail  map[string]int32 // normalized email → key (members, guests with identities)
	extra    map[string]int32 // normalized email → key (other guests, added since)
	teamRef  map[string]int32 // team ID → index in teamKeys
	teamKeys [][]int32

	keys []keyState
	// base is the structure's index, which every sub-snapshot's index
	// starts from (see [compiled.subIndex]).
	base *index
	// ids count the IDs of the records of each kind, once an update
	// needed them (see [checkIDs]).
	ids [kCheckIn + 1]map[string]int32

	// Copies of the records of the other kinds, and the reach of each.
	plans       []Plan
	planReach   []int32
	allowances  []Allowance
	allowReach  []int32
	bookings    []Booking
	bookReach   []int32
	assignments []Assignment
	asgReach    []int32
	checkIns    []CheckIn
	ciReach     []int32

	structErrs []error // errors of locations, resources, members and teams
	recErrs    map[recRef][]error

	grants []Grant // by Email, GroupID
	links  []Link  // by BookingID, GroupID
}

// recordKinds are the kinds of records compiled keeps errors of by record.
var recordKinds = map[string]bool{KindPlan: true, KindAllowance: true, KindBooking: true, KindAssignment: true, KindCheckIn: true}

// compile keeps what a full computation on ix (the plan's index of s, at
// at) gave: the grants, links and errors, and the edges col of its
// nextChange. It returns nil when the snapshot does not allow incremental
// plans (see the list above).
func compile(ix *index, m mapping.Mapping, p Policy, at time.Time, grants []Grant, links []Link, errs []error, col *edges) *compiled {
	s := ix.s
	for _, k := range []uint8{kPlan, kAllowance, kBooking, kAssignment, kCheckIn} {
		if slices.Contains(ix.idOK[k], false) {
			return nil
		}
	}
	c := &compiled{at: at, m: m, p: p, base: ix.structure(),
		locations: slices.Clone(s.Locations), resources: slices.Clone(s.Resources),
		members: slices.Clone(s.Members), teams: cloneTeams(s.Teams),
		member: ix.member, byEmail: ix.byEmail, extra: map[string]int32{},
		teamRef: make(map[string]int32, len(ix.teams)),
		keys:    make([]keyState, len(ix.email)),
		recErrs: map[recRef][]error{}, grants: grants, links: links,
	}
	if ix.guestByEmail != nil {
		for email, k := range ix.guestByEmail {
			c.extra[email] = k
		}
	}
	for k, email := range ix.email {
		c.keys[k].email = email
	}
	for _, t := range s.Teams {
		if ms, ok := ix.teams[t.ID]; ok {
			if _, dup := c.teamRef[t.ID]; !dup {
				c.teamRef[t.ID] = int32(len(c.teamKeys))
				c.teamKeys = append(c.teamKeys, ms)
			}
		}
	}
	for _, err := range errs {
		var re *RecordError
		if !errors.As(err, &re) {
			return nil
		}
		if errors.Is(err, ErrHorizonTooLong) {
			return nil
		}
		if recordKinds[re.Kind] {
			r := recRef{re.Kind, re.ID}
			c.recErrs[r] = append(c.recErrs[r], err)
		} else {
			c.structErrs = append(c.structErrs, err)
		}
	}
	holderOf := func(kind uint8, i int, teamID string) int32 {
		if teamID != "" {
			if t, ok := c.teamRef[teamID]; ok {
				return teamReach(t)
			}
			return noReach
		}
		return ix.holder[kind][i]
	}
	c.plans = slices.Clone(s.Plans)
	c.planReach = make([]int32, len(s.Plans))
	for i := range s.Plans {
		c.planReach[i] = holderOf(kPlan, i, s.Plans[i].TeamID)
	}
	c.allowances = slices.Clone(s.Allowances)
	c.allowReach = make([]int32, len(s.Allowances))
	for i := range s.Allowances {
		c.allowReach[i] = holderOf(kAllowance, i, s.Allowances[i].TeamID)
	}
	c.assignments = make([]Assignment, len(s.Assignments))
	c.asgReach = make([]int32, len(s.Assignments))
	for i := range s.Assignments {
		c.assignments[i] = cloneAssignment(s.Assignments[i])
		c.asgReach[i] = holderOf(kAssignment, i, s.Assignments[i].TeamID)
	}
	c.checkIns = slices.Clone(s.CheckIns)
	c.ciReach = slices.Clone(ix.ciMember)
	c.bookings = make([]Booking, len(s.Bookings))
	c.bookReach = make([]int32, len(s.Bookings))
	for i := range s.Bookings {
		b := &s.Bookings[i]
		c.bookings[i] = cloneBooking(b)
		r := ix.bookMember[i]
		switch {
		case r >= 0:
		case b.MemberID == "" && b.Guest != nil && r != badGuestEmail:
			r = c.bookingReach(b)
		default:
			r = noReach
		}
		c.bookReach[i] = r
	}
	for _, reach := range [][]int32{c.planReach, c.allowReach, c.bookReach, c.asgReach, c.ciReach} {
		for _, r := range reach {
			c.count(r, 1)
		}
	}
	c.setEdges(col, func(i int32) string { return ix.email[i] }, func(i int32) string { return ix.guestEmail(i) }, nil, at)
	return c
}

// setEdges sets the edges of the identities col found, at `at`: of every
// identity, or with dirty only of the dirty ones. email gives the email of
// an identity of col's index, guest that of its drop-in booking.
func (c *compiled) setEdges(col *edges, email func(int32) string, guest func(int32) string, dirty []bool, at time.Time) {
	found := make(map[int32]edge)
	isDirty := func(k int) bool { return dirty == nil || k < len(dirty) && dirty[k] }
	take := func(k int32, e edge) {
		if !isDirty(int(k)) {
			return
		}
		if f, ok := found[k]; !ok || e.t.Before(f.t) {
			found[k] = e
		}
	}
	// Links first, then the windows: nextWithinDay's order.
	for j, i := range col.dropIns {
		if col.links[j].ok {
			take(c.keyFor(guest(i)), col.links[j])
		}
	}
	for id, e := range col.runs {
		if e.ok {
			take(c.keyFor(email(int32(id))), e)
		}
	}
	day := at.Add(edgeDay)
	for k := range c.keys {
		if !isDirty(k) {
			continue
		}
		ks := &c.keys[k]
		e, ok := found[int32(k)]
		ks.exact = ok && !e.t.After(day)
		ks.next, ks.bound = e.t, day
	}
}

// keyFor returns the key of a normalized email, adding one if needed.
func (c *compiled) keyFor(email string) int32 {
	if k, ok := c.byEmail[email]; ok {
		return k
	}
	if k, ok := c.extra[email]; ok {
		return k
	}
	k := int32(len(c.keys))
	c.extra[email] = k
	c.keys = append(c.keys, keyState{email: email})
	return k
}

// bookingReach returns the key a drop-in booking reaches, or noReach for
// a guest email that does not normalize.
func (c *compiled) bookingReach(b *Booking) int32 {
	email, err := NormalizeEmail(b.Guest.Email)
	if err != nil {
		return noReach
	}
	return c.keyFor(email)
}

// held returns the reach of a record held by memberID or teamID (see
// [index.holders]).
func (c *compiled) held(memberID, teamID string) int32 {
	if teamID != "" {
		if t, ok := c.teamRef[teamID]; ok {
			return teamReach(t)
		}
		return noReach
	}
	if memberID != "" {
		if k, ok := c.member[memberID]; ok {
			return k
		}
	}
	return noReach
}

// count adds d to the refs of the keys r reaches.
func (c *compiled) count(r int32, d int32) {
	switch {
	case r >= 0:
		c.keys[r].refs += d
	case r < noReach:
		for _, k := range c.teamKeys[-2-r] {
			c.keys[k].refs += d
		}
	}
}

// mark marks the keys r reaches in dirty.
func (c *compiled) mark(r int32, dirty []bool) {
	switch {
	case r >= 0:
		dirty[r] = true
	case r < noReach:
		for _, k := range c.teamKeys[-2-r] {
			dirty[k] = true
		}
	}
}

// reaches reports whether r reaches a key in dirty (teamDirty: by team).
func reaches(r int32, dirty, teamDirty []bool) bool {
	switch {
	case r >= 0:
		return dirty[r]
	case r < noReach:
		return teamDirty[-2-r]
	}
	return false
}

func cloneTeams(ts []Team) []Team {
	out := slices.Clone(ts)
	for i := range out {
		out[i].MemberIDs = slices.Clone(out[i].MemberIDs)
	}
	return out
}

func cloneBooking(b *Booking) Booking {
	out := *b
	if b.Guest != nil {
		g := *b.Guest
		out.Guest = &g
	}
	return out
}

func cloneAssignment(a Assignment) Assignment {
	a.Rules = slices.Clone(a.Rules)
	for i := range a.Rules {
		a.Rules[i].Days = slices.Clone(a.Rules[i].Days)
	}
	return a
}

func sameTeam(a, b *Team) bool { return a.ID == b.ID && slices.Equal(a.MemberIDs, b.MemberIDs) }

func sameBooking(a, b *Booking) bool {
	if a.ID != b.ID || a.ResourceID != b.ResourceID || a.MemberID != b.MemberID ||
		a.Start != b.Start || a.End != b.End || a.CreatedAt != b.CreatedAt {
		return false
	}
	if a.Guest == nil || b.Guest == nil {
		return a.Guest == nil && b.Guest == nil
	}
	return *a.Guest == *b.Guest
}

func sameAssignment(a, b *Assignment) bool {
	return a.ID == b.ID && a.ResourceID == b.ResourceID && a.MemberID == b.MemberID && a.TeamID == b.TeamID &&
		a.Start == b.Start && a.End == b.End &&
		slices.EqualFunc(a.Rules, b.Rules, func(x, y schedule.Rule) bool {
			return x.From == y.From && x.To == y.To && slices.Equal(x.Days, y.Days)
		})
}

func eqPtr[T comparable](a, b *T) bool { return *a == *b }

// changed returns the bounds of the records that differ between old and new:
// old[p:len(old)-q] became new[p:len(new)-q].
func changed[T any](old, new []T, same func(a, b *T) bool) (p, q int) {
	n := min(len(old), len(new))
	for p < n && same(&old[p], &new[p]) {
		p++
	}
	for q < n-p && same(&old[len(old)-1-q], &new[len(new)-1-q]) {
		q++
	}
	return p, q
}

// kindDelta is one kind's part of an update: which records changed.
type kindDelta struct {
	name string
	p, q int
	// oldN and newN are the lengths of the old and new slices.
	oldN, newN int
}

func (d kindDelta) oldChanged() (int, int) { return d.p, d.oldN - d.q }
func (d kindDelta) newChanged() (int, int) { return d.p, d.newN - d.q }
func (d kindDelta) isNew(i int) bool       { return i >= d.p && i < d.newN-d.q }
func (d kindDelta) count() int             { return d.oldN - d.q - d.p + d.newN - d.q - d.p }

// maxChanged is the most changed records an update takes, and
// maxDirtyShare the share of the identities with records it computes
// again: beyond, a full computation is about as cheap.
const (
	maxChanged    = 4096
	maxDirtyShare = 4
)

// update computes the desired access of s at now from c and the records
// that changed, and updates c to s and now. ok false: compute in full (c is
// then left in an unspecified state: discard it).
func (c *compiled) update(s *Snapshot, now time.Time) (out desiredOut, ok bool) {
	if now.Before(c.at) ||
		!slices.Equal(c.locations, s.Locations) || !slices.Equal(c.resources, s.Resources) ||
		!slices.Equal(c.members, s.Members) || !slices.EqualFunc(c.teams, s.Teams, func(a, b Team) bool { return sameTeam(&a, &b) }) {
		return out, false
	}
	var ds [kCheckIn + 1]kindDelta
	delta := func(k uint8, name string, p, q, oldN, newN int) {
		ds[k] = kindDelta{name: name, p: p, q: q, oldN: oldN, newN: newN}
	}
	p, q := changed(c.plans, s.Plans, eqPtr[Plan])
	delta(kPlan, KindPlan, p, q, len(c.plans), len(s.Plans))
	p, q = changed(c.allowances, s.Allowances, eqPtr[Allowance])
	delta(kAllowance, KindAllowance, p, q, len(c.allowances), len(s.Allowances))
	p, q = changed(c.bookings, s.Bookings, sameBooking)
	delta(kBooking, KindBooking, p, q, len(c.bookings), len(s.Bookings))
	p, q = changed(c.assignments, s.Assignments, sameAssignment)
	delta(kAssignment, KindAssignment, p, q, len(c.assignments), len(s.Assignments))
	p, q = changed(c.checkIns, s.CheckIns, eqPtr[CheckIn])
	delta(kCheckIn, KindCheckIn, p, q, len(c.checkIns), len(s.CheckIns))
	total := 0
	for _, d := range ds {
		total += d.count()
	}
	if total > maxChanged {
		return out, false
	}
	// The IDs of the new records must be usable: not empty, and no other
	// record's (the others' are, as the full computation found).
	if !checkIDs(&c.ids[kPlan], ds[kPlan], c.plans, s.Plans, func(r *Plan) string { return r.ID }) ||
		!checkIDs(&c.ids[kAllowance], ds[kAllowance], c.allowances, s.Allowances, func(r *Allowance) string { return r.ID }) ||
		!checkIDs(&c.ids[kBooking], ds[kBooking], c.bookings, s.Bookings, func(r *Booking) string { return r.ID }) ||
		!checkIDs(&c.ids[kAssignment], ds[kAssignment], c.assignments, s.Assignments, func(r *Assignment) string { return r.ID }) ||
		!checkIDs(&c.ids[kCheckIn], ds[kCheckIn], c.checkIns, s.CheckIns, func(r *CheckIn) string { return r.ID }) {
		return out, false
	}

	// The identities to compute again: those the changed records reached
	// and reach, and those whose access changes with time since.
	dirty := make([]bool, len(c.keys), len(c.keys)+8)
	drop := map[recRef]bool{}
	c.plans, c.planReach = spliceKind(c, ds[kPlan], c.plans, c.planReach, s.Plans, &dirty, drop,
		func(r *Plan) Plan { return *r }, func(r *Plan) string { return r.ID }, func(r *Plan) int32 { return c.held(r.MemberID, r.TeamID) })
	c.allowances, c.allowReach = spliceKind(c, ds[kAllowance], c.allowances, c.allowReach, s.Allowances, &dirty, drop,
		func(r *Allowance) Allowance { return *r }, func(r *Allowance) string { return r.ID }, func(r *Allowance) int32 { return c.held(r.MemberID, r.TeamID) })
	c.bookings, c.bookReach = spliceKind(c, ds[kBooking], c.bookings, c.bookReach, s.Bookings, &dirty, drop,
		cloneBooking, func(r *Booking) string { return r.ID }, c.reachBooking)
	c.assignments, c.asgReach = spliceKind(c, ds[kAssignment], c.assignments, c.asgReach, s.Assignments, &dirty, drop,
		func(r *Assignment) Assignment { return cloneAssignment(*r) }, func(r *Assignment) string { return r.ID }, func(r *Assignment) int32 { return c.held(r.MemberID, r.TeamID) })
	c.checkIns, c.ciReach = spliceKind(c, ds[kCheckIn], c.checkIns, c.ciReach, s.CheckIns, &dirty, drop,
		func(r *CheckIn) CheckIn { return *r }, func(r *CheckIn) string { return r.ID }, func(r *CheckIn) int32 { return c.held(r.MemberID, "") })
	for len(dirty) < len(c.keys) {
		dirty = append(dirty, false)
	}
	// An identity whose access changes in (c.at, now] is computed again, and
	// one whose next change is unknown once half a day has passed since it
	// was computed (its bound is a day ahead of that).
	soon := now.Add(edgeDay / 2)
	nDirty, nWith := 0, 0
	for k := range c.keys {
		ks := &c.keys[k]
		if ks.refs == 0 {
			continue
		}
		nWith++
		if ks.exact && !ks.next.After(now) || !ks.exact && ks.bound.Before(soon) {
			dirty[k] = true
		}
		if dirty[k] {
			nDirty++
		}
	}
	if nDirty > nWith/maxDirtyShare+64 {
		return out, false
	}

	// The sub-snapshot: the structure, and the records that reach a dirty
	// identity or changed, in snapshot order.
	teamDirty := make([]bool, len(c.teamKeys))
	for t, ks := range c.teamKeys {
		teamDirty[t] = slices.ContainsFunc(ks, func(k int32) bool { return dirty[k] })
	}
	sub := Snapshot{Locations: s.Locations, Resources: s.Resources, Members: s.Members, Teams: s.Teams,
		Plans:       pick(s.Plans, c.planReach, ds[kPlan], dirty, teamDirty, drop, func(r *Plan) recRef { return recRef{KindPlan, r.ID} }),
		Allowances:  pick(s.Allowances, c.allowReach, ds[kAllowance], dirty, teamDirty, drop, func(r *Allowance) recRef { return recRef{KindAllowance, r.ID} }),
		Bookings:    pick(s.Bookings, c.bookReach, ds[kBooking], dirty, teamDirty, drop, func(r *Booking) recRef { return recRef{KindBooking, r.ID} }),
		Assignments: pick(s.Assignments, c.asgReach, ds[kAssignment], dirty, teamDirty, drop, func(r *Assignment) recRef { return recRef{KindAssignment, r.ID} }),
		CheckIns:    pick(s.CheckIns, c.ciReach, ds[kCheckIn], dirty, teamDirty, drop, func(r *CheckIn) recRef { return recRef{KindCheckIn, r.ID} }),
	}

	// Compute the sub-snapshot as plan does the whole one.
	ix := c.subIndex(&sub)
	var errs []error
	e := engineOn(ix, c.m, c.p, leadHorizon(now, c.p), -1)
	e.errs = &errs
	e.follow = true
	e.generateFixed()
	fixed := &engine{pieces: make([]piece, 0, 4*len(sub.Assignments)), dropIns: e.dropIns}
	e.admitAssignments()
	grants := e.merge(true)
	links := e.links(now)
	var col edges
	nextWithinDay(ix, c.m, c.p, now, fixed, &col)

	// Keep the results of the dirty identities.
	for r := range drop {
		delete(c.recErrs, r)
	}
	for _, err := range errs {
		var re *RecordError
		if !errors.As(err, &re) || errors.Is(err, ErrHorizonTooLong) {
			return out, false
		}
		if recordKinds[re.Kind] {
			r := recRef{re.Kind, re.ID}
			c.recErrs[r] = append(c.recErrs[r], err)
		}
	}
	dirtyEmails := make(map[string]bool, nDirty)
	for k, d := range dirty {
		if d {
			dirtyEmails[c.keys[k].email] = true
		}
	}
	isDirty := func(email string) bool { return dirtyEmails[email] }
	c.grants = spliceSorted(c.grants, grants, isDirty, func(g *Grant) string { return g.Email }, func(a, b *Grant) int {
		if x := strings.Compare(a.Email, b.Email); x != 0 {
			return x
		}
		return cmp.Compare(a.GroupID, b.GroupID)
	})
	c.links = spliceSorted(c.links, links, isDirty, func(l *Link) string { return l.Email }, func(a, b *Link) int {
		if x := strings.Compare(a.BookingID, b.BookingID); x != 0 {
			return x
		}
		return cmp.Compare(a.GroupID, b.GroupID)
	})
	c.setEdges(&col, func(i int32) string { return ix.email[i] }, func(i int32) string { return ix.guestEmail(i) }, dirty, now)
	c.at = now

	// The next change: the earliest exact edge, if no identity's access can
	// change before it and it is within a day; else nextChange decides.
	var next time.Time
	found, tie := false, false
	for k := range c.keys {
		ks := &c.keys[k]
		if ks.refs == 0 || !ks.exact {
			continue
		}
		switch {
		case !found || ks.next.Before(next):
			next, found, tie = ks.next, true, false
		case ks.next.Equal(next) && ks.next != next:
			tie = true
		}
	}
	// One instant in two locations: which comes first is nextChange's
	// order over the whole snapshot.
	if !found || tie || next.After(now.Add(edgeDay)) {
		return out, false
	}
	for k := range c.keys {
		if ks := &c.keys[k]; ks.refs > 0 && !ks.exact && ks.bound.Before(next) {
			return out, false
		}
	}
	out = desiredOut{grants: c.grants, links: c.links, next: next, nextOK: true}
	out.errs = append(out.errs, c.structErrs...)
	for _, es := range c.recErrs {
		out.errs = append(out.errs, es...)
	}
	return out, true
}

// checkIDs reports whether the changed records of d in recs (which were
// old[d.oldChanged()]) have usable IDs: not empty, and no other record's.
// Records edited in place keep their IDs, which stay usable; for others it
// counts the IDs of the kind in ids, from old the first time.
func checkIDs[T any](ids *map[string]int32, d kindDelta, old, recs []T, id func(*T) string) bool {
	of, ot := d.oldChanged()
	nf, nt := d.newChanged()
	if of == ot && nf == nt {
		return true
	}
	before := make(map[string]int, ot-of)
	for i := of; i < ot; i++ {
		before[id(&old[i])]++
	}
	same := nt-nf == ot-of
	for i := nf; i < nt; i++ {
		x := id(&recs[i])
		if x == "" {
			return false
		}
		if same && before[x] > 0 {
			before[x]--
		} else {
			same = false
		}
	}
	if same {
		return true
	}
	if *ids == nil {
		*ids = make(map[string]int32, len(old))
		for i := range old {
			(*ids)[id(&old[i])]++
		}
	}
	for i := of; i < ot; i++ {
		x := id(&old[i])
		if (*ids)[x]--; (*ids)[x] == 0 {
			delete(*ids, x)
		}
	}
	for i := nf; i < nt; i++ {
		(*ids)[id(&recs[i])]++
	}
	for i := nf; i < nt; i++ {
		if (*ids)[id(&recs[i])] != 1 {
			return false
		}
	}
	return true
}

// structure returns an index of ix's structure alone (locations,
// resources, members, teams), which it shares, for [compiled.subIndex].
// Its byRank holds the members only.
func (ix *index) structure() *index {
	n := len(ix.s.Members)
	members := make([]int32, 0, n)
	for _, c := range ix.byRank {
		if int(c) < n {
			members = append(members, c)
		}
	}
	return &index{rejected: ix.rejected, locs: ix.locs, resLoc: ix.resLoc, member: ix.member, byEmail: ix.byEmail,
		email: slices.Clip(ix.email[:n]), suspended: ix.suspended, byRank: members, teams: ix.teams,
		maxBefore: ix.maxBefore, maxAfter: ix.maxAfter, resources: ix.resources, res: ix.res}
}

// subIndex returns the index of sub, a snapshot with c's structure: what
// newIndex returns but for the structure's errors, from c.base, which it
// only reads.
func (c *compiled) subIndex(sub *Snapshot) *index {
	ix := *c.base
	ix.s, ix.byRank = sub, nil
	ix.records(c.m, c.base.byRank)
	return &ix
}

// spliceKind replaces the changed records of one kind in c's copy (old,
// with their reach) by copies of the new ones, marks in dirty the keys
// both reach, counts the refs, and notes in drop the records whose errors
// go. It returns the new copy and reach.
func spliceKind[T any](c *compiled, d kindDelta, old []T, reach []int32, recs []T, dirty *[]bool, drop map[recRef]bool,
	clone func(*T) T, id func(*T) string, reachOf func(*T) int32) ([]T, []int32) {
	of, ot := d.oldChanged()
	nf, nt := d.newChanged()
	if of == ot && nf == nt {
		return old, reach
	}
	for i := of; i < ot; i++ {
		c.count(reach[i], -1)
		c.mark(reach[i], *dirty)
		drop[recRef{d.name, id(&old[i])}] = true
	}
	copies := make([]T, 0, nt-nf)
	reaches := make([]int32, 0, nt-nf)
	for i := nf; i < nt; i++ {
		r := reachOf(&recs[i])
		for len(*dirty) < len(c.keys) {
			*dirty = append(*dirty, false)
		}
		c.count(r, 1)
		c.mark(r, *dirty)
		copies = append(copies, clone(&recs[i]))
		reaches = append(reaches, r)
	}
	return slices.Replace(old, of, ot, copies...), slices.Replace(reach, of, ot, reaches...)
}

// reachBooking returns the key booking b reaches.
func (c *compiled) reachBooking(b *Booking) int32 {
	switch {
	case b.MemberID != "":
		return c.held(b.MemberID, "")
	case b.Guest != nil:
		return c.bookingReach(b)
	}
	return noReach
}

// pick returns the records of one kind that reach a dirty identity or
// changed, in snapshot order, and notes them in drop (their errors are
// computed again).
func pick[T any](recs []T, reach []int32, d kindDelta, dirty, teamDirty []bool, drop map[recRef]bool, ref func(*T) recRef) []T {
	var out []T
	for i, r := range reach {
		if reaches(r, dirty, teamDirty) || d.isNew(i) {
			out = append(out, recs[i])
			drop[ref(&recs[i])] = true
		}
	}
	return out
}

// spliceSorted returns old without the items whose key is dirty, merged
// with the dirty items of add, in the order cmp gives (both are in it).
func spliceSorted[T any](old, add []T, dirty func(string) bool, key func(*T) string, order func(a, b *T) int) []T {
	keep := add[:0:0]
	for i := range add {
		if dirty(key(&add[i])) {
			keep = append(keep, add[i])
		}
	}
	out := make([]T, 0, len(old)+len(keep))
	j := 0
	for i := range old {
		if dirty(key(&old[i])) {
			continue
		}
		for j < len(keep) && order(&keep[j], &old[i]) < 0 {
			out = append(out, keep[j])
			j++
		}
		out = append(out, old[i])
	}
	return append(out, keep[j:]...)
}
