package access

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/kisisync/kisisync/mapping"
	"github.com/kisisync/kisisync/schedule"
)

// Explanation answers "why does (or doesn't) this member have Kisi access
// at At?". It is JSON-marshalable for a host's UI; [Explanation.String]
// renders it in plain sentences for a support person.
type Explanation struct {
	// MemberID is the member asked about, as given.
	MemberID string `json:"member_id"`
	// Email is the member's normalized email; empty when the member is
	// unknown or the email invalid.
	Email string `json:"email,omitempty"`
	// Name is the member's name from the snapshot; empty when unknown.
	Name string `json:"name,omitempty"`
	// At is the instant explained, as given.
	At time.Time `json:"at"`
	// Problem is set when the member can get no access at all: member
	// unknown, email invalid, nothing held, or nothing mapped to a group.
	// Empty otherwise, even when no group gives access at At.
	Problem string `json:"problem,omitempty"`
	// Notes are further facts, e.g. another member sharing the email;
	// sorted.
	Notes []string `json:"notes,omitempty"`
	// Groups lists every group the member has or could have, by GroupID.
	Groups []GroupExplanation `json:"groups,omitempty"`
	// Unmapped lists the sources considered that grant no group.
	Unmapped []SourceExplanation `json:"unmapped,omitempty"`

	zone *time.Location
}

// GroupExplanation is the state of one Kisi group for the member.
type GroupExplanation struct {
	// GroupID is the Kisi group.
	GroupID int64 `json:"group_id"`
	// Allowed reports whether a merged window is in force at At.
	Allowed bool `json:"allowed"`
	// InKisi reports whether the slot rule puts a window into Kisi at At
	// (in force, or starting within the lead time).
	InKisi bool `json:"in_kisi"`
	// Slot is the window the slot rule puts into Kisi at At, as in
	// [Desired]; nil when InKisi is false.
	Slot *schedule.Interval `json:"slot,omitempty"`
	// Windows are the merged windows, whole and sorted, that overlap the
	// span from a day before At to eight days after it. End is
	// [schedule.Forever] for an open-ended window.
	Windows []schedule.Interval `json:"windows,omitempty"`
	// Reason is the first reason access is missing at At, a sentence
	// (empty when Allowed).
	Reason string `json:"reason,omitempty"`
	// Sources are the member's sources that map to this group.
	Sources []SourceExplanation `json:"sources"`
	// Zone is the IANA time zone times are shown in: that of the first
	// source with a location, else UTC.
	Zone string `json:"zone"`
}

// SourceExplanation is one platform record considered, with its own
// window (the one in force at At, else the next, else the last) and mapped
// groups.
type SourceExplanation struct {
	// Kind is plan, default, allowance, booking, assignment or checkin
	// (see [Source]).
	Kind string `json:"kind"`
	// ID is the record's ID.
	ID string `json:"id"`
	// Ref is the record's PlanID or AllowanceID, or the ID of its
	// resource (bookings, assignments) or location (check-ins).
	Ref string `json:"ref,omitempty"`
	// Groups are the Kisi groups the record maps to; empty when it maps
	// to none (or is a drop-in that gets a link, not a group).
	Groups []int64 `json:"groups,omitempty"`
	// Window is the record's own window, widened by any buffer: the one in
	// force at At, else the next, else the last. Nil for weekly rules
	// with no occurrence in the coming week. End is [schedule.Forever]
	// when open-ended.
	Window *schedule.Interval `json:"window,omitempty"`
	// Applies reports that Window is in force at At and the record maps
	// to a group.
	Applies bool `json:"applies"`
	// Note is a sentence on the record's state.
	Note string `json:"note"`
	// Zone is the IANA time zone times are shown in.
	Zone string `json:"zone"`

	state state
	key   time.Time // the instant that orders sources of one state
	loc   *time.Location
}

// state orders the reasons of a source; the first missing-access reason of
// a group is the source with the lowest state.
type state uint8

