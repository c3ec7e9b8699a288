package spacegen

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/mapping"
	"github.com/kisisync/kisisync/schedule"
)

// Config sizes a generated space. Counts are totals over Days days from
// Start.
type Config struct {
	Seed        uint64
	Start       time.Time // first day of the period (bookings, check-ins)
	Days        int
	Locations   int
	Resources   int
	Members     int
	Teams       int // teams of TeamSize members each
	TeamSize    int
	Plans       int // plan products; members hold one plan each
	Allowances  int
	Bookings    int
	Assignments int // weekly assignments with rules
	CheckIns    int
	DropIns     float64 // share of bookings made by guests
}

// Large is the benchmark space: 10,000 members, 500 resources, 100,000
// bookings in 30 days, 2,000 weekly assignments and 20,000 check-ins.
func Large(seed uint64, start time.Time) Config {
	return Config{Seed: seed, Start: start, Days: 30, Locations: 8, Resources: 500, Members: 10000,
		Teams: 300, TeamSize: 5, Plans: 20, Allowances: 2000, Bookings: 100000, Assignments: 2000,
		CheckIns: 20000, DropIns: 0.03}
}

// Small is a space of a few dozen records, for examples and property
// tests.
func Small(seed uint64, start time.Time) Config {
	return Config{Seed: seed, Start: start, Days: 7, Locations: 2, Resources: 6, Members: 12,
		Teams: 2, TeamSize: 3, Plans: 4, Allowances: 4, Bookings: 40, Assignments: 5,
		CheckIns: 12, DropIns: 0.1}
}

var zones = [...]string{"Europe/Berlin", "America/New_York", "Europe/London", "Asia/Tokyo",
	"Australia/Sydney", "America/Los_Angeles", "UTC", "America/Sao_Paulo"}

// Generate builds the space described by c.
func Generate(c Config) (access.Snapshot, mapping.Mapping) {
	days := max(c.Days, 1)
	g := &gen{c: c, r: rand.New(rand.NewPCG(c.Seed, c.Seed^0x9e3779b97f4a7c15)), start: c.Start, days: days,
		period: time.Duration(days) * 24 * time.Hour,
		m: mapping.Mapping{
			Plans: map[string][]int64{}, Allowances: map[string][]int64{},
			Resources: map[string][]int64{}, Locations: map[string][]int64{},
			Default: []int64{1}, DropIn: mapping.DropIn{Link: true, QR: true, AddToGroup: true},
		}}
	// The order is part of the result: every draw from g.r comes in the
	// same sequence, so one seed always gives the same space.
	g.places()
	g.planTable()
	g.members()
	g.teams()
	g.allowances()
	g.bookings()
	g.assignments()
	g.checkIns()
	return g.s, g.m
}

// gen is the state of one Generate call.
type gen struct {
	c      Config
	r      *rand.Rand
	s      access.Snapshot
	m      mapping.Mapping
	start  time.Time
	days   int
	period time.Duration
}

// places adds the locations and resources and maps them to groups.
func (g *gen) places() {
	for i := range g.c.Locations {
		id := fmt.Sprintf("loc%02d", i)
		g.s.Locations = append(g.s.Locations, access.Location{ID: id, TimeZone: zones[i%len(zones)]})
		g.m.Locations[id] = []int64{int64(100 + i)}
	}
	for i := range g.c.Resources {
		id := fmt.Sprintf("res%04d", i)
		g.s.Resources = append(g.s.Resources, access.Resource{ID: id, LocationID: fmt.Sprintf("loc%02d", i%max(g.c.Locations, 1))})
		groups := []int64{int64(1000 + i)}
		if i%3 == 0 {
			groups = append(groups, int64(100+i%max(g.c.Locations, 1)))
		}
		g.m.Resources[id] = groups
	}
}

