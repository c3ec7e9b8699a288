package opsim

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kisisync/kisisync/internal/kisiglue"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/schedule"
)

// held is one role or link Kisi holds: who it lets through which group's
// doors, when.
type held struct {
	id     int64
	email  string
	group  int64
	window schedule.Interval
	link   bool
}

// pair is a (member or guest email, group): what one role or link grants.
type pair struct {
	email string
	group int64
}

func (p pair) String() string { return fmt.Sprintf("%s/%d", p.email, p.group) }

// observer reads what the fake holds through its API, with a key the rate
// limit does not count. It reads again only after a write: between writes
// Kisi's state does not change, only the clock.
type observer struct {
	c      *kisi.Client
	groups map[int64]string // the groups to read, by id
	// gone are the groups deleted by hand.
	gone map[int64]bool

	dirty  bool
	users  map[int64]string // id → email, lower case
	byMail map[string]int64
	holds  map[pair][]held
	// objects are the groups of the roles and links seen, by id.
	objects map[int64]int64
	// links are every link seen with an email, by id (each one an email
	// from Kisi to its guest).
	links map[int64]held
	// fp is every user, role and link Kisi holds now, by id, as JSON.
	fp     map[int64]string
	userFP map[int64]string
}

// asJSON returns v as JSON, to compare an object with itself later.
func asJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// emailOf returns the email of a user, reading the users again for one
// created since the last read.
func (o *observer) emailOf(userID int64) string {
	if _, ok := o.users[userID]; !ok && userID != 0 {
		_ = o.readUsers(context.Background())
	}
	if e, ok := o.users[userID]; ok {
		return e
	}
	return "user-" + strconv.FormatInt(userID, 10)
}

// readUsers reads the organization's users.
func (o *observer) readUsers(ctx context.Context) error {
	users, err := kisi.All(ctx, o.c.ListUsers, &kisi.UserListOptions{})
	if err != nil {
		return fmt.Errorf("opsim: observer: users: %w", err)
	}
	o.users, o.byMail = make(map[int64]string, len(users)), make(map[string]int64, len(users))
	o.userFP = make(map[int64]string, len(users))
	for _, u := range users {
		o.userFP[u.ID] = asJSON(u)
		e := strings.ToLower(u.Email)
		o.users[u.ID], o.byMail[e] = e, u.ID
	}
	return nil
}

func (o *observer) userID(email string) int64 { return o.byMail[strings.ToLower(email)] }

// groupOfObject returns the group of the role or link a path such as
// "/role_assignments/12" names, or 0.
func (o *observer) groupOfObject(path string) int64 {
	i := strings.LastIndexByte(path, '/')
	id, err := strconv.ParseInt(path[i+1:], 10, 64)
	if err != nil {
		return 0
	}
	return o.objects[id]
}

// refresh reads the fake's users, roles and links again if anything was
// written since the last read.
func (o *observer) refresh(ctx context.Context) error {
	if !o.dirty {
		return nil
	}
	if o.links == nil {
		o.links, o.objects = map[int64]held{}, map[int64]int64{}
	}
	if err := o.readUsers(ctx); err != nil {
		return err
	}
	o.holds = map[pair][]held{}
	o.fp = maps.Clone(o.userFP)
	for _, g := range slices.Sorted(maps.Keys(o.groups)) {
		if o.gone[g] {
			continue
		}
		roles, err := kisi.All(ctx, o.c.ListRoleAssignments,
			&kisi.RoleAssignmentListOptions{AppliesToType: "Group", AppliesToID: g})
		if err != nil {
			return fmt.Errorf("opsim: observer: roles of group %d: %w", g, err)
		}
		for _, ra := range roles {
			o.fp[ra.ID] = asJSON(ra)
			if ra.AssigneeType != "User" {
				continue
			}
			h := held{id: ra.ID, email: o.emailOf(ra.AssigneeID), group: g, window: kisiglue.RoleWindow(ra)}
			o.holds[pair{h.email, g}] = append(o.holds[pair{h.email, g}], h)
			o.objects[ra.ID] = g
		}
		links, err := kisi.All(ctx, o.c.ListGroupLinks, &kisi.GroupLinkListOptions{GroupID: g})
		if err != nil {
			return fmt.Errorf("opsim: observer: links of group %d: %w", g, err)
		}
		for _, l := range links {
			o.fp[l.ID] = asJSON(l)
			if l.Email == nil || !l.LinkEnabled {
				continue
			}
			h := held{id: l.ID, email: strings.ToLower(*l.Email), group: g, link: true,
				window: kisiglue.Window(l.ValidFrom, l.ValidUntil)}
			o.holds[pair{h.email, g}] = append(o.holds[pair{h.email, g}], h)
			o.objects[l.ID] = g
			o.links[l.ID] = h
		}
	}
	o.dirty = false
	return nil
}

// covered reports whether Kisi lets p through at t.
func (o *observer) covered(p pair, t time.Time) bool {
	for _, h := range o.holds[p] {
		if h.window.Contains(t) {
			return true
		}
	}
	return false
}

// windows returns the windows of the roles and links Kisi holds for p.
func (o *observer) windows(p pair) schedule.Set {
	var s schedule.Set
	for _, h := range o.holds[p] {
		s = s.Union(schedule.NewSet(h.window))
	}
	return s
}
