package access_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/mapping"
	"github.com/kisisync/kisisync/schedule"
)

// monday is Monday 2 March 2026, 00:00 UTC.
var monday = time.Date(2026, time.March, 2, 0, 0, 0, 0, time.UTC)

// hm returns monday plus h hours and m minutes.
func hm(h, m int) time.Time {
	return monday.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
}

// fixture is a small space: three locations, three resources, three
// members (m1 and m2 in team t1) and a mapping for each kind.
func fixture() (access.Snapshot, mapping.Mapping) {
	s := access.Snapshot{
		Locations: []access.Location{{ID: "utc", TimeZone: "UTC"}, {ID: "berlin", TimeZone: "Europe/Berlin"}, {ID: "ny", TimeZone: "America/New_York"}},
		Resources: []access.Resource{{ID: "room-1", LocationID: "utc"}, {ID: "desk-b", LocationID: "berlin"}, {ID: "desk-ny", LocationID: "ny"}},
		Members: []access.Member{
			{ID: "m1", Email: " Ann@Example.com ", Name: "Ann"},
			{ID: "m2", Email: "bob@example.com", Name: "Bob"},
			{ID: "m3", Email: "cat@example.com", Name: "Cat"},
		},
		Teams: []access.Team{{ID: "t1", MemberIDs: []string{"m1", "m2"}}},
	}
	m := mapping.Mapping{
		Plans:      map[string][]int64{"hot-desk": {101}, "office": {101, 102}, "nothing": {}},
		Allowances: map[string][]int64{"pass": {103}},
		Resources:  map[string][]int64{"room-1": {104}, "desk-b": {105}, "desk-ny": {106}},
		Locations:  map[string][]int64{"utc": {107}, "berlin": {108}},
		Default:    []int64{100},
		DropIn:     mapping.DropIn{Link: true, QR: false},
	}
	return s, m
}

// show renders grants compactly: "m1/101 03-02 13:55–03-02 15:05 booking:b1",
// a guest's as `guest gus@example.org "Gus"/104 …`.
func show(gs []access.Grant) []string {
	out := make([]string, 0, len(gs))
	for _, g := range gs {
		src := make([]string, len(g.Sources))
		for i, s := range g.Sources {
			src[i] = s.Kind + ":" + s.ID
		}
		who := g.MemberID
		if g.Guest != nil {
			who = fmt.Sprintf("guest %s %q", g.Guest.Email, g.Guest.Name)
		}
		out = append(out, fmt.Sprintf("%s/%d %s–%s %s", who, g.GroupID, showT(g.Window.Start), showT(g.Window.End), strings.Join(src, ",")))
	}
	return out
}

func showT(t time.Time) string {
	if t.Equal(schedule.Forever) {
		return "forever"
	}
	return t.UTC().Format("01-02 15:04")
}

func showLinks(ls []access.Link) []string {
	out := make([]string, 0, len(ls))
	for _, l := range ls {
		out = append(out, fmt.Sprintf("%s/%d %s %q %s–%s link=%v qr=%v", l.BookingID, l.GroupID, l.Email, l.Name, showT(l.Window.Start), showT(l.Window.End), l.SendLink, l.QR))
	}
	return out
}

func rule(days []time.Weekday, fh, fm, th, tm int) schedule.Rule {
	return schedule.Rule{Days: days, From: schedule.Clock{Hour: fh, Minute: fm}, To: schedule.Clock{Hour: th, Minute: tm}}
}
