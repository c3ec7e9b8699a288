package access

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

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
	// Adopted: objects created by an interrupted run (lost response, crash),
	// now managed.
	Adopted []DriftItem `json:"adopted,omitempty"`
	// Released: conflicts whose unmanaged role is gone; the next run creates
	// the grant.
	Released []DriftItem `json:"released,omitempty"`
	// Unmanaged: roles and links in mapped groups that this SDK did not
	// create ("not managed here"). They are never changed or deleted.
	Unmanaged []DriftItem `json:"unmanaged,omitempty"`
	// Unconfirmed: emails of regular users this SDK created who have not
	// confirmed their Kisi account yet.
	Unconfirmed []string `json:"unconfirmed,omitempty"`
}

// DriftItem is one Kisi object named in a [Drift].
type DriftItem struct {
	Object  ObjectKind        `json:"object"`
	KisiID  int64             `json:"kisi_id"`
	GroupID int64             `json:"group_id"`
	Email   string            `json:"email,omitempty"`
	UserID  int64             `json:"user_id,omitempty"`
	Window  schedule.Interval `json:"window,omitzero"`
}

// Verify lists Kisi's role assignments and group links of every mapped
// group (and every group the Store has records in), compares them with the
// Store and repairs the Store's view of what this SDK owns; the next Sync
// then puts Kisi right. It never writes to Kisi. Call it periodically
// (hourly, daily) or after restoring a Store; steady-state runs do not need
// it.
//
// It makes ⌈n/250⌉ list calls per group for n roles (and the same for
// links), plus ⌈u/100⌉ user list calls for u users when a user this SDK
// created has not been seen confirmed yet.
func (r *Reconciler) Verify(ctx context.Context) (*Drift, error) {
	release, recs, err := r.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	ru := r.newRun(recs)
	groups := slices.Clone(r.m.Groups())
	for _, rec := range recs {
		if rec.GroupID != 0 {
			groups = append(groups, rec.GroupID)
		}
	}
	slices.Sort(groups)
	groups = slices.Compact(groups)

	d := &Drift{Groups: len(groups)}
	var errs []error
	for _, g := range groups {
		if err := ru.renew(ctx); err != nil {
			return d, err
		}
		if err := ru.verifyRoles(ctx, g, d); err != nil {
			errs = append(errs, fmt.Errorf("access: verify roles of group %d: %w", g, err))
		}
		if err := ru.verifyLinks(ctx, g, d); err != nil {
			errs = append(errs, fmt.Errorf("access: verify links of group %d: %w", g, err))
		}
		if err := errors.Join(errs...); errors.Is(err, ErrLeaseLost) {
			return d, err // fenced: another run holds the organization now
		}
	}
	if err := ru.verifyUsers(ctx, d); err != nil {
		errs = append(errs, fmt.Errorf("access: verify users: %w", err))
	}
	return d, errors.Join(errs...)
}

// recordsIn returns the records of kind in group g, sorted by key.
func (ru *run) recordsIn(kind RecordKind, g int64) []Record {
	var out []Record
	for _, rec := range ru.recs {
		if rec.Kind == kind && rec.GroupID == g {
			out = append(out, rec)
		}
	}
	slices.SortFunc(out, func(a, b Record) int { return strings.Compare(a.Key, b.Key) })
	return out
}

func (ru *run) verifyRoles(ctx context.Context, g int64, d *Drift) error {
	roles, err := collect(ctx, func(lo kisi.ListOptions) ([]*kisi.RoleAssignment, *kisi.Response, error) {
		return ru.r.k.ListRoleAssignments(ctx, &kisi.RoleAssignmentListOptions{AppliesToType: "Group", AppliesToID: g, ListOptions: lo})
	}, pageSize)
	if err != nil {
		return err
	}
	objs := make([]observed, len(roles))
	for i, ra := range roles {
		objs[i] = observed{
			item: DriftItem{Object: ObjectGrant, KisiID: ra.ID, GroupID: g, UserID: ra.AssigneeID, Window: kisiWindow(ra.ValidFrom, ra.ValidUntil)},
			matches: func(rec Record) bool {
				return ra.AssigneeType == "User" && rec.UserID == ra.AssigneeID && ra.RoleID == RoleID &&
					sameWindow(rec.Window, kisiWindow(ra.ValidFrom, ra.ValidUntil))
			},
		}
		if ra.Assignee != nil {
			objs[i].item.Email = ra.Assignee.Email
		}
	}
	return ru.verifyGroup(ctx, KindRole, g, objs, d)
}

