package opsim

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kisisync/kisisync/kisi"
)

// ownership is the number the checks give the design's ownership rule
// (DESIGN.md, "Safety rules": the SDK deletes only what it created), which
// they check like the five invariants.
const ownership = 6

// staffRoom is a group of the organization's that no mapping names.
const staffRoom = "staff-room"

// The hand-made objects every world starts with, besides the groups and the
// admin's and observer's users: a front desk user (not a member) with a role
// in a mapped group and one in the unmapped staff room, a user made by hand
// for a member before the SDK ran, and a link made by hand in a mapped room.
const (
	frontDeskEmail = "frontdesk@example.net"
	handMember     = "m03"
	visitorEmail   = "visitor@example.net"
)

// handObject is a Kisi object made by hand — set up with the organization,
// or made by its admin in Kisi's dashboard — which the SDK did not create and
// must never change or delete.
type handObject struct {
	what  string // says which object, for a violation
	group bool
	// adoptable marks a role the design lets the SDK adopt, and then
	// correct: in a mapped group, held by a user the SDK created ("Verify
	// adopts the roles its users hold in mapped groups"), or in any mapped
	// group when the world declares the groups the platform's own
	// (WithExclusiveGroups).
	adoptable bool
	// fp is the object as the observer last read it before any run could
	// touch it; "" for a group, which the observer does not read.
	fp string
}

// madeByHand records the object id as made by hand.
func (w *world) madeByHand(id int64, what string, adoptable bool) {
	if w.hand == nil {
		w.hand = map[int64]*handObject{}
	}
	w.hand[id] = &handObject{what: what, adoptable: adoptable}
}

// handRole records a role made by hand in group g for user uid, and
// whether the design lets the SDK adopt it.
func (w *world) handRole(id, g, uid int64, who string) {
	_, userByHand := w.hand[uid]
	adoptable := w.groupName[g] != staffRoom && (w.h.World.Exclusive || !userByHand)
	w.madeByHand(id, fmt.Sprintf("the role of %s in %s, made by hand", who, w.groupName[g]), adoptable)
	w.handRoles[id] = true
}

// seedHand makes the hand-made objects every world starts with.
func (w *world) seedHand(ctx context.Context) error {
	now := w.clock.Now()
	until := now.AddDate(0, 2, 0)
	user := func(email, name string) (int64, error) {
		u, _, err := w.admin.Users.Create(ctx, &kisi.UserCreateRequest{Email: email, Name: name})
		if err != nil {
			return 0, fmt.Errorf("opsim: hand-made user %s: %w", email, err)
		}
		w.madeByHand(u.ID, "the user "+email+", made by hand", false)
		return u.ID, nil
	}
	desk, err := user(frontDeskEmail, "Front desk")
	if err != nil {
		return err
	}
	if _, err := user(emailOf(handMember), strings.ToUpper(handMember)); err != nil {
		return err
	}
	for _, g := range []string{"berlin-front", staffRoom} {
		ra, _, err := w.admin.RoleAssignments.Create(ctx, &kisi.RoleAssignmentCreateRequest{RoleID: kisi.RoleGroupBasic,
			AppliesToType: kisi.ScopeGroup, AppliesToID: w.groups[g], AssigneeType: kisi.AssigneeUser, AssigneeID: desk,
			ValidFrom: &now, ValidUntil: &until})
		if err != nil {
			return fmt.Errorf("opsim: hand-made role in %s: %w", g, err)
		}
		w.handRole(ra.ID, w.groups[g], desk, frontDeskEmail)
	}
	// The visitor's pass expires on the first day: an expired link still
	// counts toward Kisi's email-link quota, and only the SDK's own may go
	// to free a place.
	email, passEnd := visitorEmail, now.Add(6*time.Hour)
	l, _, err := w.admin.GroupLinks.Create(ctx, &kisi.GroupLinkCreateRequest{GroupID: w.groups["room-a"], Name: "Visitor pass",
		Email: &email, ValidFrom: &now, ValidUntil: &passEnd})
	if err != nil {
		return fmt.Errorf("opsim: hand-made link: %w", err)
	}
	w.madeByHand(l.ID, "the link of "+visitorEmail+" to room-a, made by hand", false)
	w.handRoles[l.ID] = true
	for _, email := range []string{observerEmail, adminEmail} {
		if id := w.obs.userID(email); id != 0 {
			w.madeByHand(id, "the user "+email+", made by hand", false)
		}
	}
	for name, id := range w.groups {
		w.madeByHand(id, "the group "+name, false)
		w.hand[id].group = true
	}
	n := len(w.hand)
	if err := w.rebaseHand(ctx); err != nil {
		return err
	}
	if len(w.hand) != n {
		return fmt.Errorf("opsim: the observer sees %d of the %d objects made by hand", len(w.hand), n)
	}
	return nil
}

// rebaseHand reads the hand-made objects as they are now, after the world
// was set up or its admin edited Kisi: those the admin deleted (a user, with
// its roles; a group, with its roles and links) are no longer followed.
func (w *world) rebaseHand(ctx context.Context) error {
	w.obs.dirty = true
	if err := w.obs.refresh(ctx); err != nil {
		return err
	}
	for id, h := range w.hand {
		if h.group {
			if w.deletedGroups[id] {
				delete(w.hand, id)
			}
			continue
		}
		fp := w.obs.fp[id]
		if fp == "" {
			delete(w.hand, id) // deleted by the admin
			continue
		}
		h.fp = fp
	}
	return nil
}

// ownWrite checks a write request a process sends: it must not change or
// delete an object made by hand (unless the design lets the SDK adopt it).
func (w *world) ownWrite(p *process, req *http.Request) {
	switch req.Method {
	case http.MethodDelete, http.MethodPatch, http.MethodPut:
	default:
		return
	}
	for _, seg := range strings.Split(req.URL.Path, "/") {
		id, err := strconv.ParseInt(seg, 10, 64)
		if err != nil {
			continue
		}
		if h := w.hand[id]; h != nil && !h.adoptable {
			w.violate(ownership, "%s sent %s %s: it wrote to %s, which it did not create", p.holder(), req.Method,
				req.URL.Path, h.what)
		}
	}
}

// checkHand compares the hand-made objects with what Kisi holds now
// (after every run): none may be gone or changed, except by the admin.
func (c *checker) checkHand(n int) {
	w := c.w
	ids := make([]int64, 0, len(w.hand))
	for id := range w.hand {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		h := w.hand[id]
		if h.fp == "" || h.adoptable {
			continue
		}
		switch now := w.obs.fp[id]; {
		case now == "":
			w.violate(ownership, "after run %d, %s is gone from Kisi", n, h.what)
		case now != h.fp:
			w.violate(ownership, "after run %d, %s was changed: %s, was %s", n, h.what, now, h.fp)
		}
	}
}

// userByHand says, for a violation's text, whether the Kisi user of email
// was made by hand: the reconciler cannot tell its roles from hand-made ones
// once its Store is lost.
func (w *world) userByHand(email string) string {
	if w.obs == nil {
		return ""
	}
	if h := w.hand[w.obs.userID(email)]; h != nil && !h.group {
		return " (its Kisi user made by hand)"
	}
	return ""
}
