package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/schedule"
)

// timelineWidth is the width of the text timeline, in columns.
const timelineWidth = 100

// drawWeek prints the member's week with --timeline and writes it as SVG
// with --svg and as HTML with --html. k is what Kisi holds (nil: unknown,
// as in explain, which reads no Kisi).
func (a app) drawWeek(cfg config, x access.Explanation, p access.Policy, k *kisiSide) error {
	if !cfg.timeline && cfg.svg == "" && cfg.html == "" {
		return nil
	}
	var tl timeline
	if k == nil {
		tl = newTimeline(x, p.Lead, nil)
	} else {
		tl = newTimeline(x, p.Lead, k.rules)
		tl.named(k.names)
		tl.kisiHolds(k.roles)
	}
	if cfg.timeline {
		fmt.Fprintln(a.stdout)
		fmt.Fprint(a.stdout, renderTimeline(tl, timelineWidth))
	}
	if cfg.svg != "" {
		if err := os.WriteFile(cfg.svg, renderSVG(tl), 0o644); err != nil {
			return fmt.Errorf("write the timeline: %w", err)
		}
		if !cfg.json {
			fmt.Fprintf(a.stdout, "\nWrote the timeline to %s.\n", cfg.svg)
		}
	}
	if cfg.html != "" {
		if err := os.WriteFile(cfg.html, renderHTML(tl), 0o644); err != nil {
			return fmt.Errorf("write the timeline: %w", err)
		}
		if !cfg.json {
			fmt.Fprintf(a.stdout, "\nWrote the timeline as a page to %s.\n", cfg.html)
		}
	}
	return nil
}

// kisiSide is what diagnose read from Kisi for the picture, by group id:
// the groups' time restrictions, names and the member's roles.
type kisiSide struct {
	rules map[int64][]restriction
	names map[int64]string
	roles map[int64][]schedule.Interval
}

// schedulesOf lists the time restrictions of a group of the mapping in
// Kisi.
type schedulesOf func(ctx context.Context, groupID int64) ([]*kisi.Schedule, error)

// placeOf reads a place from Kisi: its zone is the one Kisi reads the
// hours of the place's schedules in.
type placeOf func(ctx context.Context, placeID int64) (*kisi.Place, *kisi.Response, error)

// restrictions reads Kisi's time restrictions of every group explained,
// and the zone of each one's place. A group whose restrictions cannot be
// read is left out, and a place whose zone cannot be read leaves its
// schedules' zone unknown (their hours are then drawn in the group's
// zone, and said to be), each with a warning on stderr: the timeline still
// draws what the platform gives.
func (a app) restrictions(ctx context.Context, x access.Explanation, list schedulesOf, place placeOf) map[int64][]restriction {
	out := map[int64][]restriction{}
	zones := map[int64]*time.Location{}
	zoneOf := func(id int64) *time.Location {
		if z, ok := zones[id]; ok {
			return z
		}
		zones[id] = nil
		p, _, err := place(ctx, id)
		switch {
		case err != nil:
			fmt.Fprintf(a.stderr, "kisisync: could not read the time zone of Kisi place %d: %v\n", id, err)
		case p.TimeZone == nil || *p.TimeZone == "":
		default:
			z, err := time.LoadLocation(*p.TimeZone)
			if err != nil {
				fmt.Fprintf(a.stderr, "kisisync: Kisi place %d has a time zone this machine does not know: %q\n", id, *p.TimeZone)
				break
			}
			zones[id] = z
		}
		return zones[id]
	}
	for _, g := range x.Groups {
		scs, err := list(ctx, g.GroupID)
		if err != nil {
			fmt.Fprintf(a.stderr, "kisisync: could not read Kisi's time restrictions of group %d: %v\n", g.GroupID, err)
			continue
		}
		for _, sc := range scs {
			r := restriction{name: sc.Name, when: sc.String(), sc: sc}
			if sc.PlaceID != nil {
				r.zone = zoneOf(*sc.PlaceID)
			}
			out[g.GroupID] = append(out[g.GroupID], r)
		}
	}
	return out
}
