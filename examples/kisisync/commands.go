package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/sqlitestore"
	"github.com/kisisync/kisisync/access/state"
	"github.com/kisisync/kisisync/internal/textfmt"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/mapping"
)

// usageError is a problem with the command line or the environment found
// before anything was done.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// reconcile runs plan, apply and verify.
func (a app) reconcile(ctx context.Context, cfg config) (code int, err error) {
	in, err := load(cfg)
	if err != nil {
		return exitUsage, err
	}
	s, m, p := in.s, in.m, in.p
	loc := textfmt.Zone(firstZone(s))
	clock := a.clock
	if !cfg.at.IsZero() {
		clock = clockwork.NewFakeClockAt(cfg.at)
	}
	// What the records say goes to stderr after the command's output; a
	// record not synced makes it exit 1, as the library reports it in
	// Changes.Skipped and goes on with the valid ones.
	defer func() {
		if a.reportProblems(in.problems) && code == exitOK && cfg.command != "verify" {
			code = exitFailed
		}
	}()

	var api access.KisiAPI
	var store access.Store
	var groupNames map[int64]string // nil: not known
	reqs := newCounter()
	pace := float64(kisiRate)
	if cfg.fake {
		pace = cmp.Or(a.fakePace, fakeRate)
		var j *journal
		if cfg.state != "" {
			// The fake lasts between runs: replay its journal, on a clock
			// of its own that starts at the first write.
			if j, err = loadJournal(ctx, cfg.state); err != nil {
				return exitUsage, err
			}
			defer j.close()
			now := clock.Now()
			if last := j.last(); now.Before(last) {
				return exitUsage, &usageError{fmt.Sprintf("--at %s is before the fake's last write (%s, in %s): the fake cannot go back in time; use a later --at or a new state file", now.Format(time.RFC3339), last.Format(time.RFC3339), j.path)}
			}
			start := now
			if len(j.Entries) > 0 {
				start = j.Entries[0].At
			}
			clock = clockwork.NewFakeClockAt(start)
		}
		srv, client, ids, err := startFake(m, clock, reqs, pace)
		if err != nil {
			return exitFailed, err
		}
		defer srv.Close()
		api, store = translated{KisiAPI: client, ids: ids}, access.NewMemoryStore()
		if j != nil {
			fc := clock.(*clockwork.FakeClock)
			if err := j.replay(ctx, api, fc); err != nil {
				return exitFailed, err
			}
			if d := cmp.Or(cfg.at, a.clock.Now()).Sub(fc.Now()); d > 0 {
				fc.Advance(d)
			}
			reqs.requests.Store(0)
			st, err := openState(ctx, cfg.state)
			if err != nil {
				return exitSystem, fmt.Errorf("open the state %s: %w", cfg.state, err)
			}
			defer st.Close()
			api, store = recorder{KisiAPI: api, j: j, clock: clock}, st
			defer func() {
				if serr := j.save(); serr != nil && err == nil {
					code, err = exitFailed, serr
				}
			}()
			switch {
			case cfg.json:
			case len(j.Entries) == 0:
				fmt.Fprintf(a.stdout, "Using the embedded fake Kisi with %d groups (the mapping's); it starts empty, and %s keeps it for the next run; nothing leaves this machine.\n\n", len(m.Groups()), j.path)
			default:
				fmt.Fprintf(a.stdout, "Using the embedded fake Kisi with %d groups (the mapping's), as %s left it (%d writes replayed); nothing leaves this machine.\n\n", len(m.Groups()), j.path, len(j.Entries))
			}
		} else if !cfg.json {
			fmt.Fprintf(a.stdout, "Using the embedded fake Kisi with %d groups (the mapping's); it starts empty and nothing leaves this machine.\n\n", len(m.Groups()))
		}
	} else {
		if err := notFakeState(ctx, cfg.state); err != nil {
			return exitUsage, err
		}
		client, err := a.client(cfg, kisi.WithHTTPClient(&http.Client{Transport: reqs, Timeout: kisi.DefaultTimeout}))
		if err != nil {
			return exitUsage, err
		}
		api = client
		switch {
		case cfg.state != "":
			st, err := openState(ctx, cfg.state)
			if err != nil {
				return exitSystem, fmt.Errorf("open the state %s: %w", cfg.state, err)
			}
			defer st.Close()
			store = st
		case cfg.command == "plan":
			store = access.NewMemoryStore()
			if !cfg.json {
				fmt.Fprintf(a.stdout, "No --state: planning as if kisisync manages nothing in Kisi yet.\n\n")
			}
		default:
			return exitUsage, &usageError{cfg.command + " against Kisi needs --state FILE: the record of what kisisync created, kept between runs"}
		}
		if err := checkKey(ctx, client); err != nil {
			return exitSystem, err
		}
		// Plans and reports name the groups: one list of the groups, a
		// request per 250 of them.
		if gs, err := (kisiGroups{client}).ListGroupsAll(ctx); err == nil {
			groupNames = make(map[int64]string, len(gs))
			for _, g := range gs {
				groupNames[g.ID] = oneLine(g.Name)
			}
		}
	}

	if cfg.state != "" {
		busy := leaseHolder(ctx, cfg.state, cfg.org, a.clock.Now(), loc)
		var lb *leaseBusy
		switch {
		case errors.As(busy, &lb) && cfg.command == "plan":
			// A plan writes nothing; it says what it cannot know.
			fmt.Fprintf(a.stderr, "kisisync plan: another run of organization %q is in progress (its lease runs until %s): creates it has under way show as interrupted here\n",
				cfg.org, lb.until.In(loc).Format("2006-01-02 15:04 MST"))
		case lb != nil:
			return exitLease, busy
		case busy != nil:
			return exitSystem, fmt.Errorf("read the run lease in %s: %w", cfg.state, busy)
		}
	}

	var prog *progress
	opts := []access.Option{access.WithClock(clock), access.WithOrganization(cfg.org)}
	if cfg.command == "apply" && !cfg.json {
		prog = newProgress(a.stdout, a.term, clock, reqs, pace)
		opts = append(opts, access.WithProgress(prog.update))
	}
	if cfg.revokeLimit != nil {
		opts = append(opts, access.WithRevokeLimit(*cfg.revokeLimit))
	}
	if cfg.revokeFloor != nil {
		opts = append(opts, access.WithRevokeFloor(*cfg.revokeFloor))
	}
	if cfg.exclusive {
		opts = append(opts, access.WithExclusiveGroups())
	}
	if groupNames != nil {
		opts = append(opts, access.WithGroupNames(groupNames))
	}
	r, err := access.NewReconciler(api, store, m, p, opts...)
	if err != nil {
		return exitUsage, err
	}

	switch cfg.command {
	case "plan":
		stop := a.planning(cfg, s, reqs)
		c, err := r.Plan(ctx, s)
		stop()
		if err != nil {
			return planFailed(err)
		}
		staged, err := a.stage(ctx, cfg, store, c)
		if err != nil {
			return exitSystem, err
		}
		if cfg.out != "" {
			if err := savePlan(cfg.out, c); err != nil {
				return exitFailed, err
			}
		}
		code, err := a.output(cfg, c)
		if err == nil && cfg.out != "" && !cfg.json {
			fmt.Fprintf(a.stdout, "\nSaved the plan to %s; apply exactly it with: kisisync apply [flags] %s\n", cfg.out, cfg.out)
		}
		for _, line := range parkedLines(c.Parked, m) {
			fmt.Fprintf(a.stderr, "kisisync plan: %s\n", line)
		}
		if staged != nil {
			fmt.Fprintf(a.stderr, "kisisync plan: %s\n", stagedLine(staged))
		}
		switch {
		case err != nil:
		case c.Held > 0:
			code = exitHeld
		case len(c.Parked) > 0:
			code = exitFailed
		}
		return code, err
	case "apply":
		code, err := a.apply(ctx, cfg, r, store, reqs, pace, prog, in)
		return code, asLeaseBusy(err, cfg.org, loc)
	default:
		var missing []int64 // mapped groups Kisi does not have (unknown: none)
		if groupNames != nil && !cfg.fake {
			for _, g := range m.Groups() {
				if _, ok := groupNames[g]; !ok {
					missing = append(missing, g)
				}
			}
		}
		code, err := a.verify(ctx, cfg, r, s, m, missing)
		return code, asLeaseBusy(err, cfg.org, loc)
	}
}

