package main

import (
	"context"
	"fmt"

	"github.com/jonboulle/clockwork"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/examples/internal/filestore"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/mapping"
)

// diagnose combines the platform's explanation with what only Kisi knows
// (the member's Kisi user, roles, the groups' doors and restrictions, recent
// unlock failures). It never writes to Kisi; with --fake it first syncs the
// snapshot into the fake so that there is something to look at.
func (a app) diagnose(ctx context.Context, cfg config) (int, error) {
	s, m, set, err := load(cfg)
	if err != nil {
		return exitUsage, err
	}
	at := cfg.at
	if at.IsZero() {
		at = a.clock.Now()
	}
	var opts []access.CheckOption
	var client *kisi.Client
	if cfg.fake {
		clock := clockwork.NewFakeClockAt(at)
		srv, c, ids, err := startFake(m, clock)
		if err != nil {
			return exitFailed, err
		}
		defer srv.Close()
		r, err := access.NewReconciler(translated{KisiAPI: c, ids: ids}, access.NewMemoryStore(), m, set.policy,
			access.WithClock(clock), access.WithOrganization(cfg.org))
		if err != nil {
			return exitUsage, err
		}
		rep, err := r.Sync(ctx, s)
		if err != nil {
			return exitFailed, fmt.Errorf("sync before diagnosing: %w", err)
		}
		if !cfg.json {
			fmt.Fprintf(a.stdout, "Synced the snapshot into the fake first: %d created. The fake numbers its groups itself;\n"+
				"its group named \"group 101\" stands for the mapping's group 101.\n\n", rep.Created)
		}
		client, m = c, fakeMapping(m, ids)
	} else {
		c, err := a.client(cfg)
		if err != nil {
			return exitUsage, err
		}
		client = c
		if cfg.state != "" {
			st, err := filestore.Open(cfg.state)
			if err != nil {
				return exitFailed, err
			}
			opts = append(opts, access.WithCheckStore(st, cfg.org))
		}
	}
	d, err := access.Diagnose(ctx, client, s, m, set.policy, cfg.member, at, opts...)
	if err != nil {
		return exitFailed, err
	}
	if cfg.json {
		return exitOK, writeJSON(a.stdout, d)
	}
	fmt.Fprint(a.stdout, d)
	return exitOK, nil
}

// fakeMapping rewrites m to the fake's group ids.
func fakeMapping(m mapping.Mapping, ids *groupIDs) mapping.Mapping {
	c := m.Clone()
	for _, t := range []map[string][]int64{c.Plans, c.Allowances, c.Resources, c.Locations} {
		for k, gs := range t {
			for i, g := range gs {
				gs[i] = ids.fake(g)
			}
			t[k] = gs
		}
	}
	for i, g := range c.Default {
		c.Default[i] = ids.fake(g)
	}
	return c
}