const (
	stApplies state = iota
	stPending
	stUpcoming
	stCheckedOut
	stNotToday
	stCancelled
	stEnded
	stNoGroup
)

// Explain explains the access of memberID at `at` (see [Explanation]).
//
// It considers every plan, allowance and assignment of the member or of
// their teams, the bookings whose window lies between a day before `at` and
// a week after it (drop-ins booked with the member's email included), and
// per location the check-ins of the local day of `at`, else the latest one.
// When a group gives no access, its Reason is the first of: a plan pending
// acceptance, the soonest upcoming window (plan or allowance not started,
// booking starting, next occurrence of a weekly rule), a check-out, no
// check-in today, a cancelled plan, the latest ended window, nothing
// mapped.
// Errors of the snapshot are returned as by [Access]; an unknown member or
// invalid email is not an error but the Explanation's Problem. Times are
// shown in the zone of the location of each source (booked or assigned
// resource, check-in location); plans and allowances use the zone every
// location shares, and UTC where there is none.
func Explain(s Snapshot, m mapping.Mapping, p Policy, memberID string, at time.Time) (Explanation, error) {
	x := Explanation{MemberID: memberID, At: at, zone: time.UTC}
	if err := p.Validate(); err != nil {
		return x, fmt.Errorf("access: %w", err)
	}
	ix := newIndex(&s, p)
	c, ok := ix.member[memberID]
	if !ok {
		for _, mb := range s.Members {
			if mb.ID == memberID {
				x.Name = mb.Name
				if _, err := NormalizeEmail(mb.Email); err != nil && memberID != "" {
					x.Problem = fmt.Sprintf("The email address %q of member %s is invalid: Kisi users are matched by email, so no access can be given until it is corrected.", mb.Email, memberID)
				}
				break
			}
		}
		if x.Problem == "" {
			x.Problem = fmt.Sprintf("Member %s is unknown: there is no member with this ID.", memberID)
		}
		_, err := Access(s, m, p, schedule.Interval{Start: at, End: at.Add(time.Nanosecond)})
		return x, err
	}
	x.Email = ix.email[c]
	for _, mb := range s.Members {
		if mb.ID == memberID {
			x.Name = mb.Name
			break
		}
	}
	if canon := s.Members[c].ID; canon != memberID {
		x.Notes = append(x.Notes, fmt.Sprintf("Member %s has the same email as member %s: Kisi knows them as one user, and their access is combined under %s.", memberID, canon, canon))
	} else {
		for id, o := range ix.member {
			if o == c && id != memberID {
				x.Notes = append(x.Notes, fmt.Sprintf("Member %s has the same email: Kisi knows them as one user, and their access is combined under %s.", id, memberID))
			}
		}
		slices.Sort(x.Notes)
	}

	// Merged windows of this member around at.
	e := newEngine(&s, m, p, schedule.Interval{Start: at.Add(-24 * time.Hour), End: at.Add(8 * 24 * time.Hour)}, c)
	e.follow = true
	e.generate()
	grants := e.merge(false)

	srcs := explainSources(e, c, at)
	for _, sx := range srcs {
		if sx.loc != nil {
			x.zone = sx.loc
			break
		}
	}
	groupSet := map[int64]bool{}
	for _, sx := range srcs {
		if len(sx.Groups) == 0 {
			x.Unmapped = append(x.Unmapped, sx)
		}
		for _, g := range sx.Groups {
			groupSet[g] = true
		}
	}
	for _, g := range grants {
		groupSet[g.GroupID] = true
	}
	for _, g := range slices.Sorted(maps.Keys(groupSet)) {
		gx := GroupExplanation{GroupID: g, Zone: time.UTC.String()}
		zone := (*time.Location)(nil)
		for _, sx := range srcs {
			if slices.Contains(sx.Groups, g) {
				gx.Sources = append(gx.Sources, sx)
				if zone == nil && sx.loc != nil {
					zone = sx.loc
				}
			}
		}
		if zone != nil {
			gx.Zone = zone.String()
		}
		for _, gr := range grants {
			if gr.GroupID != g {
				continue
			}
			gx.Windows = append(gx.Windows, gr.Window)
			if gx.Slot == nil && gr.Window.End.After(at) && !gr.Window.Start.After(at.Add(p.Lead)) {
				w := gr.Window
				gx.Slot, gx.InKisi = &w, true
				gx.Allowed = !w.Start.After(at)
			}
		}
		if !gx.Allowed {
			gx.Reason = groupReason(gx, at, p, zone)
		}
		x.Groups = append(x.Groups, gx)
	}
	switch {
	case len(srcs) == 0:
		x.Problem = "The member has no plan, allowance, booking, assignment or check-in, so nothing gives access and the Kisi app shows “No locks found”."
	case len(x.Groups) == 0:
		x.Problem = "None of the member's plans, allowances, bookings, assignments or check-ins is mapped to a Kisi group, so the Kisi app shows “No locks found”. Map them to Kisi groups in the integration settings."
	}
	_, err := Access(s, m, p, schedule.Interval{Start: at, End: at.Add(time.Nanosecond)})
	return x, err
}

