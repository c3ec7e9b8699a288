package access

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/kisisync/kisisync/access/state"
	"github.com/kisisync/kisisync/internal/kisiglue"
	"github.com/kisisync/kisisync/internal/times"
	"github.com/kisisync/kisisync/mapping"
	"github.com/kisisync/kisisync/schedule"
)

// RevokeLimitError is returned by Apply and Sync when the revoke guard held
// cuts of access back: the run cut more access in force (or entering Kisi
// within the lead time) than the revoke limits allow. Everything else was
// applied; the held cuts are listed in [Report.Held] and marked
// [Change.Held]. Review them, then call [Changes.Approve] and Apply the
// plan, or fix the snapshot.
//
// The guard protects against a broken upstream, not against routine life:
// cuts whose sources vanished from the snapshot count toward Limit, and all
// cuts, explained by records still present or not, toward ExplainedLimit.
type RevokeLimitError struct {
	// Organization is the organization the changes were planned for.
	Organization string `json:"organization"`
	// Revocations is how many cuts were held: Vanished of them had every
	// source gone from the snapshot, Explained a source still in it.
	Revocations int `json:"revocations"`
	Vanished    int `json:"vanished"`
	Explained   int `json:"explained"`
	// Managed is the number of grants and links managed in force or still
	// to come: the base of the limits.
	Managed int `json:"managed"`
	// Scope is empty when the cuts are over the limits for the whole
	// organization; else it names the one location and kind of source
	// whose cuts are ("the bookings at berlin"), or the group and kind for
	// a group without one location ([Changes.GroupLocations]), and the
	// counts above are that scope's.
	Scope string `json:"scope,omitempty"`
	// Limit is the share of Managed a run may cut when the sources
	// vanished (0.25 is 25%), ExplainedLimit the share of all cuts, and
	// Floor the count a run may always cut.
	Limit          float64 `json:"limit"`
	ExplainedLimit float64 `json:"explained_limit"`
	Floor          int     `json:"floor"`
}

// Error implements error. It says what was held and why: a snapshot that
// lost records only when sources vanished.
func (e *RevokeLimitError) Error() string {
	limit := fmt.Sprintf("%.0f%% of managed access for all cuts", e.ExplainedLimit*100)
	advice := "check that the platform meant to end this access (cancelled plans, End dates, check-outs)"
	why := fmt.Sprintf("%d explained by records still in the snapshot", e.Explained)
	if e.Vanished > 0 {
		why = fmt.Sprintf("%d whose sources vanished from the snapshot, %s", e.Vanished, why)
		advice = "check that the snapshot is complete"
		if float64(e.Vanished) > e.Limit*float64(e.Managed) {
			limit = fmt.Sprintf("%.0f%% of managed access for vanished sources", e.Limit*100)
		}
	}
	of := fmt.Sprintf("%d managed grants and links", e.Managed)
	if e.Scope != "" {
		of = fmt.Sprintf("%d managed in %s", e.Managed, e.Scope)
	}
	return fmt.Sprintf("access: held %d cuts of access for %q (%s) of %s, "+
		"above the revoke limit (%s, beyond %d); everything else was applied: %s, then approve the plan to apply them",
		e.Revocations, e.Organization, why, of, limit, e.Floor, advice)
}

// guardCount is the revoke guard's count of one plan's cuts against the
// Store: over all managed access, and per scope. locs are the groups'
// locations ([Changes.GroupLocations]).
type guardCount struct {
	cutCount
	scopes map[guardScope]*cutCount
	locs   map[int64]string
}

// cutCount counts the cuts of a plan, vanished and explained, and the
// managed access they are shares of.
type cutCount struct {
	vanished, explained, managed int
}

// guardScope is where the guard also judges cuts on their own: one
// location (its doors and rooms together) and one kind of source (plans,
// bookings …), so that a broken export of one kind in one place is held
// even where the rest of the organization dilutes it. A group without
// one location is a place of its own (group set, location empty).
type guardScope struct {
	location string
	group    int64
	kind     string
}

