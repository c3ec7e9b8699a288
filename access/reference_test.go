package access_test

// This file keeps a slow, plain twin of access.Desired, written from the
// semantics table of the design (and the field comments of Snapshot where
// the table is silent: IDs, holders, rejected records), as the oracle the
// engine must agree with (reference_agree_test.go, reference_fuzz_test.go):
// speed work in the engine then cannot change meaning unnoticed. It loops
// over every record, computes every window the record gives, merges them
// per (member, group) and applies the slot rule. It shares no code with the
// engine: weekly rules are expanded day by day here, and wall times are
// resolved here, not by schedule.Expand. Speed does not matter.

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/mapping"
	"github.com/kisisync/kisisync/schedule"
)

// refResult is what the reference decides at one instant: the grants of
// Desired and one line per rejected record (see refRejection).
type refResult struct {
	Grants   []access.Grant
	Rejected []string
	// Far holds, for the grants whose window holds an occurrence of weekly
	// rules beyond the bounds Access lists them in (see refSpace.nearLo),
	// named as refFarKey names them, the pieces of the window; not part of
	// Desired's result.
	Far map[string][]refPiece
}

// refRejection is how the reference and the engine name one rejected
// record in a comparison: kind, ID and the sentinel error it matches.
func refRejection(kind, id string, cause error) string {
	return fmt.Sprintf("%s %q: %s", kind, id, refCauseName(cause))
}

// refCauses are the errors a record is rejected with, tested in order.
var refCauses = []error{
	access.ErrDependsOnRejected, access.ErrEmptyID, access.ErrDuplicateID, access.ErrInvalidEmail,
	access.ErrSharedEmail, access.ErrUnknownMember, access.ErrUnknownTeam, access.ErrUnknownResource,
	access.ErrUnknownLocation, access.ErrUnknownTimeZone, access.ErrInvalidWindow, access.ErrInvalidRule,
	access.ErrNoHolder, access.ErrInvalidStatus, access.ErrHorizonTooLong,
}

// refCauseName names the first of refCauses err matches; a dependency
// names the record depended on too.
func refCauseName(err error) string {
	var dep *access.DependencyError
	if errors.As(err, &dep) {
		return "depends on " + dep.On.String()
	}
	for _, c := range refCauses {
		if errors.Is(err, c) {
			return c.Error()
		}
	}
	return "other: " + err.Error()
}

// engineRejections lists the record errors inside err as refRejection
// does, sorted.
func engineRejections(err error) []string {
	var out []string
	for _, re := range access.RecordErrors(err) {
		out = append(out, refRejection(re.Kind, re.ID, re.Err))
	}
	slices.Sort(out)
	return out
}

// Source kinds in the order a Grant lists them: plan, default, allowance,
// booking, assignment, checkin ("listed by kind ... then in snapshot
// order").
const (
	refPlan = iota
	refDefault
	refAllowance
	refBooking
	refAssignment
	refCheckIn
)

var refKindNames = [...]string{access.KindPlan, access.KindDefault, access.KindAllowance,
	access.KindBooking, access.KindAssignment, access.KindCheckIn}

// refPiece is the window one record gives one identity in one group.
type refPiece struct {
	iv   schedule.Interval
	kind int // refPlan …
	rec  int // index of the record in its Snapshot slice
	id   string
	// far marks an occurrence of a weekly assignment outside the bounds
	// Access documents it lists them in (see refSpace.nearLo).
	far bool
}

// refWeekly is an assignment with weekly rules that reaches one identity
// in one group; its occurrences are listed once all other pieces of the
// key are known (see refSpace.occurrences).
type refWeekly struct {
	a    *access.Assignment
	rec  int
	zone *time.Location
	buf  schedule.Buffer
}

// refKey is one (identity, group): an identity is a member (the first
// valid member with its email) or, with mapping.DropIn.AddToGroup, a
// drop-in guest whose email is no member's.
type refKey struct {
	email string
	group int64
}

// refIdentity is who a grant goes to.
type refIdentity struct {
	memberID string        // the first valid member with the email; "" for a guest
	guest    *access.Guest // set for a guest who is no member
}

