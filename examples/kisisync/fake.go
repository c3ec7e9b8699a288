package main

import (
	"context"
	"fmt"

	"github.com/jonboulle/clockwork"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/kisi/kisitest"
	"github.com/kisisync/kisisync/mapping"
)

// startFake starts the embedded fake Kisi with one group (and one door) per
// group of the mapping, on clock, and returns a client for it that speaks in the
// mapping's group ids. The fake numbers its groups itself, so groupIDs
// translates between the two.
func startFake(m mapping.Mapping, clock clockwork.Clock) (*kisitest.Server, *kisi.Client, *groupIDs, error) {
	srv := kisitest.NewServer(kisitest.WithClock(clock), kisitest.WithoutRateLimit())
	client, err := kisi.NewClient(srv.APIKey, kisi.WithBaseURL(srv.URL), kisi.WithRateLimit(1000, 100))
	if err != nil {
		srv.Close()
		return nil, nil, nil, err
	}
	ids := &groupIDs{toFake: map[int64]int64{}, fromFake: map[int64]int64{}}
	if err := seed(srv, m, ids); err != nil {
		srv.Close()
		return nil, nil, nil, fmt.Errorf("fake kisi: %w", err)
	}
	return srv, client, ids, nil
}

// seed creates a place and, per group of the mapping, a group named
// "group <id>" holding one door.
func seed(srv *kisitest.Server, m mapping.Mapping, ids *groupIDs) error {
	place, err := srv.AddPlace("Fake place", "")
	if err != nil {
		return err
	}
	for _, g := range m.Groups() {
		id, err := srv.AddGroup(fmt.Sprintf("group %d", g), place)
		if err != nil {
			return err
		}
		door, err := srv.AddLock(place, fmt.Sprintf("door of group %d", g))
		if err != nil {
			return err
		}
		if _, err := srv.AddGroupLock(id, door); err != nil {
			return err
		}
		ids.toFake[g], ids.fromFake[id] = id, g
	}
	return nil
}

// groupIDs maps the mapping's group ids to the fake's and back.
type groupIDs struct {
	toFake, fromFake map[int64]int64
}

func (g *groupIDs) fake(id int64) int64 {
	if f, ok := g.toFake[id]; ok {
		return f
	}
	return id
}

func (g *groupIDs) mapped(id int64) int64 {
	if m, ok := g.fromFake[id]; ok {
		return m
	}
	return id
}

// translated is an access.KisiAPI over the fake that shows the reconciler
// the mapping's group ids. Requests and results are copied, never changed
// in place.
type translated struct {
	access.KisiAPI
	ids *groupIDs
}

func (t translated) role(ra *kisi.RoleAssignment) *kisi.RoleAssignment {
	if ra == nil || ra.AppliesToType != kisi.ScopeGroup {
		return ra
	}
	c := *ra
	c.AppliesToID = t.ids.mapped(ra.AppliesToID)
	if ra.AppliesTo != nil {
		ref := *ra.AppliesTo
		ref.ID = c.AppliesToID
		c.AppliesTo = &ref
	}
	return &c
}

func (t translated) link(l *kisi.GroupLink) *kisi.GroupLink {
	if l == nil {
		return nil
	}
	c := *l
	c.GroupID = t.ids.mapped(l.GroupID)
	if l.Group != nil {
		ref := *l.Group
		ref.ID = c.GroupID
		c.Group = &ref
	}
	return &c
}

func (t translated) ListRoleAssignments(ctx context.Context, opts *kisi.RoleAssignmentListOptions) ([]*kisi.RoleAssignment, *kisi.Response, error) {
	if opts != nil && opts.AppliesToType == kisi.ScopeGroup {
		o := *opts
		o.AppliesToID = t.ids.fake(opts.AppliesToID)
		opts = &o
	}
	ras, resp, err := t.KisiAPI.ListRoleAssignments(ctx, opts)
	return mapEach(ras, t.role), resp, err
}

func (t translated) CreateRoleAssignment(ctx context.Context, req *kisi.RoleAssignmentCreateRequest) (*kisi.RoleAssignment, *kisi.Response, error) {
	if req != nil && req.AppliesToType == kisi.ScopeGroup {
		r := *req
		r.AppliesToID = t.ids.fake(req.AppliesToID)
		req = &r
	}
	ra, resp, err := t.KisiAPI.CreateRoleAssignment(ctx, req)
	return t.role(ra), resp, err
}

func (t translated) ListGroupLinks(ctx context.Context, opts *kisi.GroupLinkListOptions) ([]*kisi.GroupLink, *kisi.Response, error) {
	if opts != nil {
		o := *opts
		o.GroupID = t.ids.fake(opts.GroupID)
		opts = &o
	}
	ls, resp, err := t.KisiAPI.ListGroupLinks(ctx, opts)
	return mapEach(ls, t.link), resp, err
}

func (t translated) CreateGroupLink(ctx context.Context, req *kisi.GroupLinkCreateRequest) (*kisi.GroupLink, *kisi.Response, error) {
	if req != nil {
		r := *req
		r.GroupID = t.ids.fake(req.GroupID)
		req = &r
	}
	l, resp, err := t.KisiAPI.CreateGroupLink(ctx, req)
	return t.link(l), resp, err
}

// mapEach returns f of every element of xs, in a new slice.
func mapEach[T any](xs []*T, f func(*T) *T) []*T {
	out := make([]*T, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}
