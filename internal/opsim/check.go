package opsim

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/state"
	"github.com/kisisync/kisisync/schedule"
)

// run is what the checks learn of one run of the host.
type run struct {
	n          int
	start, end time.Time
	snap       access.Snapshot
	invalid    [][2]string // records the exporter made invalid: kind, ID
	rep        *access.Report
	err        error
	crashed    bool
	approved   bool
	// woken marks a run the host started on a change of the platform's
	// records rather than at the NextRun the reconciler asked for.
	woken bool
	// stalled marks a run whose process froze past its lease.
	stalled bool
	// pending counts the intents the Store held when the run began:
	// creates whose outcome the run must look up.
	pending int
}

// Limits the checks allow.
const (
	// stormAfter is how long a key may fail before it must have backed off
	// to about once an hour; stormRuns how many runs may then try it in
	// one hour.
	stormAfter = 2 * time.Hour
	// idleAfter is how long a failing key may go untried before its
	// streak starts again: longer than the longest back-off (an hour).
	idleAfter = 90 * time.Minute
	stormRuns = 3
	// lapseExcuse is how far back an outage, or a refusal of the member,
	// excuses a role that lapsed because it could not be renewed.
	lapseExcuse = 8 * 24 * time.Hour
	// leakSlack is added to the validity for the bound of a leak the
	// reconciler cannot end.
	leakSlack = 2 * time.Hour
)

// desire is, per pair, when the platform's records let it in, and from
// which kinds of source.
type desire struct {
	windows map[pair]schedule.Set
	kinds   map[pair][]string
}

func (d desire) at(p pair, t time.Time) bool { return d.windows[p].Contains(t) }

// streak follows a key whose every attempt failed so far.
type streak struct {
	since time.Time
	runs  []time.Time // the starts of the runs that tried it
}

// checker holds what the invariant checks remember between samples.
type checker struct {
	w          *world
	nextSample time.Time

	truthDirty bool
	horizon    schedule.Interval
	truth      desire // what the platform's records want
	sent       desire // what the last snapshot sent wants

	prevAt  time.Time
	prevCov map[pair]bool
	prevDes map[pair]bool
	// candidates are lockouts seen in the middle of a run: a replacement
	// may delete and create a role between two samples, so they count if
	// they last until the run's end.
	candidates map[pair]string
	inRun      bool
	// exposures are the members Kisi fault incidents left without a role
	// (see exposedBy), pendingExposures the losses seen in the middle of a
	// run that an incident may excuse, decided at the run's end (a
	// replacement deletes and creates between two samples); exposedSince is
	// when each exposed member lost access, until they have it again, and
	// longestExposure the longest such gap so far.
	exposures        []exposure
	pendingExposures map[pair]exposure
	exposedSince     map[pair]time.Time
	longestExposure  time.Duration
	// machineFault is set while the last run's process crashed or stalled,
	// and machineExposed is the one member that incident may leave without
	// a role (see afterRun).
	machineFault   bool
	machineExposed pair
	// refused are the members Kisi refused outright after a replacement's
	// delete; like the exposed, their create is retried by every run.
	refused map[pair]bool
	// excused are the members a lockout the checks excuse (a fault of
	// their group or user) left without access inside their window: like
	// the exposed, a reconciler creates them again at every run.
	excused map[pair]bool

	lastChange time.Time      // of the platform's records
	causes     map[pair]cause // why access Kisi holds was last cut, per pair, until wanted again or gone
	leakStart  map[pair]time.Time
	storeKnown bool // no Store lost since the last Verify
	// forgotten are the roles the reconciler made for members whose Kisi
	// user was made by hand that its Store forgot when it was last lost or
	// restored: nothing in Kisi tells them from roles given by hand. told
	// are the pairs whose grant Kisi refused since (a 422: the reconciler
	// looked the role up, and knows of it).
	forgotten map[int64]bool
	told      map[pair]bool
	// handEdit is the last edit made by hand in Kisi, verifiedAt the end of
	// the last Verify that succeeded: the reconciler learns of hand edits
	// through Verify only.
	handEdit, verifiedAt time.Time
	held                 bool // the last run held cuts

	// bugBase is, per guard scope, the access in force when the current
	// exporter bug began; bugCut the pairs it locked out since.
	bugFrom time.Time
	bugBase map[string]int
	bugCut  map[string]map[pair]bool
	// seenRoles are the roles Kisi held at some sample; bugRoles those of
	// them first seen while an exporter bug was active, whose windows a
	// broken export may have shortened.
	seenRoles, bugRoles map[int64]bool

	emails map[string]map[int64]bool // per guest, group and window: the links emailed
	// linkCut holds, per guest, group and window, the links that went
	// from Kisi while an exporter bug was active (a cut the guard let
	// through, which Invariant 4 judges) or the platform did not want them
	// (a mapping that dropped the group): the booking's return sends a new
	// link, which Invariant 3 does not count as a second one.
	linkCut map[string]bool
	links   map[int64]held  // the links in Kisi after the last run
	yielded map[string]bool // guests whose link yielded its quota place
	// guestLinks are the links made for each guest and group, in order.
	guestLinks map[string][]email
	streaks    map[string]*streak
	logIndex   int
}

