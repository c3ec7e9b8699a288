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
	// Edited: managed roles whose window was changed outside this SDK; the
	// Store now holds Kisi's window, so the next run restores the desired one.
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
	release, err := r.lease(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	recs, err := r.st.Load(ctx, r.o.org)
	if err != nil {
		return nil, fmt.Errorf("access: load store of %q: %w", r.o.org, err)
	}
	ru := &run{r: r, rep: &Report{}, recs: make(map[string]Record, len(recs)), renewed: r.o.clock.Now(), tried: map[string]bool{}}
	groups := slices.Clone(r.m.Groups())
	for _, rec := range recs {
		ru.recs[rec.Key] = rec
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
	recs := ru.recordsIn(KindRole, g)
	byID := make(map[int64]Record)
	for _, rec := range recs {
		if rec.KisiID != 0 && (rec.State == StateSettled || rec.State == StateConflict) {
			byID[rec.KisiID] = rec
		}
	}
	seen := make(map[int64]bool)
	var errs []error
	for _, ra := range roles {
		win := kisiWindow(ra.ValidFrom, ra.ValidUntil)
		item := DriftItem{Object: ObjectGrant, KisiID: ra.ID, GroupID: g, UserID: ra.AssigneeID, Window: win}
		if ra.Assignee != nil {
			item.Email = ra.Assignee.Email
		}
		if rec, ok := byID[ra.ID]; ok {
			seen[ra.ID] = true
			if rec.State == StateConflict {
				d.Unmanaged = append(d.Unmanaged, item)
				continue
			}
			if !sameWindow(rec.Window, win) {
				item.Email = rec.Email
				d.Edited = append(d.Edited, item)
				rec.Window = win
				errs = append(errs, ru.put(ctx, rec))
			}
			continue
		}
		adopted := false
		for _, rec := range recs {
			if rec.State == StatePending && ra.AssigneeType == "User" && rec.UserID == ra.AssigneeID &&
				ra.RoleID == RoleID && sameWindow(rec.Window, win) {
				rec.State, rec.KisiID = StateSettled, ra.ID
				errs = append(errs, ru.put(ctx, rec))
				item.Email = rec.Email
				d.Adopted = append(d.Adopted, item)
				seen[ra.ID], adopted = true, true
				break
			}
		}
		if !adopted {
			d.Unmanaged = append(d.Unmanaged, item)
		}
	}
	for _, rec := range recs {
		if rec.KisiID == 0 || seen[rec.KisiID] {
			continue
		}
		item := DriftItem{Object: ObjectGrant, KisiID: rec.KisiID, GroupID: g, Email: rec.Email, UserID: rec.UserID, Window: rec.Window}
		switch rec.State {
		case StateSettled:
			if ended(rec.Window, ru.r.o.clock.Now()) {
				// Kisi may drop expired roles itself: nothing left to clean up.
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

func (ru *run) verifyLinks(ctx context.Context, g int64, d *Drift) error {
	links, err := collect(ctx, func(lo kisi.ListOptions) ([]*kisi.GroupLink, *kisi.Response, error) {
		return ru.r.k.ListGroupLinks(ctx, &kisi.GroupLinkListOptions{GroupID: g, ListOptions: lo})
	}, pageSize)
	if err != nil {
		return err
	}
	recs := ru.recordsIn(KindLink, g)
	byID := make(map[int64]Record)
	for _, rec := range recs {
		if rec.KisiID != 0 && rec.State == StateSettled {
			byID[rec.KisiID] = rec
		}
	}
	seen := make(map[int64]bool)
	var errs []error
	for _, l := range links {
		item := DriftItem{Object: ObjectLink, KisiID: l.ID, GroupID: g, Window: kisiWindow(l.ValidFrom, l.ValidUntil)}
		if l.Email != nil {
			item.Email = *l.Email
		}
		if _, ok := byID[l.ID]; ok {
			seen[l.ID] = true
			continue
		}
		adopted := false
		for _, rec := range recs {
			if rec.State == StatePending && linkMatches(l, rec) {
				rec.State, rec.KisiID = StateSettled, l.ID
				errs = append(errs, ru.put(ctx, rec))
				d.Adopted = append(d.Adopted, item)
				seen[l.ID], adopted = true, true
				break
			}
		}
		if !adopted {
			d.Unmanaged = append(d.Unmanaged, item)
		}
	}
	for _, rec := range recs {
		if rec.State != StateSettled || seen[rec.KisiID] {
			continue
		}
		if ended(rec.Window, ru.r.o.clock.Now()) {
			errs = append(errs, ru.del(ctx, rec.Key))
			continue
		}
		d.Missing = append(d.Missing, DriftItem{Object: ObjectLink, KisiID: rec.KisiID, GroupID: g, Email: rec.Email, Window: rec.Window})
		rec.State = StateGone
		errs = append(errs, ru.put(ctx, rec))
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
