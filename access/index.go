package access

import (
	"cmp"
	"fmt"
	"hash/maphash"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/kisisync/kisisync/mapping"
	"github.com/kisisync/kisisync/schedule"
)

// index is a validated view of a Snapshot, built once per call (once per
// Reconciler plan, shared by its engines): after newIndex it is only read,
// so engines on other goroutines may share it.
//
// Members are identified by their canonical index: the position in
// Snapshot.Members of the first valid member with their email. Every valid
// member ID maps to the canonical index of its email.
type index struct {
	s    *Snapshot
	errs []error
	// rejected holds the locations, resources and members that exist but
	// were rejected, so records referring to them report a dependency
	// rather than an unknown ID.
	rejected map[RecordRef]struct{}

	locs    map[string]*time.Location // valid locations
	resLoc  map[string]string         // valid resource → location ID
	member  map[string]int32          // valid member ID → canonical index
	byEmail map[string]int32          // normalized email → canonical index of a member
	// guestByEmail finds the identities of the guests whose email is no
	// member's (see [index.addGuest]); byEmail, sized for the members, is
	// not grown by them.
	guestByEmail map[string]int32
	email        []string // canonical index → normalized email ("" if not canonical)
	// suspended holds the canonical identities of suspended members (nil
	// when there are none): their records grant nothing.
	suspended map[int32]bool
	rank      []int32            // canonical index → position in email order
	byRank    []int32            // position in email order → canonical index
	teams     map[string][]int32 // valid team → canonical members, deduplicated
	// guests are the drop-in guests whose email is no member's, by
	// canonical index minus len(s.Members): their identities come after
	// the members' (see [index.addGuest]).
	guests    []Guest
	maxBefore time.Duration
	maxAfter  time.Duration
	// resources holds what bookings and assignments need of each valid
	// resource; res finds one by its ID (see [index.resource]).
	resources []resInfo
	res       map[string]int32
	// bookMember and bookRes resolve each booking's holder and resource
	// once for every engine: the canonical identity of its member, or of
	// its guest's email (noHolder when none resolves, badGuestEmail for a
	// guest email that does not normalize), and the index of its resource
	// in resources (noResource when not valid; see [index.bookResource]):
	// indexes, not pointers, which the garbage collector would scan, a
	// million of them for a million bookings. ciMember and ciZone do the
	// same for check-ins (member, or noHolder; zone of the location, or nil).
	bookMember []int32
	bookRes    []int32
	ciMember   []int32
	ciZone     []*time.Location
	// fixed are the pieces of every record but the weekly assignments, in
	// sortPieces' order, once an engine's generateFixed has put them there
	// (before the index is shared); engines only read them.
	fixed []piece
	// pieceHint is about the number of pieces an engine on the index
	// generates over a short horizon: exact for bookings and check-ins,
	// guessed for the others, to size the pieces slice.
	pieceHint int
	// holder resolves, by engine kind (kPlan, kAllowance, kAssignment) and
	// record index, the member ID of each plan, allowance and assignment to
	// its canonical member (noHolder when it does not resolve; unused for a
	// record held by a team), once for every engine and in a loop of its
	// own: then the lookups, random reads of a map far larger than the cache
	// in a large snapshot, overlap, where amid the rest of admitting a record
	// each waited for memory alone.
	holder [kCheckIn + 1][]int32
	// idOK tells, by engine kind (kPlan … kCheckIn) and record index,
	// whether the record's ID is usable: not empty, and not that of an
	// earlier record of its kind. The engines report the others.
	idOK [kCheckIn + 1][]bool
}

func (ix *index) reject(kind, id string, err error) {
	ix.errs = append(ix.errs, &RecordError{Kind: kind, ID: id, Err: err})
}