// scopeOf is the scope of rec's access: its group's location (or group)
// and its first source's kind (a plan's default groups count as plans, a
// link adopted without sources as a booking).
func (v *guardCount) scopeOf(rec state.Record) guardScope {
	sc := guardScope{location: v.locs[rec.GroupID]}
	if sc.location == "" {
		sc.group = rec.GroupID
	}
	switch {
	case len(rec.Sources) > 0:
		sc.kind = rec.Sources[0].Kind
	case rec.Kind == state.KindLink:
		sc.kind = KindBooking
	}
	if sc.kind == KindDefault {
		sc.kind = KindPlan
	}
	return sc
}

// in returns the count of scope sc.
func (v *guardCount) in(sc guardScope) *cutCount {
	if v.scopes == nil {
		v.scopes = map[guardScope]*cutCount{}
	}
	n := v.scopes[sc]
	if n == nil {
		n = &cutCount{}
		v.scopes[sc] = n
	}
	return n
}

// base counts rec in the managed access, over all and in its scope.
func (v *guardCount) base(rec state.Record) {
	v.managed++
	v.in(v.scopeOf(rec)).managed++
}

// cut returns how ch cuts access according to the Store's records: the
// plan's own classification, except that a delete of a record in force is
// always a cut (vanished unless the plan says otherwise), and a change
// whose record is not live cuts nothing.
func cut(ch Change, recs map[string]state.Record, now time.Time, lead time.Duration) CutKind {
	rec, ok := recs[ch.Key]
	switch ch.Action {
	case ActionDelete:
		if ok && (!live(rec, now) || !due(rec.Window, now, lead) && !sentLink(rec)) {
			return ""
		}
		if ch.Cut == "" {
			return CutVanished
		}
		return ch.Cut
	case ActionReplace:
		if ok && !live(rec, now) {
			return ""
		}
		return ch.Cut
	}
	return ""
}

// guarded reports whether the guard judges a cut of kind k: every cut but
// one a record explicitly asks for.
func guarded(k CutKind) bool { return k == CutVanished || k == CutExplained }

// judge counts the cuts of c and the managed access, from the Store's
// records rather than from c's own counts.
func (r *Reconciler) judge(c *Changes, recs map[string]state.Record, now time.Time) guardCount {
	v := r.judgeCuts(c, recs, now)
	for _, rec := range recs {
		if r.inBase(rec, now) {
			v.base(rec)
		}
	}
	return v
}

// inBase reports whether rec is part of the access the guard's limits are
// shares of: access in force or entering Kisi within the lead time. Links
// and roles further ahead (guests booked for next week) would dilute them.
func (r *Reconciler) inBase(rec state.Record, now time.Time) bool {
	return live(rec, now) && due(rec.Window, now, r.p.Lead)
}

// judgeCuts counts the cuts of c, and the managed access its adoptions
// add, from the Store's records of its changes' keys (recs may hold only
// those).
func (r *Reconciler) judgeCuts(c *Changes, recs map[string]state.Record, now time.Time) guardCount {
	v := guardCount{locs: c.GroupLocations}
	for _, ch := range c.Changes {
		if ch.Action == ActionAdopt && ch.Window != nil && !ended(*ch.Window, now) && due(*ch.Window, now, r.p.Lead) {
			v.base(changeRecord(ch))
		}
		switch cut(ch, recs, now, r.p.Lead) {
		case CutVanished:
			v.vanished++
			v.in(v.cutScope(ch, recs)).vanished++
		case CutExplained:
			v.explained++
			v.in(v.cutScope(ch, recs)).explained++
		}
	}
	return v
}

// cutScope is the scope of the access ch cuts: that of the Store's record.
func (v *guardCount) cutScope(ch Change, recs map[string]state.Record) guardScope {
	if rec, ok := recs[ch.Key]; ok {
		return v.scopeOf(rec)
	}
	return v.scopeOf(changeRecord(ch))
}

// changeRecord is the part of the record of ch's access a scope reads.
func changeRecord(ch Change) state.Record {
	rec := state.Record{Kind: state.KindRole, GroupID: ch.GroupID, Sources: ch.Sources}
	if ch.Object == ObjectLink {
		rec.Kind = state.KindLink
	}
	return rec
}