// apply plans, prints the plan, applies it with progress (prog, nil for
// none) and prints the report.
func (a app) apply(ctx context.Context, cfg config, r *access.Reconciler, store access.Store, reqs *counter, pace float64, prog *progress, in inputs) (int, error) {
	s := in.s
	var c *access.Changes
	var err error
	if cfg.planFile != "" {
		c, err = loadPlan(cfg.planFile)
		if err != nil {
			return exitUsage, err
		}
	} else {
		stop := a.planning(cfg, s, reqs)
		c, err = r.Plan(ctx, s)
		stop()
		if err != nil {
			return planFailed(err)
		}
	}
	staged, err := a.stage(ctx, cfg, store, c)
	if err != nil {
		return exitSystem, err
	}
	if staged != nil {
		defer fmt.Fprintf(a.stderr, "kisisync apply: %s\n", stagedLine(staged))
	}
	if !cfg.json {
		fmt.Fprint(a.stdout, c)
		fmt.Fprintln(a.stdout)
		// A long apply says what it is about to cost before it starts.
		if recs, err := store.Load(ctx, cfg.org); err == nil {
			if e := estimateOf(c, recs); e.requests >= estimateMin {
				fmt.Fprintf(a.stdout, "%s\n\n", e.say(pace))
			}
		}
	}
	if cfg.approve {
		c.Approve()
	}
	prog.begin()
	rep, err := r.Apply(ctx, c)
	prog.finish()
	if errors.Is(err, access.ErrStalePlan) {
		return exitUsage, &usageError{fmt.Sprintf("%s is stale: the state changed since it was planned (another apply or a scheduler ran), so it may undo or repeat their work; nothing was applied. Plan again with 'kisisync plan --out %s' and review it", cfg.planFile, cfg.planFile)}
	}
	if rep == nil {
		if errors.Is(err, state.ErrLeaseHeld) {
			return exitLease, err
		}
		return planFailed(err)
	}
	var held *access.RevokeLimitError
	errors.As(err, &held)
	if cfg.json {
		if werr := writeJSON(a.stdout, struct {
			Changes *access.Changes          `json:"changes"`
			Report  *access.Report           `json:"report"`
			Held    *access.RevokeLimitError `json:"held,omitempty"`
		}{c, rep, held}); werr != nil {
			return exitFailed, werr
		}
	} else {
		printReport(a.stdout, rep, textfmt.Zone(c.Location))
	}
	return a.outcome(cfg, rep, in.m, err)
}

