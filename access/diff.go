package access

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kisisync/kisisync/access/state"
	"github.com/kisisync/kisisync/internal/kisiglue"
	"github.com/kisisync/kisisync/schedule"
)

// ended reports whether iv is over at now.
func ended(iv schedule.Interval, now time.Time) bool {
	return !kisiglue.OpenEnded(iv) && !iv.End.After(now)
}

func ptr(iv schedule.Interval) *schedule.Interval { return &iv }

// diffInput is what the pure core of Plan works from.
type diffInput struct {
	now    time.Time
	lead   time.Duration
	hold   holding
	recs   []state.Record
	grants []Grant
	links  []Link
	res    map[string]resolution
	// snap looks up the snapshot's members, for the names of creates, and
	// its records, to tell a cut explained by a record still there from
	// one whose source vanished. Nil: no members, no records.
	snap *snapIndex
	// mappingFP is the fingerprint of the mapping, for group park records.
	mappingFP string
	// notify is set when a Notifier must send each link's secret.
	notify bool
	// linkWarn is the number of email links from which links for bookings
	// beyond linkHorizon wait, keeping the quota for the soonest guests.
	linkWarn int
	// keepParks is how long past its retry the park record of a failing
	// change this snapshot does not want is kept: the longest back-off.
	keepParks time.Duration
}

// linkHorizon is how far ahead a booking's link is always created; further
// ones wait once the organization nears Kisi's email-link quota.
const linkHorizon = 48 * time.Hour

// diff is the pure core of Plan. It joins the wanted grants and links with
// the Store's records of roles and links, both in key order.
func diff(in diffInput) *Changes {
	c := &Changes{At: in.now, Changes: []Change{}}
	if in.hold.memo == nil {
		in.hold.memo = &nightsMemo{}
	}
	view, store := settleIntents(c, sortedByKey(in.recs), in.res)
	want := wanted(in)

	parks := parkRecords(c, in, want, &store)
	acc := changeLists{store: store}
	var renew time.Time // the earliest renewal of a rolling window
	for i, j := 0, 0; i < len(want) || j < len(view); {
		var w *wantEntry
		var v *viewEntry
		switch {
		case j == len(view) || i < len(want) && want[i].key < view[j].key:
			w = &want[i]
			i++
		case i == len(want) || view[j].key < want[i].key:
			v = &view[j]
			j++
		default:
			w, v = &want[i], &view[j]
			i++
			j++
		}
		var rec *state.Record
		if v != nil {
			rec = v.rec
		}
		var p probe
		if w != nil {
			p = in.probe(w)
			if p.grant != nil {
				renew = earliest(renew, renewal(p, rec, in.hold))
			}
		}
		if v != nil && v.skip || w == nil && rec == nil {
			continue
		}
		acc.decide(c, &in, w != nil, p, v)
	}
	acc.creates = parks.hold(c, acc.creates, in.now)
	acc.creates = quota(c, view, acc.revokes, acc.cleanups, acc.creates, in, parks.quota)
	acc.replaces = parks.holdReplacements(c, acc.replaces, in.now)
	order(c, acc.store, acc.exposed, acc.revokes, acc.replaces, acc.creates, acc.cleanups)
	tally(c, view, in.now)
	c.renewals = renew
	return c
}

// changeLists collects the changes of a plan by the order they are applied
// in (see [order]).
type changeLists struct {
	store, exposed, revokes, replaces, creates, cleanups []Change
}