// refSpace is the state of one referenceDesired call.
type refSpace struct {
	s        *access.Snapshot
	m        mapping.Mapping
	p        access.Policy
	at       time.Time
	rejected []string
	// failed holds the locations and members rejected as records others
	// refer to (bad zone, bad email), by kind and ID: "a record referring
	// to a rejected one says so".
	failed map[access.RecordRef]bool

	zones      map[string]*time.Location // valid location ID → zone (the first record with the ID)
	resources  map[string]string         // valid resource ID → location ID
	memberOf   map[string]string         // valid member ID → its identity's email
	suspended  map[string]bool           // identity email → suspended (the first member's flag)
	identities map[string]refIdentity    // identity email → identity
	teams      map[string][]string       // valid team ID → identity emails, each once

	pieces map[refKey][]refPiece
	weekly map[refKey][]refWeekly

	// nearLo and nearHi are the bounds Access documents it lists weekly
	// occurrences in, for the horizon [at, at+Lead] of Desired: "from
	// horizon.Start minus the largest buffer and a day to horizon.End plus
	// the largest buffer and a day" (chains crossing them followed). A
	// window with an occurrence beyond them is one the engine may return
	// shorter, without that assignment among its Sources: see far.
	nearLo, nearHi time.Time
	// far holds the pieces of the windows of the grants (refFarKey) that
	// hold an occurrence beyond nearLo and nearHi.
	far map[string][]refPiece
}

// refFarKey names the grant of an email in a group in refResult.Far.
func refFarKey(email string, group int64) string { return fmt.Sprintf("%s/%d", email, group) }

func (r *refSpace) reject(kind, id string, err error) {
	r.rejected = append(r.rejected, refRejection(kind, id, err))
}

// missing is why a reference to id of kind does not resolve: the record
// exists but was rejected, or there is none (notFound).
func (r *refSpace) missing(kind, id string, notFound error) error {
	if r.failed[access.RecordRef{Kind: kind, ID: id}] {
		return &access.DependencyError{On: access.RecordRef{Kind: kind, ID: id}}
	}
	return notFound
}

// referenceDesired is the plain twin of access.Desired.
func referenceDesired(s access.Snapshot, m mapping.Mapping, p access.Policy, at time.Time) (refResult, error) {
	if err := refValidatePolicy(p); err != nil {
		return refResult{}, err
	}
	r := &refSpace{s: &s, m: m, p: p, at: at, failed: map[access.RecordRef]bool{},
		zones: map[string]*time.Location{}, resources: map[string]string{}, memberOf: map[string]string{},
		suspended: map[string]bool{}, identities: map[string]refIdentity{}, teams: map[string][]string{},
		pieces: map[refKey][]refPiece{}, weekly: map[refKey][]refWeekly{}}
	maxBefore, maxAfter := p.Buffer.Before, p.Buffer.After
	for _, b := range p.ResourceBuffers {
		maxBefore, maxAfter = max(maxBefore, b.Before), max(maxAfter, b.After)
	}
	r.nearLo = at.Add(-maxBefore).Add(-24 * time.Hour)
	r.nearHi = at.Add(p.Lead).Add(maxAfter).Add(24 * time.Hour)
	r.far = map[string][]refPiece{}
	r.places()
	r.members()
	r.guests()
	r.indexTeams()
	r.plans()
	r.allowances()
	r.bookings()
	r.assignments()
	r.checkIns()
	slices.Sort(r.rejected)
	return refResult{Grants: r.slots(), Rejected: r.rejected, Far: r.far}, nil
}

// refValidatePolicy: no duration of the policy may be negative, and a
// rolling validity is unbounded (-1) or at least an hour.
func refValidatePolicy(p access.Policy) error {
	bad := p.Buffer.Before < 0 || p.Buffer.After < 0 || p.Lead < 0 || p.CheckInFor < 0 ||
		p.Validity < 0 && p.Validity != access.UnboundedValidity || p.Validity > 0 && p.Validity < time.Hour
	for _, b := range p.ResourceBuffers {
		bad = bad || b.Before < 0 || b.After < 0
	}
	if bad {
		return access.ErrInvalidPolicy
	}
	return nil
}

// usableID: every record needs a non-empty ID, unique among the records
// of its kind; of records sharing an ID the first one wins. seen holds the
// IDs of the earlier records of the kind.
func (r *refSpace) usableID(seen map[string]bool, kind, id string) bool {
	switch {
	case id == "":
		r.reject(kind, "", access.ErrEmptyID)
		return false
	case seen[id]:
		r.reject(kind, id, access.ErrDuplicateID)
		return false
	}
	seen[id] = true
	return true
}

