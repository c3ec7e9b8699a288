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
	r := rand.New(rand.NewPCG(c.Seed, c.Seed^0x9e3779b97f4a7c15))
	var s access.Snapshot
	m := mapping.Mapping{
		Plans: map[string][]int64{}, Allowances: map[string][]int64{},
		Resources: map[string][]int64{}, Locations: map[string][]int64{},
		Default: []int64{1}, DropIn: mapping.DropIn{Link: true, QR: true, AddToGroup: true},
	}
	start := c.Start
	days := max(c.Days, 1)
	period := time.Duration(days) * 24 * time.Hour
	for i := range c.Locations {
		id := fmt.Sprintf("loc%02d", i)
		s.Locations = append(s.Locations, access.Location{ID: id, TimeZone: zones[i%len(zones)]})
		m.Locations[id] = []int64{int64(100 + i)}
	}
	for i := range c.Resources {
		id := fmt.Sprintf("res%04d", i)
		s.Resources = append(s.Resources, access.Resource{ID: id, LocationID: fmt.Sprintf("loc%02d", i%max(c.Locations, 1))})
		g := []int64{int64(1000 + i)}
		if i%3 == 0 {
			g = append(g, int64(100+i%max(c.Locations, 1)))
		}
		m.Resources[id] = g
	}
	for i := range c.Plans {
		if i == c.Plans-1 && c.Plans > 1 {
			continue // unmapped: Default applies
		}
		g := []int64{int64(10 + i)}
		if i%2 == 1 {
			g = append(g, int64(10+i-1))
		}
		m.Plans[fmt.Sprintf("product%02d", i)] = g
	}
	for i := range max(c.Allowances/50, 1) {
		m.Allowances[fmt.Sprintf("pass%02d", i)] = []int64{int64(50 + i)}
	}
	for i := range c.Members {
		id := fmt.Sprintf("m%05d", i)
		s.Members = append(s.Members, access.Member{ID: id, Email: fmt.Sprintf("Member%05d@Example.com", i),
			Name: fmt.Sprintf("Member %d", i), Managed: i%4 == 0})
		status := access.PlanActive
		switch x := r.IntN(100); {
		case x < 4:
			status = access.PlanPending
		case x < 7:
			status = access.PlanCancelled
		}
		pl := access.Plan{ID: fmt.Sprintf("plan%05d", i), PlanID: fmt.Sprintf("product%02d", r.IntN(max(c.Plans, 1))),
			MemberID: id, Start: start.Add(-time.Duration(r.IntN(365)) * 24 * time.Hour), Status: status}
		if r.IntN(5) == 0 {
			pl.End = start.Add(time.Duration(1+r.IntN(days*24)) * time.Hour)
		}
		s.Plans = append(s.Plans, pl)
	}
	for t := range c.Teams {
		id := fmt.Sprintf("team%03d", t)
		team := access.Team{ID: id}
		for k := range c.TeamSize {
			if j := t*c.TeamSize + k; j < c.Members {
				team.MemberIDs = append(team.MemberIDs, s.Members[j].ID)
			}
		}
		s.Teams = append(s.Teams, team)
		s.Plans = append(s.Plans, access.Plan{ID: fmt.Sprintf("teamplan%03d", t), PlanID: fmt.Sprintf("product%02d", r.IntN(max(c.Plans, 1))),
			TeamID: id, Start: start.Add(-30 * 24 * time.Hour), Status: access.PlanActive})
	}
	for i := range c.Allowances {
		a := access.Allowance{ID: fmt.Sprintf("allow%05d", i), AllowanceID: fmt.Sprintf("pass%02d", r.IntN(max(c.Allowances/50, 1))),
			Start: start.Add(time.Duration(r.IntN(days*24)) * time.Hour)}
		a.End = a.Start.Add(time.Duration(1+r.IntN(72)) * time.Hour)
		if c.Teams > 0 && r.IntN(10) == 0 {
			a.TeamID = s.Teams[r.IntN(len(s.Teams))].ID
		} else if c.Members > 0 {
			a.MemberID = s.Members[r.IntN(c.Members)].ID
		}
		s.Allowances = append(s.Allowances, a)
	}
	for i := range c.Bookings {
		if c.Resources == 0 || c.Members == 0 {
			break
		}
		day := start.Add(time.Duration(r.IntN(days)) * 24 * time.Hour)
		b := access.Booking{ID: fmt.Sprintf("book%06d", i), ResourceID: s.Resources[r.IntN(c.Resources)].ID,
			Start: day.Add(time.Duration(7*4+r.IntN(13*4)) * 15 * time.Minute)}
		b.End = b.Start.Add(time.Duration(2+r.IntN(15)) * 15 * time.Minute)
		b.CreatedAt = b.Start.Add(-time.Duration(1+r.IntN(72)) * time.Hour)
		if r.Float64() < c.DropIns {
			b.Guest = &access.Guest{Name: fmt.Sprintf("Guest %d", i), Email: fmt.Sprintf("guest%06d@example.org", i)}
			if r.IntN(10) == 0 { // a member booking through the drop-in widget
				b.Guest.Email = s.Members[r.IntN(c.Members)].Email
			}
		} else {
			b.MemberID = s.Members[r.IntN(c.Members)].ID
		}
		s.Bookings = append(s.Bookings, b)
	}
	ruleSets := [][]schedule.Rule{
		{{Days: []time.Weekday{1, 2, 3, 4, 5}, From: schedule.Clock{Hour: 9}, To: schedule.Clock{Hour: 17}}},
		{{Days: []time.Weekday{1, 3, 5}, From: schedule.Clock{Hour: 8, Minute: 30}, To: schedule.Clock{Hour: 12}}},
		{{Days: []time.Weekday{2, 4}, From: schedule.Clock{Hour: 13}, To: schedule.Clock{Hour: 18, Minute: 30}}},
		{{Days: []time.Weekday{5}, From: schedule.Clock{Hour: 22}, To: schedule.Clock{Hour: 2}}},
		{{Days: []time.Weekday{0, 6}, From: schedule.Clock{Hour: 10}, To: schedule.Clock{Hour: 16}},
			{Days: []time.Weekday{1}, From: schedule.Clock{Hour: 7}, To: schedule.Clock{Hour: 9}}},
	}
	for i := range c.Assignments {
		if c.Resources == 0 || c.Members == 0 {
			break
		}
		a := access.Assignment{ID: fmt.Sprintf("asg%05d", i), ResourceID: s.Resources[r.IntN(c.Resources)].ID,
			Start: start.Add(-time.Duration(r.IntN(90)) * 24 * time.Hour), Rules: ruleSets[r.IntN(len(ruleSets))]}
		if r.IntN(4) == 0 {
			a.End = start.Add(time.Duration(1+r.IntN(days)) * 24 * time.Hour)
		}
		if c.Teams > 0 && r.IntN(10) == 0 {
			a.TeamID = s.Teams[r.IntN(len(s.Teams))].ID
		} else {
			a.MemberID = s.Members[r.IntN(c.Members)].ID
		}
		s.Assignments = append(s.Assignments, a)
	}
	for i := range c.CheckIns {
		if c.Locations == 0 || c.Members == 0 {
			break
		}
		ci := access.CheckIn{ID: fmt.Sprintf("chk%06d", i), MemberID: s.Members[r.IntN(c.Members)].ID,
			LocationID: s.Locations[r.IntN(c.Locations)].ID, At: start.Add(time.Duration(r.Int64N(int64(period/time.Minute))) * time.Minute)}
		if r.IntN(10) < 7 {
			ci.Out = ci.At.Add(time.Duration(15+r.IntN(600)) * time.Minute)
		}
		s.CheckIns = append(s.CheckIns, ci)
	}
	return s, m
}