// holds reports whether the guard holds cuts of c: over all managed
// access, or in one scope.
func (r *Reconciler) holds(c *Changes, v guardCount) bool {
	if c.Approved || r.o.approveAll {
		return false
	}
	if r.over(v.cutCount) {
		return true
	}
	for _, n := range v.scopes {
		if r.over(*n) {
			return true
		}
	}
	return false
}

// over reports whether the cuts of n go beyond the revoke limits.
func (r *Reconciler) over(n cutCount) bool {
	beyond := func(cuts int, share float64) bool {
		return cuts > r.o.revokeFloor && float64(cuts) > share*float64(n.managed)
	}
	return beyond(n.vanished, r.o.revokeLimit) || beyond(n.vanished+n.explained, r.o.explainedLimit)
}

// holdsCut reports whether the guard, which holds cuts of the plan, holds
// ch: a guarded cut, when the whole plan is over the limits or its scope
// is.
func (r *Reconciler) holdsCut(v guardCount, ch Change, recs map[string]state.Record, now time.Time) bool {
	if !guarded(cut(ch, recs, now, r.p.Lead)) {
		return false
	}
	if r.over(v.cutCount) {
		return true
	}
	n := v.scopes[v.cutScope(ch, recs)]
	return n != nil && r.over(*n)
}

// limitError describes a held run: over all managed access, or in the
// first scope over the limits when only scopes are.
func (r *Reconciler) limitError(v guardCount) *RevokeLimitError {
	n, scope := v.cutCount, ""
	if !r.over(n) {
		for _, sc := range slices.SortedFunc(maps.Keys(v.scopes), func(a, b guardScope) int {
			return cmp.Or(strings.Compare(a.location, b.location), cmp.Compare(a.group, b.group), strings.Compare(a.kind, b.kind))
		}) {
			if r.over(*v.scopes[sc]) {
				n, scope = *v.scopes[sc], r.scopeName(sc)
				break
			}
		}
	}
	return &RevokeLimitError{Organization: r.o.org, Revocations: n.vanished + n.explained, Vanished: n.vanished,
		Explained: n.explained, Managed: n.managed, Scope: scope, Limit: r.o.revokeLimit, ExplainedLimit: r.o.explainedLimit,
		Floor: r.o.revokeFloor}
}

// scopeName names sc for a space manager: "the bookings at berlin", "the
// plans of Members (group 7)".
func (r *Reconciler) scopeName(sc guardScope) string {
	kind := cmp.Or(sc.kind, "access")
	if kind != "access" {
		kind += "s"
	}
	switch {
	case sc.location != "":
		return fmt.Sprintf("the %s at %s", kind, sc.location)
	case r.o.groupNames[sc.group] != "":
		return fmt.Sprintf("the %s of %s (group %d)", kind, r.o.groupNames[sc.group], sc.group)
	}
	return fmt.Sprintf("the %s of group %d", kind, sc.group)
}

// markHeld marks the cuts of c the guard holds, for the plan's reader.
// recs are the Store's records, one per key.
func (r *Reconciler) markHeld(c *Changes, recs []state.Record) {
	// The cuts depend only on the records of the changes' keys.
	keys := make(map[string]struct{}, len(c.Changes))
	for i := range c.Changes {
		keys[c.Changes[i].Key] = struct{}{}
	}
	byKey := make(map[string]state.Record, len(keys))
	for i := range recs {
		if _, ok := keys[recs[i].Key]; ok {
			byKey[recs[i].Key] = recs[i]
		}
	}
	v := r.judgeCuts(c, byKey, c.At)
	for i := range recs {
		if r.inBase(recs[i], c.At) {
			v.base(recs[i])
		}
	}
	if !r.holds(c, v) {
		return
	}
	for i := range c.Changes {
		if r.holdsCut(v, c.Changes[i], byKey, c.At) {
			c.Changes[i].Held = true
			c.Held++
		}
	}
}

