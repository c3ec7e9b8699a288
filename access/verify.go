package access

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/kisisync/kisisync/access/state"
	"github.com/kisisync/kisisync/internal/kisiglue"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/schedule"
)

// Drift is what [Reconciler.Verify] found in Kisi that the Store did not
// expect, and what it did about it.
type Drift struct {
	// Groups is the number of groups listed.
	Groups int `json:"groups"`
	// Missing: managed grants and links deleted in Kisi outside this SDK;
	// marked gone, so the next run re-creates them if still wanted.
	Missing []DriftItem `json:"missing,omitempty"`
	// Edited: managed grants and links whose window was changed outside
	// this SDK; the Store now holds Kisi's window, so the next run restores
	// the desired one.
	Edited []DriftItem `json:"edited,omitempty"`
	// Adopted: objects now managed, each with its reason: created by an
	// interrupted run (lost response, crash), held by a user this SDK
	// created (its Store was lost or restored from an old backup), or found
	// in a group declared the platform's ([WithExclusiveGroups]). The next
	// run keeps those it would hold and corrects the rest, under the revoke
	// guard.
	Adopted []DriftItem `json:"adopted,omitempty"`
	// Released: conflicts whose unmanaged role is gone; the next run creates
	// the grant.
	Released []DriftItem `json:"released,omitempty"`
	// Unmanaged: roles in mapped groups, and links in the groups Verify
	// lists links of (see [Reconciler.Verify]), that this SDK did not
	// create ("not managed here"). They are never changed or deleted.
	Unmanaged []DriftItem `json:"unmanaged,omitempty"`
	// Unconfirmed: emails of regular users this SDK created whom Kisi
	// still reports unconfirmed ([kisi.UserStatusPending]); a user whose
	// answer cannot tell (no "confirmed" key, never opened a door) is not
	// listed.
	Unconfirmed []string `json:"unconfirmed,omitempty"`
	// Restored: groups parked as deleted in Kisi that exist again; their
	// grants are tried by the next run.
	Restored []int64 `json:"restored,omitempty"`
}

// DriftItem is one Kisi object named in a [Drift].
type DriftItem struct {
	Object  ObjectKind        `json:"object"`
	KisiID  int64             `json:"kisi_id"`
	GroupID int64             `json:"group_id"`
	Email   string            `json:"email,omitempty"`
	UserID  int64             `json:"user_id,omitempty"`
	Window  schedule.Interval `json:"window,omitzero"`
	// Reason says in words why an object was adopted: "created by an
	// interrupted run", "held by a user kisisync created" or "in a group the
	// platform owns".
	Reason string `json:"reason,omitempty"`
}

// The reasons of adoption, for [DriftItem.Reason].
const (
	adoptInterrupted = "created by an interrupted run"
	adoptOwnUser     = "held by a user kisisync created"
	adoptExclusive   = "in a group the platform owns"
	adoptOwnLink     = "a link kisisync created (its name carries the mark)"
)

// Verify lists Kisi's role assignments and group links of every mapped
// group (and every group the Store has records in), compares them with the
// Store and repairs the Store's view of what this SDK owns; the next Sync
// then puts Kisi right. It never writes to Kisi. Call it periodically
// (hourly, daily) or after restoring a Store; steady-state runs do not need
// it.
//
// It makes ⌈n/250⌉ list calls per group for n roles, and the same for
// links in the groups where a link of this SDK can be (the groups of
// resources when the mapping sends drop-in links, and those the Store
// records a link in); for the p users this SDK created that have not been
// seen confirmed yet, of u users it knows, the fewer of ⌈u/100⌉ user list
// calls and p lookups by email (none when p is 0), unless a role no record
// explains made it list the users already.
func (r *Reconciler) Verify(ctx context.Context) (*Drift, error) {
	release, recs, err := r.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	d, err := r.verify(ctx, recs)
	if err == nil {
		r.written.Store(writtenIn(recs)) // a restored Store, now verified
	}
	return d, err
}

