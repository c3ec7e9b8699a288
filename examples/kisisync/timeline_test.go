package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/reason"
	"github.com/kisisync/kisisync/kisi/kisitest"
	"github.com/kisisync/kisisync/schedule"
)

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	require.NoError(t, err)
	return loc
}

func iv(start, end time.Time) schedule.Interval { return schedule.Interval{Start: start, End: end} }

// bookingWeek is a member with an open plan in one group and, in another,
// a booking with buffers and a weekly assignment; name and ref carry
// characters XML must escape.
func bookingWeek(t *testing.T, name, ref string) access.Explanation {
	t.Helper()
	berlin := mustZone(t, "Europe/Berlin")
	on := func(day, h, m int) time.Time { return time.Date(2026, time.June, day, h, m, 0, 0, berlin) }
	buf := schedule.Buffer{Before: 15 * time.Minute, After: 10 * time.Minute}
	booking := iv(on(10, 8, 45), on(10, 10, 10))
	desk := []schedule.Interval{iv(on(11, 7, 55), on(11, 18, 5)), iv(on(12, 7, 55), on(12, 18, 5)), iv(on(15, 7, 55), on(15, 18, 5))}
	return access.Explanation{
		MemberID: "m-1", Name: name, At: on(10, 8, 40),
		Groups: []access.GroupExplanation{
			{GroupID: 101, Allowed: true, Zone: "Europe/Berlin",
				Windows: []schedule.Interval{iv(on(1, 0, 0), schedule.Forever)},
				Sources: []access.SourceExplanation{
					{Kind: "plan", ID: "p-1", Ref: "flex", Windows: []schedule.Interval{iv(on(1, 0, 0), schedule.Forever)}, Applies: true, Code: reason.InForce},
					{Kind: "plan", ID: "p-2", Ref: "flex", Code: reason.PlanPending},
				}},
			{GroupID: 102, Zone: "Europe/Berlin",
				Windows: append([]schedule.Interval{booking}, desk...),
				Sources: []access.SourceExplanation{
					{Kind: "booking", ID: "bk-1", Ref: ref, Windows: []schedule.Interval{booking}, Buffer: buf, Code: reason.BookingStartsLater},
					{Kind: "assignment", ID: "as-1", Ref: "desk-12", Windows: desk, Buffer: schedule.Buffer{Before: 5 * time.Minute, After: 5 * time.Minute}, Code: reason.OutsideSchedule},
				}},
		},
	}
}

// dstWeek is a week in Berlin across a DST change (spring or autumn) with
// a booking on the day after it.
func dstWeek(t *testing.T, at time.Time, bookingDay int) access.Explanation {
	t.Helper()
	berlin := mustZone(t, "Europe/Berlin")
	y, m, _ := at.In(berlin).Date()
	w := iv(time.Date(y, m, bookingDay, 9, 0, 0, 0, berlin), time.Date(y, m, bookingDay, 10, 0, 0, 0, berlin))
	// The plan runs from 01:00 to 04:00 local on every day through the
	// change, so the skipped or repeated hour lies inside it.
	var nights []schedule.Interval
	for d := range weekDays {
		day := at.In(berlin).AddDate(0, 0, d)
		nights = append(nights, iv(time.Date(day.Year(), day.Month(), day.Day(), 1, 0, 0, 0, berlin), time.Date(day.Year(), day.Month(), day.Day(), 4, 0, 0, 0, berlin)))
	}
	return access.Explanation{
		MemberID: "m-1", At: at,
		Groups: []access.GroupExplanation{{GroupID: 7, Zone: "Europe/Berlin",
			Windows: append(append([]schedule.Interval{}, nights...), w),
			Sources: []access.SourceExplanation{
				{Kind: "assignment", ID: "as-9", Ref: "night-desk", Windows: nights},
				{Kind: "booking", ID: "bk-9", Ref: "room", Windows: []schedule.Interval{w}},
			}}},
	}
}

