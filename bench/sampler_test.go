package bench_test

import (
	"context"
	"math/rand/v2"
	"net/http"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/kisi/kisitest"
	"github.com/kisisync/kisisync/schedule"
)

// samplerAgent marks the requests of a fakeTimeline, which injected faults leave alone.
const samplerAgent = "kisisync-bench-sampler"

// sampleEvery is the step at which the simulations read what Kisi holds.
const sampleEvery = 30 * time.Second

// heldRole is a group role assignment as the fake holds it.
type heldRole struct {
	key   string // "email|group"
	id    int64
	valid schedule.Interval
}

// fakeTimeline records what the fake Kisi holds after every write the SDK sends (a lost
// response included), read straight from the fake with a client of its own, so access can be
// read at any instant, whatever the SDK heard back. Between two writes nothing changes in
// Kisi but the clock, which each role's validity accounts for.
type fakeTimeline struct {
	tb       testing.TB
	env      *kisiEnv
	observer *kisi.Client

	mu     sync.Mutex
	at     []time.Time
	states [][]heldRole
	// requests counts the observer's own requests, which the fake logs too.
	requests int
}

// newFakeTimeline follows env's fake from now on: it hooks the wire and takes a first look.
// The fake must not rate-limit (the observer's reads are free in simulated time).
func newFakeTimeline(tb testing.TB, env *kisiEnv) *fakeTimeline {
	tb.Helper()
	obs, err := kisi.NewClient(env.srv.APIKey, kisi.WithBaseURL(env.srv.URL), kisi.WithRateLimit(rate.Inf, 0),
		kisi.WithHTTPClient(env.srv.Client()), kisi.WithRetry(0, 0, 0), kisi.WithUserAgent(samplerAgent))
	require.NoError(tb, err)
	ft := &fakeTimeline{tb: tb, env: env, observer: obs}
	ft.look()
	env.wire.after = func(s sent) {
		if s.method != http.MethodGet {
			ft.look()
		}
	}
	return ft
}

// look lists every group role assignment in the fake and records them at the clock's now.
func (ft *fakeTimeline) look() {
	ctx := context.Background()
	roles, err := listAll(ctx, func(lo kisi.ListOptions) ([]*kisi.RoleAssignment, *kisi.Response, error) {
		ft.mu.Lock()
		ft.requests++
		ft.mu.Unlock()
		return ft.observer.ListRoleAssignments(ctx, &kisi.RoleAssignmentListOptions{AppliesToType: "Group", ListOptions: lo})
	})
	require.NoError(ft.tb, err)
	state := make([]heldRole, 0, len(roles))
	for _, ra := range roles {
		if ra.Assignee == nil || ra.RoleID != "group_basic" {
			continue
		}
		state = append(state, heldRole{key: pairKey(ra.Assignee.Email, ra.AppliesToID), id: ra.ID,
			valid: validity(ra.ValidFrom, ra.ValidUntil)})
	}
	ft.mu.Lock()
	defer ft.mu.Unlock()
	now := ft.env.clock.Now()
	if n := len(ft.at); n > 0 && ft.at[n-1].Equal(now) {
		ft.states[n-1] = state
		return
	}
	ft.at = append(ft.at, now)
	ft.states = append(ft.states, state)
}

// held returns, per "email|group", the instants up to end at which the fake let that member
// through the group's doors.
func (ft *fakeTimeline) held(end time.Time) map[string]schedule.Set {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	per := map[string][]schedule.Interval{}
	for i, at := range ft.at {
		until := end
		if i+1 < len(ft.at) {
			until = ft.at[i+1]
		}
		if !at.Before(until) {
			continue
		}
		span := schedule.NewSet(schedule.Interval{Start: at, End: until})
		for _, r := range ft.states[i] {
			per[r.key] = append(per[r.key], span.Intersect(schedule.NewSet(r.valid)).Intervals()...)
		}
	}
	out := make(map[string]schedule.Set, len(per))
	for k, ivs := range per {
		out[k] = schedule.NewSet(ivs...)
	}
	return out
}

// observed returns how many requests the observer sent.
func (ft *fakeTimeline) observed() int {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	return ft.requests
}

// duplicates counts the looks at which a member held two roles in one group.
func (ft *fakeTimeline) duplicates() int {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	n := 0
	for _, st := range ft.states {
		seen := map[string]bool{}
		for _, r := range st {
			if seen[r.key] {
				n++
			}
			seen[r.key] = true
		}
	}
	return n
}

// sampled is what a 30-second sampling of access found, against the desired timelines.
type sampled struct {
	samples int // instants sampled
	// outside counts (pair, instant) samples with access outside the allowed windows;
	// lacking those without access inside the required ones.
	outside, lacking int
	// worstGap is the longest run of consecutive lacking samples of one pair, as time.
	worstGap time.Duration
	// exactLacking and exactWorst are the same measured exactly, from the recorded states.
	exactOutside, exactLacking, exactWorst time.Duration
	// worstKey and worstGapAt name the pair and the interval of exactWorst.
	worstKey   string
	worstGapAt schedule.Interval
}

// sampleAccess reads held against allowed and required every sampleEvery over span.
func sampleAccess(held, allowed, required map[string]schedule.Set, span schedule.Interval) sampled {
	keys := map[string]bool{}
	for _, m := range []map[string]schedule.Set{held, allowed, required} {
		for k := range m {
			keys[k] = true
		}
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	var s sampled
	for t := span.Start; t.Before(span.End); t = t.Add(sampleEvery) {
		s.samples++
	}
	for _, k := range sorted {
		h, a, r := held[k].Clip(span), allowed[k].Clip(span), required[k].Clip(span)
		run := 0
		for t := span.Start; t.Before(span.End); t = t.Add(sampleEvery) {
			in := h.Contains(t)
			if in && !a.Contains(t) {
				s.outside++
			}
			if !in && r.Contains(t) {
				s.lacking++
				run++
				s.worstGap = max(s.worstGap, time.Duration(run)*sampleEvery)
			} else {
				run = 0
			}
		}
		s.exactOutside += measure(h.Subtract(a))
		for iv := range r.Subtract(h).All() {
			s.exactLacking += iv.End.Sub(iv.Start)
			if d := iv.End.Sub(iv.Start); d > s.exactWorst {
				s.exactWorst, s.worstKey, s.worstGapAt = d, k, iv
			}
		}
	}
	return s
}

// faultInjector answers a share of the SDK's requests with 500/503 (not applied) and loses
// the response of another share (applied, then answered 500), from a seeded source; the
// sampler's reads are left alone.
func faultInjector(srv *kisitest.Server, seed uint64, errorRate, lostRate float64) {
	var mu sync.Mutex
	r := rand.New(rand.NewPCG(seed, 11))
	srv.Intercept(func(req *http.Request) kisitest.Fault {
		if req.UserAgent() == samplerAgent {
			return kisitest.Fault{}
		}
		mu.Lock()
		defer mu.Unlock()
		e, l := r.Float64(), r.Float64()
		switch {
		case e < errorRate:
			if r.IntN(2) == 0 {
				return kisitest.Fault{Status: http.StatusServiceUnavailable}
			}
			return kisitest.Fault{Status: http.StatusInternalServerError}
		case l < lostRate:
			return kisitest.Fault{Lost: true}
		}
		return kisitest.Fault{}
	})
}