func (c *checker) init(w *world) {
	*c = checker{w: w, nextSample: w.h.Start, truthDirty: true, prevCov: map[pair]bool{}, prevDes: map[pair]bool{},
		candidates: map[pair]string{}, causes: map[pair]cause{}, leakStart: map[pair]time.Time{}, storeKnown: true,
		seenRoles: map[int64]bool{}, bugRoles: map[int64]bool{}, excused: map[pair]bool{},
		told: map[pair]bool{}, emails: map[string]map[int64]bool{}, yielded: map[string]bool{}, guestLinks: map[string][]email{},
		streaks: map[string]*streak{},
		linkCut: map[string]bool{}}
}

// desireOf computes what snapshot s wants over the horizon, by the
// truth's current mapping and policy.
func (c *checker) desireOf(s access.Snapshot, at time.Time) desire {
	w := c.w
	m, p := mappingFor(w.truth.mapping, w.groups), w.truth.policy()
	d := desire{windows: map[pair]schedule.Set{}, kinds: map[pair][]string{}}
	grants, err := access.Access(s, m, p, c.horizon)
	if err != nil && len(access.RecordErrors(err)) == 0 {
		w.fail(fmt.Errorf("opsim: desired access: %w", err))
	}
	for _, g := range grants {
		k := pair{strings.ToLower(g.Email), g.GroupID}
		d.windows[k] = d.windows[k].Union(schedule.NewSet(g.Window))
		for _, src := range g.Sources {
			if !slices.Contains(d.kinds[k], src.Kind) {
				d.kinds[k] = append(d.kinds[k], src.Kind)
			}
		}
	}
	links, _ := access.Links(s, m, p, at)
	for _, l := range links {
		k := pair{strings.ToLower(l.Email), l.GroupID}
		d.windows[k] = d.windows[k].Union(schedule.NewSet(l.Window))
		d.kinds[k] = []string{"booking"}
	}
	return d
}

func (c *checker) refreshTruth(t time.Time) {
	if !c.truthDirty && t.Before(c.horizon.End.Add(-24*time.Hour)) {
		return
	}
	c.horizon = schedule.Interval{Start: t.Add(-time.Hour), End: t.Add(72 * time.Hour)}
	c.truth = c.desireOf(c.w.truth.snap, t)
	c.truthDirty = false
}

// truthChanged is told of each change of the platform's records and how
// it cuts access.
func (c *checker) truthChanged(why cause) {
	now := c.w.clock.Now()
	old := c.truth
	c.truthDirty = true
	c.refreshTruth(now)
	c.lastChange = now
	// "A cut is a reduction of desired access in force or within the lead
	// time" (DESIGN.md, the revoke guard): only the pairs whose access
	// from now to the end of the lead shrank are cut by this change.
	lead := c.w.truth.policy().Lead
	due := schedule.NewSet(schedule.Interval{Start: now, End: now.Add(lead).Add(time.Nanosecond)})
	for p, s := range old.windows {
		if !s.Intersect(due).Subtract(c.truth.windows[p]).IsEmpty() {
			c.causes[p] = why
		}
	}
}

// storeLost is told of a Store lost or restored from a backup, which now
// holds recs: what the reconciler knew, back-offs included, is gone with
// it.
func (c *checker) storeLost(recs []state.Record) {
	c.storeKnown = false
	clear(c.streaks)
	kept := map[int64]bool{}
	for _, r := range recs {
		kept[r.KisiID] = true
	}
	c.forgotten, c.told = map[int64]bool{}, map[pair]bool{}
	for p, hs := range c.w.obs.holds {
		for _, h := range hs {
			if !h.link && !c.w.handRoles[h.id] && !kept[h.id] && c.w.userByHand(p.email) != "" {
				c.forgotten[h.id] = true
			}
		}
	}
}

// unknowable reports whether p's access at t comes only from roles the
// reconciler cannot know to be its own: made by hand, or forgotten by its
// Store and not met since. Invariant 2 bounds such access by the validity
// alone ("within the validity bound when it cannot act"): the SDK deletes
// only what it created, and a role carries no mark of who made it, so a
// role of a user made by hand is "not managed here" once the Store forgot
// it (DESIGN.md, "Ownership").
func (c *checker) unknowable(p pair, t time.Time) bool {
	for _, h := range c.w.obs.holds[p] {
		if h.window.Contains(t) && !c.w.handRoles[h.id] && !(c.forgotten[h.id] && !c.told[p]) {
			return false
		}
	}
	return true
}
func (c *checker) verified() {
	c.storeKnown, c.verifiedAt = true, c.w.clock.Now()
}