// groupLocations returns the location of each mapped group that has one:
// the location of the resources and check-ins the mapping sends to it.
// The mapping's own location table counts even when the snapshot lacks
// the location (an export that lost it), so the scopes of a broken export
// are those of the sound one. A group reached from two locations (a
// shared door) is left out: it is a scope of its own.
func (r *Reconciler) groupLocations(s Snapshot) map[int64]string {
	out := map[int64]string{}
	place := func(groups []int64, loc string) {
		for _, g := range groups {
			if prev, ok := out[g]; !ok {
				out[g] = loc
			} else if prev != loc {
				out[g] = ""
			}
		}
	}
	for _, loc := range slices.Sorted(maps.Keys(r.m.Locations)) {
		place(r.m.Locations[loc], loc)
	}
	for _, res := range s.Resources {
		if res.LocationID != "" {
			place(r.m.Resources[res.ID], res.LocationID)
		}
	}
	maps.DeleteFunc(out, func(_ int64, loc string) bool { return loc == "" })
	if len(out) == 0 {
		return nil
	}
	return out
}

// live reports whether rec is managed access in force or still to come at
// now: the base of the revoke guard.
func live(rec state.Record, now time.Time) bool {
	return (rec.Kind == state.KindRole || rec.Kind == state.KindLink) && rec.State == state.StateSettled && !ended(rec.Window, now)
}

// sentLink reports whether rec is a link whose email went out: deleting it
// is a cut however far ahead its booking is, since a new link would mean a
// second email and the first one's link no longer working.
func sentLink(rec state.Record) bool { return rec.Kind == state.KindLink && rec.Email != "" }

// cutOf classifies a replacement of rec by create: a cut when the old window
// is in force (or enters Kisi within the lead time) and the new one starts
// later or ends sooner. Bounding or renewing a rolling window is not a cut.
func cutOf(rec state.Record, create Change, in diffInput) CutKind {
	if !due(rec.Window, in.now, in.lead) || ended(rec.Window, in.now) {
		return ""
	}
	nw, old := *create.Window, rec.Window
	later := nw.Start.After(times.Later(old.Start, in.now).Add(kisiglue.Tolerance))
	sooner := !create.Rolling && nw.End.Add(kisiglue.Tolerance).Before(old.End)
	if !later && !sooner {
		return ""
	}
	return cutClass(rec, in.snap)
}

// due reports whether access in window w is in force at now or enters Kisi
// within the lead time.
func due(w schedule.Interval, now time.Time, lead time.Duration) bool {
	return w.Start.Before(now.Add(lead).Add(time.Nanosecond))
}

// cutClass says what causes a cut of the access rec holds, by the records
// the snapshot gives for it (see sourcesOf): explicit when one says so (a
// cancelled plan, a check-out) and none vanished, or the member is
// suspended; explained when none says so but one is still there (its End
// set earlier, without a status); vanished otherwise.
func cutClass(rec state.Record, snap *snapIndex) CutKind {
	if snap.suspended(rec) {
		return CutExplicit
	}
	var ended, present, gone bool
	for _, s := range snap.sourcesOf(rec) {
		switch snap.source(s) {
		case sourceEnded:
			ended = true
		case sourcePresent:
			present = true
		default:
			gone = true
		}
	}
	switch {
	case ended && !gone:
		// A status says the access ended: whatever else of the member is
		// still there does not cover the access any more. (A check-out
		// does not explain the access a plan that vanished gave too: that
		// cut is as suspect as the plan's vanishing.)
		return CutExplicit
	case present && !ended:
		return CutExplained
	}
	return CutVanished
}

// suspended reports whether the member rec's access is for is suspended.
func (x *snapIndex) suspended(rec state.Record) bool {
	if rec.MemberID != "" {
		return x.member(rec.MemberID).Suspended
	}
	if rec.Kind != state.KindRole || x == nil || x.s == nil {
		return false
	}
	// Adopted without its member: the members with its email tell.
	x.index()
	return x.suspend[rec.Email]
}