// groupReason picks the first reason among the group's sources.
func groupReason(gx GroupExplanation, at time.Time, p Policy, zone *time.Location) string {
	var best *SourceExplanation
	for i := range gx.Sources {
		sx := &gx.Sources[i]
		if sx.Applies {
			continue
		}
		if best == nil || sx.state < best.state || (sx.state == best.state && better(sx, best)) {
			best = sx
		}
	}
	reason := "No source grants this group now."
	if best != nil {
		reason = best.Note
	}
	if gx.Slot != nil { // starts within the lead time
		when := "at " + fmtClockOrTime(gx.Slot.Start, at, zoneOr(zone))
		if strings.Contains(reason, when) {
			when = "then"
		}
		reason += fmt.Sprintf(" This access is already in Kisi (it is added %s ahead) and opens by itself %s.", fmtDur(p.Lead), when)
	}
	return reason
}

// better orders sources of one state: the soonest upcoming, the latest
// ended.
func better(a, b *SourceExplanation) bool {
	if a.state == stUpcoming {
		return a.key.Before(b.key)
	}
	return a.key.After(b.key)
}

// homeZone returns the time zone shared by every location of s, or nil when
// the locations disagree or there are none: the zone to show times of
// sources that belong to no location.
func homeZone(s *Snapshot) *time.Location {
	var home *time.Location
	for _, l := range s.Locations {
		loc := ianaZone(l.TimeZone)
		if loc == nil || (home != nil && loc.String() != home.String()) {
			return nil
		}
		home = loc
	}
	return home
}

func zoneOr(l *time.Location) *time.Location {
	if l == nil {
		return time.UTC
	}
	return l
}

