package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/state"
	"github.com/kisisync/kisisync/examples/integration"
)

// SnapshotLoader is where a host plugs in its own data: Load reads, at the
// moment of the call, everything the platform knows that bears on door
// access (members, teams, plans, allowances, bookings, assignments,
// check-ins). A host implements it over its own database; it must return
// the whole picture (the reconciler revokes what is missing, within the
// revoke guard), or an error.
type SnapshotLoader interface {
	Load(ctx context.Context) (access.Snapshot, error)
}

// LoaderFunc adapts a function to a [SnapshotLoader].
type LoaderFunc func(ctx context.Context) (access.Snapshot, error)

// Load calls f.
func (f LoaderFunc) Load(ctx context.Context) (access.Snapshot, error) { return f(ctx) }

// Syncer is the part of *access.Reconciler the scheduler uses.
type Syncer interface {
	Sync(ctx context.Context, s access.Snapshot) (*access.Report, error)
	Verify(ctx context.Context) (*access.Drift, error)
}

// Scheduler runs one organization's sync: at Report.NextRun (the next
// moment the desired access changes), clamped between Floor and Ceiling,
// and whenever Wake is called; and a Verify every VerifyEvery.
//
// A host with many organizations runs one Scheduler (or one job in its own
// job system) per organization, each with its own Reconciler over a Store
// keyed by organization.
type Scheduler struct {
	Syncer Syncer
	Loader SnapshotLoader
	Clock  clockwork.Clock
	Log    *slog.Logger
	// Floor is the shortest wait between runs, so a burst of changes or a
	// failing Kisi does not turn into a busy loop.
	Floor time.Duration
	// Ceiling is the longest wait, so changes the host forgot to signal
	// with Wake are picked up anyway.
	Ceiling time.Duration
	// VerifyEvery is how often Verify lists Kisi to find drift; 0 never.
	VerifyEvery time.Duration

	wake chan struct{}
}

// NewScheduler returns a Scheduler with a 30-second floor, a 15-minute
// ceiling and an hourly Verify.
func NewScheduler(s Syncer, l SnapshotLoader, clock clockwork.Clock, log *slog.Logger) *Scheduler {
	return &Scheduler{Syncer: s, Loader: l, Clock: clock, Log: log,
		Floor: 30 * time.Second, Ceiling: 15 * time.Minute, VerifyEvery: time.Hour,
		wake: make(chan struct{}, 1)}
}

// Wake asks for a run as soon as the floor allows: call it when the
// platform's data changed (a booking made, a plan cancelled, a webhook).
// It never blocks.
func (s *Scheduler) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Once runs one Verify when verify is set, then one sync, and returns when
// the next run is due. Verify comes first so that the drift it finds
// (grants deleted or edited in Kisi by hand, orphans of an interrupted run)
// is repaired by the sync right after it, not one wait later.
//
// Everything the run did not do is logged at WARN, one line per cause,
// with the records concerned and what to do: snapshot records skipped,
// changes parked, cuts held by the revoke guard, changes failed. A run
// stopped because ctx ended logs nothing more and returns ctx's error.
func (s *Scheduler) Once(ctx context.Context, verify bool) (time.Time, error) {
	now := s.Clock.Now()
	next := now.Add(s.Ceiling)
	if verify {
		s.verify(ctx)
	}
	snap, err := s.Loader.Load(ctx)
	switch {
	case ctx.Err() != nil:
		return now, ctx.Err()
	case err != nil:
		s.Log.ErrorContext(ctx, "load snapshot failed; nothing synced", "err", err)
		return now.Add(s.Floor), err
	}
	rep, err := s.Syncer.Sync(ctx, snap)
	switch {
	case ctx.Err() != nil:
		return now, ctx.Err()
	case errors.Is(err, state.ErrLeaseHeld):
		s.Log.InfoContext(ctx, "another run of this organization is in progress; skipped")
		return now.Add(s.Floor), nil
	case rep == nil && err != nil:
		s.Log.ErrorContext(ctx, "sync failed", "err", err)
		return now.Add(s.Floor), err
	}
	lvl := slog.LevelInfo
	if rep.Failed > 0 || len(rep.Skipped) > 0 || len(rep.Parked) > 0 || len(rep.Held) > 0 {
		lvl = slog.LevelWarn
	}
	attrs := []any{"created", rep.Created, "replaced", rep.Replaced, "deleted", rep.Deleted, "failed", rep.Failed,
		"skipped", len(rep.Skipped), "parked", len(rep.Parked), "held", len(rep.Held)}
	if !rep.NextRun.IsZero() {
		attrs = append(attrs, "next_change", rep.NextRun)
		next = rep.NextRun
	}
	var stopped *access.SystemicError
	if errors.As(err, &stopped) {
		attrs = append(attrs, "stopped", stopped)
	}
	s.Log.Log(ctx, lvl, "synced", attrs...)
	integration.LogUndone(ctx, s.Log, rep)
	return s.clamp(now, next), nil
}

