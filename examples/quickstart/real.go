package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/kisi"
)

// placeName is the Kisi place the quickstart uses in a real organization.
const placeName = "kisisync quickstart"

// runReal plans (and with apply, syncs) the quickstart space against a real
// Kisi organization at the real time. The key is only handed to the client,
// which never prints it.
func runReal(ctx context.Context, key, baseURL string, apply bool, loc *time.Location, w io.Writer) error {
	opts := []kisi.Option{}
	if baseURL != "" {
		opts = append(opts, kisi.WithBaseURL(baseURL))
	}
	client, err := kisi.NewClient(key, opts...)
	if err != nil {
		return err
	}
	p := newPrinter(w, loc)
	p.heading("kisisync quickstart against " + client.BaseURL())
	mode := "read only: the plan is printed, nothing is written (run with -apply to write)"
	if apply {
		mode = "-apply: the place, groups, users and grants are written"
	}
	p.line("Mode: %s.", mode)

	var sp space
	missing, err := findGroups(ctx, client, &sp, apply, loc)
	if err != nil {
		return err
	}
	if missing > 0 {
		p.line("%d of the quickstart groups do not exist yet in place %q; they are shown with", missing, placeName)
		p.line("placeholder ids 1–%d. -apply creates them.", len(groupSpecs))
	}
	clock := clockwork.NewRealClock()
	s := snapshot(clock.Now(), loc)
	for i := range s.Members {
		s.Members[i].Managed = true // no Kisi email to example.com addresses
	}
	m := sp.mapping()
	m.DropIn.Link, m.DropIn.QR = false, false // no drop-in link, so Kisi emails no example.com address
	p.heading("The space")
	describe(p, s, m, sp.names)

	r, err := access.NewReconciler(client, access.NewMemoryStore(), m, access.DefaultPolicy(),
		access.WithOrganization("quickstart"), access.WithLocation(loc), access.WithGroupNames(sp.names))
	if err != nil {
		return err
	}
	p.heading("The plan")
	c, err := r.Plan(ctx, s)
	if err != nil {
		return err
	}
	p.block(c.String())
	if !apply {
		p.line("")
		p.line("Nothing was written. Run again with -apply to create the place, groups and grants.")
		return nil
	}
	p.heading("Apply")
	rep, err := r.Apply(ctx, c)
	if rep != nil {
		p.report(rep)
	}
	if err != nil {
		return err
	}
	p.heading("What Kisi holds now")
	if err := holdings(ctx, client, sp, p); err != nil {
		return err
	}
	p.line("The users are managed users marked with metadata %s=%s; remove the place %q", access.MetadataKey, access.MetadataValue, placeName)
	p.line("and those users in the Kisi dashboard when you are done.")
	return nil
}

// findGroups looks up the quickstart groups by name in the quickstart
// place; with create it makes the place and any missing group (without
// doors: real doors need hardware). It returns how many are missing.
func findGroups(ctx context.Context, c *kisi.Client, sp *space, create bool, loc *time.Location) (int, error) {
	var place *kisi.Place
	for pl, err := range c.Places.ListIter(ctx, &kisi.PlaceListOptions{Query: placeName}) {
		if err != nil {
			return 0, fmt.Errorf("list places: %w", err)
		}
		if pl.Name == placeName {
			place = pl
			break
		}
	}
	if place == nil && create {
		tz := loc.String()
		pl, _, err := c.Places.Create(ctx, &kisi.PlaceCreateRequest{Name: placeName, Address: "created by the kisisync quickstart", TimeZone: &tz})
		if err != nil {
			return 0, fmt.Errorf("create place: %w", err)
		}
		place = pl
	}
	have := map[string]int64{}
	if place != nil {
		for g, err := range c.Groups.ListIter(ctx, &kisi.GroupListOptions{PlaceID: place.ID}) {
			if err != nil {
				return 0, fmt.Errorf("list groups: %w", err)
			}
			have[g.Name] = g.ID
		}
	}
	ids := make([]int64, len(groupSpecs))
	missing := 0
	for i, g := range groupSpecs {
		id, ok := have[g.name]
		switch {
		case ok:
		case create:
			grp, _, err := c.Groups.Create(ctx, &kisi.GroupCreateRequest{Name: g.name, PlaceID: &place.ID})
			if err != nil {
				return 0, fmt.Errorf("create group %q: %w", g.name, err)
			}
			id = grp.ID
		default:
			id = int64(i + 1)
			missing++
		}
		ids[i] = id
	}
	sp.set(ids)
	return missing, nil
}