// email records one email to a guest about link linkID.
func (c *checker) email(e email) {
	k := emailKey(e.to, e.group, e.window)
	guest := fmt.Sprintf("%s/%d", e.to, e.group)
	if !slices.ContainsFunc(c.guestLinks[guest], func(l email) bool { return l.linkID == e.linkID }) {
		c.guestLinks[guest] = append(c.guestLinks[guest], e)
	}
	if c.emails[k] == nil {
		c.emails[k] = map[int64]bool{}
	}
	c.emails[k][e.linkID] = true
	if twice(c.guestLinks[guest], c.emails[k]) && !c.yielded[e.to] && !c.linkCut[k] {
		c.w.violate(3, "guest %s got a second email for one booking (links %v)", k, slices.Sorted(maps.Keys(c.emails[k])))
	}
}

// twice reports whether two of the links ids (of one guest, group and
// window) follow each other among the guest's links with no link for
// another window between: the same booking emailed twice. Kisi has no
// PATCH of a link, so a booking that moves gets a new link and an email,
// and one that moves back gets another. (A link between for another
// booking of the guest in the group separates them too: the emails do
// not name their booking.)
func twice(links []email, ids map[int64]bool) bool {
	sorted := slices.Sorted(maps.Keys(ids))
	for i := 1; i < len(sorted); i++ {
		a, b := sorted[i-1], sorted[i]
		between := slices.ContainsFunc(links, func(l email) bool {
			return l.linkID > a && l.linkID < b && !ids[l.linkID]
		})
		if !between {
			return true
		}
	}
	return false
}

func keys[K comparable, V any](m map[K]V) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// excusedLockout reports why Kisi itself refused p its access at t, as the
// invariant allows: the user or group deleted by hand, the key forbidden on
// the group, or a role that lapsed while Kisi could not renew it.
func (c *checker) excusedLockout(p pair, t time.Time, lapsed bool) bool {
	w := c.w
	if w.deletedUsers[p.email] || w.deletedGroups[p.group] {
		return true
	}
	if c.machineFault && !lapsed && (c.machineExposed == pair{} || c.machineExposed == p) {
		c.machineExposed = p
		c.expose(p, c.prevAt)
		return true
	}
	if c.machineFault && lapsed && c.lapsedBugRole(p, c.prevAt, t) {
		// A role made to the end a broken export gave it ran out while a
		// crashed or stalled process held the lease, so no run could give
		// the end the repaired export wants: the bug's cut, which the
		// crash kept from being undone in time.
		return true
	}
	name := w.groupName[p.group]
	for _, ep := range w.episodes {
		// Kisi refusing the member outright is the one exception to
		// invariant 1 (reported with its cause: invariant 5).
		if !ep.from.After(t) && ep.till.After(t.Add(-lapseExcuse)) && ep.e.Kind == KindKisi &&
			ep.e.Target == KisiRefuseUser && emailOf(ep.e.Member) == p.email {
			if c.refused == nil {
				c.refused = map[pair]bool{}
			}
			c.refused[p] = true
			return true
		}
	}
	for i, ep := range w.episodes {
		if ep.from.After(t) || !ep.till.After(t.Add(-lapseExcuse)) || ep.e.Kind != KindKisi {
			continue
		}
		// The create that failed after a replacement's delete failed as the
		// member lost access: the episode was active then.
		if !lapsed && ep.till.After(c.prevAt) && c.exposedBy(i, p, t) {
			return true
		}
		switch ep.e.Target {
		case KisiForbidGroup:
			if ep.e.Group == name {
				return true
			}
		case KisiOutage, KisiThrottle, KisiCreateOutage:
			// A role that lapsed while Kisi took no creates could not be
			// renewed.
			if lapsed {
				return true
			}
		case KisiForbidLinks:
			if lapsed && strings.HasPrefix(p.email, "guest-") {
				return true
			}
		}
	}
	return false
}

// exposure is a member a Kisi fault episode (an index of world.episodes)
// left without a role from since.
type exposure struct {
	p     pair
	ep    int
	since time.Time
}

// failsCreates reports whether Kisi behaviour e may fail the create that
// follows a replacement's delete.
func failsCreates(e Event) bool {
	if e.Kind != KindKisi {
		return false
	}
	switch e.Target {
	case KisiErrors, KisiCreateOutage, KisiOutage, KisiThrottle:
		return true
	}
	return false
}

// exposedBy reports whether p losing access at t is excused as the one
// member the Kisi fault incident of episode i may expose: a renewal or
// change of a role in force is a delete then a create, and the first
// create failing in an incident leaves its member without a role
// (DESIGN.md, "Renewing is not a cut": "At most one member is ever exposed
// per incident"). An incident is the fault episodes chained by overlap in
// time; a second member it leaves without a role, at once or later, breaks
// invariant 1. A loss seen in the middle of a run is decided at its end.
func (c *checker) exposedBy(i int, p pair, t time.Time) bool {
	// Access the snapshot no longer wants was cut, not exposed.
	if !failsCreates(c.w.episodes[i].e) || !c.sent.at(p, t) {
		return false
	}
	if c.inRun {
		if c.pendingExposures == nil {
			c.pendingExposures = map[pair]exposure{}
		}
		if _, ok := c.pendingExposures[p]; !ok {
			c.pendingExposures[p] = exposure{p: p, ep: i, since: c.prevAt}
		}
		return true
	}
	c.commitExposure(exposure{p: p, ep: i, since: c.prevAt}, t)
	return true
}