// rejectRef rejects a record others can refer to (location, resource,
// member) and remembers it, so they say they depend on it.
func (ix *index) rejectRef(kind, id string, err error) {
	ix.reject(kind, id, err)
	if ix.rejected == nil {
		ix.rejected = make(map[RecordRef]struct{})
	}
	ix.rejected[RecordRef{Kind: kind, ID: id}] = struct{}{}
}

// missing explains a reference to id of kind that does not resolve: a
// [*DependencyError] when the record exists but was rejected, else
// notFound (an ErrUnknown… value) with the ID.
func (ix *index) missing(kind, id string, notFound error) error {
	if _, ok := ix.rejected[RecordRef{Kind: kind, ID: id}]; ok {
		return &DependencyError{On: RecordRef{Kind: kind, ID: id}}
	}
	return fmt.Errorf("%w %q", notFound, id)
}

// seen tracks record IDs of one kind to report duplicates.
type seen map[string]struct{}

// checkID records id in ids and reports whether it is usable: an empty or
// repeated ID rejects its record.
func (ix *index) checkID(ids seen, kind, id string) bool {
	if id == "" {
		ix.reject(kind, id, ErrEmptyID)
		return false
	}
	n := len(ids)
	ids[id] = struct{}{} // one map operation: a duplicate does not grow the map
	if len(ids) == n {
		ix.reject(kind, id, ErrDuplicateID)
		return false
	}
	return true
}

// newIndex validates the parts of s that other records refer to: locations,
// resources, members and teams, and finds the usable IDs of the records of
// the other kinds, which are validated while they are admitted (see
// admit.go).
//
// With m.DropIn.AddToGroup, drop-in guests whose email is no member's get
// identities of their own (see [index.addGuest]).
func newIndex(s *Snapshot, m mapping.Mapping, p Policy) *index {
	ix := &index{
		s:       s,
		locs:    make(map[string]*time.Location, len(s.Locations)),
		resLoc:  make(map[string]string, len(s.Resources)),
		member:  make(map[string]int32, len(s.Members)),
		byEmail: make(map[string]int32, len(s.Members)),
		email:   make([]string, len(s.Members)),
		teams:   make(map[string][]int32, len(s.Teams)),
	}
	ix.places()
	ix.members()
	ix.res = make(map[string]int32, len(ix.resLoc))
	ix.resources = make([]resInfo, 0, len(ix.resLoc))
	for id, locID := range ix.resLoc {
		g, _ := m.Lookup(mapping.KindResource, id)
		ix.res[id] = int32(len(ix.resources))
		ix.resources = append(ix.resources, resInfo{zone: ix.locs[locID], groups: g, buf: bufferFor(p, id)})
	}
	ix.indexTeams()
	ix.maxBefore, ix.maxAfter = max(p.Buffer.Before, 0), max(p.Buffer.After, 0)
	for _, b := range p.ResourceBuffers {
		ix.maxBefore, ix.maxAfter = max(ix.maxBefore, b.Before), max(ix.maxAfter, b.After)
	}
	ix.records(m, nil)
	return ix
}

// records resolves the records of the kinds other records do not refer to
// (bookings, check-ins, plans, allowances, assignments) and orders the
// identities by email: all of them, or with memberRanks (the members in
// email order) only the guests the bookings add, merged with those.
func (ix *index) records(m mapping.Mapping, memberRanks []int32) {
	s := ix.s
	ix.resolveBookings(m.DropIn.AddToGroup)
	if memberRanks == nil {
		ix.ranks()
	} else {
		ix.mergeRanks(memberRanks)
	}
	ix.resolveCheckIns(m)
	ix.holder[kPlan] = ix.resolveMembers(len(s.Plans), func(i int) string { return s.Plans[i].MemberID })
	ix.holder[kAllowance] = ix.resolveMembers(len(s.Allowances), func(i int) string { return s.Allowances[i].MemberID })
	ix.holder[kAssignment] = ix.resolveMembers(len(s.Assignments), func(i int) string { return s.Assignments[i].MemberID })
	ix.idOK[kPlan] = usableIDs(len(s.Plans), func(i int) string { return s.Plans[i].ID })
	ix.idOK[kAllowance] = usableIDs(len(s.Allowances), func(i int) string { return s.Allowances[i].ID })
	ix.idOK[kAssignment] = usableIDs(len(s.Assignments), func(i int) string { return s.Assignments[i].ID })
	ix.idOK[kCheckIn] = usableIDs(len(s.CheckIns), func(i int) string { return s.CheckIns[i].ID })
}

