package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/schedule"
)

// browser returns the path of a Chromium to render pages with. Without one
// the test is skipped, except in CI (CI=true), where .ci/run installs it.
func browser(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no Chromium found (chromium, chromium-browser, google-chrome or headless-shell): .ci/run installs the Debian package chromium")
	}
	t.Skip("no Chromium found: install the Debian package chromium to render the HTML week page")
	return ""
}

// rendered is what a browser shows of the week page: its title, the text
// of every table row (cells joined by " | "), the exact times printed on
// the picture, and how many access bars have a size on the screen.
type rendered struct {
	Title      string   `json:"title"`
	Rows       []string `json:"rows"`
	Times      []string `json:"times"`
	AccessBars int      `json:"accessBars"`
	HoursBars  int      `json:"hoursBars"`
	SVGWidth   float64  `json:"svgWidth"`
}

const renderedJS = `(() => ({
	title: document.title,
	rows: [...document.querySelectorAll('table')].flatMap(t =>
		[t.previousElementSibling.innerText, ...[...t.querySelectorAll('tr')].map(r => [...r.cells].map(c => c.innerText).join(' | '))]),
	times: [...document.querySelectorAll('svg text.times')].map(e => e.textContent),
	accessBars: [...document.querySelectorAll('svg rect.access:not(.swatch)')].filter(r => r.getBoundingClientRect().width > 0).length,
	hoursBars: [...document.querySelectorAll('svg rect.hours:not(.swatch)')].filter(r => r.getBoundingClientRect().width > 0).length,
	svgWidth: document.querySelector('svg').getBoundingClientRect().width,
}))()`

// TestHTMLInBrowser (issues 30, 31): the week page, opened in a real
// headless Chromium, shows the picture with its bars laid out, the exact
// times on it, a Kisi time restriction's hours (issue 31), and a table of
// the exact times; the rendered text is compared with
// testdata/week_html.golden.
func TestHTMLInBrowser(t *testing.T) {
	t.Parallel()
	exe := browser(t)
	berlin := mustZone(t, "Europe/Berlin")
	office := recurring("08:00", "18:00", time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday)
	tl := newTimeline(bookingWeek(t, `Ann "A&B" <Lee>`, "room <2>"), 20*time.Minute, map[int64][]restriction{102: {{name: "Office hours", when: "Mon–Fri 08:00–18:00", sc: office, zone: berlin}}})
	tl.named(map[int64]string{101: "Members", 102: "Meeting room <2>"})
	tl.kisiHolds(map[int64][]schedule.Interval{102: {iv(time.Date(2026, time.June, 10, 8, 25, 0, 0, berlin), time.Date(2026, time.June, 10, 10, 10, 0, 0, berlin))}})
	path := filepath.Join(t.TempDir(), "week.html")
	require.NoError(t, os.WriteFile(path, renderHTML(tl), 0o600))

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU)
	actx, cancel := chromedp.NewExecAllocator(t.Context(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var got rendered
	require.NoError(t, chromedp.Run(ctx,
		chromedp.Navigate("file://"+path),
		chromedp.WaitVisible("table", chromedp.ByQuery),
		chromedp.Evaluate(renderedJS, &got),
	))

	require.Equal(t, tl.heading(), got.Title)
	require.Equal(t, float64(svgWidth), got.SVGWidth, "the picture is laid out at its size")
	require.Equal(t, 7+4, got.AccessBars, "a bar per day of group 101, and per day with access of group 102")
	require.Contains(t, got.Times, "08:45–10:10")
	require.Equal(t, 5, got.HoursBars, "the office hours on each weekday of the week")
	require.Contains(t, got.Rows, "Thu 11 Jun | Kisi hours: Office hours |  |  |  |  |  | 08:00–18:00")
	checkGolden(t, "week_html", strings.Join(append(append([]string{got.Title, ""}, got.Rows...), append([]string{"", "on the picture:"}, got.Times...)...), "\n")+"\n")
}

// TestHTMLCommand: explain --html writes the page and says where.
func TestHTMLCommand(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "week.html")
	code, stdout, stderr := invoke(t, noEnv, "explain", "--member", "m-bruno", "--at", "2026-06-10 08:40 Europe/Berlin",
		"--snapshot", td("snapshot.json"), "--mapping", td("mapping.json"), "--html", path)
	require.Equal(t, exitOK, code, stderr)
	require.True(t, strings.HasSuffix(stdout, "\nWrote the timeline as a page to "+path+".\n"), stdout)
	page, err := os.ReadFile(path)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(page), "<!DOCTYPE html>"))
	require.Contains(t, string(page), "<td class=\"access\">08:55–10:05</td>")
	require.NotContains(t, string(page), "<?xml", "the SVG is inline, without its XML declaration")
}

// TestKisiHoldsLane (issue 30): diagnose draws what Kisi holds beside what
// the platform wants, so that "the platform says yes, Kisi says no" shows:
// on Thursday the desk gives access and Kisi holds no role.
func TestKisiHoldsLane(t *testing.T) {
	t.Parallel()
	berlin := mustZone(t, "Europe/Berlin")
	tl := newTimeline(bookingWeek(t, "Ann", "room 2"), 20*time.Minute, nil)
	tl.kisiHolds(map[int64][]schedule.Interval{102: {iv(time.Date(2026, time.June, 10, 8, 25, 0, 0, berlin), time.Date(2026, time.June, 10, 10, 10, 0, 0, berlin))}})
	out := renderTimeline(tl, 100)
	require.Contains(t, out, "K a role Kisi holds now (read from Kisi)")
	g102 := out[strings.Index(out, "Group 102"):]
	require.Contains(t, row(t, g102, "Thu 11 Jun", "access"), "#", "the platform gives access on Thursday")
	require.Contains(t, row(t, g102, "Wed 10 Jun", "Kisi holds"), "K")
	thursday := g102[strings.Index(g102, "Thu 11 Jun"):strings.Index(g102, "Fri 12 Jun")]
	require.NotContains(t, thursday, "Kisi holds", "Kisi holds no role on Thursday: no lane drawn that day")
	require.Contains(t, out[:strings.Index(out, "Group 102")], "Kisi holds   ", "group 101")
	require.Contains(t, out, "Kisi holds                           no role in Kisi this week")
}