// sourcesOf returns the records of the snapshot rec's access comes from:
// its own Sources, or for a record adopted without them (Verify after a
// lost Store knows only the Kisi object) whatever the snapshot says now: a
// link's booking, or the records of the role's member (by email) that the
// mapping sends to the role's group and that began by the start of the
// role's window — a check-in of today does not explain a role held since
// last month, the plan it came from does.
func (x *snapIndex) sourcesOf(rec state.Record) []Source {
	switch {
	case len(rec.Sources) > 0:
		return rec.Sources
	case rec.Kind == state.KindLink && rec.BookingID != "":
		return []Source{{Kind: KindBooking, ID: rec.BookingID}}
	case rec.Kind != state.KindRole || x == nil || x.s == nil:
		return nil
	}
	x.index()
	var out []Source
	start := rec.Window.Start.Add(kisiglue.Tolerance)
	for _, d := range x.byEmail[emailGroup{rec.Email, rec.GroupID}] {
		if !d.from.After(start) && (d.to.IsZero() || d.to.After(rec.Window.Start)) {
			out = append(out, d.src)
		}
	}
	return out
}

// memberSource is a record of a member the mapping sends to a group, and
// the span of its access (to zero: open).
type memberSource struct {
	src      Source
	from, to time.Time
}

// rejected reports whether a record of the snapshot that rec's access
// comes from is there but invalid (its member's, or a source's): such
// access is not cut; Kisi keeps what it holds, bounded, and the record
// is reported.
func (x *snapIndex) rejected(rec state.Record) bool {
	if x == nil || len(x.skipped) == 0 {
		return false
	}
	if x.rejects == nil {
		x.rejects = make(map[Source]bool, len(x.skipped))
		for _, e := range x.skipped {
			x.rejects[Source{Kind: e.Kind, ID: e.ID}] = true
		}
	}
	if rec.MemberID != "" && (x.rejects[Source{Kind: "member", ID: rec.MemberID}] || x.danglingMember(rec.MemberID)) {
		return true
	}
	for _, s := range x.sourcesOf(rec) {
		if s.Kind == KindDefault {
			s.Kind = KindPlan
		}
		if x.rejects[s] {
			return true
		}
	}
	return false
}

// danglingMember reports whether the snapshot's records name member id
// but its members list lacks it (a members export that came back short).
func (x *snapIndex) danglingMember(id string) bool {
	if x.dangling == nil {
		x.dangling = map[string]bool{}
		name := func(id string) {
			if id != "" {
				x.dangling[id] = true
			}
		}
		for _, t := range x.s.Teams {
			for _, m := range t.MemberIDs {
				name(m)
			}
		}
		for _, p := range x.s.Plans {
			name(p.MemberID)
		}
		for _, a := range x.s.Allowances {
			name(a.MemberID)
		}
		for _, b := range x.s.Bookings {
			name(b.MemberID)
		}
		for _, a := range x.s.Assignments {
			name(a.MemberID)
		}
		for _, c := range x.s.CheckIns {
			name(c.MemberID)
		}
		for _, m := range x.s.Members {
			delete(x.dangling, m.ID)
		}
	}
	return x.dangling[id]
}

// snapIndex looks up the members and records of a snapshot, building each
// index the first time it is needed: a plan with nothing to create or cut
// builds none. It is for one goroutine.
type snapIndex struct {
	s *Snapshot
	// m is the mapping, which sends the records of a member to groups, p
	// the policy, whose buffers widen bookings.
	m       mapping.Mapping
	p       Policy
	members map[string]Member
	// byEmail are the records of the members with an email that the
	// mapping sends to a group, suspend the emails of suspended members
	// (see sourcesOf): a record adopted without sources has only an
	// email and a group.
	byEmail map[emailGroup][]memberSource
	suspend map[string]bool
	sources map[Source]sourceState
	// skipped are the records of s that were rejected, rejects their
	// sources (see rejected).
	skipped []*RecordError
	rejects map[Source]bool
	// dangling are the members records of s name (a team, a plan …) but
	// s lacks: a broken reference, not a member who left.
	dangling map[string]bool
}

// sourceState is what a snapshot says of the record a Source names.
type sourceState uint8

const (
	sourceGone    sourceState = iota // not in the snapshot
	sourcePresent                    // in it
	sourceEnded                      // in it, saying its access ended: a cancelled plan, a check-out
)

// member returns the member with id (the last one listed), or the zero
// Member.
func (x *snapIndex) member(id string) Member {
	if x == nil || x.s == nil {
		return Member{}
	}
	if x.members == nil {
		x.members = memberIndex(*x.s)
	}
	return x.members[id]
}