// places: a location needs an IANA time zone (not "" nor "Local"); a
// resource needs a valid location.
func (r *refSpace) places() {
	seen := map[string]bool{}
	for _, l := range r.s.Locations {
		if !r.usableID(seen, access.KindLocation, l.ID) {
			continue
		}
		loc, err := time.LoadLocation(l.TimeZone)
		if l.TimeZone == "" || l.TimeZone == "Local" || err != nil {
			r.reject(access.KindLocation, l.ID, access.ErrUnknownTimeZone)
			r.failed[access.RecordRef{Kind: access.KindLocation, ID: l.ID}] = true
			continue
		}
		r.zones[l.ID] = loc
	}
	seen = map[string]bool{}
	for _, res := range r.s.Resources {
		if !r.usableID(seen, access.KindResource, res.ID) {
			continue
		}
		if r.zones[res.LocationID] == nil {
			r.reject(access.KindResource, res.ID, r.missing(access.KindLocation, res.LocationID, access.ErrUnknownLocation))
			r.failed[access.RecordRef{Kind: access.KindResource, ID: res.ID}] = true
			continue
		}
		r.resources[res.ID] = res.LocationID
	}
}

// members: a member needs a valid email, trimmed and case-folded. Members
// sharing an email are one Kisi user, served under the ID of the first of
// them and suspended with the first of them; the later ones are reported.
func (r *refSpace) members() {
	seen := map[string]bool{}
	for _, mb := range r.s.Members {
		if !r.usableID(seen, access.KindMember, mb.ID) {
			continue
		}
		email, err := access.NormalizeEmail(mb.Email)
		if err != nil {
			r.reject(access.KindMember, mb.ID, access.ErrInvalidEmail)
			r.failed[access.RecordRef{Kind: access.KindMember, ID: mb.ID}] = true
			continue
		}
		r.memberOf[mb.ID] = email
		if _, ok := r.identities[email]; ok {
			r.reject(access.KindMember, mb.ID, access.ErrSharedEmail)
			continue
		}
		r.identities[email] = refIdentity{memberID: mb.ID}
		r.suspended[email] = mb.Suspended
	}
}

// guests: with DropIn.AddToGroup a drop-in guest (a booking without a
// member) whose email is no member's gets a Kisi user of their own, named
// after the first non-blank name the guest booked under, else the email.
func (r *refSpace) guests() {
	if !r.m.DropIn.AddToGroup {
		return
	}
	for _, b := range r.s.Bookings {
		if b.MemberID != "" || b.Guest == nil {
			continue
		}
		email, err := access.NormalizeEmail(b.Guest.Email)
		if err != nil {
			continue
		}
		id, ok := r.identities[email]
		switch {
		case !ok:
			name := strings.TrimSpace(b.Guest.Name)
			if name == "" {
				name = email
			}
			r.identities[email] = refIdentity{guest: &access.Guest{Name: name, Email: email}}
		case id.guest != nil && id.guest.Name == email && strings.TrimSpace(b.Guest.Name) != "":
			id.guest.Name = strings.TrimSpace(b.Guest.Name)
		}
	}
}

// indexTeams: a team reaches its members, each once; an unknown member is
// reported and left out, a rejected one left out (it is reported as a
// member).
func (r *refSpace) indexTeams() {
	seen := map[string]bool{}
	for _, t := range r.s.Teams {
		if !r.usableID(seen, access.KindTeam, t.ID) {
			continue
		}
		var emails []string
		for _, id := range t.MemberIDs {
			email, ok := r.memberOf[id]
			if !ok {
				if !r.failed[access.RecordRef{Kind: access.KindMember, ID: id}] {
					r.reject(access.KindTeam, t.ID, access.ErrUnknownMember)
				}
				continue
			}
			if !slices.Contains(emails, email) {
				emails = append(emails, email)
			}
		}
		r.teams[t.ID] = emails
	}
}

// holders: a team, when set, makes every member of the team a holder; else
// the member; with neither the record is rejected.
func (r *refSpace) holders(memberID, teamID string) ([]string, error) {
	switch {
	case teamID != "":
		ms, ok := r.teams[teamID]
		if !ok {
			return nil, access.ErrUnknownTeam
		}
		return ms, nil
	case memberID != "":
		email, ok := r.memberOf[memberID]
		if !ok {
			return nil, r.missing(access.KindMember, memberID, access.ErrUnknownMember)
		}
		return []string{email}, nil
	}
	return nil, access.ErrNoHolder
}