// planTable maps the plan and allowance IDs to groups; the last plan ID
// stays unmapped, so Default applies to it.
func (g *gen) planTable() {
	for i := range g.c.Plans {
		if i == g.c.Plans-1 && g.c.Plans > 1 {
			continue // unmapped: Default applies
		}
		groups := []int64{int64(10 + i)}
		if i%2 == 1 {
			groups = append(groups, int64(10+i-1))
		}
		g.m.Plans[fmt.Sprintf("product%02d", i)] = groups
	}
	for i := range max(g.c.Allowances/50, 1) {
		g.m.Allowances[fmt.Sprintf("pass%02d", i)] = []int64{int64(50 + i)}
	}
}

// members adds the members, each with a plan: mostly active, some pending or
// cancelled, some ending.
func (g *gen) members() {
	for i := range g.c.Members {
		id := fmt.Sprintf("m%05d", i)
		g.s.Members = append(g.s.Members, access.Member{ID: id, Email: fmt.Sprintf("Member%05d@Example.com", i),
			Name: fmt.Sprintf("Member %d", i), Managed: i%4 == 0})
		status := access.PlanActive
		switch x := g.r.IntN(100); {
		case x < 4:
			status = access.PlanPending
		case x < 7:
			status = access.PlanCancelled
		}
		pl := access.Plan{ID: fmt.Sprintf("plan%05d", i), PlanID: fmt.Sprintf("product%02d", g.r.IntN(max(g.c.Plans, 1))),
			MemberID: id, Start: g.start.Add(-time.Duration(g.r.IntN(365)) * 24 * time.Hour), Status: status}
		if g.r.IntN(5) == 0 {
			pl.End = g.start.Add(time.Duration(1+g.r.IntN(g.days*24)) * time.Hour)
		}
		g.s.Plans = append(g.s.Plans, pl)
	}
}

// teams adds the teams, of consecutive members, each with an active team
// plan.
func (g *gen) teams() {
	for t := range g.c.Teams {
		id := fmt.Sprintf("team%03d", t)
		team := access.Team{ID: id}
		for k := range g.c.TeamSize {
			if j := t*g.c.TeamSize + k; j < g.c.Members {
				team.MemberIDs = append(team.MemberIDs, g.s.Members[j].ID)
			}
		}
		g.s.Teams = append(g.s.Teams, team)
		g.s.Plans = append(g.s.Plans, access.Plan{ID: fmt.Sprintf("teamplan%03d", t), PlanID: fmt.Sprintf("product%02d", g.r.IntN(max(g.c.Plans, 1))),
			TeamID: id, Start: g.start.Add(-30 * 24 * time.Hour), Status: access.PlanActive})
	}
}

// allowances adds allowances of one to 72 hours, some held by teams.
func (g *gen) allowances() {
	for i := range g.c.Allowances {
		a := access.Allowance{ID: fmt.Sprintf("allow%05d", i), AllowanceID: fmt.Sprintf("pass%02d", g.r.IntN(max(g.c.Allowances/50, 1))),
			Start: g.start.Add(time.Duration(g.r.IntN(g.days*24)) * time.Hour)}
		a.End = a.Start.Add(time.Duration(1+g.r.IntN(72)) * time.Hour)
		if g.c.Teams > 0 && g.r.IntN(10) == 0 {
			a.TeamID = g.s.Teams[g.r.IntN(len(g.s.Teams))].ID
		} else if g.c.Members > 0 {
			a.MemberID = g.s.Members[g.r.IntN(g.c.Members)].ID
		}
		g.s.Allowances = append(g.s.Allowances, a)
	}
}

