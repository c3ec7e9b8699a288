package main

import (
	"encoding/xml"
	"fmt"
	"strings"
	"time"

	"github.com/kisisync/kisisync/internal/textfmt"
	"github.com/kisisync/kisisync/schedule"
)

// The geometry of the SVG timeline, in pixels: per group, one row per day
// and lane, the day's 24 local hours across.
const (
	svgMargin = 10
	svgDayW   = 90                             // the day label column
	svgLaneW  = 220                            // the lane label column
	svgHourW  = 36                             // one hour
	svgRowH   = 20                             // one row of text or one lane
	svgBarH   = 14                             // the height of a window in its lane
	svgChartX = svgMargin + svgDayW + svgLaneW // where midnight is
	svgChartW = 24 * svgHourW
	svgTimesW = 190 // the exact times of the access row, right of the chart
	svgWidth  = svgChartX + svgChartW + svgTimesW + svgMargin
)

// svgStyle colours the kinds; a class names each.
const svgStyle = `text{fill:#222}.heading{font-weight:bold}.note{fill:#777;font-style:italic}` +
	`.access{fill:#2e7d32}.lead{fill:#f9a825}.source{fill:#1565c0}.buffer{fill:#90caf9}.kisi{fill:#6a1b9a}.hours{fill:#00897b}` +
	`.day{stroke:#999}.hour{stroke:#e4e4e4}.now{stroke:#d32f2f;stroke-width:2}`

// renderSVG draws tl as a standalone SVG document, laid out as
// renderTimeline lays out the text: per group, one row per day and lane,
// the day's local hours across. Each stretch of a window is a rect whose
// class is its kind (access, lead, source or buffer) and whose data-lane,
// data-window and data-day say whose; now is a line of class now. Text is
// escaped.
func renderSVG(tl timeline) []byte {
	var body strings.Builder
	y := svgMargin
	title := tl.heading()
	y += svgRowH
	fmt.Fprintf(&body, `<text class="heading" x="%d" y="%d">%s</text>`+"\n", svgMargin, y-5, esc(title))
	y += svgRowH
	x := svgMargin
	for _, k := range []struct{ kind, text string }{
		{kindAccess, "access"},
		{kindLead, leadText(tl.lead)},
		{kindSource, "source"},
		{kindBuffer, "buffer"},
	} {
		fmt.Fprintf(&body, `<rect class="swatch %s" x="%d" y="%d" width="12" height="12"/>`, k.kind, x, y-14)
		fmt.Fprintf(&body, `<text x="%d" y="%d">%s</text>`+"\n", x+16, y-3, esc(k.text))
		x += 16 + 7*len(k.text) + 20
	}
	fmt.Fprintf(&body, `<line class="swatch now" x1="%d" y1="%d" x2="%d" y2="%d"/>`, x+6, y-14, x+6, y-2)
	fmt.Fprintf(&body, `<text x="%d" y="%d">now</text>`+"\n", x+12, y-3)
	if tl.drawsKisi() {
		x += 12 + 7*len("now") + 20
		fmt.Fprintf(&body, `<rect class="swatch kisi" x="%d" y="%d" width="12" height="12"/>`, x, y-14)
		fmt.Fprintf(&body, `<text x="%d" y="%d">a role Kisi holds</text>`+"\n", x+16, y-3)
		x += 16 + 7*len("a role Kisi holds") + 20
	}
	if tl.drawsHours() {
		fmt.Fprintf(&body, `<rect class="swatch hours" x="%d" y="%d" width="12" height="12"/>`, x, y-14)
		fmt.Fprintf(&body, `<text x="%d" y="%d">hours of a Kisi time restriction</text>`+"\n", x+16, y-3)
	}
	if tl.problem != "" && len(tl.groups) == 0 {
		y += svgRowH
		fmt.Fprintf(&body, `<text class="note" x="%d" y="%d">%s</text>`+"\n", svgMargin, y-5, esc("Nothing to draw: "+tl.problem))
	}
	for _, wg := range tl.groups {
		y = wg.svg(&body, tl.at, y+svgRowH/2)
	}
	height := y + svgMargin
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", svgWidth, height, svgWidth, height)
	fmt.Fprintf(&b, "<title>%s</title>\n<style>%s</style>\n", esc(title), svgStyle)
	fmt.Fprintf(&b, `<rect class="background" x="0" y="0" width="%d" height="%d" fill="#fff"/>`+"\n", svgWidth, height)
	b.WriteString(body.String())
	b.WriteString("</svg>\n")
	return []byte(b.String())
}