// TestRenderTimeline draws explanations as text and compares them with
// testdata/timeline_*.golden (refresh with -update).
func TestRenderTimeline(t *testing.T) {
	t.Parallel()
	berlin := mustZone(t, "Europe/Berlin")
	tests := []struct {
		name         string
		x            access.Explanation
		lead         time.Duration
		width        int
		restrictions map[int64][]restriction
	}{
		{name: "booking", x: bookingWeek(t, "Ann", "room-2"), lead: 20 * time.Minute, width: 100},
		{name: "restrictions", x: bookingWeek(t, "Ann", "room-2"), lead: time.Hour, width: 100,
			restrictions: map[int64][]restriction{102: {{name: "Office hours", when: "Mon–Fri 08:00–18:00"}, {name: "Weekend lockout"}}}},
		{name: "narrow", x: bookingWeek(t, "Ann", "room-2"), lead: 20 * time.Minute, width: 70},
		{name: "dst_spring", x: dstWeek(t, time.Date(2026, time.March, 27, 10, 0, 0, 0, berlin), 30), width: 100},
		{name: "dst_autumn", x: dstWeek(t, time.Date(2026, time.October, 24, 10, 0, 0, 0, berlin), 26), width: 100},
		{name: "unknown_member", x: access.Explanation{MemberID: "m-x", At: time.Date(2026, time.June, 10, 8, 0, 0, 0, berlin),
			Problem: "Member m-x is unknown: there is no member with this ID.", ProblemCode: reason.MemberUnknown}, width: 100},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := renderTimeline(newTimeline(tc.x, tc.lead, tc.restrictions), tc.width)
			for i, line := range strings.Split(got, "\n") {
				require.LessOrEqual(t, len(line), tc.width, "line %d is too wide: %q", i+1, line)
				for _, r := range line {
					if r > 127 && r != '–' { // the en dash of the headings is the only non-ASCII
						t.Fatalf("line %d is not plain ASCII: %q", i+1, line)
					}
				}
			}
			checkGolden(t, "timeline_"+tc.name, got)
		})
	}
}

// row returns the bars of the lane label on the day dayLabel (the text
// between the '|'), from the text timeline out.
func row(t *testing.T, out, dayLabel, label string) string {
	t.Helper()
	day := ""
	for _, line := range strings.Split(out, "\n") {
		if len(line) < textDayWidth+textLaneWidth+2 || !strings.Contains(line, "|") {
			continue
		}
		if d := strings.TrimSpace(line[:textDayWidth]); d != "" {
			day = d
		}
		if day == dayLabel && strings.TrimSpace(line[textDayWidth+1:textDayWidth+1+textLaneWidth]) == label {
			bars := line[textDayWidth+1+textLaneWidth+1:]
			return strings.Trim(bars, "|")
		}
	}
	t.Fatalf("no row %q on %q in:\n%s", label, dayLabel, out)
	return ""
}

// TestTimelineDST checks that the days of a week across a DST change are
// local calendar days (stepping 24 hours would label Monday's row from
// 01:00 on), that the skipped hour is blank and that a booking after the
// change sits at its local hour.
func TestTimelineDST(t *testing.T) {
	t.Parallel()
	berlin := mustZone(t, "Europe/Berlin")
	tests := []struct {
		name      string
		at        time.Time
		day       int
		wantDays  []string
		wantHours []float64 // the length of each day
		changeDay string
		wantNight string // the 01:00–04:00 assignment on the day of the change, half-hours 0–9 (local times)
	}{
		{name: "spring", at: time.Date(2026, time.March, 27, 10, 0, 0, 0, berlin), day: 30,
			wantDays:  []string{"Fri 27 Mar", "Sat 28 Mar", "Sun 29 Mar", "Mon 30 Mar", "Tue 31 Mar", "Wed 1 Apr", "Thu 2 Apr"},
			wantHours: []float64{24, 24, 23, 24, 24, 24, 24},
			changeDay: "Sun 29 Mar", wantNight: "..==  ==..",
		},
		{name: "autumn", at: time.Date(2026, time.October, 24, 10, 0, 0, 0, berlin), day: 26,
			wantDays:  []string{"Sat 24 Oct", "Sun 25 Oct", "Mon 26 Oct", "Tue 27 Oct", "Wed 28 Oct", "Thu 29 Oct", "Fri 30 Oct"},
			wantHours: []float64{24, 25, 24, 24, 24, 24, 24},
			changeDay: "Sun 25 Oct", wantNight: "..======..",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tl := newTimeline(dstWeek(t, tc.at, tc.day), 0, nil)
			wg := tl.groups[0]
			var days []string
			var hours []float64
			for d := range weekDays {
				local := wg.days[d].In(berlin)
				require.Equal(t, 0, local.Hour()*60+local.Minute(), "day %d starts at local midnight", d)
				days = append(days, local.Format("Mon 2 Jan"))
				hours = append(hours, wg.days[d+1].Sub(wg.days[d]).Hours())
			}
			require.Empty(t, cmp.Diff(tc.wantDays, days))
			require.Empty(t, cmp.Diff(tc.wantHours, hours))

			out := renderTimeline(tl, 100)
			for _, d := range tc.wantDays {
				require.Contains(t, out, "\n"+d+" ", "a row per local day")
			}
			booking := row(t, out, fmt.Sprintf("Mon %d %s", tc.day, tc.at.Format("Jan")), "booking bk-9 (room)")
			require.Equal(t, strings.Repeat(".", 18)+"=="+strings.Repeat(".", 28), booking, "09:00–10:00 is half-hours 18 and 19")
			night := row(t, out, tc.changeDay, "assignment as-9 (night-desk)")
			require.Equal(t, tc.wantNight, night[:10])
		})
	}
}