// decide adds what one key needs: wanted tells whether the key is wanted
// (p is then its probe), v is the Store's entry for it, nil when there is
// none.
func (l *changeLists) decide(c *Changes, in *diffInput, wanted bool, p probe, v *viewEntry) {
	var rec *state.Record
	if v != nil {
		rec = v.rec
	}
	switch {
	case rec == nil:
		l.creates = append(l.creates, in.create(p))
	case rec.State == state.StateExposed:
		l.again(&l.exposed, in, wanted, p, *rec, "left without a role by a failed replacement", "created first")
	case rec.State == state.StateGone:
		l.again(&l.creates, in, wanted, p, *rec, "deleted in Kisi outside kisisync", "re-create")
	case rec.State == state.StateConflict:
		switch {
		case !wanted:
			// The role not managed here still stands (until Verify finds it
			// gone), giving access the platform no longer wants: this SDK
			// cannot remove it, so it says so at every run.
			c.Conflicts = append(c.Conflicts, Conflict{Email: rec.Email, GroupID: rec.GroupID, KisiID: rec.KisiID, Unwanted: true})
		case (kisiglue.SameWindow(rec.Window, p.held) || p.rolling && kisiglue.SameInstant(rec.Window.Start, p.held.Start)) &&
			p.grant != nil && slices.Equal(rec.Sources, p.grant.Sources) || in.now.Before(rec.RetryAt):
			// The same grant: the same window, or a rolling one by its start
			// (its end moves with the clock, the conflict does not), from the
			// same sources; or another one while the key backs off.
			c.Conflicts = append(c.Conflicts, Conflict{Email: rec.Email, GroupID: rec.GroupID, KisiID: rec.KisiID, Window: p.held})
		default:
			create := in.create(p)
			create.Reason = "retry after conflict: window changed"
			l.creates = append(l.creates, create)
		}
	case !wanted && !ended(rec.Window, in.now) && in.snap.rejected(*rec):
		// Its record is there but invalid (reported in Skipped): Kisi keeps
		// what it holds, ending by its bounded window.
	case !wanted:
		ch := revoke(*rec, *in)
		if ch.Expired {
			l.cleanups = append(l.cleanups, ch)
		} else {
			l.revokes = append(l.revokes, ch)
		}
	default:
		if reason := replaceReason(*rec, p.change(), p.desired, in.hold); reason != "" {
			create := in.create(p)
			create.Action, create.Old, create.KisiID, create.Reason = ActionReplace, ptr(rec.Window), rec.KisiID, reason
			create.Cut = cutOf(*rec, create, *in)
			if create.Cut != "" && in.snap.rejected(*rec) {
				// A record it comes from is there but invalid: as for a
				// delete, Kisi keeps what it holds.
				return
			}
			l.replaces = append(l.replaces, create)
			return
		}
		if rec.Supersedes != nil && rec.State == state.StateSettled {
			// The link it replaced, whose delete failed or was cut short:
			// not a cut, the guest has the new one.
			l.cleanups = append(l.cleanups, Change{Action: ActionDelete, Object: ObjectLink, Key: rec.Key, Email: rec.Email,
				Name: rec.Name, GroupID: rec.GroupID, Old: ptr(rec.Supersedes.Window), KisiID: rec.Supersedes.KisiID,
				BookingID: rec.BookingID, Sources: rec.Sources, Reason: "replaced by the link created before it"})
		}
	}
}

// again adds to dst the create of the access of rec, whose object is gone
// from Kisi (why), or forgets rec when the access is no longer wanted.
func (l *changeLists) again(dst *[]Change, in *diffInput, wanted bool, p probe, rec state.Record, why, then string) {
	if !wanted {
		l.store = append(l.store, forget(rec, why+"; no longer desired"))
		return
	}
	create := in.create(p)
	create.Reason = why + "; " + then
	*dst = append(*dst, create)
}