// verify is Verify under a lease the caller holds, from the records recs.
func (r *Reconciler) verify(ctx context.Context, recs []state.Record) (*Drift, error) {
	ru := r.newRun(recs)
	ru.mapped = make(map[int64]bool)
	for _, g := range r.m.Groups() {
		ru.mapped[g] = true
	}
	groups := slices.Clone(r.m.Groups())
	for _, rec := range recs {
		if rec.GroupID != 0 {
			groups = append(groups, rec.GroupID)
		}
	}
	slices.Sort(groups)
	groups = slices.Compact(groups)
	linkable := r.linkable(recs)

	d := &Drift{Groups: len(groups)}
	var errs []error
	for _, g := range groups {
		if err := ru.renew(ctx); err != nil {
			return d, err
		}
		if err := ru.verifyRoles(ctx, g, d); err != nil {
			errs = append(errs, fmt.Errorf("access: verify roles of group %d: %w", g, err))
			if classify(err) == FailureSystemic {
				return d, errors.Join(errs...)
			}
		}
		if linkable[g] {
			if err := ru.verifyLinks(ctx, g, d); err != nil {
				errs = append(errs, fmt.Errorf("access: verify links of group %d: %w", g, err))
			}
		}
		if err := errors.Join(errs...); errors.Is(err, state.ErrLeaseLost) || classify(err) == FailureSystemic {
			// Fenced (another run holds the organization now), or a failure
			// of the whole organization: no use reading the other groups.
			return d, err
		}
	}
	if err := ru.verifyUsers(ctx, d); err != nil {
		errs = append(errs, fmt.Errorf("access: verify users: %w", err))
	}
	if err := ru.verifyParkedGroups(ctx, d); err != nil {
		errs = append(errs, fmt.Errorf("access: verify parked groups: %w", err))
	}
	if _, ok := ru.recs[runMarkKey]; ok && len(errs) == 0 {
		// Kisi is known again after an interrupted run.
		errs = append(errs, ru.del(ctx, runMarkKey))
	}
	return d, errors.Join(errs...)
}

// linkable returns the groups in which a link of this SDK can be: those a
// drop-in booking gets links to (the groups of resources, when the mapping
// chooses a delivery) and those the Store records a link in. Verify lists
// the links of no other group.
func (r *Reconciler) linkable(recs []state.Record) map[int64]bool {
	out := make(map[int64]bool)
	if r.m.DropIn.Link || r.m.DropIn.QR {
		for _, gs := range r.m.Resources {
			for _, g := range gs {
				out[g] = true
			}
		}
	}
	for _, rec := range recs {
		if rec.Kind == state.KindLink {
			out[rec.GroupID] = true
		}
	}
	return out
}

// verifyParkedGroups releases the groups parked as deleted that Kisi has
// again.
func (ru *run) verifyParkedGroups(ctx context.Context, d *Drift) error {
	var errs []error
	for _, key := range slices.Sorted(maps.Keys(ru.recs)) {
		rec := ru.recs[key]
		if rec.Kind != state.KindPark || rec.Class != FailureMissing {
			continue
		}
		_, _, err := ru.r.k.GetGroup(ctx, rec.GroupID)
		switch {
		case errors.Is(err, kisi.ErrNotFound):
		case err != nil:
			errs = append(errs, err)
		default:
			d.Restored = append(d.Restored, rec.GroupID)
			errs = append(errs, ru.del(ctx, key))
		}
	}
	return errors.Join(errs...)
}

// users lists the organization's users once per Verify, by id. Past
// Kisi's offset cap (more users than a list can page through) it fails
// with kisi.ErrOffsetCap, and remembers it: see userIn.
func (ru *run) users(ctx context.Context) (map[int64]*kisi.User, error) {
	if ru.kisiUsers != nil {
		return ru.kisiUsers, nil
	}
	users, err := kisi.All(ctx, ru.r.k.ListUsers, &kisi.UserListOptions{})
	if errors.Is(err, kisi.ErrOffsetCap) {
		ru.usersCapped = true
	}
	if err != nil {
		return nil, err
	}
	ru.kisiUsers = byID(users)
	return ru.kisiUsers, nil
}

// userIn returns the Kisi user id, who holds a role in group g (nil if
// Kisi has none): from the organization's users, or, where they are more
// than a list can page through, from g's users (Kisi lists users by group).
func (ru *run) userIn(ctx context.Context, g, id int64) (*kisi.User, error) {
	if !ru.usersCapped {
		users, err := ru.users(ctx)
		if !ru.usersCapped {
			return users[id], err
		}
	}
	users, ok := ru.groupUsers[g]
	if !ok {
		list, err := kisi.All(ctx, ru.r.k.ListUsers, &kisi.UserListOptions{GroupID: g})
		if err != nil {
			return nil, err
		}
		if ru.groupUsers == nil {
			ru.groupUsers = map[int64]map[int64]*kisi.User{}
		}
		users = byID(list)
		ru.groupUsers[g] = users
	}
	return users[id], nil
}

func byID(users []*kisi.User) map[int64]*kisi.User {
	out := make(map[int64]*kisi.User, len(users))
	for _, u := range users {
		out[u.ID] = u
	}
	return out
}

