package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	_ "time/tzdata" // time zones work on machines without a zone database

	"github.com/jonboulle/clockwork"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/kisi/kisitest"
	"github.com/kisisync/kisisync/mapping"
	"github.com/kisisync/kisisync/schedule"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// zoneName is the time zone of the quickstart space.
const zoneName = "Europe/Berlin"

// run is the whole program; main only wires it to the process. It returns
// the exit code.
func run(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("quickstart", flag.ContinueOnError)
	fs.SetOutput(stderr)
	apply := fs.Bool("apply", false, "with KISI_API_KEY: also write to the real Kisi organization (default: plan only)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: quickstart [-apply]\n\n"+
			"Without KISI_API_KEY it runs against an embedded fake Kisi and needs no network.\n"+
			"With KISI_API_KEY (and optionally KISI_URL) it plans against real Kisi; -apply writes.\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	loc, err := time.LoadLocation(zoneName)
	if err != nil {
		fmt.Fprintf(stderr, "quickstart: time zone %s: %v\n", zoneName, err)
		return 1
	}
	if key := env("KISI_API_KEY"); key != "" {
		err = runReal(ctx, key, env("KISI_URL"), *apply, loc, stdout)
	} else {
		if *apply {
			fmt.Fprintln(stderr, "quickstart: -apply only matters with KISI_API_KEY; running against the embedded fake")
		}
		err = runFake(ctx, loc, stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "quickstart: %v\n", err)
		return 1
	}
	return 0
}

// space holds the Kisi groups of the quickstart place.
type space struct {
	members, room, desks, office int64
	names                        map[int64]string
}

// groupSpecs are the groups the quickstart creates, with the doors each opens.
var groupSpecs = []struct {
	name  string
	doors []string
}{
	{"Members", []string{"Front door", "Coworking floor"}},
	{"Meeting room Spree", []string{"Meeting room Spree"}},
	{"Fixed desks", []string{"Fixed-desk area"}},
	{"Office 3 (Acme)", []string{"Office 3"}},
}

func (sp *space) ids() []int64 { return []int64{sp.members, sp.room, sp.desks, sp.office} }

func (sp *space) set(ids []int64) {
	sp.members, sp.room, sp.desks, sp.office = ids[0], ids[1], ids[2], ids[3]
	sp.names = make(map[int64]string, len(ids))
	for i, id := range ids {
		sp.names[id] = groupSpecs[i].name
	}
}

// mapping says which group each platform plan, resource and location grants.
func (sp *space) mapping() mapping.Mapping {
	return mapping.Mapping{
		Plans: map[string][]int64{
			"flex":        {sp.members},
			"fixed-desk":  {sp.members},
			"team-office": {sp.members, sp.office},
		},
		Resources: map[string][]int64{
			"room-spree": {sp.room},
			"desk-12":    {sp.desks},
		},
		Locations: map[string][]int64{"loft": {sp.members}},
		DropIn:    mapping.DropIn{Link: true, QR: true},
	}
}

// snapshot is the platform's view of the space at now: who holds what.
func snapshot(now time.Time, loc *time.Location) access.Snapshot {
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	at := func(days, h, m int) time.Time {
		return day.AddDate(0, 0, days).Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
	}
	weekdays := []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}
	return access.Snapshot{
		Locations: []access.Location{{ID: "loft", TimeZone: loc.String()}},
		Resources: []access.Resource{
			{ID: "room-spree", LocationID: "loft"},
			{ID: "desk-12", LocationID: "loft"},
		},
		Members: []access.Member{
			{ID: "m-alice", Email: "alice@example.com", Name: "Alice Meyer"},
			{ID: "m-bruno", Email: "bruno@example.com", Name: "Bruno Costa"},
			{ID: "m-chen", Email: "chen@example.com", Name: "Chen Wei"},
			{ID: "m-dana", Email: "dana@acme.example", Name: "Dana Roth", Managed: true},
			{ID: "m-emil", Email: "emil@acme.example", Name: "Emil Berg", Managed: true},
			{ID: "m-fatima", Email: "fatima@example.com", Name: "Fatima Haddad"},
			{ID: "m-gus", Email: "gus@example.com", Name: "Gus Novak"},
		},
		Teams: []access.Team{{ID: "t-acme", MemberIDs: []string{"m-dana", "m-emil"}}},
		Plans: []access.Plan{
			{ID: "p-1", PlanID: "flex", MemberID: "m-alice", Start: at(-9, 0, 0), Status: access.PlanActive},
			{ID: "p-2", PlanID: "flex", MemberID: "m-bruno", Start: at(-9, 0, 0), End: at(20, 0, 0), Status: access.PlanActive},
			{ID: "p-3", PlanID: "fixed-desk", MemberID: "m-chen", Start: at(-40, 0, 0), Status: access.PlanActive},
			{ID: "p-4", PlanID: "team-office", TeamID: "t-acme", Start: at(-100, 0, 0), Status: access.PlanActive},
			{ID: "p-5", PlanID: "flex", MemberID: "m-gus", Start: at(0, 0, 0), Status: access.PlanPending},
		},
		Bookings: []access.Booking{
			// Bruno's meeting at 09:00 enters Kisi 20 minutes before its 5-minute buffer.
			{ID: "bk-1", ResourceID: "room-spree", MemberID: "m-bruno", Start: at(0, 9, 0), End: at(0, 10, 0), CreatedAt: at(-2, 16, 0)},
			// A drop-in guest books the room for the afternoon: she gets an access link.
			{ID: "bk-2", ResourceID: "room-spree", Guest: &access.Guest{Name: "Grace Hopper", Email: "grace@example.org"},
				Start: at(0, 14, 0), End: at(0, 15, 0), CreatedAt: at(-1, 11, 0)},
		},
		Assignments: []access.Assignment{
			// Chen's dedicated desk, on weekdays 08:00–18:00 Berlin time.
			{ID: "as-1", ResourceID: "desk-12", MemberID: "m-chen", Start: at(-40, 0, 0),
				Rules: []schedule.Rule{{Days: weekdays, From: schedule.Clock{Hour: 8}, To: schedule.Clock{Hour: 18}}}},
		},
		CheckIns: []access.CheckIn{
			// Fatima has no plan; she checked in at the front desk this morning.
			{ID: "ci-1", MemberID: "m-fatima", LocationID: "loft", At: at(0, 7, 45)},
		},
	}
}