// stage takes the people Kisi would invite out of c with --invite later
// and returns their emails; nil without it or when there are none.
func (a app) stage(ctx context.Context, cfg config, store access.Store, c *access.Changes) ([]string, error) {
	if !cfg.inviteLater {
		return nil, nil
	}
	recs, err := store.Load(ctx, cfg.org)
	if err != nil {
		return nil, fmt.Errorf("read the state: %w", err)
	}
	return stage(c, recs), nil
}

// planningNotice is the number of snapshot records from which planning
// takes long enough (seconds for thousands of members) to say it starts.
const planningNotice = 5000

// planningEvery is how often a plan still running says so.
const planningEvery = 5 * time.Second

// planning says, for a large snapshot, that planning starts, and while
// planning runs says every planningEvery how long it has run and how many
// Kisi requests it sent (a plan against Kisi lists the roles of every
// group that gets new grants: at Kisi's pace, seconds per thousand
// members), so that a long plan is not silence. The returned function
// stops it; call it once planning is over.
func (a app) planning(cfg config, s access.Snapshot, reqs *counter) (stop func()) {
	if cfg.json {
		return func() {}
	}
	n := len(s.Members) + len(s.Plans) + len(s.Allowances) + len(s.Bookings) + len(s.Assignments) + len(s.CheckIns)
	if n >= planningNotice {
		fmt.Fprintf(a.stdout, "Planning the access of %s (%d records in all)…\n\n", textfmt.Plural(len(s.Members), "member", "members"), n)
	}
	start := a.clock.Now()
	req0, _ := reqs.counts()
	tick := a.clock.NewTicker(planningEvery)
	quit, done := make(chan struct{}), make(chan struct{})
	shown := false
	go func() {
		defer close(done)
		defer tick.Stop()
		for {
			select {
			case <-quit:
				return
			case <-tick.Chan():
				req, _ := reqs.counts()
				line := fmt.Sprintf("planning for %s so far; %s to Kisi", eta(a.clock.Since(start)), textfmt.Plural(int(req-req0), "request", "requests"))
				if a.term {
					fmt.Fprintf(a.stdout, "\r\033[K%s", line)
				} else {
					fmt.Fprintln(a.stdout, line)
				}
				shown = true
			}
		}
	}()
	return func() {
		close(quit)
		<-done
		if shown {
			if a.term {
				fmt.Fprint(a.stdout, "\r\033[K")
			} else {
				fmt.Fprintln(a.stdout)
			}
		}
	}
}

