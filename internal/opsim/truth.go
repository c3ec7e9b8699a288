package opsim

import (
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/mapping"
	"github.com/kisisync/kisisync/schedule"
)

// The organization every history runs in: two locations in zones whose
// clocks change on different nights, a front door each, three meeting rooms
// and a desk in each location.
var (
	simLocations = []access.Location{{ID: "berlin", TimeZone: "Europe/Berlin"}, {ID: "nyc", TimeZone: "America/New_York"}}
	simResources = []access.Resource{
		{ID: "room-a", LocationID: "berlin"}, {ID: "room-b", LocationID: "berlin"}, {ID: "room-c", LocationID: "nyc"},
		{ID: "desk-1", LocationID: "berlin"}, {ID: "desk-2", LocationID: "nyc"},
	}
	// groupLocation is the location of each group, for the guard's scopes.
	groupLocation = map[string]string{"berlin-front": "berlin", "nyc-front": "nyc", "room-a": "berlin", "room-b": "berlin", "room-c": "nyc"}
)

const (
	teamID     = "t1"
	teamPlanID = "tp1"
)

// mappingFor returns the mapping variant name over the groups' Kisi ids.
func mappingFor(variant string, g map[string]int64) mapping.Mapping {
	ids := func(names ...string) []int64 {
		out := make([]int64, len(names))
		for i, n := range names {
			out[i] = g[n]
		}
		return out
	}
	m := mapping.Mapping{
		Plans:      map[string][]int64{"flex": ids("berlin-front"), "nyc": ids("nyc-front"), "global": ids("berlin-front", "nyc-front")},
		Allowances: map[string][]int64{"rooms": ids("room-a")},
		Resources: map[string][]int64{"room-a": ids("room-a"), "room-b": ids("room-b"), "room-c": ids("room-c"),
			"desk-1": ids("berlin-front"), "desk-2": ids("nyc-front")},
		Locations: map[string][]int64{"berlin": ids("berlin-front"), "nyc": ids("nyc-front")},
		Default:   ids("berlin-front"),
		DropIn:    mapping.DropIn{Link: true, QR: true},
	}
	switch variant {
	case "rooms-front":
		m.Resources["room-a"] = ids("room-a", "berlin-front")
	case "no-allowance":
		m.Allowances = nil
	}
	return m
}

// truth is the platform's records as the host holds them, and the policy
// and mapping it configures.
type truth struct {
	snap    access.Snapshot
	buffer  schedule.Buffer
	mapping string // variant
	plans   int    // plans created, for their IDs
}

func newTruth(start time.Time) *truth {
	return &truth{
		snap: access.Snapshot{
			Locations: slices.Clone(simLocations), Resources: slices.Clone(simResources),
			Teams: []access.Team{{ID: teamID}},
			Plans: []access.Plan{{ID: teamPlanID, PlanID: "flex", TeamID: teamID, Start: start.AddDate(0, 0, -30), Status: access.PlanActive}},
		},
		buffer:  schedule.DefaultBuffer,
		mapping: "base",
	}
}

func (t *truth) policy() access.Policy {
	p := access.DefaultPolicy()
	p.Buffer = t.buffer
	return p
}

func emailOf(member string) string { return member + "@example.com" }

func guestEmail(bookingID string) string {
	return "guest-" + strings.ToLower(bookingID) + "@example.org"
}

func (t *truth) hasMember(id string) bool {
	return slices.ContainsFunc(t.snap.Members, func(m access.Member) bool { return m.ID == id })
}

// cause classifies how an event reduces access, as the revoke guard should
// judge it.
type cause int

const (
	causeNone     cause = iota
	causeExplicit       // a record present says so: always applied
	causeChanged        // an End moved earlier without a status
	causeVanished       // a record removed
)