// refWindowError: a record needs a start, and an End, when set, after it.
func refWindowError(start, end time.Time) bool {
	return start.IsZero() || !end.IsZero() && !end.After(start)
}

// open is End, or schedule.Forever for a zero End (open-ended).
func open(end time.Time) time.Time {
	if end.IsZero() {
		return schedule.Forever
	}
	return end
}

// give adds the piece iv of a record to every identity in who and every
// group; a suspended member's records grant nothing, and an empty window
// grants nothing.
func (r *refSpace) give(who []string, groups []int64, iv schedule.Interval, kind, rec int, id string) {
	r.giveFar(who, groups, iv, kind, rec, id, false)
}

// giveFar is give for a piece that may be far (see refPiece.far).
func (r *refSpace) giveFar(who []string, groups []int64, iv schedule.Interval, kind, rec int, id string, far bool) {
	if !iv.Start.Before(iv.End) {
		return
	}
	for _, email := range who {
		if r.suspended[email] {
			continue
		}
		for _, g := range groups {
			k := refKey{email, g}
			r.pieces[k] = append(r.pieces[k], refPiece{iv: iv, kind: kind, rec: rec, id: id, far: far})
		}
	}
}

// plans: Plan (status active): [Start, End); End zero = open-ended.
// Pending and cancelled plans grant nothing. A team plan grants every team
// member. A plan whose PlanID maps to no group grants Mapping.Default.
func (r *refSpace) plans() {
	seen := map[string]bool{}
	for i, pl := range r.s.Plans {
		if !r.usableID(seen, access.KindPlan, pl.ID) {
			continue
		}
		if pl.Status != access.PlanPending && pl.Status != access.PlanActive && pl.Status != access.PlanCancelled {
			r.reject(access.KindPlan, pl.ID, access.ErrInvalidStatus)
			continue
		}
		if refWindowError(pl.Start, pl.End) {
			r.reject(access.KindPlan, pl.ID, access.ErrInvalidWindow)
			continue
		}
		who, err := r.holders(pl.MemberID, pl.TeamID)
		if err != nil {
			r.reject(access.KindPlan, pl.ID, err)
			continue
		}
		if pl.Status != access.PlanActive {
			continue
		}
		kind, groups := refPlan, r.m.PlanGroups(pl.PlanID)
		if len(groups) == 0 {
			kind, groups = refDefault, r.m.DefaultGroups()
		}
		r.give(who, groups, schedule.Interval{Start: pl.Start, End: open(pl.End)}, kind, i, pl.ID)
	}
}

// allowances: [Start, End) of the allowance, mapped by its AllowanceID.
func (r *refSpace) allowances() {
	seen := map[string]bool{}
	for i, al := range r.s.Allowances {
		if !r.usableID(seen, access.KindAllowance, al.ID) {
			continue
		}
		if refWindowError(al.Start, al.End) {
			r.reject(access.KindAllowance, al.ID, access.ErrInvalidWindow)
			continue
		}
		who, err := r.holders(al.MemberID, al.TeamID)
		if err != nil {
			r.reject(access.KindAllowance, al.ID, err)
			continue
		}
		r.give(who, r.m.AllowanceGroups(al.AllowanceID), schedule.Interval{Start: al.Start, End: open(al.End)}, refAllowance, i, al.ID)
	}
}

// buffer is the buffer in force for a resource: a per-resource override
// wins over the organization's.
func (r *refSpace) buffer(resourceID string) schedule.Buffer {
	if b, ok := r.p.ResourceBuffers[resourceID]; ok {
		return b
	}
	return r.p.Buffer
}

// widenBy is [Start − Before, End + After); an open End stays open.
func widenBy(iv schedule.Interval, b schedule.Buffer) schedule.Interval {
	out := schedule.Interval{Start: iv.Start.Add(-b.Before), End: iv.End}
	if iv.End.Before(schedule.Forever) {
		out.End = iv.End.Add(b.After)
		if out.End.After(schedule.Forever) {
			out.End = schedule.Forever
		}
	}
	return out
}