// svgNode is any element of an SVG document.
type svgNode struct {
	XMLName  xml.Name
	Attrs    []xml.Attr `xml:",any,attr"`
	Children []svgNode  `xml:",any"`
	Text     string     `xml:",chardata"`
}

func (n *svgNode) attr(name string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func (n *svgNode) walk(f func(*svgNode)) {
	f(n)
	for i := range n.Children {
		n.Children[i].walk(f)
	}
}

// svgTexts checks that doc is well-formed and returns the contents of its
// text elements, in document order.
func svgTexts(t *testing.T, doc []byte) []string {
	t.Helper()
	wellFormed(t, doc)
	var root svgNode
	require.NoError(t, xml.Unmarshal(doc, &root))
	var texts []string
	root.walk(func(n *svgNode) {
		if n.XMLName.Local == "text" {
			texts = append(texts, n.Text)
		}
	})
	return texts
}

// wellFormed reads every token of doc with a strict decoder.
func wellFormed(t *testing.T, doc []byte) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(doc))
	dec.Strict = true
	for {
		_, err := dec.Token()
		if err == io.EOF {
			return
		}
		require.NoError(t, err, "the SVG is not well-formed XML")
	}
}

func atof(t *testing.T, s string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(s, 64)
	require.NoError(t, err)
	return f
}

