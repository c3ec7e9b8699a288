package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/mapping"
)

// groupInfo is one Kisi group as the groups command lists it.
type groupInfo struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Place string `json:"place,omitempty"`
	// Doors are the names of the doors a mapped group opens (listed one
	// request per group); DoorCount is Kisi's count for every group.
	Doors     []string `json:"doors,omitempty"`
	DoorCount int      `json:"door_count"`
	// MappedBy are the mapping's entries that grant the group.
	MappedBy []string `json:"mapped_by,omitempty"`
}

// groupList is the output of the groups command.
type groupList struct {
	Groups []groupInfo `json:"groups"`
	// Missing are the mapped groups Kisi does not have.
	Missing []groupInfo `json:"missing,omitempty"`
}

// groupReader is what the groups command reads from Kisi.
type groupReader interface {
	ListGroupsAll(ctx context.Context) ([]*kisi.Group, error)
	ListGroupLocks(ctx context.Context, opts *kisi.GroupLockListOptions) ([]*kisi.GroupLock, *kisi.Response, error)
}

// kisiGroups reads the groups of a real Kisi.
type kisiGroups struct{ c *kisi.Client }

func (k kisiGroups) ListGroupsAll(ctx context.Context) ([]*kisi.Group, error) {
	var out []*kisi.Group
	for g, err := range k.c.Groups.ListIter(ctx, nil) {
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, nil
}

func (k kisiGroups) ListGroupLocks(ctx context.Context, opts *kisi.GroupLockListOptions) ([]*kisi.GroupLock, *kisi.Response, error) {
	return k.c.ListGroupLocks(ctx, opts)
}

// fakeGroups reads the groups of the embedded fake, with the mapping's ids.
type fakeGroups struct {
	kisiGroups
	ids *groupIDs
}

func (f fakeGroups) ListGroupsAll(ctx context.Context) ([]*kisi.Group, error) {
	gs, err := f.kisiGroups.ListGroupsAll(ctx)
	for i, g := range gs {
		c := *g
		c.ID = f.ids.mapped(g.ID)
		gs[i] = &c
	}
	return gs, err
}

func (f fakeGroups) ListGroupLocks(ctx context.Context, opts *kisi.GroupLockListOptions) ([]*kisi.GroupLock, *kisi.Response, error) {
	o := *opts
	o.GroupID = f.ids.fake(opts.GroupID)
	return f.kisiGroups.ListGroupLocks(ctx, &o)
}

// listGroups lists the organization's groups, with the doors of the mapped
// ones and the mapping entries of each, and the mapped groups Kisi lacks.
func listGroups(ctx context.Context, k groupReader, m mapping.Mapping) (*groupList, error) {
	gs, err := k.ListGroupsAll(ctx)
	if err != nil {
		return nil, err
	}
	mapped := m.Groups()
	out := &groupList{}
	seen := map[int64]bool{}
	for _, g := range gs {
		gi := groupInfo{ID: g.ID, Name: g.Name, DoorCount: g.LocksCount, MappedBy: mappingEntries(m, g.ID)}
		if g.Place != nil {
			gi.Place = g.Place.Name
		}
		if slices.Contains(mapped, g.ID) {
			seen[g.ID] = true
			locks, _, err := k.ListGroupLocks(ctx, &kisi.GroupLockListOptions{GroupID: g.ID})
			if err != nil {
				return nil, fmt.Errorf("doors of group %d: %w", g.ID, err)
			}
			for _, l := range locks {
				name := fmt.Sprintf("door %d", l.LockID)
				if l.Lock != nil && l.Lock.Name != "" {
					name = l.Lock.Name
				}
				gi.Doors = append(gi.Doors, name)
			}
			gi.DoorCount = len(locks)
		}
		out.Groups = append(out.Groups, gi)
	}
	slices.SortFunc(out.Groups, func(a, b groupInfo) int { return int(a.ID - b.ID) })
	for _, g := range mapped {
		if !seen[g] {
			out.Missing = append(out.Missing, groupInfo{ID: g, MappedBy: mappingEntries(m, g)})
		}
	}
	return out, nil
}

// String renders the list as a table.
func (l *groupList) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Kisi groups of the organization (%d):\n\n", len(l.Groups))
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  ID\tNAME\tPLACE\tDOORS\tMAPPED BY")
	for _, g := range l.Groups {
		doors := fmt.Sprint(g.DoorCount)
		if len(g.Doors) > 0 {
			doors += ": " + strings.Join(g.Doors, ", ")
		}
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\n", g.ID, oneLine(g.Name), orDash(oneLine(g.Place)), doors, orDash(strings.Join(g.MappedBy, ", ")))
	}
	_ = tw.Flush()
	for _, g := range l.Missing {
		fmt.Fprintf(&b, "\n! group %d is mapped by %s but does not exist in Kisi: its grants are parked; correct the mapping or re-create the group\n",
			g.ID, strings.Join(g.MappedBy, ", "))
	}
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// groups lists the organization's Kisi groups, with names and doors, and
// which mapping entries grant each. Exit 1 when a mapped group is missing.
func (a app) groups(ctx context.Context, cfg config) (int, error) {
	var m mapping.Mapping
	if cfg.mapping != "" {
		var err error
		if m, err = loadMapping(cfg.mapping); err != nil {
			return exitUsage, err
		}
	}
	var k groupReader
	if cfg.fake {
		srv, c, ids, err := startFake(m, a.clock, nil, a.fakePace)
		if err != nil {
			return exitFailed, err
		}
		defer srv.Close()
		k = fakeGroups{kisiGroups: kisiGroups{c}, ids: ids}
	} else {
		c, err := a.client(cfg)
		if err != nil {
			return exitUsage, err
		}
		if err := checkKey(ctx, c); err != nil {
			return exitSystem, err
		}
		k = kisiGroups{c}
	}
	l, err := listGroups(ctx, k, m)
	if err != nil {
		return exitSystem, err
	}
	if _, err := a.output(cfg, l); err != nil {
		return exitFailed, err
	}
	if len(l.Missing) > 0 {
		return exitFailed, nil
	}
	return exitOK, nil
}