// bookings: Booking: [Start − Before, End + After) with the buffer in
// force, for its member. A drop-in guest's booking gives a link, and with
// AddToGroup the guest's email also gets the groups, exactly like a member
// booking (as the member with that email, if any).
func (r *refSpace) bookings() {
	seen := map[string]bool{}
	for i, b := range r.s.Bookings {
		if !r.usableID(seen, access.KindBooking, b.ID) {
			continue
		}
		if b.Start.IsZero() || b.End.IsZero() || !b.End.After(b.Start) { // never open-ended
			r.reject(access.KindBooking, b.ID, access.ErrInvalidWindow)
			continue
		}
		if _, ok := r.resources[b.ResourceID]; !ok {
			r.reject(access.KindBooking, b.ID, r.missing(access.KindResource, b.ResourceID, access.ErrUnknownResource))
			continue
		}
		var who []string
		switch {
		case b.MemberID != "":
			email, ok := r.memberOf[b.MemberID]
			if !ok {
				r.reject(access.KindBooking, b.ID, r.missing(access.KindMember, b.MemberID, access.ErrUnknownMember))
				continue
			}
			who = []string{email}
		case b.Guest != nil:
			email, err := access.NormalizeEmail(b.Guest.Email)
			if err != nil {
				r.reject(access.KindBooking, b.ID, access.ErrInvalidEmail)
				continue
			}
			if !r.m.DropIn.AddToGroup {
				continue // a link at most
			}
			who = []string{email}
		default:
			r.reject(access.KindBooking, b.ID, access.ErrNoHolder)
			continue
		}
		iv := widenBy(schedule.Interval{Start: b.Start, End: b.End}, r.buffer(b.ResourceID))
		r.give(who, r.m.ResourceGroups(b.ResourceID), iv, refBooking, i, b.ID)
	}
}

// assignments: Assignment: between its Start and End (End zero = open),
// widened by the buffer in force: without rules, the whole [Start − Before,
// End + After); with weekly rules, each occurrence (cut to [Start, End))
// widened the same way. Rules are wall-clock times in the time zone of the
// resource's location.
func (r *refSpace) assignments() {
	seen := map[string]bool{}
	for i := range r.s.Assignments {
		as := &r.s.Assignments[i]
		if !r.usableID(seen, access.KindAssignment, as.ID) {
			continue
		}
		if refWindowError(as.Start, as.End) {
			r.reject(access.KindAssignment, as.ID, access.ErrInvalidWindow)
			continue
		}
		locID, ok := r.resources[as.ResourceID]
		if !ok {
			r.reject(access.KindAssignment, as.ID, r.missing(access.KindResource, as.ResourceID, access.ErrUnknownResource))
			continue
		}
		who, err := r.holders(as.MemberID, as.TeamID)
		if err != nil {
			r.reject(access.KindAssignment, as.ID, err)
			continue
		}
		if slices.ContainsFunc(as.Rules, func(rl schedule.Rule) bool { return !refRuleValid(rl) }) {
			r.reject(access.KindAssignment, as.ID, access.ErrInvalidRule)
			continue
		}
		buf, groups := r.buffer(as.ResourceID), r.m.ResourceGroups(as.ResourceID)
		whole := schedule.Interval{Start: as.Start, End: open(as.End)}
		if len(as.Rules) == 0 {
			r.give(who, groups, widenBy(whole, buf), refAssignment, i, as.ID)
			continue
		}
		if refCoversWeek(as.Rules) {
			// Rules covering every minute of the week are in force all
			// the time: their occurrences touch whatever the time zone
			// does (a wall time resolves no earlier than any before it).
			// Those beyond the bounds Access lists occurrences in make it
			// far.
			far := whole.Start.Before(r.nearLo) || whole.End.After(r.nearHi)
			r.giveFar(who, groups, widenBy(whole, buf), refAssignment, i, as.ID, far)
			continue
		}
		for _, email := range who {
			if r.suspended[email] {
				continue
			}
			for _, g := range groups {
				k := refKey{email, g}
				r.weekly[k] = append(r.weekly[k], refWeekly{a: as, rec: i, zone: r.zones[locID], buf: buf})
			}
		}
	}
}