// TestRenderSVG parses the SVG timeline and checks its content: the
// document's size, one rect per stretch of each window on each day in each
// lane, the now line inside the ruler at the right hour, and labels with
// their text escaped.
func TestRenderSVG(t *testing.T) {
	t.Parallel()
	const name, ref = `Ann "A&B" <Lee>`, `room <2> & "3"`
	x := bookingWeek(t, name, ref)
	tl := newTimeline(x, 20*time.Minute, map[int64][]restriction{102: {{name: `Hours <&>`, when: "Mon–Fri 08:00–18:00"}}})
	doc := renderSVG(tl)
	checkGolden(t, "timeline_booking.svg", string(doc))
	wellFormed(t, doc)
	require.NotContains(t, string(doc), ref, "text is escaped")
	require.NotContains(t, string(doc), name, "text is escaped")

	var root svgNode
	require.NoError(t, xml.Unmarshal(doc, &root))
	require.Equal(t, "svg", root.XMLName.Local)
	w, h := root.attr("width"), root.attr("height")
	require.Equal(t, strconv.Itoa(svgWidth), w)
	require.Equal(t, "0 0 "+w+" "+h, root.attr("viewBox"))

	var title string
	var texts []string
	rects := map[string]int{} // group/lane/window/day/kind → rects
	windows := map[string]map[string]bool{}
	var nows []float64
	var group string
	root.walk(func(n *svgNode) {
		switch n.XMLName.Local {
		case "title":
			if title == "" {
				title = n.Text
			}
		case "g":
			group = n.attr("data-group")
		case "text":
			texts = append(texts, n.Text)
		case "rect":
			if lane := n.attr("data-lane"); lane != "" {
				rects[fmt.Sprintf("%s/%s/%s/%s/%s", group, lane, n.attr("data-window"), n.attr("data-day"), n.attr("class"))]++
				key := group + "/" + lane
				if windows[key] == nil {
					windows[key] = map[string]bool{}
				}
				windows[key][n.attr("data-window")] = true
				x0, w := atof(t, n.attr("x")), atof(t, n.attr("width"))
				require.GreaterOrEqual(t, x0, float64(svgChartX))
				require.LessOrEqual(t, x0+w, float64(svgChartX+svgChartW)+0.05)
			}
		case "line":
			if n.attr("class") == "now" {
				nows = append(nows, atof(t, n.attr("x1")))
			}
		}
	})
	// Issue 30: the title names the moment drawn, not "a week from today",
	// and the exact times are on the picture, not in tooltips alone.
	require.Equal(t, "Timeline of member m-1 ("+name+"), per group, the week from Wed 10 Jun 2026 08:40 CEST", title)
	for _, want := range []string{"00:00–24:00", "08:45–10:10", "no access"} {
		require.Contains(t, texts, want)
	}
	for _, want := range []string{"booking bk-1 (" + ref + ")", "Kisi time restriction: Hours <&> (Mon–Fri 08:00–18:00)", "access", "plan p-1 (flex)", "Wed 10 Jun", "Tue 16 Jun", "gives no access (plan_pending)"} {
		require.Contains(t, texts, want)
	}
	// One rect per stretch of a window per day, by
	// group/lane/window/day/kind; a buffer before and one after on the
	// same day are two.
	wantRects := map[string]int{}
	for d := range weekDays {
		wantRects[fmt.Sprintf("101/0/0/%d/access", d)] = 1 // the open plan's access; its lead is before the week
		wantRects[fmt.Sprintf("101/1/0/%d/source", d)] = 1 // the open plan
	}
	for w, d := range []int{0, 1, 2, 5} { // the booking, then the desk days
		wantRects[fmt.Sprintf("102/0/%d/%d/lead", w, d)] = 1
		wantRects[fmt.Sprintf("102/0/%d/%d/access", w, d)] = 1
	}
	// The booking, then the desk.
	wantRects["102/1/0/0/source"], wantRects["102/1/0/0/buffer"] = 1, 2
	for w, d := range []int{1, 2, 5} {
		wantRects[fmt.Sprintf("102/2/%d/%d/source", w, d)] = 1
		wantRects[fmt.Sprintf("102/2/%d/%d/buffer", w, d)] = 2
	}
	require.Empty(t, cmp.Diff(wantRects, rects))
	// The windows of each lane in the week: the open plan, the booking and
	// the three desk days (their merged access too).
	wantWindows := map[string]int{"101/0": 1, "101/1": 1, "102/0": 4, "102/1": 1, "102/2": 3}
	for key, n := range wantWindows {
		require.Len(t, windows[key], n, "windows of lane %s", key)
	}
	require.Len(t, windows, len(wantWindows), "the pending plan draws no rect")
	// The open plan runs to the edge on all seven days.
	for d := range weekDays {
		require.Equal(t, 1, rects[fmt.Sprintf("101/1/0/%d/source", d)], "day %d", d)
	}
	// The booking: buffer, core, buffer; the access: lead then access.
	for k, n := range map[string]int{"102/1/0/0/buffer": 2, "102/1/0/0/source": 1, "102/0/0/0/lead": 1, "102/0/0/0/access": 1} {
		require.Equal(t, n, rects[k], k)
	}
	// now, 08:40, is drawn in both groups, 8⅔ hours into the day.
	require.Len(t, nows, 2, "one per group")
	for _, nx := range nows {
		require.InDelta(t, svgChartX+8.6667*svgHourW, nx, 0.1)
		require.Greater(t, nx, float64(svgChartX))
		require.Less(t, nx, float64(svgChartX+svgChartW))
	}
}

