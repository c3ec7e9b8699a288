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
	// organization; else it names the one place and kind of source whose
	// cuts are (the plans of the front door's group), and the counts above
	// are that scope's.
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
// Store: over all managed access, and per scope.
type guardCount struct {
	cutCount
	scopes map[guardScope]*cutCount
}

// cutCount counts the cuts of a plan, vanished and explained, and the
// managed access they are shares of.
type cutCount struct {
	vanished, explained, managed int
}

// guardScope is where the guard also judges cuts on their own: one group
// (a place's door, a room) and one kind of source (plans, bookings …), so
// that a broken export of one kind in one place is held even where the
// rest of the organization dilutes it.
type guardScope struct {
	group int64
	kind  string
}

// scopeOf is the scope of rec's access: its group and its first source's
// kind (a plan's default groups count as plans).
func scopeOf(groupID int64, sources []Source) guardScope {
	sc := guardScope{group: groupID}
	if len(sources) > 0 {
		sc.kind = sources[0].Kind
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
	v.in(scopeOf(rec.GroupID, rec.Sources)).managed++
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
	var v guardCount
	for _, ch := range c.Changes {
		if ch.Action == ActionAdopt && ch.Window != nil && !ended(*ch.Window, now) && due(*ch.Window, now, r.p.Lead) {
			v.base(state.Record{GroupID: ch.GroupID, Sources: ch.Sources})
		}
		switch cut(ch, recs, now, r.p.Lead) {
		case CutVanished:
			v.vanished++
			v.in(cutScope(ch, recs)).vanished++
		case CutExplained:
			v.explained++
			v.in(cutScope(ch, recs)).explained++
		}
	}
	return v
}

// cutScope is the scope of the access ch cuts: that of the Store's record.
func cutScope(ch Change, recs map[string]state.Record) guardScope {
	if rec, ok := recs[ch.Key]; ok {
		return scopeOf(rec.GroupID, rec.Sources)
	}
	return scopeOf(ch.GroupID, ch.Sources)
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
	n := v.scopes[cutScope(ch, recs)]
	return n != nil && r.over(*n)
}

// limitError describes a held run: over all managed access, or in the
// first scope over the limits when only scopes are.
func (r *Reconciler) limitError(v guardCount) *RevokeLimitError {
	n, scope := v.cutCount, ""
	if !r.over(n) {
		for _, sc := range slices.SortedFunc(maps.Keys(v.scopes), func(a, b guardScope) int {
			return cmp.Or(cmp.Compare(a.group, b.group), strings.Compare(a.kind, b.kind))
		}) {
			if r.over(*v.scopes[sc]) {
				n, scope = *v.scopes[sc], fmt.Sprintf("the %ss of group %d", cmp.Or(sc.kind, "access"), sc.group)
				if name := r.o.groupNames[sc.group]; name != "" {
					scope = fmt.Sprintf("the %ss of %s (group %d)", cmp.Or(sc.kind, "access"), name, sc.group)
				}
				break
			}
		}
	}
	return &RevokeLimitError{Organization: r.o.org, Revocations: n.vanished + n.explained, Vanished: n.vanished,
		Explained: n.explained, Managed: n.managed, Scope: scope, Limit: r.o.revokeLimit, ExplainedLimit: r.o.explainedLimit,
		Floor: r.o.revokeFloor}
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

// cutClass says what causes a cut of the access rec holds: source records
// still in the snapshot that say so (explicit: a cancelled plan, a
// check-out, a suspended member) and none still in force, one that changed
// without saying so (explained: an End set earlier), or every source
// vanished from the snapshot. A record adopted without sources counts as
// vanished.
func cutClass(rec state.Record, snap *snapIndex) CutKind {
	if rec.MemberID != "" && snap.member(rec.MemberID).Suspended {
		return CutExplicit
	}
	if len(rec.Sources) == 0 && rec.Kind == state.KindRole {
		// Adopted after a lost Store: the member's records tell.
		return snap.byEmail(rec.Email)
	}
	kind := CutVanished
	for _, s := range rec.Sources {
		switch snap.source(s) {
		case sourceEnded:
			if kind == CutVanished {
				kind = CutExplicit
			}
		case sourcePresent:
			// A source still in force changed: that, not the one that
			// says it ended, is what cuts.
			kind = CutExplained
		}
	}
	return kind
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
	for _, s := range rec.Sources {
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
// builds neither. It is for one goroutine.
type snapIndex struct {
	s       *Snapshot
	members map[string]Member
	// emails are the cut kinds of a record without sources, by the
	// member's email (see byEmail).
	emails  map[string]CutKind
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

// byEmail classifies the cut of access a record without sources held
// (adopted after a lost Store) by its member's records: explicit when the
// member is suspended, or has plans and every one is cancelled; explained
// when the member is there otherwise; vanished when no member has the
// email.
func (x *snapIndex) byEmail(email string) CutKind {
	if x == nil || x.s == nil {
		return CutVanished
	}
	if x.emails == nil {
		x.emails = make(map[string]CutKind, len(x.s.Members))
		cancelled, active := map[string]bool{}, map[string]bool{}
		for _, p := range x.s.Plans {
			if p.Status == PlanCancelled {
				cancelled[p.MemberID] = true
			} else {
				active[p.MemberID] = true
			}
		}
		for _, m := range x.s.Members {
			e, err := NormalizeEmail(m.Email)
			if err != nil {
				continue
			}
			kind := CutExplained
			if m.Suspended || cancelled[m.ID] && !active[m.ID] {
				kind = CutExplicit
			}
			if prev, ok := x.emails[e]; !ok || prev == CutExplicit {
				x.emails[e] = kind
			}
		}
	}
	if kind, ok := x.emails[email]; ok {
		return kind
	}
	return CutVanished
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
