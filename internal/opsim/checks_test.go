package opsim

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/internal/simclock"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/schedule"
)

// t0 is the start of the hand-written histories: a Wednesday morning.
var t0 = time.Date(2026, 6, 10, 8, 0, 0, 0, time.UTC)

// history returns a one-day history of six members on open plans at the
// Berlin front door, the team among them, and then events.
func history(events ...Event) History {
	h := History{Seed: 7, Start: t0, Days: 1}
	for _, m := range []string{"m01", "m02", "m03", "m04", "m05", "m06"} {
		h.Events = append(h.Events, Event{Kind: KindJoin, Member: m, Target: "flex", Offset: Dur(-48 * time.Hour)})
	}
	return History{Seed: h.Seed, Start: h.Start, Days: h.Days, Events: append(h.Events, events...)}
}

// wake is a platform event at d that changes nobody's access, so that the
// host runs then.
func wake(d time.Duration) Event {
	return at(d, Event{Kind: KindAllowance, Member: "m01", Target: "rooms", Offset: Dur(48 * time.Hour), Length: Dur(time.Hour)})
}

func at(d time.Duration, e Event) Event {
	e.At = Dur(d)
	return e
}

// shortRoles is a broken client: every role it creates ends two hours
// after the history's start, whatever the reconciler asked for.
type shortRoles struct{ access.KisiAPI }

func (s shortRoles) CreateRoleAssignment(ctx context.Context, req *kisi.RoleAssignmentCreateRequest) (*kisi.RoleAssignment, *kisi.Response, error) {
	r := *req
	until := t0.Add(2 * time.Hour)
	r.ValidUntil = &until
	return s.KisiAPI.CreateRoleAssignment(ctx, &r)
}

// fakeDeletes is a broken client that answers every role delete with
// success without sending it.
type fakeDeletes struct{ access.KisiAPI }

func (fakeDeletes) DeleteRoleAssignment(context.Context, int64) (*kisi.Response, error) {
	return &kisi.Response{StatusCode: http.StatusNoContent}, nil
}

// twoLinks is a broken client that creates every group link twice.
type twoLinks struct{ access.KisiAPI }

func (t twoLinks) CreateGroupLink(ctx context.Context, req *kisi.GroupLinkCreateRequest) (*kisi.GroupLink, *kisi.Response, error) {
	_, _, _ = t.KisiAPI.CreateGroupLink(ctx, req)
	return t.KisiAPI.CreateGroupLink(ctx, req)
}

// clearsSlot is a broken client that deletes every role of a group before
// it creates one there, as if to make room for the one role per group.
type clearsSlot struct{ access.KisiAPI }

func (c clearsSlot) CreateRoleAssignment(ctx context.Context, req *kisi.RoleAssignmentCreateRequest) (*kisi.RoleAssignment, *kisi.Response, error) {
	roles, _, err := c.ListRoleAssignments(ctx, &kisi.RoleAssignmentListOptions{AppliesToType: kisi.ScopeGroup, AppliesToID: req.AppliesToID})
	if err != nil {
		return nil, nil, err
	}
	for _, ra := range roles {
		_, _ = c.DeleteRoleAssignment(ctx, ra.ID)
	}
	return c.KisiAPI.CreateRoleAssignment(ctx, req)
}

// chatty is a broken client that reads its group's roles a hundred times
// before each create.
type chatty struct{ access.KisiAPI }

func (c chatty) CreateRoleAssignment(ctx context.Context, req *kisi.RoleAssignmentCreateRequest) (*kisi.RoleAssignment, *kisi.Response, error) {
	for range 100 {
		_, _, _ = c.ListRoleAssignments(ctx, &kisi.RoleAssignmentListOptions{AppliesToType: kisi.ScopeGroup, AppliesToID: req.AppliesToID})
	}
	return c.KisiAPI.CreateRoleAssignment(ctx, req)
}

