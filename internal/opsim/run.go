package opsim

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/state"
	"github.com/kisisync/kisisync/internal/simclock"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/kisi/kisitest"
)

// Options change how [Run] builds a world: the Store, and — for the tests
// that prove each check can fail — a broken client or reconciler.
type Options struct {
	// NewStore returns an empty Store (default access.NewMemoryStore); a
	// lost Store is replaced by another one.
	NewStore func() access.Store
	// Processes is the number of host processes sharing the Store
	// (default 2).
	Processes int
	// Wrap wraps each process's Kisi client.
	Wrap func(access.KisiAPI) access.KisiAPI
	// Options are extra options of every Reconciler.
	Options []access.Option
	// Doctor changes each Report before the checks read it.
	Doctor func(*access.Report)
	// Trace, if set, is told every line of the world's trace (events,
	// runs, crashes) as it happens.
	Trace func(line string)
	// TraceReads adds every read request of the processes to the trace.
	TraceReads bool
	// Known are defects to count rather than stop at: a violation that
	// matches one is added to [Result.Known] and the history goes on.
	Known []Defect
}

// Result is what a history led to.
type Result struct {
	// Violation is the first break of an invariant that is not a known
	// defect; nil if none.
	Violation *Violation
	// Known are the first violation of each known defect met, in order.
	Known []*Violation
	// Runs counts the host's runs (Sync, Apply and Verify).
	Runs int
	// LongestExposure is the longest a member was without access inside
	// their window because a Kisi fault failed the create that follows a
	// replacement's delete (the one member an incident may expose), to
	// within the 30-second sampling; a gap still open at the end counts
	// until then.
	LongestExposure time.Duration
}

// Violation is the first break of an invariant a history led to.
type Violation struct {
	// Invariant is the number of the invariant in the design (1 to 5),
	// or 6 for its ownership rule (the SDK never changes or deletes a Kisi
	// object it did not create).
	Invariant int
	Seed      int64
	At        time.Time
	// What says what broke, naming the member or guest and the group.
	What string
	// Recent are the last events, runs and requests before it.
	Recent []string
}

func (v *Violation) Error() string {
	return fmt.Sprintf("invariant %d (%s) broken at %s (seed %d): %s\nlast events:\n  %s",
		v.Invariant, invariantNames[v.Invariant], v.At.UTC().Format(time.RFC3339), v.Seed, v.What,
		strings.Join(v.Recent, "\n  "))
}

var invariantNames = map[int]string{1: "no lockout", 2: "bounded leak", 3: "no storm, no duplicate",
	4: "suspect cuts wait, routine cuts don't", 5: "nothing silent", ownership: "the SDK touches only what it created"}

// episode is an event that lasts: active from its start until its end.
type episode struct {
	e          Event
	from, till time.Time
}

type backup struct {
	at   time.Time
	recs []state.Record
}

// world is one organization living through a history.
type world struct {
	h    History
	opts Options
	ctx  context.Context

	clock     *simclock.Clock
	rng       *rand.Rand // Kisi's random errors
	srv       *kisitest.Server
	groups    map[string]int64
	groupName map[int64]string
	admin     *kisi.Client
	obs       *observer
	store     storeRef
	backups   []backup
	procs     []*process
	notifier  *notifier
	truth     *truth

	episodes      []episode
	deletedGroups map[int64]bool
	handRoles     map[int64]bool // roles and links made by hand
	hand          map[int64]*handObject
	deletedUsers  map[string]bool // emails

	log     []sent
	runs    int
	stalled bool // the current run's process stalled
	trace   []string
	err     error
	v       *Violation
	known   []*Violation
	chk     checker
}

// Run replays h and returns what it led to: the first violation of an
// invariant that is not a known defect (see [Options.Known]), and those
// that are. The error is for a world that could not run at all.
func Run(ctx context.Context, h History, o Options) (Result, error) {
	if o.NewStore == nil {
		o.NewStore = access.NewMemoryStore
	}
	if o.Processes <= 0 {
		o.Processes = 2
	}
	w := &world{h: h, opts: o, ctx: ctx, clock: simclock.New(h.Start.Add(-time.Minute)),
		truth: newTruth(h.Start), deletedGroups: map[int64]bool{}, handRoles: map[int64]bool{}, deletedUsers: map[string]bool{}}
	w.rng = rand.New(rand.NewPCG(uint64(h.Seed), 0x6f7073696d))
	w.store.cur = o.NewStore()
	w.notifier = &notifier{w: w}
	if err := w.setUp(); err != nil {
		return Result{}, err
	}
	defer w.srv.Close()
	w.obs.gone = w.deletedGroups
	if err := w.seedHand(ctx); err != nil {
		return Result{}, err
	}
	for i := range o.Processes {
		p := &process{name: fmt.Sprintf("p%d", i+1)}
		if err := w.start(p); err != nil {
			return Result{}, err
		}
		w.procs = append(w.procs, p)
	}
	w.chk.init(w)
	w.loop()
	if w.err != nil {
		return Result{}, w.err
	}
	w.chk.exposureEnds(w.h.end(), nil, nil)
	return Result{Violation: w.v, Known: w.known, Runs: w.runs, LongestExposure: w.chk.longestExposure}, nil
}