// checkKey makes one request to Kisi, the key's user, before any command
// that needs Kisi: plan and an apply with nothing to do may otherwise ask
// Kisi nothing and succeed with a revoked key, and verify would fail group
// by group. A refused key or an unreachable Kisi is exit 4.
func checkKey(ctx context.Context, client *kisi.Client) error {
	_, _, err := client.CurrentUser(ctx)
	switch {
	case err == nil || ctx.Err() != nil:
		return err
	case errors.Is(err, kisi.ErrUnauthorized):
		return errors.New("the API key in KISI_API_KEY was refused by Kisi (401 Unauthorized): it is wrong, deleted or expired; nothing was done. Run 'kisisync check' for details")
	default:
		return fmt.Errorf("could not reach Kisi to check the API key: %s; nothing was done", operatorMessage(err))
	}
}

// savePlan writes c as JSON to path, for apply PLANFILE.
func savePlan(path string, c *access.Changes) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o600)
}

// loadPlan reads a plan saved by plan -out. The error matches *inputError.
func loadPlan(path string) (*access.Changes, error) {
	b, _, err := readFile(path)
	if err != nil {
		return nil, err
	}
	var c access.Changes
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, &inputError{file: path, msgs: []string{"not a plan written by 'kisisync plan --out': " + err.Error()}}
	}
	if c.Base == "" {
		return nil, &inputError{file: path, msgs: []string{"not a plan written by 'kisisync plan --out': no base"}}
	}
	return &c, nil
}

// planFailed is the exit code of a plan that failed: 4 when the failure is
// systemic (Kisi unreachable, the key refused), else 1.
func planFailed(err error) (int, error) {
	var stopped *access.SystemicError
	if errors.As(err, &stopped) {
		return exitSystem, err
	}
	return exitFailed, err
}

// outcome reports the errors of an apply on stderr, one line per cause
// rather than one per change, and returns the exit code.
func (a app) outcome(cfg config, rep *access.Report, m mapping.Mapping, err error) (int, error) {
	var held *access.RevokeLimitError
	var stopped *access.SystemicError
	code := exitOK
	if errors.As(err, &held) {
		fmt.Fprintf(a.stderr, "kisisync apply: %s\n", operatorMessage(held))
		fmt.Fprintf(a.stderr, "The held cuts are listed above. If they are right, run again with --approve-revocations; check %s first.\n", cfg.snapshot)
		code = exitHeld
	}
	if errors.As(err, &stopped) {
		fmt.Fprintf(a.stderr, "kisisync apply: %s\n", operatorMessage(stopped))
		return exitSystem, nil
	}
	for _, line := range failureLines(rep.Failures, m) {
		fmt.Fprintf(a.stderr, "kisisync apply: %s\n", line)
	}
	for _, line := range parkedLines(rep.Parked, m) {
		fmt.Fprintf(a.stderr, "kisisync apply: %s\n", line)
	}
	if code == exitOK && (rep.Failed > 0 || len(rep.Parked) > 0) {
		code = exitFailed
	}
	return code, nil
}

