package bench_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/mapping"
	"github.com/kisisync/kisisync/schedule"
)

// spaceConfig sizes a simulated space and its month of churn. Rates are per day.
type spaceConfig struct {
	Seed      uint64
	Start     time.Time // a Monday, midnight UTC
	Days      int
	Members   int
	Resources int
	// Bookings made per day, and the shares of them later moved or cancelled.
	Bookings             int
	MovedShare, Cancel   float64
	DropIns              int // guest bookings per day
	CheckIns             int // per working day
	PlanEvents           int // plans started, cancelled and paused, each, over the month
	AssignmentsPerMonth  int // weekly assignments created
	PendingShareAtStart  float64
	CancelledShareAtDrop float64 // share of drop-ins cancelled
	// SkipNaive leaves out the naive baseline, whose millions of requests at full size take
	// too long to simulate.
	SkipNaive bool
	// SkipFaulted leaves out the run under injected faults, whose sampler lists every role
	// after every write: quadratic at full size.
	SkipFaulted bool
}

func reducedSpace(seed uint64) spaceConfig {
	return spaceConfig{Seed: seed, Start: monthStart, Days: 30, Members: 40, Resources: 8,
		Bookings: 12, MovedShare: 0.15, Cancel: 0.1, DropIns: 1, CheckIns: 8, PlanEvents: 4,
		AssignmentsPerMonth: 4, PendingShareAtStart: 0.1, CancelledShareAtDrop: 0.2}
}

func fullSpace(seed uint64) spaceConfig {
	return spaceConfig{Seed: seed, Start: monthStart, Days: 30, Members: 1000, Resources: 60,
		Bookings: 250, MovedShare: 0.15, Cancel: 0.1, DropIns: 20, CheckIns: 150, PlanEvents: 60,
		AssignmentsPerMonth: 60, PendingShareAtStart: 0.1, CancelledShareAtDrop: 0.2, SkipNaive: true, SkipFaulted: true}
}

// monthStart is Monday 2 March 2026, so the month runs across Europe's change to summer time
// (29 March).
var monthStart = time.Date(2026, time.March, 2, 0, 0, 0, 0, time.UTC)

// event is one change the host platform makes to its data at an instant.
type event struct {
	at    time.Time
	kind  string // for reports: booking.created, plan.cancelled, …
	apply func(s *access.Snapshot)
}

// space is a generated space: its groups, mapping, initial snapshot and month of events.
type space struct {
	mapping mapping.Mapping
	initial access.Snapshot
	events  []event
	groups  []int64
}

// groupPlan lists the Kisi groups a space needs, in creation order, by name: index 0 is the
// front door (locations and the default), 1 the members' floor (plans), 2 the premium floor,
// then one per resource.
func groupNames(c spaceConfig) []string {
	names := []string{"Front door", "Members floor", "Premium floor"}
	for i := range c.Resources {
		names = append(names, fmt.Sprintf("Room %d", i))
	}
	return names
}