// svg draws one group's week from y down and returns the y below it.
func (wg *weekOfGroup) svg(b *strings.Builder, now time.Time, y int) int {
	fmt.Fprintf(b, `<g data-group="%d">`+"\n", wg.id)
	y += svgRowH
	fmt.Fprintf(b, `<text class="heading" x="%d" y="%d">%s</text>`+"\n", svgMargin, y-5,
		esc(wg.heading()))
	for _, r := range wg.restrictions {
		y += svgRowH
		fmt.Fprintf(b, `<text x="%d" y="%d">%s</text>`+"\n", svgMargin+10, y-5, esc(r.line(wg.zone)))
	}
	// The hour ruler: the hours alone, as compact as the text's.
	y += svgRowH
	for h := 0; h < 24; h += 3 {
		fmt.Fprintf(b, `<text x="%d" y="%d">%02d</text>`+"\n", svgChartX+h*svgHourW+2, y-5, h)
	}
	top := y
	var rows strings.Builder
	for d := range weekDays {
		first := y
		fmt.Fprintf(&rows, `<line class="day" x1="%d" y1="%d" x2="%d" y2="%d"/>`+"\n", svgMargin, y, svgChartX+svgChartW, y)
		fmt.Fprintf(&rows, `<text x="%d" y="%d">%s</text>`+"\n", svgMargin, y+svgRowH-5, esc(wg.dayLabel(d)))
		for li, l := range wg.lanes {
			if !wg.shown(li, d) {
				continue
			}
			fmt.Fprintf(&rows, `<text x="%d" y="%d">%s</text>`+"\n", svgMargin+svgDayW, y+svgRowH-5, esc(l.label))
			// The exact times of the access and of a time restriction's
			// hours, on the picture itself: a screenshot in a ticket loses
			// the tooltips.
			if li == 0 {
				fmt.Fprintf(&rows, `<text class="times" x="%d" y="%d">%s</text>`+"\n", svgChartX+svgChartW+8, y+svgRowH-5, esc(wg.clockTimes(l, d, kindAccess)))
			} else if strings.HasPrefix(l.label, hoursLabel) {
				fmt.Fprintf(&rows, `<text class="times hours" x="%d" y="%d">%s</text>`+"\n", svgChartX+svgChartW+8, y+svgRowH-5, esc(wg.clockTimes(l, d, kindHours)))
			}
			for _, s := range wg.onDay(l, d) {
				x0, x1 := wg.wallX(s.start, d), wg.wallX(s.end, d)
				fmt.Fprintf(&rows, `<rect class="%s" data-lane="%d" data-window="%d" data-day="%d" x="%.1f" y="%d" width="%.1f" height="%d"><title>%s</title></rect>`+"\n",
					s.kind, li, s.window, d, x0, y+(svgRowH-svgBarH)/2, max(x1-x0, 1), svgBarH, esc(wg.tooltip(l, s)))
			}
			y += svgRowH
		}
		if d == 0 {
			nx := wg.wallX(now, 0)
			fmt.Fprintf(&rows, `<line class="now" x1="%.1f" y1="%d" x2="%.1f" y2="%d"><title>%s</title></line>`+"\n",
				nx, first-4, nx, y, esc("now: "+textfmt.Time(now, wg.zone)))
		}
	}
	bottom := y
	for h := 0; h <= 24; h++ {
		hx := svgChartX + h*svgHourW
		fmt.Fprintf(b, `<line class="hour" x1="%d" y1="%d" x2="%d" y2="%d"/>`+"\n", hx, top, hx, bottom)
	}
	b.WriteString(rows.String())
	for _, l := range wg.undrawn() {
		fmt.Fprintf(b, `<text x="%d" y="%d">%s</text>`, svgMargin+svgDayW, y+svgRowH-5, esc(l.label))
		fmt.Fprintf(b, `<text class="note" x="%d" y="%d">%s</text>`+"\n", svgChartX+6, y+svgRowH-5, esc(l.note))
		y += svgRowH
	}
	b.WriteString("</g>\n")
	return y
}

// wallX is the horizontal position of t on the row of day d: by local
// wall-clock time, as the hour ruler reads, so local times the clocks skip
// stay empty; the end of the day is the right edge.
func (wg *weekOfGroup) wallX(t time.Time, d int) float64 {
	if !t.Before(wg.days[d+1]) {
		return svgChartX + svgChartW
	}
	y, m, day := wg.days[d].In(wg.zone).Date()
	lt := t.In(wg.zone)
	// The wall-clock reading of t and the day's midnight, both read as UTC
	// so that their difference counts the hours the ruler shows.
	wall := time.Date(lt.Year(), lt.Month(), lt.Day(), lt.Hour(), lt.Minute(), lt.Second(), lt.Nanosecond(), time.UTC)
	mins := wall.Sub(time.Date(y, m, day, 0, 0, 0, 0, time.UTC)).Minutes()
	return svgChartX + max(0, mins)*svgHourW/60
}

// tooltip says what a rect shows, as a whole: "booking bk-1 (room-spree),
// buffer: Wed 10 Jun 2026 08:45–09:00 CEST"; an open end is "no end".
func (wg *weekOfGroup) tooltip(l lane, s span) string {
	what := map[string]string{kindAccess: "access", kindLead: "lead time (Kisi holds the role)", kindSource: "window", kindBuffer: "buffer", kindKisi: "role in Kisi", kindHours: "occurs"}[s.kind]
	return fmt.Sprintf("%s, %s: %s", l.label, what, textfmt.Span(s.from, s.to, wg.zone))
}

// leadText explains the lead time in the legend.
func leadText(lead time.Duration) string {
	if lead <= 0 {
		return "lead time: none, Kisi gets the role as access opens"
	}
	return "lead time: Kisi holds the role " + schedule.FormatDuration(lead) + " ahead; doors stay shut"
}

// esc escapes text for SVG content and attribute values: the markup
// characters, quotes and whitespace other than the space as references, and
// invalid UTF-8 and characters XML does not allow, control characters
// among them, as U+FFFD.
func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s)) // a strings.Builder does not fail
	return b.String()
}