// apply changes the truth by the platform event e at now; it returns
// whether e was a platform event, and how the cuts it makes are caused.
func (t *truth) apply(e Event, now time.Time) (platform bool, c cause) {
	s := &t.snap
	switch e.Kind {
	case KindJoin:
		if !t.hasMember(e.Member) {
			s.Members = append(s.Members, access.Member{ID: e.Member, Email: emailOf(e.Member), Name: strings.ToUpper(e.Member)})
		}
		t.plans++
		p := access.Plan{ID: fmt.Sprintf("p%d-%s", t.plans, e.Member), PlanID: e.Target, MemberID: e.Member,
			Start: now.Add(time.Duration(e.Offset)), Status: access.PlanActive}
		if e.Length > 0 {
			p.End = p.Start.Add(time.Duration(e.Length))
		}
		s.Plans = append(s.Plans, p)
	case KindLeave, KindEndPlans:
		end := now
		if e.Kind == KindEndPlans {
			end = now.Add(time.Duration(e.Offset))
		}
		c = causeChanged
		if e.Kind == KindLeave && e.Status {
			c = causeExplicit
		}
		for i := range s.Plans {
			p := &s.Plans[i]
			if p.MemberID != e.Member || p.Status != access.PlanActive || (!p.End.IsZero() && !p.End.After(end)) {
				continue
			}
			p.End = end
			if p.Start.After(end) {
				p.Start = end
			}
			if c == causeExplicit {
				p.Status = access.PlanCancelled
			}
		}
	case KindTeamJoin:
		if t.hasMember(e.Member) && !slices.Contains(s.Teams[0].MemberIDs, e.Member) {
			s.Teams[0].MemberIDs = append(s.Teams[0].MemberIDs, e.Member)
		}
	case KindTeamCancel:
		for i := range s.Plans {
			if s.Plans[i].ID == teamPlanID {
				s.Plans[i].Status = access.PlanCancelled
			}
		}
		c = causeExplicit
	case KindAllowance:
		if t.hasMember(e.Member) {
			start := now.Add(time.Duration(e.Offset))
			s.Allowances = append(s.Allowances, access.Allowance{ID: "al-" + e.Member + "-" + start.Format("0102T1504"),
				AllowanceID: e.Target, MemberID: e.Member, Start: start, End: start.Add(time.Duration(e.Length))})
		}
	case KindBook:
		t.book(e.ID, e.Target, e.Member, e.Guest, now.Add(time.Duration(e.Offset)), time.Duration(e.Length), now)
	case KindMeeting:
		start := now.Add(time.Duration(e.Offset))
		for i := range e.N {
			id := fmt.Sprintf("%s-%d", e.ID, i+1)
			member := ""
			if n := len(s.Members); n > 0 {
				member = s.Members[(int(hash(e.ID))+i)%n].ID
			}
			t.book(id, e.Target, member, e.Guest, start, time.Duration(e.Length), now)
		}
	case KindMove, KindExtend:
		for i := range s.Bookings {
			b := &s.Bookings[i]
			if !sameBooking(b.ID, e.ID) {
				continue
			}
			if e.Kind == KindMove {
				b.Start, b.End = b.Start.Add(time.Duration(e.Offset)), b.End.Add(time.Duration(e.Offset))
			} else {
				b.End = b.End.Add(time.Duration(e.Offset))
				if b.End.Before(b.Start.Add(15 * time.Minute)) {
					b.End = b.Start.Add(15 * time.Minute)
				}
			}
		}
		c = causeChanged
	case KindCancel:
		s.Bookings = slices.DeleteFunc(s.Bookings, func(b access.Booking) bool { return sameBooking(b.ID, e.ID) })
		c = causeVanished
	case KindAssign:
		if !t.hasMember(e.Member) {
			break
		}
		a := access.Assignment{ID: e.ID, ResourceID: e.Target, MemberID: e.Member, Start: now.Add(time.Duration(e.Offset)),
			Rules: []schedule.Rule{{Days: []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday},
				From: schedule.Clock{Hour: 8}, To: schedule.Clock{Hour: 18}}}}
		if e.Length > 0 {
			a.Rules = []schedule.Rule{{Days: []time.Weekday{time.Friday, time.Saturday, time.Sunday},
				From: schedule.Clock{Hour: 22}, To: schedule.Clock{Hour: 2}}}
		}
		s.Assignments = append(s.Assignments, a)
	case KindUnassign:
		s.Assignments = slices.DeleteFunc(s.Assignments, func(a access.Assignment) bool { return a.ID == e.ID })
		c = causeVanished
	case KindCheckIn:
		if e.N == 0 && t.hasMember(e.Member) {
			s.CheckIns = append(s.CheckIns, access.CheckIn{ID: e.ID, MemberID: e.Member, LocationID: e.Target, At: now})
		}
		for i := range min(e.N, len(s.Members)) {
			m := s.Members[(int(hash(e.ID))+i)%len(s.Members)].ID
			s.CheckIns = append(s.CheckIns, access.CheckIn{ID: fmt.Sprintf("%s-%d", e.ID, i+1), MemberID: m, LocationID: e.Target, At: now})
		}
	case KindCheckOut, KindAutoCheckOut:
		for i := range s.CheckIns {
			ci := &s.CheckIns[i]
			if ci.Out.IsZero() && (e.Kind == KindAutoCheckOut || sameBooking(ci.ID, e.ID)) {
				ci.Out = now
			}
		}
		c = causeExplicit
	case KindSuspend, KindUnsuspend:
		for i := range s.Members {
			if s.Members[i].ID == e.Member {
				s.Members[i].Suspended = e.Kind == KindSuspend
			}
		}
		c = causeExplicit
	case KindBuffer:
		t.buffer = schedule.Buffer{Before: time.Duration(e.Offset), After: time.Duration(e.Offset)}
		c = causeChanged
	case KindMapping:
		t.mapping = e.Target
		c = causeChanged
	default:
		return false, causeNone
	}
	return true, c
}