// Values of index.bookMember and index.ciMember that are no identity.
const (
	noHolder      int32 = -1
	badGuestEmail int32 = -2
)

// noResource is the value of index.bookRes for a booking whose resource is
// not valid.
const noResource int32 = -1

// resource returns what bookings and assignments need of the valid
// resource with the ID, or nil when there is none.
func (ix *index) resource(id string) *resInfo {
	if k, ok := ix.res[id]; ok {
		return &ix.resources[k]
	}
	return nil
}

// bookResource returns the resource of booking i (see [index.resource]).
func (ix *index) bookResource(i int32) *resInfo {
	if k := ix.bookRes[i]; k != noResource {
		return &ix.resources[k]
	}
	return nil
}

// resolveBookings reads the bookings once, the largest part of a
// snapshot: it fills bookMember, bookRes and the bookings' usable IDs
// (idOK), and adds to pieceHint. With guests (mapping.DropIn.AddToGroup)
// it first gives each booking's guest whose email is no member's an
// identity (see [index.addGuest]): a booking's guest then resolves to the
// identity its first booking gave.
func (ix *index) resolveBookings(guests bool) {
	s := ix.s
	ix.bookMember = make([]int32, len(s.Bookings))
	ix.bookRes = make([]int32, len(s.Bookings))
	seed := maphash.MakeSeed()
	hs := make([]uint64, len(s.Bookings))
	for i := range s.Bookings {
		b := &s.Bookings[i]
		hs[i] = idHash(seed, b.ID)
		k, ok := ix.res[b.ResourceID]
		if !ok {
			k = noResource
		}
		ix.bookRes[i] = k
		c := noHolder
		switch {
		case b.MemberID != "":
			if m, ok := ix.member[b.MemberID]; ok {
				c = m
			}
		case b.Guest != nil:
			email, err := NormalizeEmail(b.Guest.Email)
			switch {
			case err != nil:
				c = badGuestEmail
			case guests:
				c = ix.addGuest(email, b.Guest.Name)
			default:
				if m, ok := ix.byEmail[email]; ok {
					c = m
				}
			}
		}
		ix.bookMember[i] = c
		if c >= 0 && k != noResource {
			ix.pieceHint += len(ix.resources[k].groups)
		}
	}
	ix.idOK[kBooking] = usableHashed(hs, func(i int) string { return s.Bookings[i].ID })
}

// resolveMembers returns the canonical members of the member IDs id(0) to
// id(n-1), noHolder for one that does not resolve.
func (ix *index) resolveMembers(n int, id func(i int) string) []int32 {
	out := make([]int32, n)
	for i := range n {
		c, ok := ix.member[id(i)]
		if !ok {
			c = noHolder
		}
		out[i] = c
	}
	return out
}

// resolveCheckIns fills ciMember and ciZone and adds to pieceHint.
func (ix *index) resolveCheckIns(m mapping.Mapping) {
	s := ix.s
	ix.ciMember = make([]int32, len(s.CheckIns))
	ix.ciZone = make([]*time.Location, len(s.CheckIns))
	locGroups := make(map[string][]int64, len(ix.locs))
	for i := range s.CheckIns {
		c := &s.CheckIns[i]
		ix.ciMember[i] = noHolder
		if m, ok := ix.member[c.MemberID]; ok {
			ix.ciMember[i] = m
		}
		ix.ciZone[i] = ix.locs[c.LocationID]
		g, ok := locGroups[c.LocationID]
		if !ok {
			g, _ = m.Lookup(mapping.KindLocation, c.LocationID)
			locGroups[c.LocationID] = g
		}
		ix.pieceHint += len(g)
	}
	// Plans and allowances reach a member or a team's few, in a group or
	// two; weekly rules give a few occurrences near a short horizon.
	ix.pieceHint += 2*len(s.Plans) + 2*len(s.Allowances) + 4*len(s.Assignments)
}