// TestTimelineCommands runs explain and diagnose with --svg and
// --timeline: the SVG file is written beside --json, a file that cannot be
// written fails the command, and diagnose names the groups' time
// restrictions read from Kisi, which explain, reading no Kisi, does not.
func TestTimelineCommands(t *testing.T) {
	t.Parallel()
	sample := []string{"--snapshot", td("snapshot.json"), "--mapping", td("mapping.json"), "--at", "2026-06-10T08:40:00+02:00", "--member", "m-bruno"}

	t.Run("svg beside json", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "week.svg")
		code, stdout, stderr := invoke(t, noEnv, append([]string{"explain", "--json", "--svg", path}, sample...)...)
		require.Equal(t, exitOK, code, stderr)
		var x access.Explanation
		require.NoError(t, json.Unmarshal([]byte(stdout), &x), "stdout is only the JSON")
		doc, err := os.ReadFile(path)
		require.NoError(t, err)
		wellFormed(t, doc)
		require.Contains(t, string(doc), "booking bk-1 (room-spree)")
	})
	t.Run("svg without timeline", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "week.svg")
		code, stdout, stderr := invoke(t, noEnv, append([]string{"explain", "--svg", path}, sample...)...)
		require.Equal(t, exitOK, code, stderr)
		require.True(t, strings.HasPrefix(stdout, "Member m-bruno (Bruno Costa)"), "the explanation prints as usual")
		require.NotContains(t, stdout, "Timeline of member")
		require.True(t, strings.HasSuffix(stdout, "\nWrote the timeline to "+path+".\n"), stdout)
	})
	t.Run("svg not writable", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "no-such-dir", "week.svg")
		code, _, stderr := invoke(t, noEnv, append([]string{"explain", "--svg", path}, sample...)...)
		require.Equal(t, exitFailed, code)
		require.Contains(t, stderr, "kisisync explain: write the timeline: open "+path)
	})
	t.Run("flags of other commands", func(t *testing.T) {
		t.Parallel()
		_, err := parseArgs([]string{"plan", "--timeline", "--snapshot", "s.json", "--mapping", "m.json"}, io.Discard)
		require.EqualError(t, err, "--timeline is for explain, diagnose, not plan")
		_, err = parseArgs([]string{"apply", "--svg", "x.svg", "--snapshot", "s.json", "--mapping", "m.json"}, io.Discard)
		require.EqualError(t, err, "--svg is for explain, diagnose, not apply")
	})
	t.Run("kisi restrictions", func(t *testing.T) {
		t.Parallel()
		srv := kisitest.NewServer()
		t.Cleanup(srv.Close)
		place, err := srv.AddPlace("Loft", "Europe/Berlin")
		require.NoError(t, err)
		group, err := srv.AddGroup("Members", place)
		require.NoError(t, err)
		_, err = srv.AddGroupSchedule(group, kisitest.Schedule{Name: `Office <hours> & "nights"`,
			Days: []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}, StartsAtTime: "08:00", EndsAtTime: "18:00"})
		require.NoError(t, err)
		_, err = srv.AddGroupSchedule(group, kisitest.Schedule{Name: "Holidays", Region: "de_be"})
		require.NoError(t, err)
		dir := t.TempDir()
		mapping := flexMapping(t, dir, group)
		env := kisiEnv(srv, srv.APIKey)
		path := filepath.Join(dir, "week.svg")
		args := []string{"--snapshot", td("small_snapshot.json"), "--mapping", mapping, "--member", "m1", "--at", "2026-06-10T08:40:00+02:00", "--timeline", "--svg", path}
		code, stdout, stderr := invoke(t, env, append([]string{"diagnose"}, args...)...)
		require.Equal(t, exitFailed, code, "m1 has no Kisi user, an ERROR finding: "+stdout+stderr)
		want := fmt.Sprintf("Group %d \"Members\" (Europe/Berlin), Wed 10 Jun – Tue 16 Jun 2026:\n"+
			"  Kisi time restriction: Office <hours> & \"nights\" (Mon–Fri 08:00–18:00)\n"+
			"  Kisi time restriction: Holidays (holidays of de_be)\n", group)
		require.Contains(t, stdout, want)
		doc, err := os.ReadFile(path)
		require.NoError(t, err)
		texts := svgTexts(t, doc)
		require.Contains(t, texts, `Kisi time restriction: Office <hours> & "nights" (Mon–Fri 08:00–18:00)`)

		code, stdout, stderr = invoke(t, env, append([]string{"explain"}, args...)...)
		require.Equal(t, exitOK, code, stdout+stderr)
		require.Contains(t, stdout, fmt.Sprintf("Group %d (Europe/Berlin)", group))
		require.NotContains(t, stdout, "Kisi time restriction", "explain reads no Kisi")
	})
}