// refRuleValid: a rule names at least one weekday, each Sunday to Saturday,
// and From and To are times of day (hours 0–23, minutes 0–59).
func refRuleValid(rl schedule.Rule) bool {
	clock := func(c schedule.Clock) bool { return c.Hour >= 0 && c.Hour <= 23 && c.Minute >= 0 && c.Minute <= 59 }
	if len(rl.Days) == 0 || !clock(rl.From) || !clock(rl.To) {
		return false
	}
	return !slices.ContainsFunc(rl.Days, func(d time.Weekday) bool { return d < time.Sunday || d > time.Saturday })
}

// refCoversWeek reports whether the rules leave no minute of the week in
// the wall clock uncovered. A rule whose To ≤ From ends on the next day.
func refCoversWeek(rules []schedule.Rule) bool {
	const week = 7 * 24 * 60
	var covered [week]bool
	for _, rl := range rules {
		from, to := rl.From.Hour*60+rl.From.Minute, rl.To.Hour*60+rl.To.Minute
		if to <= from {
			to += 24 * 60
		}
		for _, d := range rl.Days {
			for m := from; m < to; m++ {
				covered[(int(d)*24*60+m)%week] = true
			}
		}
	}
	return !slices.Contains(covered[:], false)
}

// checkIns: Check-in: from the check-in instant until check-out, or until
// the end of that local day at the location (midnight), whichever is first;
// or for a fixed duration if the policy says so.
func (r *refSpace) checkIns() {
	seen := map[string]bool{}
	for i, c := range r.s.CheckIns {
		if !r.usableID(seen, access.KindCheckIn, c.ID) {
			continue
		}
		email, ok := r.memberOf[c.MemberID]
		if !ok {
			r.reject(access.KindCheckIn, c.ID, r.missing(access.KindMember, c.MemberID, access.ErrUnknownMember))
			continue
		}
		zone := r.zones[c.LocationID]
		if zone == nil {
			r.reject(access.KindCheckIn, c.ID, r.missing(access.KindLocation, c.LocationID, access.ErrUnknownLocation))
			continue
		}
		if c.At.IsZero() || !c.Out.IsZero() && c.Out.Before(c.At) {
			r.reject(access.KindCheckIn, c.ID, access.ErrInvalidWindow)
			continue
		}
		end := c.At.Add(r.p.CheckInFor)
		if r.p.CheckInFor == 0 {
			end = refEndOfDay(c.At, zone)
		}
		if !c.Out.IsZero() && c.Out.Before(end) {
			end = c.Out
		}
		r.give([]string{email}, r.m.LocationGroups(c.LocationID), schedule.Interval{Start: c.At, End: end}, refCheckIn, i, c.ID)
	}
}

// refEndOfDay is the end of t's local day in zone: the first instant after
// t at which the local date is a later one.
func refEndOfDay(t time.Time, zone *time.Location) time.Time {
	y, m, d := t.In(zone).Date()
	midnight := refWall(y, m, d+1, 0, 0)
	return refResolve(zone, midnight, t)
}

// refWall is a wall-clock time as the Unix seconds of the same reading in
// UTC, so that wall times compare and add without any time zone.
func refWall(y int, m time.Month, d, hour, minute int) int64 {
	return time.Date(y, m, d, hour, minute, 0, 0, time.UTC).Unix()
}

// refWallOf is the wall-clock reading of instant u in zone (see refWall).
func refWallOf(u int64, zone *time.Location) int64 {
	t := time.Unix(u, 0).In(zone)
	y, m, d := t.Date()
	h, mi, s := t.Clock()
	return time.Date(y, m, d, h, mi, s, 0, time.UTC).Unix()
}