// checkRecordID reports whether record i of kind (kPlan … kCheckIn), with
// ID id, has a usable ID, and rejects it in e if not: an empty or repeated
// ID, as [index.checkID] does for the records others refer to.
func (e *engine) checkRecordID(kind uint8, i int, id string) bool {
	if e.ix.idOK[kind][i] {
		return true
	}
	e.reject(kindName(kind), id, idError(id))
	return false
}

// idError is why a record whose ID is not usable is rejected: it is empty,
// or that of an earlier record of its kind.
func idError(id string) error {
	if id == "" {
		return ErrEmptyID
	}
	return ErrDuplicateID
}

// places validates the locations and the resources at them.
func (ix *index) places() {
	s := ix.s
	zones := make(map[string]*time.Location)
	seenLoc := make(seen, len(s.Locations))
	for _, l := range s.Locations {
		if !ix.checkID(seenLoc, KindLocation, l.ID) {
			continue
		}
		loc, ok := zones[l.TimeZone]
		if !ok {
			loc = ianaZone(l.TimeZone)
			zones[l.TimeZone] = loc
		}
		if loc == nil {
			ix.rejectRef(KindLocation, l.ID, fmt.Errorf("%w %q", ErrUnknownTimeZone, l.TimeZone))
			continue
		}
		ix.locs[l.ID] = loc
	}
	seenRes := make(seen, len(s.Resources))
	for _, r := range s.Resources {
		if !ix.checkID(seenRes, KindResource, r.ID) {
			continue
		}
		if _, ok := ix.locs[r.LocationID]; !ok {
			ix.rejectRef(KindResource, r.ID, ix.missing(KindLocation, r.LocationID, ErrUnknownLocation))
			continue
		}
		ix.resLoc[r.ID] = r.LocationID
	}
}

// members validates the members and gives each its canonical identity: the
// first valid member with its email.
func (ix *index) members() {
	s := ix.s
	idOK := usableIDs(len(s.Members), func(i int) string { return s.Members[i].ID })
	for i, m := range s.Members {
		if !idOK[i] {
			ix.reject(KindMember, m.ID, idError(m.ID))
			continue
		}
		e, err := NormalizeEmail(m.Email)
		if err != nil {
			ix.rejectRef(KindMember, m.ID, err)
			continue
		}
		if c, ok := ix.byEmail[e]; ok {
			ix.reject(KindMember, m.ID, fmt.Errorf("%w: member %q; access merged under %q", ErrSharedEmail, s.Members[c].ID, s.Members[c].ID))
			ix.member[m.ID] = c
			continue
		}
		ix.byEmail[e] = int32(i)
		ix.member[m.ID] = int32(i)
		ix.email[i] = e
		if m.Suspended {
			if ix.suspended == nil {
				ix.suspended = map[int32]bool{}
			}
			ix.suspended[int32(i)] = true
		}
	}
}

// ranks orders the canonical identities (members and guests) by email.
func (ix *index) ranks() {
	ix.rank = make([]int32, len(ix.email))
	for i, e := range ix.email {
		if e != "" {
			ix.byRank = append(ix.byRank, int32(i))
		}
	}
	slices.SortFunc(ix.byRank, func(a, b int32) int { return cmp.Compare(ix.email[a], ix.email[b]) })
	for r, c := range ix.byRank {
		ix.rank[c] = int32(r)
	}
}

