package opsim

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kisisync/kisisync/internal/simclock"
)

// digest is what a replay must reproduce exactly: every line of its trace
// (events, runs, every request with its answer), and its outcome.
type digest struct {
	Lines     int
	Trace     string // SHA-256 of the lines
	First     []string
	Runs      int
	Violation string
	Known     []string
}

func replay(t *testing.T, h History) (digest, []string) {
	t.Helper()
	var lines []string
	res, err := Run(context.Background(), h, Options{Known: Known, TraceReads: true,
		Trace: func(l string) { lines = append(lines, l) }})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.New()
	for _, l := range lines {
		sum.Write([]byte(l + "\n"))
	}
	d := digest{Lines: len(lines), Trace: hex.EncodeToString(sum.Sum(nil)), Runs: res.Runs}
	if res.Violation != nil {
		d.Violation = res.Violation.Error()
	}
	for _, k := range res.Known {
		d.Known = append(d.Known, k.Error())
	}
	return d, lines
}

// load keeps the machine busy while it runs: one scheduler thread, and
// goroutines that spin, yield and allocate (so the collector runs), each of
// them taking the thread from the replay at every chance.
func load(t *testing.T) (stop func()) {
	t.Helper()
	prev := runtime.GOMAXPROCS(1)
	var done atomic.Bool
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var sink [][]byte
			for n := 0; !done.Load(); n++ {
				sink = append(sink, make([]byte, 1024*(i+1)))
				if len(sink) > 256 {
					sink = sink[:0]
				}
				runtime.Gosched()
			}
		}()
	}
	return func() {
		done.Store(true)
		wg.Wait()
		runtime.GOMAXPROCS(prev)
	}
}

// TestReplayUnderLoad replays histories twice, once on an idle process and
// once on a loaded one (issue 23: a seed gave another result when the
// machine was busy), and compares their full traces: nothing a replay does
// may depend on the real clock or on how goroutines are scheduled.
// Not parallel: it changes GOMAXPROCS.
func TestReplayUnderLoad(t *testing.T) {
	for _, h := range timingHistories(3) {
		seed := h.Seed
		idle, idleLines := replay(t, h)
		stop := load(t)
		busy, busyLines := replay(t, h)
		stop()
		if idle.Lines == 0 {
			t.Fatalf("seed %d: empty trace", seed)
		}
		if diff := cmp.Diff(idle, busy); diff != "" {
			for i := range min(len(idleLines), len(busyLines)) {
				if idleLines[i] != busyLines[i] {
					t.Errorf("seed %d: line %d: idle %q, loaded %q", seed, i, idleLines[i], busyLines[i])
					break
				}
			}
			t.Fatalf("seed %d: the replay under load differs (-idle +loaded):\n%s", seed, diff)
		}
	}
}

// TestWriteDeadlineOnSimulatedClock: the deadline a process's Kisi write
// sees is the end of its lease on the simulated clock, however long the
// real clock took between the reconciler's timeout and the request (the
// simulator used to carry the real deadline over, so a busy machine
// shortened it).
func TestWriteDeadlineOnSimulatedClock(t *testing.T) {
	t.Parallel()
	clock := simclock.New(t0)
	p := &process{leaseUntil: t0.Add(10 * time.Minute)}
	s := simDeadlines{w: &world{clock: clock}, p: p}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	time.Sleep(20 * time.Millisecond) // a busy machine between the timeout and the request
	sim := s.on(ctx)
	if dl, ok := sim.Deadline(); !ok || !dl.Equal(p.leaseUntil) {
		t.Fatalf("deadline %v, %v; want the lease's end %v", dl, ok, p.leaseUntil)
	}
	clock.Advance(10*time.Minute - time.Millisecond)
	if err := sim.Err(); err != nil {
		t.Fatalf("a millisecond before the lease ends: %v", err)
	}
	clock.Advance(time.Millisecond)
	if err := sim.Err(); err != context.DeadlineExceeded {
		t.Fatalf("at the lease's end: %v, want the deadline exceeded", err)
	}
	if s.on(context.Background()) != context.Background() {
		t.Fatal("a context without a deadline changed")
	}
}

// timingHistories returns the first n one-day histories whose day has what
// depends on timing most: a process stalled past its lease (its write's
// deadline), a crash, and Kisi answering with random errors (the client's
// retries and back-off).
func timingHistories(n int) []History {
	var out []History
	for seed := int64(1); len(out) < n; seed++ {
		h := Generate(seed, Config{Days: 1})
		has := map[string]bool{}
		for _, e := range h.Events {
			has[e.Kind] = true
			if e.Kind == KindKisi {
				has[e.Target] = true
			}
		}
		if has[KindStall] && has[KindCrash] && has[KisiErrors] {
			out = append(out, h)
		}
	}
	return out
}