// runFake runs the story against the embedded fake Kisi.
func runFake(ctx context.Context, loc *time.Location, w io.Writer) error {
	start := time.Date(2026, time.June, 10, 8, 0, 0, 0, loc)
	clock := clockwork.NewFakeClockAt(start)
	srv := kisitest.NewServer(kisitest.WithClock(clock), kisitest.WithoutRateLimit())
	defer srv.Close()
	client, err := kisi.NewClient(srv.APIKey, kisi.WithBaseURL(srv.URL),
		kisi.WithRateLimit(1000, 100), kisi.WithRetry(2, time.Millisecond, 10*time.Millisecond))
	if err != nil {
		return err
	}
	p := newPrinter(w, loc)
	p.heading("1. An embedded fake Kisi, set up through the Kisi API")
	p.line("The fake runs on a loopback port: no account, no network. The clock is a fake")
	p.line("clock shared with the reconciler, starting %s.", p.when(start))
	var sp space
	if err := setUp(ctx, client, loc, &sp, p); err != nil {
		return err
	}

	s := snapshot(start, loc)
	m := sp.mapping()
	p.heading("2. The coworking space, as the platform knows it")
	describe(p, s, m, sp.names)

	st := access.NewMemoryStore()
	r, err := access.NewReconciler(client, st, m, access.DefaultPolicy(),
		access.WithClock(clock), access.WithOrganization("quickstart"),
		access.WithLocation(loc), access.WithGroupNames(sp.names))
	if err != nil {
		return err
	}

	p.heading("3. The plan (a dry run: nothing written yet)")
	c, err := r.Plan(ctx, s)
	if err != nil {
		return err
	}
	p.block(c.String())
	p.line("")
	p.line("Open plans (and Bruno's, which ends later than that) are held as rolling windows")
	p.line("ending 14 days from now, so access that no sync ends any more ends by itself;")
	p.line("the sync renews them at night when less than half remains.")

	// reported prints the report of a run and what Kisi holds after it.
	reported := func(rep *access.Report, err error) error {
		if err != nil {
			return err
		}
		p.report(rep)
		p.line("")
		p.line("What Kisi holds now:")
		return holdings(ctx, client, sp, p)
	}

	p.heading("4. Apply it")
	rep, err := r.Apply(ctx, c)
	if err := reported(rep, err); err != nil {
		return err
	}
	p.line("")
	p.line("Bruno's 09:00 meeting is not in Kisi yet: a booking enters Kisi 20 minutes")
	p.line("(the lead time) before its window, which opens 5 minutes (the buffer) before")
	p.line("the meeting. Kisi opens and closes every window by itself, on time.")

	p.heading("5. Later: the booking enters its lead time")
	next := rep.NextRun
	clock.Advance(next.Sub(clock.Now()))
	p.line("The report said to run again at %s; the host's scheduler wakes up then.", p.clock(next))
	rep, err = r.Sync(ctx, s)
	if err := reported(rep, err); err != nil {
		return err
	}
	p.line("")
	p.line("Bruno's room access is in Kisi now and opens by itself at 08:55.")

	p.heading("6. Alice cancels her plan")
	clock.Advance(45 * time.Minute)
	s.Plans[0].Status = access.PlanCancelled
	c, err = r.Plan(ctx, s)
	if err != nil {
		return err
	}
	p.line("At %s the platform marks plan p-1 cancelled. The next plan revokes her", p.clock(clock.Now()))
	p.line("access (a run always applies revocations before grants):")
	p.block(c.String())
	p.line("")
	if err := reported(r.Apply(ctx, c)); err != nil {
		return err
	}

	p.heading("7. A second run with nothing new writes nothing")
	rep, err = r.Sync(ctx, s)
	if err != nil {
		return err
	}
	p.line("Report: %d created, %d replaced, %d deleted: Kisi already holds exactly the desired access.", rep.Created, rep.Replaced, rep.Deleted)

	for _, q := range []struct{ question, member string }{
		{"8. Why can Gus not get in?", "m-gus"},
		{"And Chen?", "m-chen"},
	} {
		p.heading(q.question)
		if q.member == "m-gus" {
			p.line("access.Explain answers from the platform's data alone, without calling Kisi.")
			p.line("Groups: %s.", groupLegend(sp))
			p.line("")
		}
		x, err := access.Explain(s, m, access.DefaultPolicy(), q.member, clock.Now())
		if err != nil {
			return err
		}
		p.block(x.String())
	}
	p.line("")
	p.line("Next: examples/kisisync (a CLI over JSON files) and examples/scheduler (a long-running host).")
	return nil
}