// verify runs Verify and logs what it found.
func (s *Scheduler) verify(ctx context.Context) {
	d, err := s.Syncer.Verify(ctx)
	switch {
	case ctx.Err() != nil:
		return
	case errors.Is(err, state.ErrLeaseHeld):
		s.Log.InfoContext(ctx, "another run of this organization is in progress; verify skipped")
		return
	}
	if d != nil {
		lvl := slog.LevelInfo
		if drift(d) {
			lvl = slog.LevelWarn
		}
		s.Log.Log(ctx, lvl, "verified", "groups", d.Groups, "missing", len(d.Missing), "edited", len(d.Edited),
			"adopted", len(d.Adopted), "released", len(d.Released), "restored", len(d.Restored),
			"unmanaged", len(d.Unmanaged), "unconfirmed", len(d.Unconfirmed))
	}
	if err != nil {
		s.Log.WarnContext(ctx, "verify failed", "err", err)
	}
}

// drift reports whether Verify found something the next sync repairs.
func drift(d *access.Drift) bool {
	return len(d.Missing)+len(d.Edited)+len(d.Adopted)+len(d.Released)+len(d.Restored) > 0
}

// clamp keeps next between now+Floor and now+Ceiling.
func (s *Scheduler) clamp(now, next time.Time) time.Time {
	if lo := now.Add(s.Floor); next.Before(lo) {
		return lo
	}
	if hi := now.Add(s.Ceiling); next.After(hi) {
		return hi
	}
	return next
}

// Run syncs until ctx is done, then returns nil. A failing run is logged
// and retried after the floor; Kisi keeps enforcing the windows it holds in
// the meantime.
func (s *Scheduler) Run(ctx context.Context) error {
	nextVerify := s.Clock.Now()
	for {
		started := s.Clock.Now()
		verify := s.VerifyEvery > 0 && !s.Clock.Now().Before(nextVerify)
		if verify {
			nextVerify = s.Clock.Now().Add(s.VerifyEvery)
		}
		next, _ := s.Once(ctx, verify) // logged by Once
		if ctx.Err() != nil {
			s.Log.Info("stopped")
			return nil
		}
		wait := next.Sub(s.Clock.Now())
		s.Log.DebugContext(ctx, "sleeping", "until", next, "wait", wait)
		timer := s.Clock.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			s.Log.Info("stopped")
			return nil
		case <-timer.Chan():
		case <-s.wake:
			timer.Stop()
			// Honour the floor after a wake-up too.
			if d := started.Add(s.Floor).Sub(s.Clock.Now()); d > 0 {
				floor := s.Clock.NewTimer(d)
				select {
				case <-ctx.Done():
					floor.Stop()
					s.Log.Info("stopped")
					return nil
				case <-floor.Chan():
				}
			}
		}
	}
}