// parkedLines groups parked changes by class and reason: one line each,
// naming the people, the group and the mapping entries that map it, and
// what to do.
func parkedLines(ps []access.Parked, m mapping.Mapping) []string {
	type cause struct {
		p   access.Parked
		who []string
	}
	var causes []*cause
	byKey := map[string]*cause{}
	for _, p := range ps {
		k := string(p.Class) + "\x00" + p.Reason
		c := byKey[k]
		if c == nil {
			c = &cause{p: p}
			byKey[k] = c
			causes = append(causes, c)
		}
		c.who = append(c.who, parkedWho(p))
	}
	lines := make([]string, 0, len(causes))
	for _, c := range causes {
		entries := ""
		if es := mappingEntries(m, c.p.GroupID); len(es) > 0 {
			entries = "; mapped by " + strings.Join(es, ", ")
		}
		lines = append(lines, fmt.Sprintf("%s parked (%s): %s — %s%s; %s",
			textfmt.Plural(len(c.who), "change", "changes"), c.p.Class, operatorText(c.p.Reason), names(c.who), entries, c.p.Remedy()))
	}
	return lines
}

// parkedWho names the member or guest of a parked change. A change parked
// with its whole group carries no email, only its Store key, whose last
// part is the email ("role/12/ann@example.com").
func parkedWho(p access.Parked) string {
	if p.Email != "" {
		return p.Email
	}
	if i := strings.LastIndexByte(p.Key, '/'); i >= 0 && strings.Contains(p.Key[i:], "@") {
		return p.Key[i+1:]
	}
	return p.Key
}

// mappingEntries names the entries of m that map to group, as the mapping
// file spells them: plans["flex"], default.
func mappingEntries(m mapping.Mapping, group int64) []string {
	var out []string
	for _, t := range []struct {
		key   string
		table map[string][]int64
	}{{"plans", m.Plans}, {"allowances", m.Allowances}, {"resources", m.Resources}, {"locations", m.Locations}} {
		for _, id := range sortedKeys(t.table) {
			if slices.Contains(t.table[id], group) {
				out = append(out, fmt.Sprintf("%s[%q]", t.key, id))
			}
		}
	}
	if slices.Contains(m.Default, group) {
		out = append(out, "default")
	}
	return out
}

// names lists the first three names and counts the rest.
func names(ns []string) string {
	s := strings.Join(ns[:min(3, len(ns))], ", ")
	if len(ns) > 3 {
		s += fmt.Sprintf(" and %d more", len(ns)-3)
	}
	return s
}

// operatorText is a message without the package prefixes of the layers.
func operatorText(s string) string { return packagePrefixes.Replace(s) }

// failureLines groups failures by class, cause and group: one line each,
// with the number of changes, the group and the mapping entries that map
// it, and the first few emails; a change that failed because its group is
// gone from Kisi says what to do about it, as a parked one does.
func failureLines(fs []access.Failure, m mapping.Mapping) []string {
	type cause struct {
		class  access.FailureClass
		group  int64
		msg    string
		emails []string
	}
	var causes []*cause
	byKey := map[string]*cause{}
	for _, f := range fs {
		msg := kisiMessage(f.Message)
		k := fmt.Sprintf("%s\x00%d\x00%s", f.Class, f.GroupID, msg)
		c := byKey[k]
		if c == nil {
			c = &cause{class: f.Class, group: f.GroupID, msg: msg}
			byKey[k] = c
			causes = append(causes, c)
		}
		c.emails = append(c.emails, f.Email)
	}
	lines := make([]string, 0, len(causes))
	for _, c := range causes {
		where := ""
		if c.group != 0 {
			where = fmt.Sprintf(" in group %d", c.group)
			if es := mappingEntries(m, c.group); len(es) > 0 {
				where += ", mapped by " + strings.Join(es, ", ")
			}
		}
		line := fmt.Sprintf("%s failed (%s)%s: %s — %s", textfmt.Plural(len(c.emails), "change", "changes"), c.class, where, c.msg, names(c.emails))
		if c.class == access.FailureMissing {
			line += "; " + access.Parked{Class: c.class}.Remedy()
		}
		lines = append(lines, line)
	}
	return lines
}