// emailGroup is a member's email (normalized) and a group.
type emailGroup struct {
	email string
	group int64
}

// index builds byEmail and suspend.
func (x *snapIndex) index() {
	if x.byEmail != nil {
		return
	}
	s := x.s
	x.byEmail, x.suspend = map[emailGroup][]memberSource{}, map[string]bool{}
	emails := make(map[string]string, len(s.Members))
	for _, m := range s.Members {
		e, err := NormalizeEmail(m.Email)
		if err != nil {
			continue
		}
		emails[m.ID] = e
		x.suspend[e] = x.suspend[e] || m.Suspended
	}
	teams := make(map[string][]string, len(s.Teams))
	for _, t := range s.Teams {
		teams[t.ID] = append(teams[t.ID], t.MemberIDs...)
	}
	// add adds src to the member's (or, with team set, every team
	// member's) records of groups.
	add := func(member, team string, groups []int64, src Source, from, to time.Time) {
		holders := []string{member}
		if team != "" {
			holders = teams[team]
		}
		for _, id := range holders {
			e, ok := emails[id]
			if !ok {
				continue
			}
			for _, g := range groups {
				k := emailGroup{e, g}
				x.byEmail[k] = append(x.byEmail[k], memberSource{src, from, to})
			}
		}
	}
	for _, p := range s.Plans {
		groups, ok := x.m.Plans[p.PlanID]
		if !ok {
			groups = x.m.Default
		}
		add(p.MemberID, p.TeamID, groups, Source{Kind: KindPlan, ID: p.ID}, p.Start, p.End)
	}
	for _, a := range s.Allowances {
		add(a.MemberID, a.TeamID, x.m.Allowances[a.AllowanceID], Source{Kind: KindAllowance, ID: a.ID}, a.Start, a.End)
	}
	for _, b := range s.Bookings {
		buf := bufferFor(x.p, b.ResourceID)
		add(b.MemberID, "", x.m.Resources[b.ResourceID], Source{Kind: KindBooking, ID: b.ID}, b.Start.Add(-buf.Before), b.End.Add(buf.After))
	}
	for _, a := range s.Assignments {
		buf := bufferFor(x.p, a.ResourceID)
		to := a.End
		if !to.IsZero() {
			to = to.Add(buf.After)
		}
		add(a.MemberID, a.TeamID, x.m.Resources[a.ResourceID], Source{Kind: KindAssignment, ID: a.ID}, a.Start.Add(-buf.Before), to)
	}
	for _, c := range s.CheckIns {
		add(c.MemberID, "", x.m.Locations[c.LocationID], Source{Kind: KindCheckIn, ID: c.ID}, c.At, c.Out)
	}
}

// source reports what the snapshot says of the record src names.
func (x *snapIndex) source(src Source) sourceState {
	if x == nil || x.s == nil {
		return sourceGone
	}
	if x.sources == nil {
		x.sources = snapshotSources(*x.s)
	}
	return x.sources[src]
}

// snapshotSources indexes the records of s, as the sources a Grant names.
func snapshotSources(s Snapshot) map[Source]sourceState {
	n := len(s.Plans) + len(s.Allowances) + len(s.Bookings) + len(s.Assignments) + len(s.CheckIns)
	p := make(map[Source]sourceState, n)
	for _, r := range s.Plans {
		st := sourcePresent
		if r.Status == PlanCancelled {
			st = sourceEnded
		}
		p[Source{Kind: KindPlan, ID: r.ID}] = st
		p[Source{Kind: KindDefault, ID: r.ID}] = st
	}
	for _, r := range s.Allowances {
		p[Source{Kind: KindAllowance, ID: r.ID}] = sourcePresent
	}
	for _, r := range s.Bookings {
		p[Source{Kind: KindBooking, ID: r.ID}] = sourcePresent
	}
	for _, r := range s.Assignments {
		p[Source{Kind: KindAssignment, ID: r.ID}] = sourcePresent
	}
	for _, r := range s.CheckIns {
		st := sourcePresent
		if !r.Out.IsZero() {
			st = sourceEnded
		}
		p[Source{Kind: KindCheckIn, ID: r.ID}] = st
	}
	return p
}
