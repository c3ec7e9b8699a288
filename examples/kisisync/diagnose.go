package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/jonboulle/clockwork"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/troubleshoot"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/schedule"
)

// diagnose combines the platform's explanation with what only Kisi knows
// (the member's Kisi user, roles, the groups' doors and restrictions, recent
// unlock failures). With --timeline or --svg it draws the member's week
// with the groups' time restrictions in Kisi. It never writes to Kisi; with --fake it first syncs the
// snapshot into the fake so that there is something to look at.
func (a app) diagnose(ctx context.Context, cfg config) (int, error) {
	in, err := load(cfg)
	if err != nil {
		return exitUsage, err
	}
	defer a.reportProblems(in.problems)
	s, m, p := in.s, in.m, in.p
	guest := guestEmail(s, cfg.member)
	id := ""
	if guest != "" {
		if err := guestDrawing(cfg); err != nil {
			return exitUsage, err
		}
	} else if id, err = memberID(cfg, s); err != nil {
		return exitUsage, err
	}
	at := a.at(cfg)
	var opts []troubleshoot.Option
	var client troubleshoot.Kisi
	var schedules schedulesOf
	var places placeOf
	if cfg.fake {
		clock := clockwork.NewFakeClockAt(at)
		srv, c, ids, err := startFake(m, clock, nil, a.fakePace)
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
			fmt.Fprintln(a.stdout)
		}
		client = fakeReads{Client: c, t: translated{KisiAPI: c, ids: ids}}
		schedules = func(ctx context.Context, g int64) ([]*kisi.Schedule, error) {
			return c.Schedules.ForGroup(ctx, ids.fake(g))
		}
		places = c.Places.Get
	} else {
		k, code, err := a.kisiReads(ctx, cfg, exitSystem)
		if err != nil {
			return code, err
		}
		defer k.done()
		if err := checkKey(ctx, k.key); err != nil {
			return exitSystem, err
		}
		client, schedules, places, opts = k.client, k.schedules, k.places, append(opts, k.opts...)
	}
	if guest != "" {
		x := explainGuest(s, m, p, guest, at)
		gerr := diagnoseGuest(ctx, client, &x)
		if gerr != nil && !errors.Is(gerr, errGuestLinkMissing) {
			return exitSystem, gerr
		}
		if code, err := a.output(cfg, x); err != nil {
			return code, err
		}
		if gerr != nil {
			return exitFailed, nil
		}
		return exitOK, nil
	}
	chk, err := troubleshoot.New(client, m, p, opts...)
	if err != nil {
		return exitUsage, err
	}
	d, err := chk.Diagnose(ctx, s, id, at)
	if err != nil {
		return exitFailed, err
	}
	if code, err := a.output(cfg, d); err != nil {
		return code, err
	}
	k := &kisiSide{names: map[int64]string{}, roles: map[int64][]schedule.Interval{}}
	if (cfg.timeline || cfg.svg != "" || cfg.html != "") && schedules != nil {
		k.rules = a.restrictions(ctx, d.Platform, schedules, places)
	}
	for _, g := range d.Groups {
		k.names[g.GroupID] = g.Name
		for _, r := range g.Roles {
			k.roles[g.GroupID] = append(k.roles[g.GroupID], r.Window)
		}
	}
	if err := a.drawWeek(cfg, d.Platform, p, k); err != nil {
		return exitFailed, err
	}
	return findingsCode(d.Findings), nil
}

// findingsCode is 1 when a finding is an error (the member cannot get in,
// or something must be fixed), as check's exit code is, else 0.
func findingsCode(fs []troubleshoot.Finding) int {
	for _, f := range fs {
		if f.Severity >= troubleshoot.SeverityError {
			return exitFailed
		}
	}
	return exitOK
}

// check runs troubleshoot's CheckConnection: the API key and the mapped
// groups. Exit 4 when Kisi refused the key or could not be reached, 1 when a
// finding is an error.
func (a app) check(ctx context.Context, cfg config) (int, error) {
	m, merr := loadMapping(cfg.mapping)
	p, perr := loadPolicy(cfg.policy)
	if err := errors.Join(merr, perr); err != nil {
		return exitUsage, err
	}
	clock := a.clock
	if !cfg.at.IsZero() {
		clock = clockwork.NewFakeClockAt(cfg.at)
	}
	opts := []troubleshoot.Option{troubleshoot.WithClock(clock)}
	var client troubleshoot.Kisi
	if cfg.fake {
		srv, c, ids, err := startFake(m, clock, nil, a.fakePace)
		if err != nil {
			return exitFailed, err
		}
		defer srv.Close()
		client = fakeReads{Client: c, t: translated{KisiAPI: c, ids: ids}}
		if !cfg.json {
			fmt.Fprintf(a.stdout, "Using the embedded fake Kisi with %d groups (the mapping's); nothing leaves this machine.\n\n", len(m.Groups()))
		}
	} else {
		k, code, err := a.kisiReads(ctx, cfg, exitSystem)
		if err != nil {
			return code, err
		}
		defer k.done()
		client, opts = k.client, append(opts, k.opts...)
	}
	chk, err := troubleshoot.New(client, m, p, opts...)
	if err != nil {
		return exitUsage, err
	}
	rep, err := chk.CheckConnection(ctx)
	if err != nil {
		return exitFailed, err
	}
	if _, err := a.output(cfg, rep); err != nil {
		return exitFailed, err
	}
	return checkCode(rep), nil
}

// checkCode is the exit code of a connection report.
func checkCode(rep *troubleshoot.ConnectionReport) int {
	for _, f := range rep.Findings {
		if f.Code == troubleshoot.CodeKeyInvalid || f.Code == troubleshoot.CodeKisiUnreachable {
			return exitSystem
		}
	}
	if !rep.OK() {
		return exitFailed
	}
	return exitOK
}

// realKisi is what a diagnose or check reads from the real Kisi.
type realKisi struct {
	key       *kisi.Client // the client, to check the key with
	client    troubleshoot.Kisi
	schedules schedulesOf           // the groups' time restrictions
	places    placeOf               // the places, for the zone of their schedules
	opts      []troubleshoot.Option // with --state, the Store ownership is read from
	done      func()                // closes the Store; never nil
}

// kisiReads connects to the real Kisi a diagnose or check reads and, with
// --state, opens the Store it reads ownership from (k.done closes it). A
// state file that cannot be opened exits with stateCode; a bad key or a
// fake's state file, 2.
func (a app) kisiReads(ctx context.Context, cfg config, stateCode int) (k realKisi, code int, err error) {
	k.done = func() {}
	c, err := a.client(cfg)
	if err != nil {
		return k, exitUsage, err
	}
	if err := notFakeState(ctx, cfg.state); err != nil {
		return k, exitUsage, err
	}
	k.key, k.client, k.schedules, k.places = c, c, c.Schedules.ForGroup, c.Places.Get
	if cfg.state != "" {
		st, err := openState(ctx, cfg.state)
		if err != nil {
			return k, stateCode, err
		}
		k.done = func() { _ = st.Close() }
		k.opts = append(k.opts, troubleshoot.WithStore(st, cfg.org))
	}
	return k, exitOK, nil
}
