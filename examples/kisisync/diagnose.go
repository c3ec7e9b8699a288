package main

import (
	"context"
	"fmt"

	"github.com/jonboulle/clockwork"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/troubleshoot"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/mapping"
)

// diagnose combines the platform's explanation with what only Kisi knows
// (the member's Kisi user, roles, the groups' doors and restrictions, recent
// unlock failures). It never writes to Kisi; with --fake it first syncs the
// snapshot into the fake so that there is something to look at.
func (a app) diagnose(ctx context.Context, cfg config) (int, error) {
	s, m, p, err := load(cfg)
	if err != nil {
		return exitUsage, err
	}
	at := a.at(cfg)
	var opts []troubleshoot.Option
	var client *kisi.Client
	if cfg.fake {
		clock := clockwork.NewFakeClockAt(at)
		srv, c, ids, err := startFake(m, clock)
		if err != nil {
			return exitFailed, err
		}
		defer srv.Close()
		r, err := access.NewReconciler(translated{KisiAPI: c, ids: ids}, access.NewMemoryStore(), m, p,
			access.WithClock(clock), access.WithOrganization(cfg.org))
		if err != nil {
			return exitUsage, err
		}
		if err := a.syncIntoFake(ctx, cfg, r, s, "diagnosing"); err != nil {
			return exitFailed, err
		}
		if !cfg.json {
			fmt.Fprint(a.stdout, "The fake numbers its groups itself; its group named \"group 101\" stands for the mapping's group 101.\n\n")
		}
		client, m = c, fakeMapping(m, ids)
	} else {
		c, err := a.client(cfg)
		if err != nil {
			return exitUsage, err
		}
		client = c
		if cfg.state != "" {
			st, err := openState(ctx, cfg.state)
			if err != nil {
				return exitFailed, err
			}
			defer st.Close()
			opts = append(opts, troubleshoot.WithStore(st, cfg.org))
		}
	}
	chk, err := troubleshoot.New(client, m, p, opts...)
	if err != nil {
		return exitUsage, err
	}
	d, err := chk.Diagnose(ctx, s, cfg.member, at)
	if err != nil {
		return exitFailed, err
	}
	return a.output(cfg, d)
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