// commitExposure records x, a member left without a role at t, as its
// incident's one exposed member, or reports the second one.
func (c *checker) commitExposure(x exposure, t time.Time) {
	w := c.w
	in := c.incident(x.ep)
	for _, y := range c.exposures {
		if !in[y.ep] || y.p == x.p {
			continue
		}
		if !w.obs.covered(y.p, t) && c.truth.at(y.p, t) {
			w.violate(1, "%s lost access to %s at %s while %s, left without a role by the same Kisi fault incident since %s, still is: a second member exposed at once",
				x.p.email, w.groupName[x.p.group], t.UTC().Format(time.RFC3339), y.p, y.since.UTC().Format(time.RFC3339))
		} else {
			w.violate(1, "%s lost access to %s at %s after %s did at %s: a second member exposed in one incident of Kisi faults (%s)",
				x.p.email, w.groupName[x.p.group], t.UTC().Format(time.RFC3339), y.p, y.since.UTC().Format(time.RFC3339),
				describeEpisodes(w, in))
		}
		return
	}
	if !slices.ContainsFunc(c.exposures, func(y exposure) bool { return y.p == x.p && in[y.ep] }) {
		c.exposures = append(c.exposures, x)
	}
	c.expose(x.p, x.since)
}

// incident returns the episodes of the Kisi fault incident episode i
// belongs to: the episodes that may fail creates, chained by overlap.
func (c *checker) incident(i int) map[int]bool {
	eps := c.w.episodes
	in := map[int]bool{i: true}
	for grown := true; grown; {
		grown = false
		for j, ep := range eps {
			if in[j] || !failsCreates(ep.e) {
				continue
			}
			for k := range in {
				if ep.from.Before(eps[k].till) && eps[k].from.Before(ep.till) {
					in[j], grown = true, true
					break
				}
			}
		}
	}
	return in
}

func describeEpisodes(w *world, in map[int]bool) string {
	var out []string
	for i, ep := range w.episodes {
		if in[i] {
			out = append(out, fmt.Sprintf("%s from %s for %s", ep.e.Target, ep.from.UTC().Format("01-02 15:04"), ep.till.Sub(ep.from)))
		}
	}
	return strings.Join(out, ", ")
}

// expose notes that p lost access at since to a fault the design
// excuses; its create is retried by every run, without back-off, until it
// has access.
func (c *checker) expose(p pair, since time.Time) {
	if c.exposedSince == nil {
		c.exposedSince = map[pair]time.Time{}
	}
	if _, ok := c.exposedSince[p]; !ok {
		c.exposedSince[p] = since // the last sample with access: an upper bound of the gap
		c.w.logf("%s is without access to %s (an excused exposure)", p.email, c.w.groupName[p.group])
	}
}

// exposureEnds closes the gaps of the exposed members who have access
// again at t, or no longer want it (cov and des by pair).
func (c *checker) exposureEnds(t time.Time, cov, des map[pair]bool) {
	for p := range c.refused {
		if cov[p] || !des[p] {
			delete(c.refused, p)
		}
	}
	for p := range c.excused {
		if cov[p] || !des[p] {
			delete(c.excused, p)
		}
	}
	for p, since := range c.exposedSince {
		if cov[p] || !des[p] {
			c.longestExposure = max(c.longestExposure, t.Sub(since))
			delete(c.exposedSince, p)
		}
	}
}

// lapsed reports whether p's access at prev ended by the window Kisi held
// (valid_until) rather than by a delete.
func (c *checker) lapsed(p pair, prev, t time.Time) bool {
	for _, h := range c.w.obs.holds[p] {
		if h.window.Contains(prev) && !h.window.Contains(t) {
			return true
		}
	}
	return false
}

// lapsedBugRole reports whether a role of p made while an exporter bug was
// active ended between prev and t.
func (c *checker) lapsedBugRole(p pair, prev, t time.Time) bool {
	for _, h := range c.w.obs.holds[p] {
		if c.bugRoles[h.id] && h.window.Contains(prev) && !h.window.Contains(t) {
			return true
		}
	}
	return false
}

// noteRoles marks the roles Kisi holds that were made since the last sample
// when an exporter bug was active then or now.
func (c *checker) noteRoles(bugs bool) {
	for _, hs := range c.w.obs.holds {
		for _, h := range hs {
			if h.link || c.seenRoles[h.id] {
				continue
			}
			c.seenRoles[h.id] = true
			if bugs {
				c.bugRoles[h.id] = true
			}
		}
	}
}