// explainSources lists the records of canonical member c that bear on
// access around at, in snapshot order by kind.
func explainSources(e *engine, c int32, at time.Time) []SourceExplanation {
	s, ix, m, p := e.ix.s, e.ix, e.m, e.p
	home := homeZone(s) // plans and allowances belong to no location
	var out []SourceExplanation
	var one [1]int32
	reaches := func(memberID, teamID string) bool {
		ms, err := ix.holders(memberID, teamID, &one)
		return err == nil && slices.Contains(ms, c)
	}
	seenIDs := map[string]bool{}
	first := func(kind, id string) bool {
		k := kind + "\x00" + id
		if seenIDs[k] {
			return false
		}
		seenIDs[k] = true
		return true
	}
	for i := range s.Plans {
		pl := &s.Plans[i]
		if pl.Status < PlanPending || pl.Status > PlanCancelled || !reaches(pl.MemberID, pl.TeamID) ||
			validWindow(pl.Start, pl.End) != nil || !first(KindPlan, pl.ID) {
			continue
		}
		sx := SourceExplanation{Kind: KindPlan, ID: pl.ID, Ref: pl.PlanID}
		groups, _ := m.Lookup(mapping.KindPlan, pl.PlanID)
		unmapped := len(groups) == 0
		if unmapped {
			groups = m.DefaultGroups()
			if len(groups) > 0 {
				sx.Kind = KindDefault
			}
		}
		sx.Groups = groups
		w := schedule.Interval{Start: pl.Start, End: endOrForever(pl.End)}
		sx.Window = &w
		sx.loc = home
		name := fmt.Sprintf("Plan %s (%s)", pl.ID, pl.PlanID)
		switch {
		case pl.Status == PlanPending:
			sx.state, sx.Note = stPending, name+" is pending acceptance: it gives no access and no Kisi invitation until it is accepted and active."
		case pl.Status == PlanCancelled:
			sx.state, sx.Note = stCancelled, name+" is cancelled, so it gives no access."
		default:
			sx.Note = timedNote(&sx, name, w, at, zoneOr(home), "starts", "ended")
		}
		out = append(out, finish(sx, name, unmapped))
	}
	for i := range s.Allowances {
		a := &s.Allowances[i]
		if !reaches(a.MemberID, a.TeamID) || validWindow(a.Start, a.End) != nil || !first(KindAllowance, a.ID) {
			continue
		}
		sx := SourceExplanation{Kind: KindAllowance, ID: a.ID, Ref: a.AllowanceID, Groups: m.AllowanceGroups(a.AllowanceID)}
		w := schedule.Interval{Start: a.Start, End: endOrForever(a.End)}
		sx.Window = &w
		name := fmt.Sprintf("Allowance %s (%s)", a.ID, a.AllowanceID)
		sx.loc = home
		sx.Note = timedNote(&sx, name, w, at, zoneOr(home), "starts", "ended")
		out = append(out, finish(sx, name, false))
	}
	for i := range s.Bookings {
		b := &s.Bookings[i]
		locID, ok := ix.resLoc[b.ResourceID]
		if !ok || validWindow(b.Start, b.End) != nil || b.End.IsZero() {
			continue
		}
		guest := false
		switch {
		case b.MemberID != "":
			if o, ok := ix.member[b.MemberID]; !ok || o != c {
				continue
			}
		case b.Guest != nil:
			email, err := NormalizeEmail(b.Guest.Email)
			if err != nil || email != ix.email[c] {
				continue
			}
			guest = true
		default:
			continue
		}
		buf := bufferFor(p, b.ResourceID)
		w := widen(schedule.Interval{Start: b.Start, End: b.End}, buf)
		if !w.End.After(at.Add(-24*time.Hour)) || !w.Start.Before(at.Add(7*24*time.Hour)) || !first(KindBooking, b.ID) {
			continue
		}
		loc := ix.locs[locID]
		sx := SourceExplanation{Kind: KindBooking, ID: b.ID, Ref: b.ResourceID, Groups: m.ResourceGroups(b.ResourceID), Window: &w, loc: loc}
		name := fmt.Sprintf("Booking %s of %s (%s)", b.ID, b.ResourceID, fmtSpan(b.Start, b.End, loc))
		switch {
		case guest && !m.DropIn.AddToGroup:
			sx.Groups = nil
			sx.state = stNoGroup
			sx.Note = name + " is a drop-in booking: the guest gets an access link by email, not group access."
			sx.Zone = zoneOr(loc).String()
			out = append(out, sx)
			continue
		case !w.Start.After(at) && w.End.After(at):
			sx.state, sx.Applies = stApplies, true
			sx.Note = fmt.Sprintf("%s gives access from %s to %s (%s).", name, fmtTime(w.Start, loc), fmtClockOrTime(w.End, w.Start, loc), fmtBuffer(buf))
		case w.Start.After(at):
			sx.state, sx.key = stUpcoming, w.Start
			sx.Note = fmt.Sprintf("%s starts in %s; access opens at %s (%s).", name, fmtDur(b.Start.Sub(at)), fmtClockOrTime(w.Start, at, loc), fmtBuffer(buf))
		default:
			sx.state, sx.key = stEnded, w.End
			sx.Note = fmt.Sprintf("%s has ended; access closed at %s.", name, fmtClockOrTime(w.End, at, loc))
		}
		out = append(out, finish(sx, name, false))
	}
	for i := range s.Assignments {
		a := &s.Assignments[i]
		locID, ok := ix.resLoc[a.ResourceID]
		if !ok || !reaches(a.MemberID, a.TeamID) || validWindow(a.Start, a.End) != nil || validRules(a.Rules) != nil || !first(KindAssignment, a.ID) {
			continue
		}
		loc := ix.locs[locID]
		sx := SourceExplanation{Kind: KindAssignment, ID: a.ID, Ref: a.ResourceID, Groups: m.ResourceGroups(a.ResourceID), loc: loc}
		name := fmt.Sprintf("Assignment %s of %s", a.ID, a.ResourceID)
		whole := schedule.Interval{Start: a.Start, End: endOrForever(a.End)}
		if len(a.Rules) == 0 {
			sx.Window = &whole
			sx.Note = timedNote(&sx, name, whole, at, loc, "starts", "ended")
			out = append(out, finish(sx, name, false))
			continue
		}
		rules := fmtRules(a.Rules)
		oe := &engine{ix: ix, p: p, horizon: schedule.Interval{Start: at, End: at.Add(8 * 24 * time.Hour)}, follow: true}
		oe.lo, oe.hi = at.Add(-ix.maxBefore).Add(-24*time.Hour), at.Add(9*24*time.Hour)
		occ, err := oe.occurrences(a, loc, bufferFor(p, a.ResourceID))
		var cur, next *schedule.Interval
		if err == nil {
			for k := range occ {
				if !occ[k].Start.After(at) && occ[k].End.After(at) {
					cur = &occ[k]
				} else if occ[k].Start.After(at) && next == nil {
					next = &occ[k]
				}
			}
		}
		switch {
		case cur != nil:
			sx.Window, sx.state, sx.Applies = cur, stApplies, true
			sx.Note = fmt.Sprintf("%s (%s) is in force now, from %s to %s.", name, rules, fmtTime(cur.Start, loc), fmtClockOrTime(cur.End, cur.Start, loc))
		case !whole.End.After(at):
			sx.Window, sx.state, sx.key = &whole, stEnded, whole.End
			sx.Note = fmt.Sprintf("%s ended on %s.", name, fmtTime(whole.End, loc))
		case next != nil:
			sx.Window, sx.state, sx.key = next, stUpcoming, next.Start
			what := "its schedule does not include today"
			if sameLocalDay(next.Start, at, loc) {
				what = "its schedule does not include this time"
			}
			if whole.Start.After(at) {
				what = fmt.Sprintf("it starts on %s", fmtTime(whole.Start, loc))
			}
			sx.Note = fmt.Sprintf("%s (%s): %s; the next access is from %s to %s (%s).", name, rules, what, fmtTime(next.Start, loc), fmtClockOrTime(next.End, next.Start, loc), fmtBuffer(bufferFor(p, a.ResourceID)))
		default:
			sx.state, sx.key = stUpcoming, whole.Start
			sx.Note = fmt.Sprintf("%s (%s): its schedule gives no access in the coming week.", name, rules)
		}
		out = append(out, finish(sx, name, false))
	}
	// Check-ins: today's at each location, else the latest before at.
	latest := map[string]int{}
	today := map[string][]int{}
	var order []string
	for i := range s.CheckIns {
		ci := &s.CheckIns[i]
		if o, ok := ix.member[ci.MemberID]; !ok || o != c || ci.At.IsZero() || ci.At.After(at) || (!ci.Out.IsZero() && ci.Out.Before(ci.At)) {
			continue
		}
		loc, ok := ix.locs[ci.LocationID]
		if !ok {
			continue
		}
		if _, seen := latest[ci.LocationID]; !seen {
			if _, seen := today[ci.LocationID]; !seen {
				order = append(order, ci.LocationID)
			}
		}
		if sameLocalDay(ci.At, at, loc) {
			today[ci.LocationID] = append(today[ci.LocationID], i)
		} else if j, ok := latest[ci.LocationID]; !ok || ci.At.After(s.CheckIns[j].At) {
			latest[ci.LocationID] = i
		}
	}
	for _, locID := range order {
		loc := ix.locs[locID]
		groups := m.LocationGroups(locID)
		if idx := today[locID]; len(idx) > 0 {
			for _, i := range idx {
				ci := &s.CheckIns[i]
				if !first(KindCheckIn, ci.ID) {
					continue
				}
				w := checkInWindow(ci, loc, p)
				sx := SourceExplanation{Kind: KindCheckIn, ID: ci.ID, Ref: locID, Groups: groups, Window: &w, loc: loc}
				name := fmt.Sprintf("Check-in %s (%s, %s)", ci.ID, locID, fmtTime(ci.At, loc))
				switch {
				case w.End.After(at):
					sx.state, sx.Applies = stApplies, true
					sx.Note = fmt.Sprintf("%s gives access until %s.", name, fmtCheckInEnd(ci, w.End, loc))
				case !ci.Out.IsZero() && !ci.Out.After(w.End):
					sx.state, sx.key = stCheckedOut, ci.Out
					sx.Note = fmt.Sprintf("%s: the member checked out at %s, which ended the access from this check-in.", name, fmtClock(ci.Out, loc))
				default:
					sx.state, sx.key = stEnded, w.End
					sx.Note = fmt.Sprintf("%s gave access until %s.", name, fmtCheckInEnd(ci, w.End, loc))
				}
				out = append(out, finish(sx, name, false))
			}
			continue
		}
		ci := &s.CheckIns[latest[locID]]
		if !first(KindCheckIn, ci.ID) {
			continue
		}
		w := checkInWindow(ci, loc, p)
		sx := SourceExplanation{Kind: KindCheckIn, ID: ci.ID, Ref: locID, Groups: groups, Window: &w, loc: loc, state: stNotToday, key: ci.At}
		name := fmt.Sprintf("Check-in %s (%s, %s)", ci.ID, locID, fmtTime(ci.At, loc))
		sx.Note = fmt.Sprintf("The member has not checked in at %s today (last check-in %s); access from a check-in lasts for the day of the check-in only.", locID, fmtTime(ci.At, loc))
		out = append(out, finish(sx, name, false))
	}
	return out
}