func (w *world) fail(err error) {
	if w.err == nil {
		w.err = err
	}
}

func (w *world) logf(format string, args ...any) {
	const keep = 40
	line := w.clock.Now().UTC().Format("01-02 15:04:05") + " " + fmt.Sprintf(format, args...)
	if len(w.trace) == keep {
		w.trace = w.trace[1:]
	}
	w.trace = append(w.trace, line)
	if w.opts.Trace != nil {
		w.opts.Trace(line)
	}
}

func (w *world) violate(invariant int, format string, args ...any) {
	if w.v != nil {
		return
	}
	v := &Violation{Invariant: invariant, Seed: w.h.Seed, At: w.clock.Now(), What: fmt.Sprintf(format, args...),
		Recent: slices.Clone(w.trace)}
	if d := knownDefect(w.opts.Known, v); d != nil {
		if !slices.ContainsFunc(w.known, func(k *Violation) bool { return knownDefect(w.opts.Known, k) == d }) {
			w.known = append(w.known, v)
		}
		return
	}
	w.v = v
}

func (w *world) stopped() bool { return w.v != nil || w.err != nil || w.ctx.Err() != nil }

// active returns the episodes of kind active at t.
func (w *world) active(kind string, t time.Time) []Event {
	var out []Event
	for _, ep := range w.episodes {
		if ep.e.Kind == kind && !t.Before(ep.from) && t.Before(ep.till) {
			out = append(out, ep.e)
		}
	}
	return out
}

// activeWithin reports whether an episode of kind and target overlapped
// [from, to].
func (w *world) activeWithin(kind, target string, from, to time.Time) bool {
	for _, ep := range w.episodes {
		if ep.e.Kind == kind && ep.e.Target == target && !ep.from.After(to) && ep.till.After(from) {
			return true
		}
	}
	return false
}

// The host's rhythm.
const (
	sampleEvery  = 30 * time.Second
	verifyEvery  = time.Hour
	backupEvery  = time.Hour
	leaseRetry   = time.Minute
	approveAfter = 2 * time.Hour
)

// loop is the host: it applies the events when they happen, runs a Sync
// at every NextRun and after every change of the platform's records, a
// Verify every hour, and lets the checks sample the world every 30 seconds.
func (w *world) loop() {
	end := w.h.end()
	next := w.h.Start
	verifyAt, backupAt := w.h.Start.Add(verifyEvery), w.h.Start
	var approveAt time.Time
	i := 0
	w.clock.AdvanceTo(w.h.Start)
	for !w.stopped() {
		t := earliest(next, verifyAt, backupAt, w.chk.nextSample, end, approveAt)
		if i < len(w.h.Events) {
			t = earliest(t, w.h.Start.Add(time.Duration(w.h.Events[i].At)))
		}
		if !t.Before(end) {
			break
		}
		w.clock.AdvanceTo(t)
		now := w.clock.Now()
		wake := false
		for ; i < len(w.h.Events) && !w.h.Start.Add(time.Duration(w.h.Events[i].At)).After(now); i++ {
			wake = w.event(w.h.Events[i]) || wake
		}
		if !backupAt.After(now) {
			if recs, err := w.store.cur.Load(w.ctx, org); err == nil {
				w.backups = append(w.backups, backup{at: now, recs: recs})
			}
			backupAt = now.Add(backupEvery)
		}
		if wake || !next.After(now) {
			next = w.sync(false, wake && next.After(now))
			if w.chk.held && approveAt.IsZero() {
				approveAt = w.clock.Now().Add(approveAfter)
			}
		}
		if !approveAt.IsZero() && !approveAt.After(w.clock.Now()) {
			approveAt = time.Time{}
			if w.chk.held && len(w.active(KindExport, w.clock.Now())) == 0 {
				next = w.sync(true, false)
			}
		}
		if !verifyAt.After(w.clock.Now()) {
			w.verify()
			verifyAt = w.clock.Now().Add(verifyEvery)
		}
		w.sampleDue()
	}
}