// sample checks invariants 1, 2 and 4 at t against what Kisi holds.
func (c *checker) sample(t time.Time) {
	w := c.w
	c.refreshTruth(t)
	c.scanLinks(t)
	bugs := w.active(KindExport, t)
	c.noteRoles(len(bugs) > 0 || !c.prevAt.IsZero() && len(w.active(KindExport, c.prevAt)) > 0)
	if len(bugs) == 0 {
		c.bugFrom, c.bugBase, c.bugCut = time.Time{}, nil, nil
	} else if c.bugBase == nil {
		c.bugFrom, c.bugBase, c.bugCut = t, map[string]int{}, map[string]map[pair]bool{}
		for p, cov := range c.prevCov {
			if cov && c.truth.at(p, t) {
				for _, s := range c.scopes(p) {
					c.bugBase[s]++
				}
			}
		}
	}
	pairs := map[pair]bool{}
	for p := range c.prevCov {
		pairs[p] = true
	}
	for p := range c.truth.windows {
		pairs[p] = true
	}
	for p := range w.obs.holds {
		pairs[p] = true
	}
	validity := w.truth.policy().Validity
	if validity <= 0 {
		validity = access.DefaultValidity
	}
	cov := make(map[pair]bool, len(pairs))
	des := make(map[pair]bool, len(pairs))
	for _, p := range sortedPairs(pairs) {
		covered, wanted, sentWanted := w.obs.covered(p, t), c.truth.at(p, t), c.sent.at(p, t)
		cov[p], des[p] = covered, wanted
		if wanted || !c.inRun && len(w.obs.holds[p]) == 0 {
			// Wanted again, or the cut done by a run that ended: a later
			// cut of access Kisi holds has a cause of its own.
			delete(c.causes, p)
		}
		// Invariant 1: access in force is not taken while still wanted.
		if c.prevCov[p] && c.prevDes[p] && !covered && wanted {
			switch {
			case !sentWanted && len(bugs) == 0:
				// The host's snapshot no longer wants it (the buffer's tail of
				// a booking a "current and future" export left out): a cut
				// the guard lets through, which must not take the one
				// exposure a crash is allowed below.
			case c.excusedLockout(p, t, c.lapsed(p, c.prevAt, t)):
				c.excused[p] = true
			case len(bugs) > 0 && c.lapsed(p, c.prevAt, t):
				// A window a broken export shortened ended: the bug's cut,
				// judged by invariant 4 (a snapshot moving the End minutes
				// ahead at each export can want seconds more than the role
				// Kisi holds, within its minute precision).
				c.suspectCut(p, t)
			case sentWanted:
				what := fmt.Sprintf("%s lost access to %s at %s while the platform still wanted it (%s)",
					p.email, w.groupName[p.group], t.UTC().Format(time.RFC3339), c.truth.windows[p])
				if c.inRun {
					c.candidates[p] = what
				} else {
					w.violate(1, "%s", what)
				}
			case len(bugs) > 0:
				c.suspectCut(p, t)
			}
		}
		// Invariant 2: access nobody wants ends within one clean run, and
		// within the validity bound in any case.
		if covered && !wanted && !sentWanted && !c.handMade(p, t) {
			since, ok := c.leakStart[p]
			if !ok {
				since = c.lastChange
				if since.After(t) || since.IsZero() {
					since = t
				}
				c.leakStart[p] = since
			}
			if t.Sub(since) > validity+leakSlack {
				w.violate(2, "%s still has access to %s at %s, unwanted since %s (more than the validity %s)",
					p.email, w.groupName[p.group], t.UTC().Format(time.RFC3339), since.UTC().Format(time.RFC3339), validity)
			}
		} else {
			delete(c.leakStart, p)
		}
	}
	c.exposureEnds(t, cov, des)
	c.prevAt, c.prevCov, c.prevDes = t, cov, des
}

// handMade reports whether p's access at t comes only from roles an admin
// made by hand.
func (c *checker) handMade(p pair, t time.Time) bool {
	for _, h := range c.w.obs.holds[p] {
		if h.window.Contains(t) && !c.w.handRoles[h.id] {
			return false
		}
	}
	return true
}

// scopes are the revoke guard's scopes of p: its group's location, by
// each kind of source that wants it.
func (c *checker) scopes(p pair) []string {
	loc := groupLocation[c.w.groupName[p.group]]
	var out []string
	for _, k := range c.truth.kinds[p] {
		out = append(out, loc+"/"+k)
	}
	return out
}

// suspectCut counts p, locked out by a broken export, against the guard's
// limit in each of its scopes (Invariant 4): above 25% of the access in
// force there, and above 3, the guard should have held the cuts.
func (c *checker) suspectCut(p pair, t time.Time) {
	if !c.soundWants(p, t) {
		return
	}
	for _, s := range c.scopes(p) {
		if c.bugCut[s] == nil {
			c.bugCut[s] = map[pair]bool{}
		}
		c.bugCut[s][p] = true
		limit := max(3, int(math.Ceil(c.bugShare(t)*float64(c.bugBase[s]))))
		if n := len(c.bugCut[s]); n > limit {
			c.w.violate(4, "a broken export (%s) cut %d of %d in scope %s since %s, over the guard's limit of %d; last %s",
				describeAll(c.w.active(KindExport, t)), n, c.bugBase[s], s, c.bugFrom.UTC().Format(time.RFC3339), limit, p)
		}
	}
}