// finish sets the zone and, for a source that maps to no group, its
// reason.
func finish(sx SourceExplanation, name string, unmappedPlan bool) SourceExplanation {
	sx.Zone = zoneOr(sx.loc).String()
	if len(sx.Groups) == 0 {
		sx.Applies = false
		what := map[string]string{KindPlan: "plan", KindDefault: "plan", KindAllowance: "allowance", KindBooking: "resource", KindAssignment: "resource", KindCheckIn: "location"}[sx.Kind]
		note := fmt.Sprintf("%s gives no access: its %s %s is not mapped to any Kisi group", name, what, sx.Ref)
		if unmappedPlan {
			note += " and no default group is set"
		}
		if sx.state == stPending || sx.state == stCancelled {
			note = sx.Note + " " + strings.Replace(note, name+" gives no access: its", "Also, its", 1)
		}
		sx.Note, sx.state = note+".", max(sx.state, stNoGroup)
	}
	return sx
}

// timedNote describes a source with one window in force, upcoming or past.
func timedNote(sx *SourceExplanation, name string, w schedule.Interval, at time.Time, loc *time.Location, starts, ended string) string {
	switch {
	case !w.Start.After(at) && w.End.After(at):
		sx.state, sx.Applies = stApplies, true
		if w.End.Equal(schedule.Forever) {
			return fmt.Sprintf("%s has been active since %s and has no end date.", name, fmtTime(w.Start, loc))
		}
		return fmt.Sprintf("%s is active from %s until %s.", name, fmtTime(w.Start, loc), fmtTime(w.End, loc))
	case w.Start.After(at):
		sx.state, sx.key = stUpcoming, w.Start
		return fmt.Sprintf("%s has not started yet: it %s on %s (in %s).", name, starts, fmtTime(w.Start, loc), fmtDur(w.Start.Sub(at)))
	}
	sx.state, sx.key = stEnded, w.End
	return fmt.Sprintf("%s %s on %s.", name, ended, fmtTime(w.End, loc))
}