// kisiMessage is the part of a failure's message that names its cause,
// without the ids of the one change: from the "kisi:" of Kisi's answer on.
func kisiMessage(msg string) string {
	if i := strings.Index(msg, "kisi: "); i >= 0 {
		msg = msg[i:]
	}
	return operatorText(msg)
}

// verify lists Kisi to find drift. Against the fake, which starts empty, it
// first syncs the snapshot so that there is something to verify.
// A mapped group Kisi does not have (missing) is named on stderr with
// its mapping entries, and the exit code is 1: Kisi cannot match what it
// lacks, though listing the roles of an id no group has finds nothing to
// differ.
func (a app) verify(ctx context.Context, cfg config, r *access.Reconciler, s access.Snapshot, m mapping.Mapping, missing []int64) (int, error) {
	if cfg.fake && cfg.state == "" {
		if err := a.syncIntoFake(ctx, cfg, r, s, "verifying"); err != nil {
			return exitFailed, err
		}
		if !cfg.json {
			fmt.Fprintln(a.stdout)
		}
	}
	d, err := r.Verify(ctx)
	if d == nil {
		return verifyFailed(err)
	}
	if cfg.json {
		if werr := writeJSON(a.stdout, d); werr != nil {
			return exitFailed, werr
		}
	} else {
		printDrift(a.stdout, d, textfmt.Zone(firstZone(s)), err == nil, len(missing))
	}
	for _, g := range missing {
		fmt.Fprintf(a.stderr, "kisisync verify: group %d is mapped by %s but does not exist in Kisi: its grants are parked; correct the mapping or re-create the group\n",
			g, strings.Join(mappingEntries(m, g), ", "))
	}
	if err != nil {
		return verifyFailed(err)
	}
	if len(missing) > 0 {
		return exitFailed, nil
	}
	return exitOK, nil
}

// verifyFailed is the exit code of a Verify that failed: 4 when the
// failure concerns the whole organization (the key refused, Kisi
// unreachable), which Verify reports per group.
func verifyFailed(err error) (int, error) {
	if code, err := planFailed(err); code == exitSystem {
		return code, err
	}
	var dns *net.DNSError
	var op *net.OpError
	if errors.Is(err, kisi.ErrUnauthorized) || errors.As(err, &dns) || errors.As(err, &op) && op.Op == "dial" {
		return exitSystem, err
	}
	return exitFailed, err
}

// explain says why a member has or lacks access, and with --timeline or
// --svg draws the member's week; it reads no Kisi.
func (a app) explain(cfg config) (int, error) {
	in, err := load(cfg)
	if err != nil {
		return exitUsage, err
	}
	defer a.reportProblems(in.problems)
	s, m, p := in.s, in.m, in.p
	if email := guestEmail(s, cfg.member); email != "" {
		if err := guestDrawing(cfg); err != nil {
			return exitUsage, err
		}
		return a.output(cfg, explainGuest(s, m, p, email, a.at(cfg)))
	}
	id, err := memberID(cfg, s)
	if err != nil {
		return exitUsage, err
	}
	x, err := access.Explain(s, m, p, id, a.at(cfg))
	if err != nil {
		return exitFailed, err
	}
	if code, err := a.output(cfg, x); err != nil {
		return code, err
	}
	if err := a.drawWeek(cfg, x, p, nil); err != nil {
		return exitFailed, err
	}
	return exitOK, nil
}

// memberID resolves --member to a member's ID: it names one by ID, or by
// email (trimmed, case-folded, as Kisi matches users). A drop-in guest's
// email is answered by explainGuest before.
func memberID(cfg config, s access.Snapshot) (string, error) {
	for _, mb := range s.Members {
		if mb.ID == cfg.member {
			return mb.ID, nil
		}
	}
	want := strings.ToLower(strings.TrimSpace(cfg.member))
	if strings.Contains(want, "@") {
		for _, mb := range s.Members {
			if strings.ToLower(strings.TrimSpace(mb.Email)) == want {
				return mb.ID, nil
			}
		}
		var bookings []string
		for _, b := range s.Bookings {
			if b.Guest != nil && b.MemberID != "" && strings.ToLower(strings.TrimSpace(b.Guest.Email)) == want {
				bookings = append(bookings, b.ID)
			}
		}
		if len(bookings) > 0 { // all of them booked by a member: served as that member
			return "", &usageError{fmt.Sprintf("%s is the guest of bookings %s, each booked by a member: the access is the member's; name the member",
				cfg.member, strings.Join(bookings, ", "))}
		}
	}
	return "", &usageError{fmt.Sprintf("no member with id or email %q in %s (%d members); --member takes a member's id, such as %q, or email", cfg.member, cfg.snapshot, len(s.Members), firstMember(s))}
}