// claim decides whether Verify adopts a role found in mapped group g that no
// record explains: one held by a user this SDK created (it carries the
// SDK's metadata tag), or any role when the mapped groups are the
// platform's. It returns the record to keep and the reason.
func (ru *run) claim(ctx context.Context, g int64, ra *kisi.RoleAssignment) (state.Record, string, error) {
	if ra.AssigneeType != kisi.AssigneeUser || ra.RoleID != kisi.RoleGroupBasic || !ru.mapped[g] {
		return state.Record{}, "", nil
	}
	u, err := ru.userIn(ctx, g, ra.AssigneeID)
	if err != nil {
		return state.Record{}, "", err
	}
	if u == nil {
		return state.Record{}, "", nil
	}
	email, err := NormalizeEmail(u.Email)
	if err != nil {
		return state.Record{}, "", nil
	}
	reason := adoptExclusive
	switch {
	case kisiglue.MarkedBySDK(u):
		reason = adoptOwnUser
	case !ru.r.o.exclusive:
		return state.Record{}, "", nil
	}
	if _, ok := ru.recs[state.UserKey(email)]; !ok {
		// Its invitation, if any, is long done.
		user := state.Record{Key: state.UserKey(email), Kind: state.KindUser, KisiID: u.ID, Email: email, Created: kisiglue.MarkedBySDK(u),
			Invited: true, Confirmed: u.Confirmed}
		if err := ru.put(ctx, user); err != nil {
			return state.Record{}, "", err
		}
	}
	return state.Record{Key: state.RoleKey(email, g), Kind: state.KindRole, State: state.StateSettled, KisiID: ra.ID, Email: email,
		GroupID: g, UserID: u.ID, Window: kisiglue.RoleWindow(ra)}, reason, nil
}

// claimLink adopts a link of group g that no record explains when its name
// carries the SDK's mark (a Store lost, or restored from an older backup):
// recorded for the booking the mark names, as sent — its guest had the
// email — and without its secret, which Kisi shows only once.
func claimLink(g int64, l *kisi.GroupLink) (state.Record, string, error) {
	booking, ok := kisiglue.LinkBooking(l.Name)
	if !ok || l.Email == nil {
		return state.Record{}, "", nil
	}
	email, err := NormalizeEmail(*l.Email)
	if err != nil {
		return state.Record{}, "", nil
	}
	rec := state.Record{Key: state.LinkKey(booking, g), Kind: state.KindLink, State: state.StateSettled, KisiID: l.ID,
		Email: email, GroupID: g, BookingID: booking, Name: kisiglue.LinkGuestName(l.Name),
		SendLink: l.LinkEnabled, QR: l.QuickResponseCodeType != nil,
		Window: kisiglue.Window(l.ValidFrom, l.ValidUntil), Notified: true}
	return rec, adoptOwnLink, nil
}

// recordsIn returns the records of kind in group g, sorted by key.
func (ru *run) recordsIn(kind state.RecordKind, g int64) []state.Record {
	var out []state.Record
	for _, rec := range ru.recs {
		if rec.Kind == kind && rec.GroupID == g {
			out = append(out, rec)
		}
	}
	slices.SortFunc(out, func(a, b state.Record) int { return strings.Compare(a.Key, b.Key) })
	return out
}

func (ru *run) verifyRoles(ctx context.Context, g int64, d *Drift) error {
	roles, err := kisi.All(ctx, ru.r.k.ListRoleAssignments, &kisi.RoleAssignmentListOptions{AppliesToType: kisi.ScopeGroup, AppliesToID: g})
	if err != nil {
		return err
	}
	objs := make([]observed, len(roles))
	for i, ra := range roles {
		objs[i] = observed{
			item: DriftItem{Object: ObjectGrant, KisiID: ra.ID, GroupID: g, UserID: ra.AssigneeID, Window: kisiglue.RoleWindow(ra)},
			matches: func(rec state.Record) bool {
				return ra.AssigneeType == kisi.AssigneeUser && rec.UserID == ra.AssigneeID && ra.RoleID == kisi.RoleGroupBasic &&
					kisiglue.SameWindow(rec.Window, kisiglue.RoleWindow(ra))
			},
			claim: func(ctx context.Context) (state.Record, string, error) { return ru.claim(ctx, g, ra) },
			heldBy: func(rec state.Record) bool {
				return ra.AssigneeType == kisi.AssigneeUser && rec.UserID != 0 && rec.UserID == ra.AssigneeID
			},
		}
		if ra.Assignee != nil {
			objs[i].item.Email = ra.Assignee.Email
		}
	}
	return ru.verifyGroup(ctx, state.KindRole, g, objs, d)
}