// setUp creates the place, its doors and groups through the Kisi API, as an
// operator would in the Kisi dashboard, and prints them.
func setUp(ctx context.Context, c *kisi.Client, loc *time.Location, sp *space, p *printer) error {
	tz := loc.String()
	place, _, err := c.Places.Create(ctx, &kisi.PlaceCreateRequest{Name: "Kreuzberg Loft", Address: "Skalitzer Str. 1, Berlin", TimeZone: &tz})
	if err != nil {
		return fmt.Errorf("create place: %w", err)
	}
	doors := map[string]int64{}
	ids := make([]int64, 0, len(groupSpecs))
	tw := p.table()
	fmt.Fprintf(tw, "  GROUP\tNAME\tDOORS\n")
	for _, g := range groupSpecs {
		grp, _, err := c.Groups.Create(ctx, &kisi.GroupCreateRequest{Name: g.name, PlaceID: &place.ID})
		if err != nil {
			return fmt.Errorf("create group %q: %w", g.name, err)
		}
		for _, d := range g.doors {
			id, ok := doors[d]
			if !ok {
				l, _, err := c.Locks.Create(ctx, &kisi.LockCreateRequest{Name: d, PlaceID: place.ID})
				if err != nil {
					return fmt.Errorf("create door %q: %w", d, err)
				}
				id, doors[d] = l.ID, l.ID
			}
			if _, _, err := c.GroupLocks.Create(ctx, &kisi.GroupLockCreateRequest{GroupID: grp.ID, LockID: id}); err != nil {
				return fmt.Errorf("put door %q into group %q: %w", d, g.name, err)
			}
		}
		ids = append(ids, grp.ID)
		fmt.Fprintf(tw, "  %d\t%s\t%s\n", grp.ID, g.name, strings.Join(g.doors, ", "))
	}
	sp.set(ids)
	p.line("Place %q (%s) with %d doors and %d groups:", place.Name, tz, len(doors), len(ids))
	p.line("")
	return tw.Flush()
}