// refResolve returns the earliest instant after `after` (zero: any) whose
// wall clock in zone reads w or later. This is the design's DST rule in
// one: a wall time that does not exist (spring forward) means the instant
// the clocks jump, and one that occurs twice (fall back) its first
// occurrence. The instant is either w minus an offset the zone has near w,
// or an instant at which the zone changes offset: those are the candidates
// (offsets are sampled every three hours over ±15 hours, more than any
// offset, and changes found to the minute, as the zone's are, between
// samples that differ).
func refResolve(zone *time.Location, w int64, after time.Time) time.Time {
	offset := func(u int64) int64 { _, off := time.Unix(u, 0).In(zone).Zone(); return int64(off) }
	const step, n = 3 * 3600, 5
	var offs [2*n + 1]int64
	for k := range offs {
		offs[k] = offset(w + int64(k-n)*step)
	}
	var cands []int64
	for k, off := range offs {
		if !slices.Contains(cands, w-off) {
			cands = append(cands, w-off)
		}
		if k+1 < len(offs) && offs[k+1] != off {
			for t := w + int64(k-n)*step; ; t += 60 {
				if offset(t) != off {
					cands = append(cands, t)
					break
				}
			}
		}
	}
	best, found := int64(0), false
	for _, c := range cands {
		if refWallOf(c, zone) >= w && (after.IsZero() || time.Unix(c, 0).After(after)) && (!found || c < best) {
			best, found = c, true
		}
	}
	if !found {
		panic(fmt.Sprintf("reference: no instant reads %v in %v", time.Unix(w, 0).UTC(), zone))
	}
	return time.Unix(best, 0).In(zone)
}

// occurrences lists the occurrences of a weekly assignment that overlap
// [lo, hi) within its [Start, End), each cut to [Start, End) and
// widened by the buffer. An occurrence of a rule runs from From on one of
// its days to To the same day, or the next day when To ≤ From (Fri
// 22:00–02:00 ends Saturday 02:00); both read in the zone.
func (w refWeekly) occurrences(lo, hi time.Time) []refOccurrence {
	start, end := refLater(w.a.Start, lo), refEarlier(open(w.a.End), hi)
	var out []refOccurrence
	y, m, d := start.In(w.zone).Date()
	ey, em, ed := end.In(w.zone).Date()
	last := time.Date(ey, em, ed, 0, 0, 0, 0, time.UTC)
	// Local days (as UTC dates) from two days before Start's date: an
	// overnight occurrence begun then can still reach Start.
	for day := time.Date(y, m, d-2, 0, 0, 0, 0, time.UTC); !day.After(last); day = day.AddDate(0, 0, 1) {
		for _, rl := range w.a.Rules {
			if !slices.Contains(rl.Days, day.Weekday()) {
				continue
			}
			dy, dm, dd := day.Date()
			toDay := dd
			if rl.To.Hour*60+rl.To.Minute <= rl.From.Hour*60+rl.From.Minute {
				toDay++
			}
			occ := schedule.Interval{
				Start: refResolve(w.zone, refWall(dy, dm, dd, rl.From.Hour, rl.From.Minute), time.Time{}),
				End:   refResolve(w.zone, refWall(dy, dm, toDay, rl.To.Hour, rl.To.Minute), time.Time{}),
			}
			// Cut to [Start, End) of the assignment.
			occ.Start, occ.End = refLater(occ.Start, w.a.Start), refEarlier(occ.End, open(w.a.End))
			if occ.Start.Before(occ.End) && occ.Start.Before(end) {
				out = append(out, refOccurrence{cut: occ, widened: widenBy(occ, w.buf)})
			}
		}
	}
	return out
}

// refOccurrence is one occurrence of a weekly assignment, cut to the
// assignment's [Start, End), and widened by its buffer.
type refOccurrence struct{ cut, widened schedule.Interval }