// event applies e at now; it reports whether the platform's records
// changed, which wakes the host.
func (w *world) event(e Event) bool {
	now := w.clock.Now()
	w.logf("event %s", describe(e))
	if e.Length > 0 {
		w.episodes = append(w.episodes, episode{e: e, from: now, till: now.Add(time.Duration(e.Length))})
	}
	before := w.truth.mapping + w.truth.buffer.Before.String()
	platform, c := w.truth.apply(e, now)
	if platform {
		w.chk.truthChanged(c)
		if w.truth.mapping+w.truth.buffer.Before.String() != before {
			for _, p := range w.procs {
				if err := w.start(p); err != nil {
					w.fail(err)
				}
			}
		}
		return true
	}
	switch e.Kind {
	case KindKisi:
		switch e.Target {
		case KisiDeleteUser, KisiDeleteGroup, KisiHandRole:
			w.handEdit(w.ctx, e)
			if e.Target == KisiDeleteUser {
				w.deletedUsers[emailOf(e.Member)] = true
			}
		}
	case KindCrash:
		w.procs[w.nextProc()].crashAt = e.N
	case KindStall:
		w.procs[w.nextProc()].stallAt = e.N
	case KindStoreLost:
		w.store.cur = w.opts.NewStore()
		w.chk.storeLost(nil)
	case KindStoreRestore:
		w.restore(now.Add(-time.Duration(e.Offset)))
	case KindNotifierDown:
		w.notifier.down = now.Add(time.Duration(e.Length))
	}
	return false
}

// restore replaces the Store by one holding the last backup taken at or
// before t.
func (w *world) restore(t time.Time) {
	var b *backup
	for i := range w.backups {
		if !w.backups[i].at.After(t) {
			b = &w.backups[i]
		}
	}
	st := w.opts.NewStore()
	var kept []state.Record
	if b != nil {
		kept = b.recs
		now := w.clock.Now()
		tok, err := st.Lease(w.ctx, org, "restore", now, now.Add(time.Minute))
		if err != nil {
			w.fail(err)
			return
		}
		for _, r := range b.recs {
			if err := st.Put(w.ctx, org, tok, r); err != nil {
				w.fail(err)
				return
			}
		}
		_, _ = st.Lease(w.ctx, org, "restore", now, time.Time{})
	}
	w.store.cur = st
	w.chk.storeLost(kept)
}

func (w *world) nextProc() int { return w.runs % len(w.procs) }

// sync runs the next process's Sync (or, approved, Plan, Approve and
// Apply) with the snapshot the host exports now, and returns when the host
// runs again.
func (w *world) sync(approved, woken bool) time.Time {
	p := w.procs[w.nextProc()]
	w.runs++
	p.requests = 0
	start := w.clock.Now()
	pending := w.pendingIntents()
	snap, invalid := export(w.truth, start, w.h.World.CurrentAndFuture, w.active(KindExport, start))
	w.chk.inRun = true
	var rep *access.Report
	var err error
	if approved {
		var c *access.Changes
		if c, err = p.rec.Plan(w.ctx, snap); err == nil {
			c.Approve()
			rep, err = p.rec.Apply(w.ctx, c)
		}
	} else {
		rep, err = p.rec.Sync(w.ctx, snap)
	}
	if rep != nil && w.opts.Doctor != nil {
		w.opts.Doctor(rep)
	}
	w.logf("run %d by %s%s: %s", w.runs, p.holder(), map[bool]string{true: " (approved)"}[approved], summary(rep, err))
	crashed := p.dead
	if crashed {
		p.dead = false
		p.restarts++
		if e := w.start(p); e != nil {
			w.fail(e)
		}
	}
	if err := w.obs.refresh(w.ctx); err != nil {
		w.fail(err)
		return w.clock.Now()
	}
	w.chk.checkHand(w.runs)
	w.chk.afterRun(run{n: w.runs, start: start, end: w.clock.Now(), snap: snap, invalid: invalid, rep: rep, err: err,
		crashed: crashed, approved: approved, woken: woken, stalled: w.stalled, pending: pending})
	w.stalled = false
	now := w.clock.Now()
	switch {
	case crashed, errors.Is(err, state.ErrLeaseHeld):
		return now.Add(leaseRetry)
	case rep != nil && !rep.NextRun.IsZero():
		if rep.NextRun.Before(start) {
			w.violate(3, "run %d asked to run next at %s, before it started (%s): a host that runs at NextRun runs again and again",
				w.runs, rep.NextRun.UTC().Format(time.RFC3339), start.UTC().Format(time.RFC3339))
		}
		// Hosts run again at once for a NextRun already past; one second
		// later keeps a reconciler that asks for the past from stopping
		// the simulated clock.
		return later(rep.NextRun, now.Add(time.Second))
	case err != nil:
		return now.Add(leaseRetry)
	}
	return now.Add(24 * time.Hour)
}