// describe prints who holds what in the platform, and what it maps to.
func describe(p *printer, s access.Snapshot, m mapping.Mapping, names map[int64]string) {
	member := map[string]access.Member{}
	for _, mem := range s.Members {
		member[mem.ID] = mem
	}
	team := map[string][]string{}
	for _, t := range s.Teams {
		team[t.ID] = t.MemberIDs
	}
	holder := func(memberID, teamID string) string {
		if memberID != "" {
			return member[memberID].Name
		}
		var ns []string
		for _, id := range team[teamID] {
			ns = append(ns, member[id].Name)
		}
		return "team " + teamID + " (" + strings.Join(ns, ", ") + ")"
	}
	groups := func(ids []int64) string {
		var out []string
		for _, id := range ids {
			out = append(out, names[id])
		}
		if len(out) == 0 {
			return "(no group)"
		}
		return strings.Join(out, " + ")
	}
	tw := p.table()
	fmt.Fprintf(tw, "  RECORD\tWHO\tWHAT\tWHEN\tGRANTS\n")
	for _, pl := range s.Plans {
		when := "since " + p.when(pl.Start)
		if !pl.End.IsZero() {
			when = p.when(pl.Start) + " – " + p.when(pl.End)
		}
		fmt.Fprintf(tw, "  plan %s\t%s\t%s plan, %s\t%s\t%s\n", pl.ID, holder(pl.MemberID, pl.TeamID), pl.PlanID, pl.Status, when, groups(m.PlanGroups(pl.PlanID)))
	}
	for _, b := range s.Bookings {
		who := holder(b.MemberID, "")
		if b.Guest != nil {
			who = b.Guest.Name + " (drop-in guest)"
		}
		fmt.Fprintf(tw, "  booking %s\t%s\t%s\t%s\t%s\n", b.ID, who, b.ResourceID, p.span(b.Start, b.End), groups(m.ResourceGroups(b.ResourceID)))
	}
	for _, a := range s.Assignments {
		var rules []string
		for _, r := range a.Rules {
			rules = append(rules, fmt.Sprintf("%s–%s %s–%s", short(r.Days[0]), short(r.Days[len(r.Days)-1]), r.From, r.To))
		}
		fmt.Fprintf(tw, "  assignment %s\t%s\t%s\t%s\t%s\n", a.ID, holder(a.MemberID, a.TeamID), a.ResourceID, strings.Join(rules, ", ")+" weekly", groups(m.ResourceGroups(a.ResourceID)))
	}
	for _, ci := range s.CheckIns {
		fmt.Fprintf(tw, "  check-in %s\t%s\t%s\t%s\t%s\n", ci.ID, holder(ci.MemberID, ""), ci.LocationID, "in at "+p.clock(ci.At), groups(m.LocationGroups(ci.LocationID)))
	}
	_ = tw.Flush()
	p.line("")
	p.line("Dana and Emil are managed users of a white-label app (Kisi sends them no email);")
	p.line("the others get Kisi's invitation with their first grant. Grace gets a link and a QR code.")
}

func short(d time.Weekday) string { return d.String()[:3] }