func (t *truth) book(id, resource, member string, guest bool, start time.Time, length time.Duration, now time.Time) {
	b := access.Booking{ID: id, ResourceID: resource, Start: start, End: start.Add(length), CreatedAt: now}
	if guest {
		b.Guest = &access.Guest{Name: "Guest " + id, Email: guestEmail(id)}
	} else if t.hasMember(member) {
		b.MemberID = member
	} else {
		return
	}
	t.snap.Bookings = append(t.snap.Bookings, b)
}

// sameBooking reports whether record id (a booking or a check-in) is the
// one named, or one of the group (a meeting, a crowd) named.
func sameBooking(id, named string) bool {
	return id == named || strings.HasPrefix(id, named+"-")
}

func hash(s string) uint32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(s))
	return h.Sum32()
}

// clone returns a deep enough copy of s for the exporter to change.
func clone(s access.Snapshot) access.Snapshot {
	out := access.Snapshot{
		Locations: slices.Clone(s.Locations), Resources: slices.Clone(s.Resources), Members: slices.Clone(s.Members),
		Plans: slices.Clone(s.Plans), Allowances: slices.Clone(s.Allowances), Bookings: slices.Clone(s.Bookings),
		Assignments: slices.Clone(s.Assignments), CheckIns: slices.Clone(s.CheckIns),
	}
	for _, t := range s.Teams {
		out.Teams = append(out.Teams, access.Team{ID: t.ID, MemberIDs: slices.Clone(t.MemberIDs)})
	}
	return out
}

// export returns the snapshot the host sends at now: the truth, less the
// ended bookings of a "current and future" exporter, through the bugs
// active now. It also returns the records the bugs made invalid, which the
// Report must list as skipped (kind and ID).
func export(t *truth, now time.Time, currentAndFuture bool, bugs []Event) (access.Snapshot, [][2]string) {
	s := clone(t.snap)
	if currentAndFuture {
		s.Bookings = slices.DeleteFunc(s.Bookings, func(b access.Booking) bool { return !b.End.After(now) })
	}
	for _, b := range bugs {
		switch b.Target {
		case BugEmptyBookings:
			s.Bookings = nil
		case BugEmptyPlans:
			s.Plans = nil
		case BugMissingMembers:
			s.Members = nil
		case BugTruncated:
			s.Members, s.Plans, s.Bookings = half(s.Members), half(s.Plans), half(s.Bookings)
			s.Assignments, s.CheckIns, s.Allowances = half(s.Assignments), half(s.CheckIns), half(s.Allowances)
		case BugNoLocation:
			s.Locations = s.Locations[:1]
		case BugWrongZone:
			if len(s.Locations) > 1 {
				s.Locations[1].TimeZone = "UTC"
			}
		case BugUnknownZone:
			s.Locations[0].TimeZone = "Europe/Atlantis"
		case BugEndsNow:
			end := now.Add(5 * time.Minute)
			for i := range s.Plans {
				if p := &s.Plans[i]; p.End.IsZero() || p.End.After(end) {
					p.End = end
				}
			}
		case BugInvalidEmail:
			for i := range s.Members {
				if m := &s.Members[i]; m.ID == b.Member {
					m.Email = strings.ReplaceAll(m.Email, "@", " at ")
				}
			}
		case BugDuplicates:
			s.Bookings = append(s.Bookings, s.Bookings...)
		}
	}
	return s, invalidRecords(s)
}

// invalidRecords lists the records of an exported snapshot that are
// invalid in themselves, by kind and ID: an unknown time zone, an email
// without @, an ID given twice. Records rejected only because another one
// is (a plan of a missing member) are left out.
func invalidRecords(s access.Snapshot) [][2]string {
	var out [][2]string
	for _, l := range s.Locations {
		if _, err := time.LoadLocation(l.TimeZone); err != nil {
			out = append(out, [2]string{"location", l.ID})
		}
	}
	for _, m := range s.Members {
		if !strings.Contains(m.Email, "@") {
			out = append(out, [2]string{"member", m.ID})
		}
	}
	seen := map[string]int{}
	for _, b := range s.Bookings {
		if seen[b.ID]++; seen[b.ID] == 2 {
			out = append(out, [2]string{"booking", b.ID})
		}
	}
	return out
}

func half[T any](s []T) []T { return s[:len(s)/2] }