// TestChecksCatchBrokenReconcilers proves that each invariant's check can
// fail: a deliberately broken client, guard or report is caught, and the
// same history with nothing broken passes.
func TestChecksCatchBrokenReconcilers(t *testing.T) {
	t.Parallel()
	guest := at(time.Hour, Event{Kind: KindBook, ID: "b1", Guest: true, Target: "room-a",
		Offset: Dur(time.Hour), Length: Dur(time.Hour)})
	tests := []struct {
		name      string
		h         History
		broken    Options
		invariant int
		what      string
	}{
		{"1: roles end before the access they hold", history(), Options{
			Wrap: func(k access.KisiAPI) access.KisiAPI { return shortRoles{k} }}, 1, "lost access to berlin-front"},
		{"2: deletes that never reach Kisi", history(at(3*time.Hour, Event{Kind: KindLeave, Member: "m02", Status: true})),
			Options{Wrap: func(k access.KisiAPI) access.KisiAPI { return fakeDeletes{k} }}, 2, "m02@example.com with access to berlin-front"},
		{"3: every link created twice", history(guest),
			Options{Wrap: func(k access.KisiAPI) access.KisiAPI { return twoLinks{k} }}, 3, "second email"},
		{"4: a guard that holds a cut a record explains", history(at(3*time.Hour, Event{Kind: KindLeave, Member: "m02", Status: true})),
			Options{Doctor: heldCut("m02@example.com")}, 4, "which a record explains"},
		{"4: a guard that lets an empty plans list through",
			history(at(3*time.Hour, Event{Kind: KindExport, Target: BugEmptyPlans, Length: Dur(time.Hour)}), wake(3*time.Hour+time.Minute)),
			Options{Options: []access.Option{access.WithApproveRevocations()}}, 4, "a broken export (empty-plans) cut 4 of 6"},
		{"6: a client that clears the group it creates a role in", history(),
			Options{Wrap: func(k access.KisiAPI) access.KisiAPI { return clearsSlot{k} }}, 6,
			"wrote to the role of frontdesk@example.net in berlin-front, made by hand"},
		{"3: a client that reads a hundred times per create", history(),
			Options{Wrap: func(k access.KisiAPI) access.KisiAPI { return chatty{k} }}, 3, "requests, over the bound"},
		{"5: a report without its rejected records",
			history(at(3*time.Hour, Event{Kind: KindExport, Target: BugInvalidEmail, Member: "m03", Length: Dur(time.Hour)}), wake(3*time.Hour+time.Minute)),
			Options{Doctor: func(r *access.Report) { r.Skipped = nil }}, 5, `invalid member "m03"`},
		{"5: a report without its failures",
			history(at(3*time.Hour, Event{Kind: KindJoin, Member: "m07", Target: "flex"}),
				at(2*time.Hour, Event{Kind: KindKisi, Target: KisiRefuseUser, Member: "m07", Length: Dur(2 * time.Hour)})),
			Options{Doctor: func(r *access.Report) { r.Failures, r.Parked = nil, nil }}, 5, "m07@example.com has no access"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := Run(context.Background(), tc.h, tc.broken)
			if err != nil {
				t.Fatal(err)
			}
			v := res.Violation
			if v == nil || v.Invariant != tc.invariant || !strings.Contains(v.What, tc.what) {
				t.Fatalf("broken: got %v, want invariant %d with %q", v, tc.invariant, tc.what)
			}
			res, err = Run(context.Background(), tc.h, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Violation != nil {
				t.Fatalf("not broken: %v", res.Violation)
			}
		})
	}
}

// heldCut makes a run that deleted something report, besides, the cut of
// email's access held, in each of the world's groups (their ids are the
// fake's: the first ones it gives).
func heldCut(email string) func(*access.Report) {
	return func(r *access.Report) {
		if r.Deleted == 0 {
			return
		}
		for g := int64(100000); g < 100020; g++ {
			r.Held = append(r.Held, access.Change{Action: access.ActionDelete, Object: access.ObjectGrant, Email: email, GroupID: g})
		}
	}
}