// soundWants reports whether the snapshot a sound exporter gives at t
// wants p. A "current and future bookings" export leaves out a booking
// once it ended, cutting the tail of its buffer while a bug may be active
// too: routine, not the bug's cut (DESIGN.md, the revoke guard's scenario
// table: such an export's ended bookings vanishing is applied).
func (c *checker) soundWants(p pair, t time.Time) bool {
	if !c.w.h.World.CurrentAndFuture {
		return true
	}
	snap, _ := export(c.w.truth, t, true, nil)
	return c.desireOf(snap, t).at(p, t)
}

// bugShare is the guard's limit for the cuts of the bugs active at t: 50%
// for Ends moved without a status (changed), else 25% (suspect).
func (c *checker) bugShare(t time.Time) float64 {
	for _, b := range c.w.active(KindExport, t) {
		if b.Target != BugEndsNow {
			return 0.25
		}
	}
	return 0.5
}

func describeAll(es []Event) string {
	var out []string
	for _, e := range es {
		out = append(out, e.Target)
	}
	return strings.Join(out, ", ")
}

// scanLinks records the links Kisi emailed (every link created with an
// email), and the links gone from Kisi since the last scan while an
// exporter bug was active at start or now, or the platform no longer
// wanted them.
func (c *checker) scanLinks(start time.Time) {
	now := map[int64]held{}
	for _, hs := range c.w.obs.holds {
		for _, h := range hs {
			if h.link {
				now[h.id] = h
			}
		}
	}
	bug := len(c.w.active(KindExport, start)) > 0 || len(c.w.active(KindExport, c.w.clock.Now())) > 0
	for id, h := range c.links {
		if _, ok := now[id]; !ok && (bug || !c.truth.at(pair{h.email, h.group}, c.w.clock.Now())) {
			c.linkCut[emailKey(h.email, h.group, [2]time.Time{h.window.Start, h.window.End})] = true
		}
	}
	c.links = now
	for _, id := range slices.Sorted(maps.Keys(c.w.obs.links)) {
		h := c.w.obs.links[id]
		c.email(email{to: h.email, group: h.group, linkID: id, window: [2]time.Time{h.window.Start, h.window.End}})
	}
}

// emailKey names the emails about one booking: its guest, group and window.
func emailKey(to string, group int64, window [2]time.Time) string {
	return fmt.Sprintf("%s/%d %s–%s", to, group, window[0].UTC().Format(time.RFC3339), window[1].UTC().Format(time.RFC3339))
}

// settle checks the lockouts seen during run n: those still in place at
// its end break Invariant 1.
func (c *checker) settle(n int) {
	w := c.w
	c.inRun = false
	now := w.clock.Now()
	for _, p := range sortedPairs(c.pendingExposures) {
		if x := c.pendingExposures[p]; !w.obs.covered(p, now) && c.truth.at(p, now) && c.sent.at(p, now) {
			c.commitExposure(x, now)
		}
	}
	clear(c.pendingExposures)
	for _, p := range sortedPairs(c.candidates) {
		if !w.obs.covered(p, now) && c.truth.at(p, now) && c.sent.at(p, now) {
			// A run whose process crashed or stalled between a
			// replacement's delete and its create may leave one member so.
			if c.machineFault && (c.machineExposed == pair{} || c.machineExposed == p) {
				c.machineExposed = p
				c.expose(p, c.prevAt)
				continue
			}
			w.violate(1, "%s (and no access at the end of run %d)", c.candidates[p], n)
		}
	}
	clear(c.candidates)
}

// sortedPairs returns the keys of m in order, so that the checks meet
// them, and report the first violation, the same way in every replay.
func sortedPairs[V any](m map[pair]V) []pair {
	out := keys(m)
	slices.SortFunc(out, func(a, b pair) int {
		if c := strings.Compare(a.email, b.email); c != 0 {
			return c
		}
		return int(a.group - b.group)
	})
	return out
}