// sortedByKey returns recs sorted by key: recs itself when it is, as a
// Store's Load returns it, else a sorted copy (records of one key kept in
// their order).
func sortedByKey(recs []state.Record) []state.Record {
	sorted := true
	for i := 1; i < len(recs) && sorted; i++ {
		sorted = recs[i-1].Key <= recs[i].Key
	}
	if sorted {
		return recs
	}
	out := slices.Clone(recs)
	slices.SortStableFunc(out, func(a, b state.Record) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// viewEntry is the Store's role or link record of one key as the plan sees
// it, once the pending intents are settled.
type viewEntry struct {
	key string
	// rec is the record as it will be (adopted or settled); nil when the
	// intent is forgotten or left alone.
	rec *state.Record
	// skip is set when the lookup of a pending intent failed: the key is
	// left alone. adopted is set when the intent was found in Kisi.
	skip, adopted bool
}

// settleIntents resolves the pending intents of recs, sorted by key, with
// what Plan found in Kisi. It returns the role and link records as they
// will be, one entry per key in key order (view), and the Store
// corrections (adopt, forget). The records of recs are not changed.
func settleIntents(c *Changes, recs []state.Record, res map[string]resolution) (view []viewEntry, store []Change) {
	n := 0
	for i := range recs {
		if recs[i].Kind == state.KindRole || recs[i].Kind == state.KindLink {
			n++
		}
	}
	view = make([]viewEntry, 0, n)
	for i := range recs {
		rec := &recs[i]
		if rec.Kind != state.KindRole && rec.Kind != state.KindLink {
			continue
		}
		if len(view) == 0 || view[len(view)-1].key != rec.Key {
			view = append(view, viewEntry{key: rec.Key})
		}
		v := &view[len(view)-1]
		if rec.State == state.StatePending {
			rs, ok := res[rec.Key]
			switch {
			case ok && !rs.retry.IsZero():
				v.skip = true
				c.Parked = append(c.Parked, Parked{Object: objectOf(rec.Kind), Key: rec.Key, Email: rec.Email, GroupID: rec.GroupID,
					Class: FailureUnknown, RetryAt: rs.retry,
					Reason: "its create's answer was lost and Kisi could not be asked since; looked up again after its back-off"})
				c.retries = earliest(c.retries, rs.retry)
				continue
			case !ok || rs.err != nil:
				c.Unresolved++
				v.skip = true
				why := "its create's answer was lost and the lookup did not answer; looked up again next run"
				if ok {
					why = fmt.Sprintf("its create's answer was lost and the lookup failed (%v); looked up again next run", rs.err)
				}
				c.Parked = append(c.Parked, Parked{Object: objectOf(rec.Kind), Key: rec.Key, Email: rec.Email, GroupID: rec.GroupID,
					Class: FailureUnknown, Reason: why})
				continue
			case rs.found:
				store = append(store, Change{Action: ActionAdopt, Object: objectOf(rec.Kind), Key: rec.Key, Email: rec.Email,
					MemberID: rec.MemberID, Name: rec.Name, GroupID: rec.GroupID, Window: ptr(rs.window),
					KisiID: rs.kisiID, UserID: rec.UserID, BookingID: rec.BookingID, Sources: rec.Sources,
					Reason: "found in Kisi after an interrupted create"})
				adopted := *rec
				adopted.State, adopted.KisiID, adopted.Window = state.StateSettled, rs.kisiID, rs.window
				v.rec, v.adopted = &adopted, true
				continue
			case rec.Supersedes != nil:
				// A link's replacement, created first, that did not reach
				// Kisi: the link in force it was to replace is kept.
				old := rec.Supersedes
				store = append(store, Change{Action: ActionAdopt, Object: ObjectLink, Key: rec.Key, Email: rec.Email,
					Name: rec.Name, GroupID: rec.GroupID, Window: ptr(old.Window), KisiID: old.KisiID,
					BookingID: rec.BookingID, Sources: rec.Sources,
					Reason: "kept: its replacement's create did not reach Kisi"})
				kept := *rec
				kept.State, kept.KisiID, kept.Window, kept.Supersedes, kept.Notified = state.StateSettled, old.KisiID, old.Window, nil, true
				v.rec = &kept
				continue
			default:
				store = append(store, forget(*rec, "interrupted create did not reach Kisi"))
				continue
			}
		}
		v.rec = rec
	}
	return view, store
}

// wantEntry is a wanted grant or link: the index of the grant in
// diffInput.grants, or len(grants) plus the index of the link in
// diffInput.links.
type wantEntry struct {
	key string
	i   int
}

// wanted returns the wanted grants and links in key order, one per key
// (the last of the grants or links with one key).
//
// The grants come from Desired sorted by email then group; a role's key
// is "role/", its group's decimal form, "/" and the email, and "/" sorts
// before every digit, so a stable counting sort on the groups, in the
// order of their decimal forms, puts them in key order in linear time.
// The result is checked, and sorted if it is not in order.
func wanted(in diffInput) []wantEntry {
	want := make([]wantEntry, len(in.links)+len(in.grants))
	// "link/" sorts before "role/".
	links, roles := want[:len(in.links)], want[len(in.links):]
	for i := range in.links {
		links[i] = wantEntry{key: state.LinkKey(in.links[i].BookingID, in.links[i].GroupID), i: len(in.grants) + i}
	}
	slices.SortFunc(links, cmpWant)

	bucket := make(map[int64]int)
	var groups []int64
	for i := range in.grants {
		if _, ok := bucket[in.grants[i].GroupID]; !ok {
			bucket[in.grants[i].GroupID] = 0
			groups = append(groups, in.grants[i].GroupID)
		}
	}
	slices.SortFunc(groups, func(a, b int64) int {
		return strings.Compare(strconv.FormatInt(a, 10), strconv.FormatInt(b, 10))
	})
	next := make([]int, len(groups))
	for k, g := range groups {
		bucket[g] = k
	}
	for i := range in.grants {
		next[bucket[in.grants[i].GroupID]]++
	}
	for k, sum := 0, 0; k < len(next); k++ {
		next[k], sum = sum, sum+next[k]
	}
	for i := range in.grants {
		k := bucket[in.grants[i].GroupID]
		roles[next[k]] = wantEntry{key: state.RoleKey(in.grants[i].Email, in.grants[i].GroupID), i: i}
		next[k]++
	}
	if !slices.IsSortedFunc(roles, cmpWant) {
		slices.SortFunc(roles, cmpWant)
	}

	out := want[:0]
	for _, w := range want {
		if len(out) > 0 && out[len(out)-1].key == w.key {
			out[len(out)-1] = w
			continue
		}
		out = append(out, w)
	}
	return out
}

// cmpWant orders wanted entries by key, then by their order in the input.
func cmpWant(a, b wantEntry) int {
	if c := strings.Compare(a.key, b.key); c != 0 {
		return c
	}
	return cmp.Compare(a.i, b.i)
}

// probe is what the plan compares of a wanted grant or link before it
// builds its create: the grant or link, the window Kisi is to hold, and
// for a grant whether that is a rolling bound of the desired window.
type probe struct {
	key     string
	grant   *Grant
	link    *Link
	held    schedule.Interval
	desired schedule.Interval
	rolling bool
}

// probe returns the probe of w.
func (in *diffInput) probe(w *wantEntry) probe {
	if w.i < len(in.grants) {
		g := &in.grants[w.i]
		held, rolling := in.hold.hold(g.Window)
		return probe{key: w.key, grant: g, held: held, desired: g.Window, rolling: rolling}
	}
	l := &in.links[w.i-len(in.grants)]
	return probe{key: w.key, link: l, held: l.Window}
}

// change is the part of p's create that replaceReason reads; its Window
// points into p.
func (p *probe) change() Change {
	if p.grant != nil {
		return Change{Object: ObjectGrant, Key: p.key, Email: p.grant.Email, GroupID: p.grant.GroupID,
			Window: &p.held, Rolling: p.rolling}
	}
	l := p.link
	return Change{Object: ObjectLink, Key: p.key, Email: l.Email, Name: l.Name, GroupID: l.GroupID,
		Window: &p.held, BookingID: l.BookingID, SendLink: l.SendLink, QR: l.QR}
}

// create returns the create of the wanted grant or link of p, with the
// window Kisi is to hold.
func (in *diffInput) create(p probe) Change {
	if g := p.grant; g != nil {
		mem := in.snap.member(g.MemberID)
		if g.Guest != nil {
			mem = Member{Name: g.Guest.Name}
		}
		return Change{Action: ActionCreate, Object: ObjectGrant, Key: p.key, Email: g.Email,
			MemberID: g.MemberID, Name: mem.Name, Managed: mem.Managed, GroupID: g.GroupID,
			Window: ptr(p.held), Rolling: p.rolling, Sources: slices.Clone(g.Sources), Reason: "new access"}
	}
	l := p.link
	return Change{Action: ActionCreate, Object: ObjectLink, Key: p.key, Email: l.Email, Name: l.Name,
		GroupID: l.GroupID, Window: ptr(l.Window), BookingID: l.BookingID, SendLink: l.SendLink, QR: l.QR,
		Sources: []Source{{Kind: KindBooking, ID: l.BookingID}}, Reason: "drop-in booking"}
}

// revoke is the delete of a record no longer wanted: cleanup when its window
// has ended, else a revocation, a cut when the access is in force or enters
// Kisi within the lead time.
func revoke(rec state.Record, in diffInput) Change {
	ch := Change{Action: ActionDelete, Object: objectOf(rec.Kind), Key: rec.Key, Email: rec.Email, MemberID: rec.MemberID,
		Name: rec.Name, GroupID: rec.GroupID, Old: ptr(rec.Window), KisiID: rec.KisiID, Sources: rec.Sources,
		BookingID: rec.BookingID, Reason: "no longer desired"}
	switch {
	case ended(rec.Window, in.now):
		ch.Expired, ch.Reason = true, "expired"
		return ch
	case ch.Object == ObjectLink:
		ch.Reason = "booking removed"
	}
	if due(rec.Window, in.now, in.lead) || sentLink(rec) {
		ch.Cut = cutClass(rec, in.snap)
	}
	return ch
}

// order puts the parts of a plan in the order Apply takes them: Store
// corrections, the members a failed replacement left without a role,
// revocations, replacements, creates (soonest window first), the
// replacements of roles in force, cleanup. A role in force is replaced by
// delete and create only once a create worked in the run (see
// run.replaceGrant): the creates before it tell.
func order(c *Changes, store, exposed, revokes, replaces, creates, cleanups []Change) {
	byKey := func(a, b *Change) int {
		if c := strings.Compare(a.Email, b.Email); c != 0 {
			return c
		}
		if c := cmp.Compare(a.GroupID, b.GroupID); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	}
	sortChanges(store, byKey)
	sortChanges(exposed, byKey)
	sortChanges(revokes, byKey)
	sortChanges(replaces, byKey)
	sortChanges(cleanups, byKey)
	sortChanges(creates, func(a, b *Change) int {
		if c := a.Window.Start.Compare(b.Window.Start); c != 0 {
			return c
		}
		return byKey(a, b)
	})
	// Expired links go before creates: Kisi counts them toward the
	// email-link quota until they are deleted.
	linkCleanups := slices.DeleteFunc(slices.Clone(cleanups), func(ch Change) bool { return ch.Object != ObjectLink })
	cleanups = slices.DeleteFunc(cleanups, func(ch Change) bool { return ch.Object == ObjectLink })
	inForce := slices.DeleteFunc(slices.Clone(replaces), func(ch Change) bool { return !replacesInForce(ch, c.At) })
	replaces = slices.DeleteFunc(replaces, func(ch Change) bool { return replacesInForce(ch, c.At) })
	// A member a failed replacement left without a role inside their
	// window comes first, before anything can stop the run.
	c.Changes = slices.Concat(store, exposed, revokes, linkCleanups, replaces, creates, inForce, cleanups)
	if c.Changes == nil {
		c.Changes = []Change{}
	}
}

// replacesInForce reports whether ch replaces a role or a link in force at
// now: its member or guest has access until the new one is created.
func replacesInForce(ch Change, now time.Time) bool {
	return ch.Action == ActionReplace && (ch.Object == ObjectGrant || ch.Object == ObjectLink) && ch.Old != nil &&
		!ch.Old.Start.After(now) && now.Before(ch.Old.End)
}

// tally counts the managed access, the cuts and the email links of c.
func tally(c *Changes, view []viewEntry, now time.Time) {
	links := 0
	for _, v := range view {
		rec := v.rec
		if rec == nil {
			continue
		}
		if live(*rec, now) {
			c.Managed++
		}
		if rec.Kind == state.KindLink && rec.State == state.StateSettled && rec.Email != "" {
			links++
		}
	}
	for _, ch := range c.Changes {
		if ch.Cut != "" {
			c.Revocations++
		}
		if ch.Object != ObjectLink {
			continue
		}
		switch ch.Action {
		case ActionCreate:
			links++
		case ActionDelete:
			links--
		}
	}
	c.Links = links
}

// sortChanges sorts cs by cmpFn through pointers, so the large structs move
// once.
func sortChanges(cs []Change, cmpFn func(a, b *Change) int) {
	ptrs := make([]*Change, len(cs))
	for i := range cs {
		ptrs[i] = &cs[i]
	}
	slices.SortFunc(ptrs, cmpFn)
	sorted := make([]Change, len(cs))
	for i, p := range ptrs {
		sorted[i] = *p
	}
	copy(cs, sorted)
}

// forget is the Store correction that drops rec.
func forget(rec state.Record, why string) Change {
	return Change{Action: ActionForget, Object: objectOf(rec.Kind), Key: rec.Key, Email: rec.Email,
		MemberID: rec.MemberID, GroupID: rec.GroupID, BookingID: rec.BookingID, Reason: why}
}

// objectOf is the object kind of a record.
func objectOf(k state.RecordKind) ObjectKind {
	switch k {
	case state.KindLink:
		return ObjectLink
	case state.KindPark:
		return ObjectPark
	}
	return ObjectGrant
}