func firstMember(s access.Snapshot) string {
	if len(s.Members) == 0 {
		return "m-1"
	}
	return s.Members[0].ID
}

// at is the instant --at names, else now.
func (a app) at(cfg config) time.Time {
	if cfg.at.IsZero() {
		return a.clock.Now()
	}
	return cfg.at
}

// output writes v as JSON with --json, else as text.
func (a app) output(cfg config, v fmt.Stringer) (int, error) {
	if cfg.json {
		return exitOK, writeJSON(a.stdout, v)
	}
	fmt.Fprint(a.stdout, v)
	return exitOK, nil
}

// syncIntoFake syncs s into the fake Kisi, which starts empty, so that
// verify and diagnose have something to look at.
func (a app) syncIntoFake(ctx context.Context, cfg config, r *access.Reconciler, s access.Snapshot, doing string) error {
	rep, err := r.Sync(ctx, s)
	if err != nil {
		return fmt.Errorf("sync before %s: %w", doing, err)
	}
	if !cfg.json {
		fmt.Fprintf(a.stdout, "Synced the snapshot into the fake first: %d created.\n", rep.Created)
	}
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func firstZone(s access.Snapshot) string {
	for _, l := range s.Locations {
		if l.TimeZone != "" {
			return l.TimeZone
		}
	}
	return "UTC"
}

// printReport prints what an apply did.
func printReport(w io.Writer, rep *access.Report, loc *time.Location) {
	fmt.Fprintf(w, "Applied: %d created, %d replaced, %d deleted (%d of them expired), %d failed.\n",
		rep.Created, rep.Replaced, rep.Deleted, rep.Expired, rep.Failed)
	if rep.UsersCreated > 0 || rep.Invitations > 0 {
		fmt.Fprintf(w, "Kisi users created: %d; Kisi invitations sent: %d.\n", rep.UsersCreated, rep.Invitations)
	}
	if rep.Adopted > 0 || rep.Forgotten > 0 {
		fmt.Fprintf(w, "Interrupted creates: %d adopted, %d forgotten.\n", rep.Adopted, rep.Forgotten)
	}
	for _, cf := range rep.Conflicts {
		then := "left alone"
		if cf.Unwanted {
			then = "the platform no longer wants this access: remove the role in Kisi"
		}
		fmt.Fprintf(w, "Conflict: %s already holds role %d in group %d, not managed by kisisync; %s.\n", cf.Email, cf.KisiID, cf.GroupID, then)
	}
	for _, sk := range rep.Skipped {
		fmt.Fprintf(w, "Skipped: %s\n", sk)
	}
	if rep.Unresolved > 0 {
		fmt.Fprintf(w, "%d interrupted creates could not be looked up; retried next run.\n", rep.Unresolved)
	}
	if rep.Links > 0 {
		near := ""
		if rep.LinksNearLimit {
			near = " (near Kisi's limit)"
		}
		fmt.Fprintf(w, "Email links managed: %d of Kisi's %d%s.\n", rep.Links, kisi.EmailLinkLimit, near)
	}
	if !rep.NextRun.IsZero() {
		fmt.Fprintf(w, "Next run: %s (when the desired access next changes; schedule a sync then).\n", rep.NextRun.In(loc).Format("2006-01-02 15:04 MST"))
	}
}

// printDrift prints what Verify found.
// Only a complete Verify (complete set) of groups that all exist in Kisi
// (absent counts those that do not) may say that Kisi matches.
func printDrift(w io.Writer, d *access.Drift, loc *time.Location, complete bool, absent int) {
	n := len(d.Missing) + len(d.Edited) + len(d.Adopted) + len(d.Released) + len(d.Unmanaged) + len(d.Unconfirmed)
	groups := textfmt.Plural(d.Groups, "group", "groups")
	switch {
	case complete && absent > 0 && n == 0:
		fmt.Fprintf(w, "Verified %s: %s not exist in Kisi (below).\n", groups,
			textfmt.Plural(absent, "mapped group does", "mapped groups do"))
		return
	case complete && absent > 0:
		fmt.Fprintf(w, "Verified %s: %s not exist in Kisi (below); found:\n", groups,
			textfmt.Plural(absent, "mapped group does", "mapped groups do"))
	case !complete && n == 0:
		fmt.Fprintf(w, "Verify did not finish (see the errors below): nothing found in what it could read of %s.\n", groups)
		return
	case !complete:
		fmt.Fprintf(w, "Verify did not finish (see the errors below); found so far in %s:\n", groups)
	case n == 0:
		fmt.Fprintf(w, "Verified %s: Kisi matches what kisisync manages.\n", groups)
		return
	default:
		fmt.Fprintf(w, "Verified %s:\n", groups)
	}
	section := func(title string, items []access.DriftItem) {
		if len(items) == 0 {
			return
		}
		fmt.Fprintf(w, "\n%s:\n", title)
		for _, it := range items {
			who := it.Email
			if who == "" {
				who = fmt.Sprintf("user %d", it.UserID)
			}
			win := ""
			if !it.Window.Start.IsZero() {
				win = "  " + textfmt.Window(it.Window, loc)
			}
			fmt.Fprintf(w, "  %s %d: %s → group %d%s\n", it.Object, it.KisiID, who, it.GroupID, win)
		}
	}
	section("Missing (deleted in Kisi by hand; the next apply re-creates them if still wanted)", d.Missing)
	section("Edited (window changed in Kisi by hand; the next apply restores it)", d.Edited)
	section("Adopted (created by an interrupted run; now managed)", d.Adopted)
	section("Released (the unmanaged role blocking a grant is gone; the next apply creates it)", d.Released)
	section("Not managed here (given by hand or by another tool; never changed)", d.Unmanaged)
	if len(d.Unconfirmed) > 0 {
		fmt.Fprintf(w, "\nUsers created by kisisync who have not confirmed their Kisi account yet:\n  %s\n", strings.Join(d.Unconfirmed, "\n  "))
	}
}

// client returns a Kisi client with the key from KISI_API_KEY and the base
// URL from --kisi-url or KISI_URL.
func (a app) client(cfg config, opts ...kisi.Option) (*kisi.Client, error) {
	key := a.env("KISI_API_KEY")
	if key == "" {
		return nil, &usageError{"KISI_API_KEY is not set; set it to a Kisi API key, or use --fake to try the embedded fake"}
	}
	url := cfg.kisiURL
	if url == "" {
		url = a.env("KISI_URL")
	}
	if url != "" {
		opts = append(opts, kisi.WithBaseURL(url))
	}
	if in := cmp.Or(cfg.integration, a.env("KISI_INTEGRATION")); in != "" {
		name, contact, ok := strings.Cut(in, ",")
		if !ok {
			return nil, &usageError{fmt.Sprintf("--integration %q: want NAME,CONTACT such as acme-coworking,ops@acme.example", in)}
		}
		if _, err := kisi.NewClient(key, kisi.WithIntegration(name, contact)); err != nil {
			return nil, &usageError{fmt.Sprintf("--integration %q: %v", in, errors.Unwrap(err))}
		}
		opts = append(opts, kisi.WithIntegration(name, contact))
	}
	return kisi.NewClient(key, opts...)
}

// openState opens the SQLite state file at path, creating or upgrading its
// schema. The file may be shared with other processes (a scheduler, another
// apply): the Store's lease and fencing keep their runs apart.
func openState(ctx context.Context, path string) (*sqlitestore.Store, error) {
	st, err := sqlitestore.Open(path)
	if err != nil {
		return nil, err
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}