// TestLeadTimeLegend checks that the legends print the lead time as the
// policy reads it, seconds included.
func TestLeadTimeLegend(t *testing.T) {
	t.Parallel()
	x := access.Explanation{MemberID: "m-x", At: time.Date(2026, time.June, 10, 8, 0, 0, 0, time.UTC), Problem: "Member m-x is unknown."}
	tests := []struct {
		lead time.Duration
		want string
	}{
		{lead: 30 * time.Second, want: "30s"},
		{lead: 90 * time.Second, want: "1m30s"},
		{lead: 10 * time.Second, want: "10s"},
		{lead: 20 * time.Minute, want: "20m"},
		{lead: time.Hour, want: "1h"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			t.Parallel()
			text := renderTimeline(newTimeline(x, tc.lead, nil), 100)
			require.Contains(t, text, "> lead time: Kisi holds the role "+tc.want+" ahead, doors shut\n")
			require.Equal(t, "lead time: Kisi holds the role "+tc.want+" ahead; doors stay shut", leadText(tc.lead))
		})
	}
}

// leadRect is a rect of the lead time in the access lane of an SVG.
type leadRect struct {
	x, width float64
	title    string
}

// leadRects returns the lead rects of the access lanes of doc, in order.
func leadRects(t *testing.T, doc []byte) []leadRect {
	t.Helper()
	var root svgNode
	require.NoError(t, xml.Unmarshal(doc, &root))
	var out []leadRect
	root.walk(func(n *svgNode) {
		if n.XMLName.Local != "rect" || n.attr("class") != kindLead || n.attr("data-lane") != "0" {
			return
		}
		r := leadRect{x: atof(t, n.attr("x")), width: atof(t, n.attr("width"))}
		for _, c := range n.Children {
			if c.XMLName.Local == "title" {
				r.title = c.Text
			}
		}
		out = append(out, r)
	})
	return out
}