// afterRun checks a run's outcome: the lockouts seen during it
// (Invariant 1), back-off of failing keys (3), held cuts (4) and its
// report (5).
func (c *checker) afterRun(r run) {
	w := c.w
	now := w.clock.Now()
	// A process that crashed or stalled in the middle of a replacement
	// (its delete done, its create not) leaves one member without a role
	// until the next run; a run that ends cleanly closes the incident.
	// A run the crashed process's lease turned away leaves the incident
	// open: no run could undo its effects yet.
	leaseLeft := c.machineFault && errors.Is(r.err, state.ErrLeaseHeld)
	c.machineFault = r.crashed || r.stalled || leaseLeft
	if !leaseLeft {
		c.machineExposed = pair{}
	}
	c.refreshTruth(now)
	c.sent = c.desireOf(r.snap, r.start)
	c.settle(r.n)
	c.scanLinks(r.start)
	if !r.stalled {
		// A stalled run's requests and those of the run that took over
		// while it stalled share its number.
		changes := 0
		if rep := r.rep; rep != nil {
			changes = rep.Created + rep.Replaced + rep.Deleted + rep.Failed + rep.Expired + rep.UsersCreated
		}
		c.requestBound(r.n, changes, r.pending)
	}
	first := c.logIndex // the run's requests
	c.storms(r)
	rep := r.rep
	c.held = rep != nil && len(rep.Held) > 0
	if rep != nil {
		for _, pk := range rep.Parked {
			if pk.Class == access.FailureQuota {
				c.yielded[strings.ToLower(pk.Email)] = true
			}
		}
	}
	if rep == nil || errors.Is(r.err, state.ErrLeaseHeld) {
		return
	}
	// Invariant 2: access that neither the platform nor the snapshot of
	// the run wants is gone when the run ends, unless the run says why
	// (a failure, a held cut). Only an organization-wide fault may stop a
	// whole run, and a Store lost since the last Verify excuses what the
	// reconciler no longer knows it holds.
	for _, s := range w.log[first:] {
		if grant, ok := strings.CutPrefix(s.key, "grant "); ok && s.status == http.StatusUnprocessableEntity {
			if i := strings.LastIndexByte(grant, '/'); i > 0 {
				g, _ := strconv.ParseInt(grant[i+1:], 10, 64)
				c.told[pair{grant[:i], g}] = true
			}
		}
	}
	if c.storeKnown && !r.crashed && !r.stalled && !c.orgFault(r.start, now) {
		for _, p := range sortedPairs(w.obs.holds) {
			if w.obs.covered(p, now) && !c.unknowable(p, now) && !c.sent.at(p, now) && !c.truth.at(p, now) &&
				!mentionedStrictly(rep, r.snap, p) {
				if rep.NotAttempted > 0 {
					w.violate(2, "run %d stopped with %d changes not attempted and left %s with access to %s, which its snapshot does not want (%s)",
						r.n, rep.NotAttempted, p.email, w.groupName[p.group], summary(rep, r.err))
				} else {
					w.violate(2, "run %d left %s%s with access to %s (Kisi holds %s), which its snapshot does not want, and says nothing of it (%s)",
						r.n, p.email, w.userByHand(p.email), w.groupName[p.group], w.obs.windows(p), summary(rep, r.err))
				}
			}
		}
	}
	// Invariant 4: a cut a valid record explains is never held.
	if len(w.active(KindExport, r.start)) == 0 {
		for _, ch := range rep.Held {
			p := pair{strings.ToLower(ch.Email), ch.GroupID}
			if c.causes[p] == causeExplicit {
				w.violate(4, "run %d held the cut of %s from %s, which a record explains (%s)", r.n, p.email,
					w.groupName[p.group], ch.Reason)
			}
		}
	}
	// Invariant 5: every record rejected is in the report …
	for _, bad := range r.invalid {
		if !slices.ContainsFunc(rep.Skipped, func(e *access.RecordError) bool { return e.Kind == bad[0] && e.ID == bad[1] }) {
			w.violate(5, "run %d did not report the invalid %s %q", r.n, bad[0], bad[1])
		}
	}
	// … and every access wanted but not held has its cause there, once the
	// reconciler could know of the hand edits in Kisi, and of what its
	// Store forgot when it was lost or restored from a backup (Verify
	// tells it both).
	if c.handEdit.After(c.verifiedAt) || !c.storeKnown {
		return
	}
	for _, p := range sortedPairs(c.sent.windows) {
		if s := c.sent.windows[p]; s.Contains(r.start) && s.Contains(now) && !w.obs.covered(p, now) && !mentioned(rep, r.snap, p) &&
			!w.deletedGroups[p.group] {
			w.violate(5, "after run %d %s has no access to %s, which the snapshot wants, and the report says nothing of it",
				r.n, p.email, w.groupName[p.group])
		}
	}
}

// orgFault reports whether a fault of the whole organization (an outage,
// throttling, random server errors, every create failing) was active in
// [from, to]. During a create-only outage the reconciler may stop a run
// whose writes all fail, and it keeps the old window of a replacement
// rather than delete a role it cannot create again.
func (c *checker) orgFault(from, to time.Time) bool {
	for _, k := range []string{KisiOutage, KisiThrottle, KisiErrors, KisiCreateOutage} {
		if c.w.activeWithin(KindKisi, k, from, to) {
			return true
		}
	}
	return false
}

// mentioned reports whether rep says something of p: a failure, a parked
// change, a conflict, a held cut or a skipped record of it or its group,
// or changes left unattempted.
func mentioned(rep *access.Report, snap access.Snapshot, p pair) bool {
	return mentionedStrictly(rep, snap, p) || rep.NotAttempted > 0
}