// TestStormCheck feeds the storm check a key that fails in a run every
// minute, then one that backs off to once an hour.
func TestStormCheck(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		every time.Duration
		storm bool
	}{
		{"every minute", time.Minute, true},
		{"every hour", time.Hour, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := &world{h: History{Seed: 1, Start: t0}, clock: simclock.New(t0)}
			w.chk.init(w)
			for at := t0; at.Before(t0.Add(6 * time.Hour)); at = at.Add(tc.every) {
				w.log = append(w.log, sent{at: at, method: http.MethodPost, key: "grant m01@example.com/1", status: 503})
				w.chk.storms(run{start: at})
			}
			if got := w.v != nil && w.v.Invariant == 3; got != tc.storm {
				t.Fatalf("storm reported: %v, want %v", w.v, tc.storm)
			}
		})
	}
}

// TestReplayIsExact runs one generated history twice and compares every
// request the processes sent.
func TestReplayIsExact(t *testing.T) {
	t.Parallel()
	h := Generate(42, Config{Days: 1})
	var a, b []string
	for _, dst := range []*[]string{&a, &b} {
		if _, err := Run(context.Background(), h, Options{Known: Known, Trace: func(l string) { *dst = append(*dst, l) }}); err != nil {
			t.Fatal(err)
		}
	}
	if len(a) == 0 {
		t.Fatal("empty trace")
	}
	for i := range max(len(a), len(b)) {
		if i >= len(a) || i >= len(b) || a[i] != b[i] {
			t.Fatalf("the replays differ at line %d", i)
		}
	}
}

// TestShrink shrinks a history with a deliberately broken client to the
// events the break needs.
func TestShrink(t *testing.T) {
	t.Parallel()
	h := Generate(3, Config{Days: 1})
	o := Options{Known: nil, Wrap: func(k access.KisiAPI) access.KisiAPI { return fakeDeletes{k} }}
	res, err := Run(context.Background(), h, o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Violation == nil {
		t.Fatal("the broken client broke nothing")
	}
	small, v, err := Shrink(context.Background(), h, res.Violation, o)
	if err != nil {
		t.Fatal(err)
	}
	if v.Invariant != res.Violation.Invariant || len(small.Events) >= len(h.Events) {
		t.Fatalf("shrunk to %d of %d events, invariant %d (was %d)", len(small.Events), len(h.Events), v.Invariant, res.Violation.Invariant)
	}
	t.Logf("%d events → %d: %s", len(h.Events), len(small.Events), v.What)
}

// TestOneExposurePerIncident feeds the exposure check members left without
// a role by Kisi fault episodes: an incident (episodes chained by overlap)
// may expose one member, ever; a second one, at once or later, breaks
// invariant 1 (issue 23: overlapping episodes let two through).
func TestOneExposurePerIncident(t *testing.T) {
	t.Parallel()
	a, b := pair{"m01@example.com", 1}, pair{"m02@example.com", 1}
	hour := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	outage := func(from, till int) episode {
		return episode{e: Event{Kind: KindKisi, Target: KisiCreateOutage}, from: hour(from), till: hour(till)}
	}
	type loss struct {
		ep int
		p  pair
		at int
	}
	tests := []struct {
		name     string
		episodes []episode
		losses   []loss
		aBack    bool // a has access again at the second loss
		want     string
	}{
		{"one member twice", []episode{outage(0, 10)}, []loss{{0, a, 1}, {0, a, 3}}, true, ""},
		{"two episodes apart", []episode{outage(0, 2), outage(5, 8)}, []loss{{0, a, 1}, {1, b, 6}}, false, ""},
		{"overlapping episodes, at once", []episode{outage(0, 4), outage(3, 8)}, []loss{{0, a, 1}, {1, b, 6}}, false,
			"a second member exposed at once"},
		{"chained episodes, at once", []episode{outage(0, 4), outage(3, 6), outage(5, 9)}, []loss{{0, a, 1}, {2, b, 8}}, false,
			"a second member exposed at once"},
		{"one episode, later", []episode{outage(0, 10)}, []loss{{0, a, 1}, {0, b, 6}}, true,
			"a second member exposed in one incident"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := &world{h: History{Seed: 1, Start: t0}, clock: simclock.New(t0), episodes: tc.episodes,
				groupName: map[int64]string{1: "berlin-front"}}
			w.chk.init(w)
			wanted := desire{windows: map[pair]schedule.Set{}}
			for _, p := range []pair{a, b} {
				wanted.windows[p] = schedule.NewSet(schedule.Interval{Start: hour(-1), End: hour(24)})
			}
			w.chk.truth, w.chk.sent = wanted, wanted
			w.obs = &observer{holds: map[pair][]held{}}
			if tc.aBack {
				w.obs.holds[a] = []held{{email: a.email, group: 1, window: schedule.Interval{Start: hour(-1), End: hour(24)}}}
			}
			for _, l := range tc.losses {
				if !w.chk.exposedBy(l.ep, l.p, hour(l.at)) {
					t.Fatalf("the loss of %s at %d was not taken as an exposure", l.p, l.at)
				}
			}
			switch {
			case tc.want == "" && w.v != nil:
				t.Fatalf("reported %v", w.v)
			case tc.want != "" && (w.v == nil || w.v.Invariant != 1 || !strings.Contains(w.v.What, tc.want)):
				t.Fatalf("got %v, want invariant 1 with %q", w.v, tc.want)
			}
		})
	}
}