func (ru *run) verifyLinks(ctx context.Context, g int64, d *Drift) error {
	links, err := kisi.All(ctx, ru.r.k.ListGroupLinks, &kisi.GroupLinkListOptions{GroupID: g})
	if err != nil {
		return err
	}
	objs := make([]observed, len(links))
	for i, l := range links {
		objs[i] = observed{
			item:    DriftItem{Object: ObjectLink, KisiID: l.ID, GroupID: g, Window: kisiglue.Window(l.ValidFrom, l.ValidUntil)},
			matches: func(rec state.Record) bool { return linkMatches(l, rec) },
			claim:   func(context.Context) (state.Record, string, error) { return claimLink(g, l) },
		}
		if l.Email != nil {
			objs[i].item.Email = *l.Email
		}
	}
	return ru.verifyGroup(ctx, state.KindLink, g, objs, d)
}

// observed is a Kisi object Verify listed.
type observed struct {
	item DriftItem
	// matches reports whether the object is the one a pending intent asked for.
	matches func(rec state.Record) bool
	// claim, for roles, decides whether an object no record explains is
	// adopted all the same (see run.claim).
	claim func(ctx context.Context) (state.Record, string, error)
	// heldBy, for roles, reports whether the object is held by the user of
	// a record.
	heldBy func(rec state.Record) bool
}

// verifyGroup compares the objects of one kind Kisi lists in group g with
// the Store's records and repairs the records: a managed object whose window
// was edited takes Kisi's window, an object a pending intent asked for is
// adopted (once: an identical second one stays unmanaged), a managed object
// missing from Kisi is marked gone (or forgotten once its window has ended),
// and a conflict whose unmanaged role is gone is released.
func (ru *run) verifyGroup(ctx context.Context, kind state.RecordKind, g int64, objs []observed, d *Drift) error {
	recs := ru.recordsIn(kind, g)
	byID := make(map[int64]state.Record)
	superseded := make(map[int64]bool) // links in force a newer link replaces, deleted by the next run
	for _, rec := range recs {
		if rec.KisiID != 0 && (rec.State == state.StateSettled || rec.State == state.StateConflict) {
			byID[rec.KisiID] = rec
		}
		if rec.Supersedes != nil {
			superseded[rec.Supersedes.KisiID] = true
		}
	}
	seen := make(map[int64]bool)
	claimed := make(map[string]bool)
	var errs []error
	for _, o := range objs {
		item := o.item
		if superseded[item.KisiID] {
			seen[item.KisiID] = true
			continue
		}
		if rec, ok := byID[item.KisiID]; ok {
			seen[item.KisiID] = true
			switch {
			case rec.State == state.StateConflict && ru.r.o.exclusive && ru.mapped[g]:
				// The conflicting role is the platform's after all.
				rec.State, rec.Window = state.StateSettled, item.Window
				item.Email, item.Reason = rec.Email, adoptExclusive
				d.Adopted = append(d.Adopted, item)
				errs = append(errs, ru.put(ctx, rec))
			case rec.State == state.StateConflict:
				d.Unmanaged = append(d.Unmanaged, item)
			case !kisiglue.SameWindow(rec.Window, item.Window):
				item.Email = rec.Email
				d.Edited = append(d.Edited, item)
				rec.Window = item.Window
				errs = append(errs, ru.put(ctx, rec))
				if kind == state.KindRole {
					errs = append(errs, ru.forgetPatchVerified(ctx))
				}
			}
			continue
		}
		i := slices.IndexFunc(recs, func(rec state.Record) bool { return rec.State == state.StatePending && o.matches(rec) })
		if i >= 0 && kind == state.KindLink && ru.r.o.notifier != nil {
			// Adopted by the next plan, which replaces it: its secret was
			// lost with the response, and the Notifier must send one.
			seen[item.KisiID] = true
			continue
		}
		if i >= 0 {
			recs[i].State, recs[i].KisiID = state.StateSettled, item.KisiID
			errs = append(errs, ru.put(ctx, recs[i]))
			item.Email, item.Reason = recs[i].Email, adoptInterrupted
			d.Adopted = append(d.Adopted, item)
			seen[item.KisiID] = true
			claimed[recs[i].Key] = true
			continue
		}
		if o.claim != nil {
			rec, reason, err := o.claim(ctx)
			if err != nil {
				errs = append(errs, err)
			}
			live, ok := ru.recs[rec.Key]
			taken := ok && live.State == state.StateSettled && live.KisiID != item.KisiID
			if reason != "" && !claimed[rec.Key] && !taken {
				claimed[rec.Key] = true
				errs = append(errs, ru.put(ctx, rec))
				item.Email, item.Reason = rec.Email, reason
				d.Adopted = append(d.Adopted, item)
				continue
			}
		}
		if o.heldBy != nil {
			// A create left pending (a crash) for a user who holds this role
			// not managed here cannot have happened (Kisi holds one role per
			// user and group): it is the conflict it met, so the role stays
			// reported once that access is no longer wanted.
			i := slices.IndexFunc(recs, func(rec state.Record) bool { return rec.State == state.StatePending && o.heldBy(rec) })
			if i >= 0 && !claimed[recs[i].Key] {
				recs[i].State, recs[i].KisiID = state.StateConflict, item.KisiID
				errs = append(errs, ru.put(ctx, recs[i]))
				claimed[recs[i].Key] = true
			}
		}
		d.Unmanaged = append(d.Unmanaged, item)
	}
	errs = append(errs, ru.unseen(ctx, kind, g, recs, seen, claimed, d))
	return errors.Join(errs...)
}