// mergeRanks is ranks given the members in email order: only the guests
// are sorted, then merged with them.
func (ix *index) mergeRanks(members []int32) {
	guests := make([]int32, 0, len(ix.email)-len(ix.s.Members))
	for c := len(ix.s.Members); c < len(ix.email); c++ {
		guests = append(guests, int32(c))
	}
	slices.SortFunc(guests, func(a, b int32) int { return cmp.Compare(ix.email[a], ix.email[b]) })
	ix.byRank = make([]int32, 0, len(members)+len(guests))
	for len(members) > 0 || len(guests) > 0 {
		if len(guests) == 0 || len(members) > 0 && ix.email[members[0]] < ix.email[guests[0]] {
			ix.byRank, members = append(ix.byRank, members[0]), members[1:]
		} else {
			ix.byRank, guests = append(ix.byRank, guests[0]), guests[1:]
		}
	}
	ix.rank = make([]int32, len(ix.email))
	for r, c := range ix.byRank {
		ix.rank[c] = int32(r)
	}
}

// indexTeams validates the teams. An unknown member is reported and left
// out; a rejected one is left out silently, having been reported once, as
// a member. (A member ID that is not in ix.member is in ix.rejected when
// its first record was rejected: the later ones are duplicates.)
func (ix *index) indexTeams() {
	seenTeam := make(seen, len(ix.s.Teams))
	for _, t := range ix.s.Teams {
		if !ix.checkID(seenTeam, KindTeam, t.ID) {
			continue
		}
		ms := make([]int32, 0, len(t.MemberIDs))
		for _, id := range t.MemberIDs {
			c, ok := ix.member[id]
			if !ok {
				if _, ok := ix.rejected[RecordRef{Kind: KindMember, ID: id}]; !ok {
					ix.reject(KindTeam, t.ID, fmt.Errorf("%w %q", ErrUnknownMember, id))
				}
				continue
			}
			ms = append(ms, c)
		}
		slices.Sort(ms)
		ix.teams[t.ID] = slices.Compact(ms)
	}
}

// addGuest returns the identity of a drop-in guest with the normalized
// email: the member's with that email, else the guest's own after the
// members, given on the guest's first booking: a canonical index, the
// email and a name (the first non-blank name the guest booked under, else
// the email). Grants of guests (mapping.DropIn.AddToGroup) are merged per
// identity like a member's.
func (ix *index) addGuest(email, name string) int32 {
	name = strings.TrimSpace(name)
	c, ok := ix.byEmail[email]
	if !ok {
		c, ok = ix.guestByEmail[email]
	}
	if ok {
		if g := int(c) - len(ix.s.Members); g >= 0 && ix.guests[g].Name == email && name != "" {
			ix.guests[g].Name = name
		}
		return c
	}
	if name == "" {
		name = email
	}
	if ix.guestByEmail == nil {
		ix.guestByEmail = make(map[string]int32)
	}
	c = int32(len(ix.email))
	ix.guestByEmail[email] = c
	ix.email = append(ix.email, email)
	ix.guests = append(ix.guests, Guest{Name: name, Email: email})
	return c
}

// memberID returns the platform ID of canonical identity c: the member's,
// or "" for a guest.
func (ix *index) memberID(c int32) string {
	if int(c) < len(ix.s.Members) {
		return ix.s.Members[c].ID
	}
	return ""
}

// guestEmail returns the normalized email of the guest of valid drop-in
// booking i: resolveBookings normalized it, and the identity it resolved
// to, if any, is that email's.
func (ix *index) guestEmail(i int32) string {
	if c := ix.bookMember[i]; c >= 0 {
		return ix.email[c]
	}
	email, _ := NormalizeEmail(ix.s.Bookings[i].Guest.Email) // valid: admitBooking checked it
	return email
}