// bookings adds bookings of 30 minutes to four hours in working hours, some
// by drop-in guests.
func (g *gen) bookings() {
	for i := range g.c.Bookings {
		if g.c.Resources == 0 || g.c.Members == 0 {
			break
		}
		day := g.start.Add(time.Duration(g.r.IntN(g.days)) * 24 * time.Hour)
		b := access.Booking{ID: fmt.Sprintf("book%06d", i), ResourceID: g.s.Resources[g.r.IntN(g.c.Resources)].ID,
			Start: day.Add(time.Duration(7*4+g.r.IntN(13*4)) * 15 * time.Minute)}
		b.End = b.Start.Add(time.Duration(2+g.r.IntN(15)) * 15 * time.Minute)
		b.CreatedAt = b.Start.Add(-time.Duration(1+g.r.IntN(72)) * time.Hour)
		if g.r.Float64() < g.c.DropIns {
			b.Guest = &access.Guest{Name: fmt.Sprintf("Guest %d", i), Email: fmt.Sprintf("guest%06d@example.org", i)}
			if g.r.IntN(10) == 0 { // a member booking through the drop-in widget
				b.Guest.Email = g.s.Members[g.r.IntN(g.c.Members)].Email
			}
		} else {
			b.MemberID = g.s.Members[g.r.IntN(g.c.Members)].ID
		}
		g.s.Bookings = append(g.s.Bookings, b)
	}
}

// assignments adds recurring resource assignments with one of a few weekly
// rule sets.
func (g *gen) assignments() {
	ruleSets := [][]schedule.Rule{
		{{Days: []time.Weekday{1, 2, 3, 4, 5}, From: schedule.Clock{Hour: 9}, To: schedule.Clock{Hour: 17}}},
		{{Days: []time.Weekday{1, 3, 5}, From: schedule.Clock{Hour: 8, Minute: 30}, To: schedule.Clock{Hour: 12}}},
		{{Days: []time.Weekday{2, 4}, From: schedule.Clock{Hour: 13}, To: schedule.Clock{Hour: 18, Minute: 30}}},
		{{Days: []time.Weekday{5}, From: schedule.Clock{Hour: 22}, To: schedule.Clock{Hour: 2}}},
		{{Days: []time.Weekday{0, 6}, From: schedule.Clock{Hour: 10}, To: schedule.Clock{Hour: 16}},
			{Days: []time.Weekday{1}, From: schedule.Clock{Hour: 7}, To: schedule.Clock{Hour: 9}}},
	}
	for i := range g.c.Assignments {
		if g.c.Resources == 0 || g.c.Members == 0 {
			break
		}
		a := access.Assignment{ID: fmt.Sprintf("asg%05d", i), ResourceID: g.s.Resources[g.r.IntN(g.c.Resources)].ID,
			Start: g.start.Add(-time.Duration(g.r.IntN(90)) * 24 * time.Hour), Rules: ruleSets[g.r.IntN(len(ruleSets))]}
		if g.r.IntN(4) == 0 {
			a.End = g.start.Add(time.Duration(1+g.r.IntN(g.days)) * 24 * time.Hour)
		}
		if g.c.Teams > 0 && g.r.IntN(10) == 0 {
			a.TeamID = g.s.Teams[g.r.IntN(len(g.s.Teams))].ID
		} else {
			a.MemberID = g.s.Members[g.r.IntN(g.c.Members)].ID
		}
		g.s.Assignments = append(g.s.Assignments, a)
	}
}

// checkIns adds check-ins, most with a check-out.
func (g *gen) checkIns() {
	for i := range g.c.CheckIns {
		if g.c.Locations == 0 || g.c.Members == 0 {
			break
		}
		ci := access.CheckIn{ID: fmt.Sprintf("chk%06d", i), MemberID: g.s.Members[g.r.IntN(g.c.Members)].ID,
			LocationID: g.s.Locations[g.r.IntN(g.c.Locations)].ID, At: g.start.Add(time.Duration(g.r.Int64N(int64(g.period/time.Minute))) * time.Minute)}
		if g.r.IntN(10) < 7 {
			ci.Out = ci.At.Add(time.Duration(15+g.r.IntN(600)) * time.Minute)
		}
		g.s.CheckIns = append(g.s.CheckIns, ci)
	}
}