func sameLocalDay(a, b time.Time, loc *time.Location) bool {
	ay, am, ad := a.In(loc).Date()
	by, bm, bd := b.In(loc).Date()
	return ay == by && am == bm && ad == bd
}

func fmtTime(t time.Time, loc *time.Location) string {
	if !t.Before(schedule.Forever) {
		return "no end"
	}
	return t.In(loc).Format("Mon 2 Jan 2006 15:04 MST")
}

func fmtClock(t time.Time, loc *time.Location) string { return t.In(loc).Format("15:04 MST") }

// fmtClockOrTime shows only the clock when t is on the same local day as
// ref.
func fmtClockOrTime(t, ref time.Time, loc *time.Location) string {
	if sameLocalDay(t, ref, loc) {
		return fmtClock(t, loc)
	}
	return fmtTime(t, loc)
}

// fmtSpan renders [start, end) for a sentence: "Mon 2 Mar 2026 14:00–15:00
// CET" within a day, else "Mon 2 Mar 2026 22:00 CET–Tue 3 Mar 2026 02:00 CET".
func fmtSpan(start, end time.Time, loc *time.Location) string {
	s, e := start.In(loc), end.In(loc)
	if sameLocalDay(s, e, loc) && s.Format("MST") == e.Format("MST") {
		return s.Format("Mon 2 Jan 2006 15:04") + "–" + e.Format("15:04 MST")
	}
	return fmtTime(start, loc) + "–" + fmtTime(end, loc)
}

