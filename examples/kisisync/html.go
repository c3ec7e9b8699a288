package main

import (
	"fmt"
	"strings"
)

// renderHTML writes tl as one self-contained HTML page: the SVG picture,
// inline, and below it a table of the exact times of every stretch drawn,
// per group, day and lane, so that a screenshot or a printout keeps them.
// Text is escaped; the page loads nothing.
func renderHTML(tl timeline) []byte {
	var b strings.Builder
	title := esc(tl.heading())
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
	fmt.Fprintf(&b, "<title>%s</title>\n<style>%s</style>\n</head>\n<body>\n<h1>%s</h1>\n", title, htmlStyle, title)
	svg := string(renderSVG(tl))
	svg = svg[strings.Index(svg, "<svg"):] // the XML declaration has no place inside HTML
	b.WriteString("<figure>\n" + svg + "</figure>\n")
	if tl.problem != "" && len(tl.groups) == 0 {
		fmt.Fprintf(&b, "<p class=\"note\">Nothing to draw: %s</p>\n", esc(tl.problem))
	}
	for _, wg := range tl.groups {
		fmt.Fprintf(&b, "<h2>%s</h2>\n<table data-group=\"%d\">\n", esc(wg.heading()), wg.id)
		b.WriteString("<thead><tr><th>Day</th><th>Lane</th><th>Access</th><th>Lead time</th><th>Source</th><th>Buffer</th><th>Kisi holds</th><th>Kisi hours</th></tr></thead>\n<tbody>\n")
		for d := range weekDays {
			for li, l := range wg.lanes {
				if !wg.shown(li, d) {
					continue
				}
				fmt.Fprintf(&b, "<tr><td>%s</td><td>%s</td>", esc(wg.dayLabel(d)), esc(l.label))
				for _, kind := range []string{kindAccess, kindLead, kindSource, kindBuffer, kindKisi, kindHours} {
					times := wg.clockTimes(l, d, kind)
					if times == "no access" {
						times = ""
					}
					fmt.Fprintf(&b, "<td class=\"%s\">%s</td>", kind, esc(times))
				}
				b.WriteString("</tr>\n")
			}
		}
		b.WriteString("</tbody>\n</table>\n")
		for _, l := range wg.undrawn() {
			fmt.Fprintf(&b, "<p class=\"note\">%s: %s</p>\n", esc(l.label), esc(l.note))
		}
	}
	b.WriteString("</body>\n</html>\n")
	return []byte(b.String())
}

// htmlStyle lays out the page; the picture keeps its own style.
const htmlStyle = `body{font-family:sans-serif;font-size:14px;margin:16px;color:#222}h1{font-size:18px}h2{font-size:15px}` +
	`figure{margin:0;overflow-x:auto}table{border-collapse:collapse;margin-bottom:16px}` +
	`th,td{border:1px solid #ccc;padding:2px 8px;text-align:left;font-variant-numeric:tabular-nums}.note{color:#777;font-style:italic}`