// verify runs the next process's Verify.
func (w *world) verify() {
	p := w.procs[w.nextProc()]
	w.runs++
	p.requests = 0
	pending := w.pendingIntents()
	w.chk.inRun = true
	_, err := p.rec.Verify(w.ctx)
	w.logf("verify %d by %s: %v", w.runs, p.holder(), err)
	if p.dead {
		// Its lease stays until it expires, as a crashed run's does.
		w.chk.machineFault, w.chk.machineExposed = true, pair{}
		p.dead = false
		p.restarts++
		if e := w.start(p); e != nil {
			w.fail(e)
		}
	}
	if err == nil {
		w.chk.verified()
	}
	if err := w.obs.refresh(w.ctx); err != nil {
		w.fail(err)
	}
	w.chk.checkHand(w.runs)
	if !w.stalled {
		w.chk.requestBound(w.runs, 0, pending)
	}
	w.chk.settle(w.runs)
}

// stall freezes p past its lease: the clock moves on by more than the
// lease time while another process runs, then p goes on where it was.
func (w *world) stall(p *process) {
	w.logf("%s stalls past its lease", p.holder())
	w.stalled = true
	w.clock.Advance(10*time.Minute + time.Minute)
	for _, q := range w.procs {
		if q != p && !q.dead {
			snap, _ := export(w.truth, w.clock.Now(), w.h.World.CurrentAndFuture, w.active(KindExport, w.clock.Now()))
			saved := q.requests
			q.requests = 0
			rep, err := q.rec.Sync(w.ctx, snap)
			q.requests = saved
			w.logf("run by %s while %s stalls: %s", q.holder(), p.holder(), summary(rep, err))
			// What the checks judge the cuts of this run by.
			w.chk.sent = w.chk.desireOf(snap, w.clock.Now())
			break
		}
	}
	w.logf("%s resumes", p.holder())
}

// mailed records an email to a guest (from the Notifier).
func (w *world) mailed(to string, group, linkID int64, window [2]time.Time) {
	w.chk.email(email{to: strings.ToLower(to), group: group, linkID: linkID, window: window})
}

// sampleDue lets the checks sample the world at every 30-second instant
// the clock has reached.
func (w *world) sampleDue() {
	for !w.stopped() && !w.chk.nextSample.After(w.clock.Now()) {
		if err := w.obs.refresh(w.ctx); err != nil {
			w.fail(err)
			return
		}
		w.chk.sample(w.chk.nextSample)
		w.chk.nextSample = w.chk.nextSample.Add(sampleEvery)
	}
}

func summary(rep *access.Report, err error) string {
	var b strings.Builder
	if rep != nil {
		fmt.Fprintf(&b, "created %d, replaced %d, deleted %d, failed %d, held %d, parked %d, next %s",
			rep.Created, rep.Replaced, rep.Deleted, rep.Failed, len(rep.Held), len(rep.Parked), rep.NextRun.UTC().Format("01-02 15:04"))
	}
	if err != nil {
		msg := err.Error()
		if len(msg) > 160 {
			msg = msg[:160] + "…"
		}
		fmt.Fprintf(&b, "; error: %s", msg)
	}
	return b.String()
}

func describe(e Event) string {
	var b strings.Builder
	b.WriteString(e.Kind)
	for _, kv := range [][2]string{{"id", e.ID}, {"member", e.Member}, {"target", e.Target}, {"group", e.Group}} {
		if kv[1] != "" {
			fmt.Fprintf(&b, " %s=%s", kv[0], kv[1])
		}
	}
	if e.Guest {
		b.WriteString(" guest")
	}
	if e.Offset != 0 {
		fmt.Fprintf(&b, " offset=%s", time.Duration(e.Offset))
	}
	if e.Length != 0 {
		fmt.Fprintf(&b, " length=%s", time.Duration(e.Length))
	}
	if e.N != 0 {
		fmt.Fprintf(&b, " n=%d", e.N)
	}
	if e.Status {
		b.WriteString(" status")
	}
	return b.String()
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// earliest returns the earliest of the non-zero ts.
func earliest(ts ...time.Time) time.Time {
	var out time.Time
	for _, t := range ts {
		if !t.IsZero() && (out.IsZero() || t.Before(out)) {
			out = t
		}
	}
	return out
}