// guest returns a copy of the guest of canonical identity c, or nil for a
// member.
func (ix *index) guest(c int32) *Guest {
	if g := int(c) - len(ix.s.Members); g >= 0 {
		gu := ix.guests[g]
		return &gu
	}
	return nil
}

// ianaZone returns the IANA time zone called name, or nil when there is
// none. The empty name and "Local", which time.LoadLocation reads as UTC and
// as the zone of the machine running the code, are not IANA names: a
// location without its zone must not silently get UTC or the server's zone.
func ianaZone(name string) *time.Location {
	if name == "" || name == "Local" {
		return nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil
	}
	return loc
}

// holders returns the canonical members record i of kind (kPlan,
// kAllowance or kAssignment), held by memberID or teamID, reaches. A team
// wins over a member when both are set.
func (ix *index) holders(kind uint8, i int, memberID, teamID string, one *[1]int32) ([]int32, error) {
	switch {
	case teamID != "":
		ms, ok := ix.teams[teamID]
		if !ok {
			return nil, fmt.Errorf("%w %q", ErrUnknownTeam, teamID)
		}
		return ms, nil
	case memberID != "":
		c := ix.holder[kind][i]
		if c < 0 {
			return nil, ix.missing(KindMember, memberID, ErrUnknownMember)
		}
		one[0] = c
		return one[:], nil
	}
	return nil, ErrNoHolder
}

// bufferFor returns the buffer in force for a resource.
func bufferFor(p Policy, resourceID string) schedule.Buffer {
	if b, ok := p.ResourceBuffers[resourceID]; ok {
		return b
	}
	return p.Buffer
}

// endOrForever turns a zero End into schedule.Forever.
func endOrForever(t time.Time) time.Time {
	if t.IsZero() {
		return schedule.Forever
	}
	return t
}

// widen applies b to iv (see [schedule.Buffer.Widen]); an open end stays
// open. The policy's buffers and the records' windows are validated before
// any is widened, so a failure cannot happen; iv is then returned as it is.
func widen(iv schedule.Interval, b schedule.Buffer) schedule.Interval {
	w, err := b.Widen(iv)
	if err != nil {
		return iv
	}
	return w
}

// validRules returns the first rule error, wrapping [ErrInvalidRule].
func validRules(rules []schedule.Rule) error {
	for i, r := range rules {
		if err := r.Validate(); err != nil {
			return fmt.Errorf("%w: rule %d: %w", ErrInvalidRule, i, err)
		}
	}
	return nil
}

// minValidity is the shortest rolling validity a Policy may set: renewals
// happen when half of it remains, so a shorter one would renew on every run.
const minValidity = time.Hour

// Validate reports a policy that cannot be applied: a negative buffer
// (organization or resource), lead time or check-in duration, or a validity
// that is negative (other than [UnboundedValidity]) or under an hour. The error
// wraps [ErrInvalidPolicy].
func (p Policy) Validate() error {
	if err := p.Buffer.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidPolicy, err)
	}
	for _, id := range slices.Sorted(maps.Keys(p.ResourceBuffers)) {
		if err := p.ResourceBuffers[id].Validate(); err != nil {
			return fmt.Errorf("%w: resource %q: %w", ErrInvalidPolicy, id, err)
		}
	}
	if p.Lead < 0 {
		return fmt.Errorf("%w: lead %v is negative", ErrInvalidPolicy, p.Lead)
	}
	if p.CheckInFor < 0 {
		return fmt.Errorf("%w: check-in duration %v is negative", ErrInvalidPolicy, p.CheckInFor)
	}
	if p.Validity < 0 && p.Validity != UnboundedValidity {
		return fmt.Errorf("%w: validity %v is negative (use UnboundedValidity for no bound)", ErrInvalidPolicy, p.Validity)
	}
	if p.Validity > 0 && p.Validity < minValidity {
		return fmt.Errorf("%w: validity %v is shorter than %v", ErrInvalidPolicy, p.Validity, minValidity)
	}
	return nil
}