// unseen repairs the records of kind in group g whose objects Verify did not
// see in Kisi: a managed object deleted there is marked gone (or forgotten
// once its window has ended), and a conflict whose unmanaged role is gone is
// released. Records re-keyed by an adoption (claimed) are left as adopted.
func (ru *run) unseen(ctx context.Context, kind state.RecordKind, g int64, recs []state.Record, seen map[int64]bool, claimed map[string]bool, d *Drift) error {
	now := ru.r.o.clock.Now()
	var errs []error
	for _, rec := range recs {
		if rec.KisiID == 0 || seen[rec.KisiID] || claimed[rec.Key] {
			continue
		}
		item := DriftItem{Object: objectOf(kind), KisiID: rec.KisiID, GroupID: g, Email: rec.Email, UserID: rec.UserID, Window: rec.Window}
		switch rec.State {
		case state.StateSettled:
			if ended(rec.Window, now) {
				// Kisi may drop expired objects itself: nothing left to clean up.
				errs = append(errs, ru.del(ctx, rec.Key))
				continue
			}
			d.Missing = append(d.Missing, item)
			rec.State = state.StateGone
			errs = append(errs, ru.put(ctx, rec))
		case state.StateConflict:
			d.Released = append(d.Released, item)
			errs = append(errs, ru.del(ctx, rec.Key))
		}
	}
	return errors.Join(errs...)
}

// verifyUsers reports regular users this SDK created that are still
// unconfirmed, and notes the ones that confirmed.
func (ru *run) verifyUsers(ctx context.Context, d *Drift) error {
	pending := make(map[int64]state.Record)
	for _, rec := range ru.recs {
		if rec.Kind == state.KindUser && rec.Created && !rec.Managed && !rec.Confirmed && rec.KisiID != 0 {
			pending[rec.KisiID] = rec
		}
	}
	if len(pending) == 0 {
		return nil
	}
	users, err := ru.pendingUsers(ctx, pending)
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range slices.Sorted(maps.Keys(users)) {
		u := users[id]
		rec, ok := pending[u.ID]
		if !ok {
			continue
		}
		// Status, not the deprecated "confirmed" key alone: without the
		// key the answer cannot tell, and the user is not listed.
		switch u.Status() {
		case kisi.UserStatusActive:
			rec.Confirmed = true
			errs = append(errs, ru.put(ctx, rec))
		case kisi.UserStatusPending:
			d.Unconfirmed = append(d.Unconfirmed, rec.Email)
		}
	}
	slices.Sort(d.Unconfirmed)
	return errors.Join(errs...)
}

// pendingUsers returns Kisi's users of pending, by id: from the list of
// the organization's users when this Verify listed it already or when
// that takes no more requests (100 users a page; the Store's users are
// at most Kisi's), else looked up by email, one request each.
func (ru *run) pendingUsers(ctx context.Context, pending map[int64]state.Record) (map[int64]*kisi.User, error) {
	if ru.kisiUsers != nil {
		return ru.kisiUsers, nil
	}
	known := 0
	for _, rec := range ru.recs {
		if rec.Kind == state.KindUser {
			known++
		}
	}
	if len(pending) >= (known+99)/100 && !ru.usersCapped {
		if users, err := ru.users(ctx); !ru.usersCapped {
			return users, err
		}
	}
	out := make(map[int64]*kisi.User, len(pending))
	for _, id := range slices.Sorted(maps.Keys(pending)) {
		users, err := kisi.All(ctx, ru.r.k.ListUsers, &kisi.UserListOptions{Email: pending[id].Email})
		if err != nil {
			return nil, err
		}
		for _, u := range users {
			if u.ID == id {
				out[id] = u
			}
		}
	}
	return out, nil
}