// TestLeadAfterPreviousWindow checks that a lead time starts no earlier
// than the end of the access window before it: the text draws access
// where the member has it, and the SVG's lead rect and tooltip start at
// that end.
func TestLeadAfterPreviousWindow(t *testing.T) {
	t.Parallel()
	berlin := mustZone(t, "Europe/Berlin")
	on := func(h, m int) time.Time { return time.Date(2026, time.June, 10, h, m, 0, 0, berlin) }
	hours := func(h, m int) float64 { return svgChartX + (float64(h)+float64(m)/60)*svgHourW }
	tests := []struct {
		name      string
		windows   []schedule.Interval
		lead      time.Duration
		wantRow   string // the access lane on Wed 10 Jun, half-hours
		wantLeads []leadRect
	}{
		{
			name:    "gap shorter than the lead",
			windows: []schedule.Interval{iv(on(9, 0), on(10, 0)), iv(on(10, 10), on(11, 0))},
			lead:    20 * time.Minute,
			wantRow: strings.Repeat(".", 17) + ">####" + strings.Repeat(".", 26),
			wantLeads: []leadRect{
				{x: hours(8, 40), width: 20 * svgHourW / 60.0, title: "access, lead time (Kisi holds the role): Wed 10 Jun 2026 08:40–09:00 CEST"},
				{x: hours(10, 0), width: 10 * svgHourW / 60.0, title: "access, lead time (Kisi holds the role): Wed 10 Jun 2026 10:00–10:10 CEST"},
			},
		},
		{
			// Half-hour 09:00–09:30 is 20 minutes of access; a lead drawn
			// over it would fill all 30 and win the column.
			name:    "lead over access would fill the column",
			windows: []schedule.Interval{iv(on(9, 0), on(9, 20)), iv(on(9, 30), on(10, 30))},
			lead:    30 * time.Minute,
			wantRow: strings.Repeat(".", 17) + ">###" + strings.Repeat(".", 27),
			wantLeads: []leadRect{
				{x: hours(8, 30), width: 30 * svgHourW / 60.0, title: "access, lead time (Kisi holds the role): Wed 10 Jun 2026 08:30–09:00 CEST"},
				{x: hours(9, 20), width: 10 * svgHourW / 60.0, title: "access, lead time (Kisi holds the role): Wed 10 Jun 2026 09:20–09:30 CEST"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			x := access.Explanation{MemberID: "m-1", At: on(8, 0),
				Groups: []access.GroupExplanation{{GroupID: 1, Zone: "Europe/Berlin", Windows: tc.windows}}}
			tl := newTimeline(x, tc.lead, nil)
			require.Equal(t, tc.wantRow, row(t, renderTimeline(tl, 100), "Wed 10 Jun", "access"))
			got := leadRects(t, renderSVG(tl))
			require.Len(t, got, len(tc.wantLeads))
			for i, want := range tc.wantLeads {
				require.InDelta(t, want.x, got[i].x, 0.05, "lead %d starts", i)
				require.InDelta(t, want.width, got[i].width, 0.05, "lead %d is long", i)
				require.Equal(t, want.title, got[i].title, "lead %d", i)
			}
		})
	}
}

// TestTimelineControlCharacters checks that labels with control characters
// (a member's name read from JSON may hold any) keep the text timeline one
// line per row and the SVG well-formed XML.
func TestTimelineControlCharacters(t *testing.T) {
	t.Parallel()
	const name, ref = "Ann\x01\nLee", "room\r2\t\x7f"
	x := bookingWeek(t, name, ref)
	rules := map[int64][]restriction{102: {{name: "Office\nhours\x02", when: "Mon–Fri 08:00–18:00"}}}
	tl := newTimeline(x, 20*time.Minute, rules)

	plain := newTimeline(bookingWeek(t, "Ann  Lee", "room 2  "), 20*time.Minute,
		map[int64][]restriction{102: {{name: "Office hours ", when: "Mon–Fri 08:00–18:00"}}})
	require.Empty(t, cmp.Diff(renderTimeline(plain, 100), renderTimeline(tl, 100)), "a control character is a space")

	doc := renderSVG(tl)
	texts := svgTexts(t, doc)
	require.Contains(t, texts, "booking bk-1 (room 2  )")
	require.Contains(t, texts, "Kisi time restriction: Office hours  (Mon–Fri 08:00–18:00)")
}

// TestEscapeSVG checks that esc gives text any XML parser reads: control
// characters and invalid UTF-8 become U+FFFD, markup is escaped.
func TestEscapeSVG(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{in: `a<b>&"c'`, want: `a<b>&"c'`},
		{in: "a\x01b", want: "a\uFFFDb"},
		{in: "a\xffb", want: "a\uFFFDb"},
		{in: "tab\tline\nend", want: "tab\tline\nend"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			doc := []byte(`<text a="` + esc(tc.in) + `">` + esc(tc.in) + `</text>`)
			wellFormed(t, doc)
			var n svgNode
			require.NoError(t, xml.Unmarshal(doc, &n))
			require.Equal(t, tc.want, n.Text)
			require.Equal(t, tc.want, n.attr("a"))
		})
	}
}

// TestTimelineHeadingZone checks that no date in --at's zone heads the
// timeline: at 23:30 UTC on Wed 10 Jun it is already Thursday in Berlin,
// where the group's week starts.
func TestTimelineHeadingZone(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, time.June, 10, 23, 30, 0, 0, time.UTC)
	x := access.Explanation{MemberID: "m-1", At: at,
		Groups: []access.GroupExplanation{{GroupID: 1, Zone: "Europe/Berlin", Windows: []schedule.Interval{iv(at, at.Add(time.Hour))}}}}
	tl := newTimeline(x, 0, nil)
	text := renderTimeline(tl, 100)
	require.Contains(t, text, "\nGroup 1 (Europe/Berlin), Thu 11 Jun – Wed 17 Jun 2026:\n")
	require.Contains(t, text, "now 01:30 CEST")
	require.NotContains(t, text, "Wed 10 Jun")
	svg := string(renderSVG(tl))
	require.Contains(t, svg, "Group 1 (Europe/Berlin), Thu 11 Jun – Wed 17 Jun 2026")
	require.NotContains(t, svg, "Wed 10 Jun")
}