// fmtCheckInEnd renders the end of a check-in's access: "midnight (Tue 3
// Mar 2026 00:00 CET)" when it lasts until the end of the local day.
func fmtCheckInEnd(ci *CheckIn, end time.Time, loc *time.Location) string {
	if end.Equal(schedule.EndOfDay(ci.At, loc)) {
		return "midnight (" + fmtTime(end, loc) + ")"
	}
	return fmtClockOrTime(end, ci.At, loc)
}

// fmtBuffer renders b as "with the 5-minute buffer".
func fmtBuffer(b schedule.Buffer) string {
	adj := func(d time.Duration) string {
		if d%time.Minute == 0 {
			return fmt.Sprintf("%d-minute", int(d/time.Minute))
		}
		return d.String()
	}
	switch {
	case b.Before == 0 && b.After == 0:
		return "with no buffer"
	case b.Before == b.After:
		return "with the " + adj(b.Before) + " buffer"
	}
	return fmt.Sprintf("with the %s buffer before and %s after", adj(b.Before), adj(b.After))
}

// fmtDur renders d as "25 minutes", "1 hour 5 minutes" or "3 days 2 hours".
func fmtDur(d time.Duration) string {
	d = d.Round(time.Minute)
	if d < time.Minute {
		return "less than a minute"
	}
	days, hours, mins := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute)
	unit := func(n int, s string) string {
		if n == 1 {
			return "1 " + s
		}
		return fmt.Sprintf("%d %ss", n, s)
	}
	var parts []string
	switch {
	case days > 0:
		parts = append(parts, unit(days, "day"))
		if hours > 0 {
			parts = append(parts, unit(hours, "hour"))
		}
	default:
		if hours > 0 {
			parts = append(parts, unit(hours, "hour"))
		}
		if mins > 0 {
			parts = append(parts, unit(mins, "minute"))
		}
	}
	return strings.Join(parts, " ")
}