// mentionedStrictly is mentioned without the changes left unattempted.
func mentionedStrictly(rep *access.Report, snap access.Snapshot, p pair) bool {
	type about struct {
		email string
		group int64
	}
	var named []about
	for _, f := range rep.Failures {
		named = append(named, about{f.Email, f.GroupID})
	}
	for _, pk := range rep.Parked {
		named = append(named, about{pk.Email, pk.GroupID})
	}
	for _, cf := range rep.Conflicts {
		named = append(named, about{cf.Email, cf.GroupID})
	}
	for _, h := range rep.Held {
		named = append(named, about{h.Email, h.GroupID})
	}
	if slices.ContainsFunc(named, func(a about) bool {
		return (a.email == "" || strings.EqualFold(a.email, p.email)) && (a.group == 0 || a.group == p.group)
	}) {
		return true
	}
	who := strings.TrimSuffix(strings.TrimPrefix(p.email, "guest-"), "@example.com")
	who = strings.TrimSuffix(who, "@example.org")
	own := recordsOf(snap, who)
	for _, s := range rep.Skipped {
		// A record of p's member (its check-in at a location whose zone is
		// wrong), or one naming the member (a booking of a member the
		// members list lacks): that member's records are set aside.
		if own[s.Kind+"/"+s.ID] || strings.Contains(strings.ToLower(s.ID), who) || strings.Contains(strings.ToLower(s.Error()), `"`+who+`"`) {
			return true
		}
	}
	return false
}

// recordsOf returns the records of snap that member id holds, directly or
// through a team, as "kind/id".
func recordsOf(snap access.Snapshot, id string) map[string]bool {
	own := map[string]bool{"member/" + id: true}
	teams := map[string]bool{}
	for _, t := range snap.Teams {
		if slices.Contains(t.MemberIDs, id) {
			teams[t.ID] = true
			own["team/"+t.ID] = true
		}
	}
	holds := func(member, team string) bool { return member == id && team == "" || teams[team] }
	for _, r := range snap.Plans {
		if holds(r.MemberID, r.TeamID) {
			own["plan/"+r.ID] = true
		}
	}
	for _, r := range snap.Allowances {
		if holds(r.MemberID, r.TeamID) {
			own["allowance/"+r.ID] = true
		}
	}
	for _, r := range snap.Assignments {
		if holds(r.MemberID, r.TeamID) {
			own["assignment/"+r.ID] = true
		}
	}
	for _, r := range snap.Bookings {
		if r.MemberID == id {
			own["booking/"+r.ID] = true
		}
	}
	for _, r := range snap.CheckIns {
		if r.MemberID == id {
			own["checkin/"+r.ID] = true
		}
	}
	return own
}

// storms follows each write key through the run's requests (Invariant 3):
// a key whose every attempt failed for stormAfter must be tried by at most
// stormRuns runs an hour.
func (c *checker) storms(r run) {
	w := c.w
	tried := map[string]bool{} // key → all attempts failed
	for _, s := range w.log[c.logIndex:] {
		if s.key == "" {
			continue
		}
		failed, seen := tried[s.key]
		tried[s.key] = (failed || !seen) && s.failed()
	}
	// A run the host woke may probe once: its first write does not count
	// if it failed.
	if r.woken {
		for _, s := range w.log[c.logIndex:] {
			if s.key != "" {
				if tried[s.key] {
					delete(tried, s.key)
				}
				break
			}
		}
	}
	c.logIndex = len(w.log)
	// The organization's own key: a run the reconciler scheduled that
	// stopped at once (Kisi or the Store failing as a whole).
	if !r.woken && !r.approved {
		var stop *access.SystemicError
		tried["the organization's runs"] = errors.As(r.err, &stop)
	}
	// A member left without a role is created again by every run, without
	// back-off (DESIGN.md, "Renewing is not a cut").
	for p := range c.exposedSince {
		delete(tried, fmt.Sprintf("grant %s/%d", p.email, p.group))
	}
	for p := range c.refused {
		delete(tried, fmt.Sprintf("grant %s/%d", p.email, p.group))
	}
	for p := range c.excused {
		delete(tried, fmt.Sprintf("grant %s/%d", p.email, p.group))
	}
	for _, key := range slices.Sorted(maps.Keys(tried)) {
		failed := tried[key]
		if !failed {
			delete(c.streaks, key)
			continue
		}
		st := c.streaks[key]
		if st == nil || r.start.Sub(st.runs[len(st.runs)-1]) > idleAfter {
			// New, or untried for longer than the longest back-off (it was
			// not wanted meanwhile, or waited its full back-off): a new
			// streak.
			st = &streak{since: r.start}
			c.streaks[key] = st
		}
		st.runs = append(st.runs, r.start)
		if r.start.Sub(st.since) < stormAfter {
			continue
		}
		hourAgo := r.start.Add(-time.Hour)
		n := 0
		for _, at := range st.runs {
			if at.After(hourAgo) {
				n++
			}
		}
		if n > stormRuns {
			who := ""
			if grant, ok := strings.CutPrefix(key, "grant "); ok {
				who = w.userByHand(grant[:max(0, strings.LastIndexByte(grant, '/'))])
			}
			w.violate(3, "%q%s failed in every run since %s and was tried by %d runs in the last hour",
				key, who, st.since.UTC().Format(time.RFC3339), n)
		}
	}
}