// holdings prints every role and link Kisi holds in the quickstart groups,
// read back from Kisi itself.
//
// Rows that were not there at the previous listing are marked "+", and rows
// that are gone are listed after the table.
func holdings(ctx context.Context, c *kisi.Client, sp space, p *printer) error {
	type row struct {
		who, group   string
		from, until  *time.Time
		kind, sortBy string
	}
	var rows []row
	for _, g := range sp.ids() {
		for ra, err := range c.RoleAssignments.ListIter(ctx, &kisi.RoleAssignmentListOptions{AppliesToType: kisi.ScopeGroup, AppliesToID: g}) {
			if err != nil {
				return fmt.Errorf("list roles of group %d: %w", g, err)
			}
			who := fmt.Sprintf("user %d", ra.AssigneeID)
			if ra.Assignee != nil && ra.Assignee.Email != "" {
				who = ra.Assignee.Email
			}
			rows = append(rows, row{who: who, group: sp.names[g], from: ra.ValidFrom, until: ra.ValidUntil, kind: "role", sortBy: who})
		}
		for l, err := range c.GroupLinks.ListIter(ctx, &kisi.GroupLinkListOptions{GroupID: g}) {
			if err != nil {
				return fmt.Errorf("list links of group %d: %w", g, err)
			}
			who := l.Name
			if l.Email != nil {
				who = *l.Email
			}
			rows = append(rows, row{who: who, group: sp.names[g], from: l.ValidFrom, until: l.ValidUntil, kind: "link", sortBy: who})
		}
	}
	slices.SortStableFunc(rows, func(a, b row) int { return strings.Compare(a.sortBy, b.sortBy) })
	tw := p.table()
	fmt.Fprintf(tw, "    USER\tGROUP\tKIND\tVALID FROM\tUNTIL\n")
	seen := map[string]bool{}
	for _, r := range rows {
		from, until := "—", "no end"
		if r.from != nil {
			from = p.when(*r.from)
		}
		if r.until != nil {
			until = p.when(*r.until)
		}
		line := fmt.Sprintf("%s\t%s\t%s\t%s\t%s", r.who, r.group, r.kind, from, until)
		mark := " "
		if p.held != nil && !p.held[line] {
			mark = "+"
		}
		seen[line] = true
		fmt.Fprintf(tw, "  %s %s\n", mark, line)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var gone []string
	for line := range p.held {
		if !seen[line] {
			f := strings.Split(line, "\t")
			gone = append(gone, fmt.Sprintf("  - %s no longer holds %s (%s)", f[0], f[1], f[2]))
		}
	}
	slices.Sort(gone)
	for _, g := range gone {
		p.line("%s", g)
	}
	p.held = seen
	return nil
}

func groupLegend(sp space) string {
	var parts []string
	for _, id := range sp.ids() {
		parts = append(parts, fmt.Sprintf("%d %s", id, sp.names[id]))
	}
	return strings.Join(parts, ", ")
}

// printer writes the story with times in the space's zone.
type printer struct {
	w   io.Writer
	loc *time.Location
	n   int
	// held is the previous listing of holdings (nil before the first).
	held map[string]bool
}

func newPrinter(w io.Writer, loc *time.Location) *printer { return &printer{w: w, loc: loc} }

func (p *printer) heading(s string) {
	if p.n > 0 {
		fmt.Fprintln(p.w)
	}
	p.n++
	fmt.Fprintf(p.w, "%s\n%s\n", s, strings.Repeat("─", len([]rune(s))))
}

func (p *printer) line(format string, args ...any) { fmt.Fprintf(p.w, format+"\n", args...) }

func (p *printer) block(s string) {
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		if l == "" {
			fmt.Fprintln(p.w)
			continue
		}
		fmt.Fprintf(p.w, "  %s\n", l)
	}
}

func (p *printer) table() *tabwriter.Writer { return tabwriter.NewWriter(p.w, 0, 0, 2, ' ', 0) }

// when renders an instant as "Wed 10 Jun 08:00 CEST".
func (p *printer) when(t time.Time) string { return t.In(p.loc).Format("Mon 2 Jan 15:04 MST") }

// clock renders an instant as "08:35 CEST".
func (p *printer) clock(t time.Time) string { return t.In(p.loc).Format("15:04 MST") }

func (p *printer) span(a, b time.Time) string {
	return a.In(p.loc).Format("Mon 2 Jan 15:04") + "–" + b.In(p.loc).Format("15:04 MST")
}

func (p *printer) report(rep *access.Report) {
	p.line("Report: %d created, %d replaced, %d deleted, %d failed; %d Kisi users created, %d invitations sent.",
		rep.Created, rep.Replaced, rep.Deleted, rep.Failed, rep.UsersCreated, rep.Invitations)
	if !rep.NextRun.IsZero() {
		p.line("Next run: %s (when a window next enters its lead time or ends).", p.when(rep.NextRun))
	}
	for _, s := range rep.Skipped {
		p.line("Skipped: %s", s)
	}
}