func (ru *run) verifyLinks(ctx context.Context, g int64, d *Drift) error {
	links, err := collect(ctx, func(lo kisi.ListOptions) ([]*kisi.GroupLink, *kisi.Response, error) {
		return ru.r.k.ListGroupLinks(ctx, &kisi.GroupLinkListOptions{GroupID: g, ListOptions: lo})
	}, pageSize)
	if err != nil {
		return err
	}
	objs := make([]observed, len(links))
	for i, l := range links {
		objs[i] = observed{
			item:    DriftItem{Object: ObjectLink, KisiID: l.ID, GroupID: g, Window: kisiWindow(l.ValidFrom, l.ValidUntil)},
			matches: func(rec Record) bool { return linkMatches(l, rec) },
		}
		if l.Email != nil {
			objs[i].item.Email = *l.Email
		}
	}
	return ru.verifyGroup(ctx, KindLink, g, objs, d)
}

// observed is a Kisi object Verify listed.
type observed struct {
	item DriftItem
	// matches reports whether the object is the one a pending intent asked for.
	matches func(rec Record) bool
}

// verifyGroup compares the objects of one kind Kisi lists in group g with
// the Store's records and repairs the records: a managed object whose window
// was edited takes Kisi's window, an object a pending intent asked for is
// adopted (once: an identical second one stays unmanaged), a managed object
// missing from Kisi is marked gone (or forgotten once its window has ended),
// and a conflict whose unmanaged role is gone is released.
func (ru *run) verifyGroup(ctx context.Context, kind RecordKind, g int64, objs []observed, d *Drift) error {
	now := ru.r.o.clock.Now()
	recs := ru.recordsIn(kind, g)
	byID := make(map[int64]Record)
	for _, rec := range recs {
		if rec.KisiID != 0 && (rec.State == StateSettled || rec.State == StateConflict) {
			byID[rec.KisiID] = rec
		}
	}
	seen := make(map[int64]bool)
	var errs []error
	for _, o := range objs {
		item := o.item
		if rec, ok := byID[item.KisiID]; ok {
			seen[item.KisiID] = true
			switch {
			case rec.State == StateConflict:
				d.Unmanaged = append(d.Unmanaged, item)
			case !sameWindow(rec.Window, item.Window):
				item.Email = rec.Email
				d.Edited = append(d.Edited, item)
				rec.Window = item.Window
				errs = append(errs, ru.put(ctx, rec))
			}
			continue
		}
		i := slices.IndexFunc(recs, func(rec Record) bool { return rec.State == StatePending && o.matches(rec) })
		if i < 0 {
			d.Unmanaged = append(d.Unmanaged, item)
			continue
		}
		recs[i].State, recs[i].KisiID = StateSettled, item.KisiID
		errs = append(errs, ru.put(ctx, recs[i]))
		item.Email = recs[i].Email
		d.Adopted = append(d.Adopted, item)
		seen[item.KisiID] = true
	}
	for _, rec := range recs {
		if rec.KisiID == 0 || seen[rec.KisiID] {
			continue
		}
		item := DriftItem{Object: objectOf(kind), KisiID: rec.KisiID, GroupID: g, Email: rec.Email, UserID: rec.UserID, Window: rec.Window}
		switch rec.State {
		case StateSettled:
			if ended(rec.Window, now) {
				// Kisi may drop expired objects itself: nothing left to clean up.
				errs = append(errs, ru.del(ctx, rec.Key))
				continue
			}
			d.Missing = append(d.Missing, item)
			rec.State = StateGone
			errs = append(errs, ru.put(ctx, rec))
		case StateConflict:
			d.Released = append(d.Released, item)
			errs = append(errs, ru.del(ctx, rec.Key))
		}
	}
	return errors.Join(errs...)
}

// verifyUsers reports regular users this SDK created that are still
// unconfirmed, and notes the ones that confirmed.
func (ru *run) verifyUsers(ctx context.Context, d *Drift) error {
	pending := make(map[int64]Record)
	for _, rec := range ru.recs {
		if rec.Kind == KindUser && rec.Created && !rec.Managed && !rec.Confirmed && rec.KisiID != 0 {
			pending[rec.KisiID] = rec
		}
	}
	if len(pending) == 0 {
		return nil
	}
	users, err := collect(ctx, func(lo kisi.ListOptions) ([]*kisi.User, *kisi.Response, error) {
		return ru.r.k.ListUsers(ctx, &kisi.UserListOptions{ListOptions: lo})
	}, userPageSize)
	if err != nil {
		return err
	}
	var errs []error
	for _, u := range users {
		rec, ok := pending[u.ID]
		if !ok {
			continue
		}
		if u.Confirmed {
			rec.Confirmed = true
			errs = append(errs, ru.put(ctx, rec))
			continue
		}
		d.Unconfirmed = append(d.Unconfirmed, rec.Email)
	}
	slices.Sort(d.Unconfirmed)
	return errors.Join(errs...)
}