// TestExclusiveGroupsAdoptHandRoles runs one history with and without
// exclusive groups: only with them may the reconciler delete the roles made
// by hand in mapped groups (the front desk's, which nobody wants), and the
// ownership check lets it.
func TestExclusiveGroupsAdoptHandRoles(t *testing.T) {
	t.Parallel()
	for _, exclusive := range []bool{false, true} {
		t.Run(fmt.Sprint("exclusive=", exclusive), func(t *testing.T) {
			t.Parallel()
			h := history()
			h.World.Exclusive = exclusive
			deletes := 0
			res, err := Run(context.Background(), h, Options{Trace: func(l string) {
				if strings.Contains(l, "DELETE /role_assignments/") {
					deletes++
				}
			}})
			if err != nil {
				t.Fatal(err)
			}
			if res.Violation != nil {
				t.Fatal(res.Violation)
			}
			if got := deletes > 0; got != exclusive {
				t.Fatalf("%d role deletes, want some only with exclusive groups", deletes)
			}
		})
	}
}

// TestHandObjectsCompared feeds the ownership check a Kisi whose objects
// made by hand changed or went without a request naming them: the state
// comparison after each run catches what the request check cannot see.
func TestHandObjectsCompared(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		now  map[int64]string
		want string
	}{
		{"as made", map[int64]string{1: `{"id":1}`, 2: `{"id":2}`}, ""},
		{"changed", map[int64]string{1: `{"id":1,"valid_until":"2026-06-10T09:00:00Z"}`, 2: `{"id":2}`}, "the front desk's role was changed"},
		{"gone", map[int64]string{2: `{"id":2}`}, "the front desk's role is gone from Kisi"},
		{"adoptable gone", map[int64]string{1: `{"id":1}`}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := &world{h: History{Seed: 1, Start: t0}, clock: simclock.New(t0), obs: &observer{fp: tc.now},
				hand: map[int64]*handObject{
					1: {what: "the front desk's role", fp: `{"id":1}`},
					2: {what: "a member's role in an exclusive group", fp: `{"id":2}`, adoptable: true},
				}}
			w.chk.init(w)
			w.chk.checkHand(1)
			switch {
			case tc.want == "" && w.v != nil:
				t.Fatalf("reported %v", w.v)
			case tc.want != "" && (w.v == nil || w.v.Invariant != ownership || !strings.Contains(w.v.What, tc.want)):
				t.Fatalf("got %v, want the ownership rule broken with %q", w.v, tc.want)
			}
		})
	}
}