// generate builds the space on the given Kisi group ids (see groupNames).
func generate(c spaceConfig, groups []int64) space {
	r := rand.New(rand.NewPCG(c.Seed, 7))
	sp := space{groups: groups}
	front, floor, premium := groups[0], groups[1], groups[2]
	sp.mapping = mapping.Mapping{
		Plans:      map[string][]int64{"hotdesk": {front, floor}, "fixed": {front, floor}, "premium": {front, floor, premium}},
		Allowances: map[string][]int64{},
		Resources:  map[string][]int64{},
		Locations:  map[string][]int64{"berlin": {front}, "london": {front}},
		Default:    []int64{front},
		DropIn:     mapping.DropIn{Link: true},
	}
	s := &sp.initial
	s.Locations = []access.Location{{ID: "berlin", TimeZone: "Europe/Berlin"}, {ID: "london", TimeZone: "Europe/London"}}
	for i := range c.Resources {
		id := fmt.Sprintf("room%03d", i)
		loc := "berlin"
		if i%3 == 2 {
			loc = "london"
		}
		s.Resources = append(s.Resources, access.Resource{ID: id, LocationID: loc})
		sp.mapping.Resources[id] = []int64{groups[3+i]}
	}
	products := []string{"hotdesk", "fixed", "premium", "daypass"} // daypass maps to nothing: Default
	for i := range c.Members {
		id := fmt.Sprintf("m%04d", i)
		s.Members = append(s.Members, access.Member{ID: id, Email: fmt.Sprintf("member%04d@example.com", i),
			Name: fmt.Sprintf("Member %d", i), Managed: i%5 == 0})
		pl := access.Plan{ID: "plan-" + id, PlanID: products[r.IntN(len(products))], MemberID: id,
			Start: c.Start.AddDate(0, 0, -1-r.IntN(300)), Status: access.PlanActive}
		if r.Float64() < c.PendingShareAtStart {
			pl.Status = access.PlanPending
		}
		s.Plans = append(s.Plans, pl)
	}
	end := c.Start.AddDate(0, 0, c.Days)
	at := func(day int, fromHour, toHour int) time.Time {
		m := fromHour*60 + r.IntN((toHour-fromHour)*60)
		return c.Start.AddDate(0, 0, day).Add(time.Duration(m) * time.Minute)
	}
	member := func() string { return fmt.Sprintf("m%04d", r.IntN(c.Members)) }
	resource := func() string { return fmt.Sprintf("room%03d", r.IntN(c.Resources)) }
	var evs []event
	add := func(e event) {
		if e.at.Before(end) {
			evs = append(evs, e)
		}
	}

	nBooking := 0
	newBooking := func(day int, guest bool) {
		nBooking++
		id := fmt.Sprintf("b%06d", nBooking)
		made := at(day, 7, 22)
		startDay := day + r.IntN(4)
		start := c.Start.AddDate(0, 0, startDay).Add(time.Duration(8*4+r.IntN(10*4)) * 15 * time.Minute)
		if !start.After(made.Add(30 * time.Minute)) {
			start = made.Add(time.Duration(2+r.IntN(8)) * 15 * time.Minute).Truncate(15 * time.Minute)
		}
		b := access.Booking{ID: id, ResourceID: resource(), Start: start,
			End: start.Add(time.Duration(2+r.IntN(11)) * 15 * time.Minute), CreatedAt: made}
		kind := "booking.created"
		if guest {
			b.Guest = &access.Guest{Name: fmt.Sprintf("Guest %d", nBooking), Email: fmt.Sprintf("guest%06d@example.org", nBooking)}
			kind = "dropin.created"
		} else {
			b.MemberID = member()
		}
		add(event{at: made, kind: kind, apply: func(s *access.Snapshot) { s.Bookings = append(s.Bookings, b) }})
		lead := start.Sub(made)
		switch x := r.Float64(); {
		case !guest && x < c.MovedShare:
			when := made.Add(time.Duration(r.Int64N(int64(lead))))
			shift := time.Duration(1+r.IntN(8)) * 30 * time.Minute
			if r.IntN(2) == 0 {
				shift = 24 * time.Hour
			}
			add(event{at: when, kind: "booking.moved", apply: func(s *access.Snapshot) {
				if i := bookingIndex(s, id); i >= 0 {
					s.Bookings[i].Start = s.Bookings[i].Start.Add(shift)
					s.Bookings[i].End = s.Bookings[i].End.Add(shift)
				}
			}})
		case (!guest && x < c.MovedShare+c.Cancel) || (guest && x < c.CancelledShareAtDrop):
			when := made.Add(time.Duration(r.Int64N(int64(lead))))
			kind := "booking.cancelled"
			if guest {
				kind = "dropin.cancelled"
			}
			add(event{at: when, kind: kind, apply: func(s *access.Snapshot) {
				if i := bookingIndex(s, id); i >= 0 {
					s.Bookings = slices.Delete(s.Bookings, i, i+1)
				}
			}})
		}
	}
	for day := range c.Days {
		for range c.Bookings {
			newBooking(day, false)
		}
		for range c.DropIns {
			newBooking(day, true)
		}
		if wd := c.Start.AddDate(0, 0, day).Weekday(); wd == time.Saturday || wd == time.Sunday {
			continue
		}
		for k := range c.CheckIns {
			id := fmt.Sprintf("c%02d-%04d", day, k)
			in := at(day, 7, 12)
			out := in.Add(time.Duration(60+r.IntN(8*60)) * time.Minute)
			ci := access.CheckIn{ID: id, MemberID: member(), LocationID: []string{"berlin", "london"}[r.IntN(2)], At: in}
			add(event{at: in, kind: "checkin", apply: func(s *access.Snapshot) { s.CheckIns = append(s.CheckIns, ci) }})
			if r.IntN(10) < 8 { // the rest forget to check out: access ends at local midnight
				add(event{at: out, kind: "checkout", apply: func(s *access.Snapshot) {
					for i := range s.CheckIns {
						if s.CheckIns[i].ID == id {
							s.CheckIns[i].Out = out
						}
					}
				}})
			}
		}
	}
	for k := range c.PlanEvents {
		// A new member's plan starts (now or in a few days).
		m := member()
		startAt := at(r.IntN(c.Days), 8, 20)
		pl := access.Plan{ID: fmt.Sprintf("newplan%03d", k), PlanID: products[r.IntN(3)], MemberID: m,
			Start: startAt.Add(time.Duration(r.IntN(3)) * 24 * time.Hour), Status: access.PlanActive}
		add(event{at: startAt, kind: "plan.started", apply: func(s *access.Snapshot) { s.Plans = append(s.Plans, pl) }})
		// A plan is cancelled.
		victim := fmt.Sprintf("plan-m%04d", r.IntN(c.Members))
		add(event{at: at(r.IntN(c.Days), 8, 20), kind: "plan.cancelled", apply: func(s *access.Snapshot) {
			for i := range s.Plans {
				if s.Plans[i].ID == victim {
					s.Plans[i].Status = access.PlanCancelled
				}
			}
		}})
		// A plan is paused for a few days: it ends, and a new one starts when it resumes.
		paused := fmt.Sprintf("plan-m%04d", r.IntN(c.Members))
		pauseAt := at(r.IntN(c.Days), 8, 20)
		resume := pauseAt.Truncate(24*time.Hour).AddDate(0, 0, 2+r.IntN(7))
		add(event{at: pauseAt, kind: "plan.paused", apply: func(s *access.Snapshot) {
			for i := range s.Plans {
				if s.Plans[i].ID == paused && s.Plans[i].Status == access.PlanActive && s.Plans[i].End.IsZero() {
					s.Plans[i].End = pauseAt
					s.Plans = append(s.Plans, access.Plan{ID: paused + "-resumed", PlanID: s.Plans[i].PlanID,
						MemberID: s.Plans[i].MemberID, Start: resume, Status: access.PlanActive})
				}
			}
		}})
	}
	rules := [][]schedule.Rule{
		{{Days: weekdays, From: schedule.Clock{Hour: 9}, To: schedule.Clock{Hour: 17}}},
		{{Days: []time.Weekday{time.Tuesday, time.Thursday}, From: schedule.Clock{Hour: 8}, To: schedule.Clock{Hour: 13}}},
		{{Days: []time.Weekday{time.Friday}, From: schedule.Clock{Hour: 20}, To: schedule.Clock{Hour: 2}}},
	}
	for k := range c.AssignmentsPerMonth {
		made := at(r.IntN(c.Days), 9, 18)
		a := access.Assignment{ID: fmt.Sprintf("asg%03d", k), ResourceID: resource(), MemberID: member(),
			Start: made.Truncate(24*time.Hour).AddDate(0, 0, 1), Rules: rules[r.IntN(len(rules))]}
		if r.IntN(3) == 0 {
			a.End = a.Start.AddDate(0, 0, 7*(1+r.IntN(2)))
		}
		add(event{at: made, kind: "assignment.created", apply: func(s *access.Snapshot) { s.Assignments = append(s.Assignments, a) }})
	}
	slices.SortStableFunc(evs, func(a, b event) int { return a.at.Compare(b.at) })
	sp.events = evs
	return sp
}

func bookingIndex(s *access.Snapshot, id string) int {
	return slices.IndexFunc(s.Bookings, func(b access.Booking) bool { return b.ID == id })
}

// cloneSnapshot copies the slices of s that events modify, so a run can change its copy.
func cloneSnapshot(s access.Snapshot) access.Snapshot {
	c := s
	c.Members = slices.Clone(s.Members)
	c.Plans = slices.Clone(s.Plans)
	c.Bookings = slices.Clone(s.Bookings)
	c.Assignments = slices.Clone(s.Assignments)
	c.CheckIns = slices.Clone(s.CheckIns)
	return c
}