// fmtRules renders weekly rules for a sentence: "Mon–Fri 09:00–17:00; Sat
// 10:00–14:00".
func fmtRules(rules []schedule.Rule) string {
	parts := make([]string, len(rules))
	for i, r := range rules {
		parts[i] = fmtDays(r.Days) + " " + r.From.String() + "–" + r.To.String()
	}
	return strings.Join(parts, "; ")
}

// fmtDays lists weekdays from Monday, with runs of three or more days
// written as a range: "Mon–Fri", "Mon, Wed, Fri", "Sat, Sun".
func fmtDays(days []time.Weekday) string {
	var in [7]bool // Monday first
	for _, d := range days {
		if d >= time.Sunday && d <= time.Saturday {
			in[(d+6)%7] = true
		}
	}
	name := func(i int) string { return time.Weekday((i + 1) % 7).String()[:3] }
	var parts []string
	for i := 0; i < 7; i++ {
		if !in[i] {
			continue
		}
		j := i
		for j+1 < 7 && in[j+1] {
			j++
		}
		switch {
		case j-i >= 2:
			parts = append(parts, name(i)+"–"+name(j))
		case j > i:
			parts = append(parts, name(i), name(j))
		default:
			parts = append(parts, name(i))
		}
		i = j
	}
	return strings.Join(parts, ", ")
}

// String renders the explanation in plain sentences.
func (x Explanation) String() string {
	var b strings.Builder
	zone := zoneOr(x.zone)
	fmt.Fprintf(&b, "Member %s at %s:\n", memberLabel(x.MemberID, x.Name, x.Email), fmtTime(x.At, zone))
	if x.Problem != "" {
		fmt.Fprintf(&b, "%s\n", x.Problem)
	}
	for _, n := range x.Notes {
		fmt.Fprintf(&b, "%s\n", n)
	}
	allowed := false
	for _, g := range x.Groups {
		loc := loadZone(g.Zone)
		switch {
		case g.Allowed && g.Slot.End.Equal(schedule.Forever):
			allowed = true
			fmt.Fprintf(&b, "Group %d: access now, since %s, with no end date.\n", g.GroupID, fmtTime(g.Slot.Start, loc))
		case g.Allowed:
			allowed = true
			fmt.Fprintf(&b, "Group %d: access now, from %s to %s.\n", g.GroupID, fmtTime(g.Slot.Start, loc), fmtClockOrTime(g.Slot.End, g.Slot.Start, loc))
		default:
			fmt.Fprintf(&b, "Group %d: no access now. %s\n", g.GroupID, g.Reason)
		}
		for _, sx := range g.Sources {
			if !g.Allowed && strings.HasPrefix(g.Reason, sx.Note) {
				continue // already said
			}
			fmt.Fprintf(&b, "  - %s\n", sx.Note)
		}
	}
	for _, sx := range x.Unmapped {
		fmt.Fprintf(&b, "  - %s\n", sx.Note)
	}
	if !allowed && x.Problem == "" && len(x.Groups) > 0 {
		fmt.Fprintf(&b, "No group gives access now, so the Kisi app shows “No locks found” (or does not list this door).\n")
	}
	return b.String()
}

// memberLabel names a member for a heading: `m1 (Ann) <ann@example.com>`.
func memberLabel(id, name, email string) string {
	s := id
	if name != "" {
		s += " (" + name + ")"
	}
	if email != "" {
		s += " <" + email + ">"
	}
	return s
}

func loadZone(name string) *time.Location {
	if loc := ianaZone(name); loc != nil {
		return loc
	}
	return time.UTC
}