func refLater(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func refEarlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// refWindow is a merged window with its pieces.
type refWindow struct {
	iv     schedule.Interval
	pieces []refPiece
}

// refMerge merges pieces: overlapping and touching windows join.
func refMerge(pieces []refPiece) []refWindow {
	ps := slices.Clone(pieces)
	slices.SortStableFunc(ps, func(a, b refPiece) int { return a.iv.Start.Compare(b.iv.Start) })
	var out []refWindow
	for _, pc := range ps {
		if n := len(out); n > 0 && !pc.iv.Start.After(out[n-1].iv.End) {
			if pc.iv.End.After(out[n-1].iv.End) {
				out[n-1].iv.End = pc.iv.End
			}
			out[n-1].pieces = append(out[n-1].pieces, pc)
			continue
		}
		out = append(out, refWindow{iv: pc.iv, pieces: []refPiece{pc}})
	}
	return out
}

// slot applies the slot rule to the merged windows of one key: the window
// in force at `at`, if none the next one that starts within the lead time.
func (r *refSpace) slot(ws []refWindow) (refWindow, bool) {
	for _, w := range ws {
		if w.iv.End.After(r.at) { // the first window not over yet
			if !w.iv.Start.After(r.at.Add(r.p.Lead)) {
				return w, true
			}
			break
		}
	}
	return refWindow{}, false
}

// keyWindows merges every window of one key. Occurrences of weekly
// assignments are listed from 15 days before to 15 days after every edge
// of the key's other windows (and of `at` and the lead time; open ends
// aside): beyond those bounds only occurrences can continue a window. When
// the window of the slot reaches within 8 days of a bound, it is a chain
// of occurrences longer than a week, which a clock change can still break:
// the occurrences are then listed from the assignments' Start, or a year
// further ahead, and a chain that outlasts that year too repeats with the
// calendar and counts as open-ended.
func (r *refSpace) keyWindows(k refKey) []refWindow {
	pieces, weekly := r.pieces[k], r.weekly[k]
	lo, hi := r.at, r.at.Add(r.p.Lead)
	for _, pc := range pieces {
		lo = refEarlier(lo, pc.iv.Start)
		hi = refLater(hi, refFinite(pc.iv.End, hi))
	}
	for _, w := range weekly {
		hi = refLater(hi, refFinite(widenBy(schedule.Interval{Start: w.a.Start, End: open(w.a.End)}, w.buf).End, hi))
	}
	lo, hi = lo.AddDate(0, 0, -15), hi.AddDate(0, 0, 15)
	extended := false
	for {
		all := slices.Clone(pieces)
		for _, w := range weekly {
			for _, occ := range w.occurrences(lo, hi) {
				far := !occ.cut.End.After(r.nearLo) || !occ.cut.Start.Before(r.nearHi)
				all = append(all, refPiece{iv: occ.widened, kind: refAssignment, rec: w.rec, id: w.a.ID, far: far})
			}
		}
		ws := refMerge(all)
		sl, ok := r.slot(ws)
		if !ok || len(weekly) == 0 {
			return ws
		}
		early := sl.iv.Start.Before(lo.AddDate(0, 0, 8)) &&
			slices.ContainsFunc(weekly, func(w refWeekly) bool { return w.a.Start.Before(lo) })
		late := sl.iv.End.Before(schedule.Forever) && sl.iv.End.After(hi.AddDate(0, 0, -8))
		switch {
		case early:
			for _, w := range weekly {
				lo = refEarlier(lo, w.a.Start)
			}
		case late && !extended:
			hi, extended = hi.AddDate(1, 0, 0), true
		case late:
			for i := range ws {
				if ws[i].iv.End.After(hi.AddDate(0, 0, -8)) {
					ws[i].iv.End = schedule.Forever
				}
			}
			return ws
		default:
			return ws
		}
	}
}

// refFinite is t, or dflt when t is open-ended.
func refFinite(t, dflt time.Time) time.Time {
	if t.Before(schedule.Forever) {
		return t
	}
	return dflt
}

// slots returns one grant per (identity, group) with a slot, sorted by
// email, then group. Its Sources are the distinct records of the window's
// pieces, by kind, then snapshot order.
func (r *refSpace) slots() []access.Grant {
	keys := slices.Collect(maps.Keys(r.pieces))
	for k := range r.weekly {
		if _, ok := r.pieces[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b refKey) int { return cmp.Or(cmp.Compare(a.email, b.email), cmp.Compare(a.group, b.group)) })
	var out []access.Grant
	for _, k := range keys {
		w, ok := r.slot(r.keyWindows(k))
		if !ok {
			continue
		}
		if slices.ContainsFunc(w.pieces, func(pc refPiece) bool { return pc.far }) {
			r.far[refFarKey(k.email, k.group)] = w.pieces
		}
		ps := slices.Clone(w.pieces)
		slices.SortFunc(ps, func(a, b refPiece) int { return cmp.Or(cmp.Compare(a.kind, b.kind), cmp.Compare(a.rec, b.rec)) })
		ps = slices.CompactFunc(ps, func(a, b refPiece) bool { return a.kind == b.kind && a.rec == b.rec })
		g := access.Grant{Email: k.email, GroupID: k.group, Window: w.iv}
		for _, pc := range ps {
			g.Sources = append(g.Sources, access.Source{Kind: refKindNames[pc.kind], ID: pc.id})
		}
		id := r.identities[k.email]
		g.MemberID = id.memberID
		if id.guest != nil {
			gu := *id.guest
			g.Guest = &gu
		}
		out = append(out, g)
	}
	return out
}
