package mapping

import (
	"errors"
	"fmt"
	"maps"
	"slices"
)

// Mapping says which Kisi groups each platform item grants. Keys are the
// platform's IDs; values are Kisi group IDs. The zero value maps nothing.
//
// A key that is absent is "unmapped"; one present with an empty list is
// "mapped to nothing". Either way an active plan whose plan ID maps to no
// group grants the Default groups.
type Mapping struct {
	// Plans maps a platform plan (product) ID to groups.
	Plans map[string][]int64 `json:"plans,omitempty"`
	// Allowances maps a platform allowance or discount ID to groups.
	Allowances map[string][]int64 `json:"allowances,omitempty"`
	// Resources maps a resource ID to groups; used by bookings and
	// assignments of the resource.
	Resources map[string][]int64 `json:"resources,omitempty"`
	// Locations maps a location ID to groups; used by check-ins.
	Locations map[string][]int64 `json:"locations,omitempty"`
	// Default is granted by an active plan whose plan ID maps to no group
	// (unmapped, or mapped to nothing).
	Default []int64 `json:"default,omitempty"`
	// DropIn says how drop-in guests get access.
	DropIn DropIn `json:"drop_in"`
}

// DropIn holds the options for drop-in bookings made by guests. A group link
// is created (and emailed by Kisi) only when Link or QR is set; the zero
// DropIn creates nothing and sends no email.
type DropIn struct {
	// Link emails the guest a Kisi access link.
	Link bool `json:"link"`
	// QR emails the guest a Kisi QR code.
	QR bool `json:"qr"`
	// AddToGroup gives the guest a Kisi user and the groups of the booked
	// resource for the booking window, exactly like a member booking (a
	// guest whose email is a member's is served as that member); the
	// access ends with the booking.
	AddToGroup bool `json:"add_to_group"`
}

// Kind names one of the tables of a [Mapping].
type Kind string

// The tables of a [Mapping].
const (
	KindPlan      Kind = "plan"
	KindAllowance Kind = "allowance"
	KindResource  Kind = "resource"
	KindLocation  Kind = "location"
	KindDefault   Kind = "default"
)

// Lookup returns the sorted, deduplicated groups of id in the table of kind,
// and whether id is present in that table at all (ok false: unmapped; ok true
// with no groups: mapped to nothing). For [KindDefault] id is ignored and ok
// reports whether any default group is set.
func (m Mapping) Lookup(kind Kind, id string) (groups []int64, ok bool) {
	var g []int64
	switch kind {
	case KindPlan:
		g, ok = m.Plans[id]
	case KindAllowance:
		g, ok = m.Allowances[id]
	case KindResource:
		g, ok = m.Resources[id]
	case KindLocation:
		g, ok = m.Locations[id]
	case KindDefault:
		g, ok = m.Default, len(m.Default) > 0
	}
	return normalize(g), ok
}

// PlanGroups returns the sorted, deduplicated groups of a plan ID, nil when
// it is unmapped or mapped to nothing (see [Mapping.Lookup] to tell them
// apart). It does not apply Default.
func (m Mapping) PlanGroups(id string) []int64 { g, _ := m.Lookup(KindPlan, id); return g }

// AllowanceGroups returns the sorted, deduplicated groups of an allowance ID.
func (m Mapping) AllowanceGroups(id string) []int64 { g, _ := m.Lookup(KindAllowance, id); return g }

// ResourceGroups returns the sorted, deduplicated groups of a resource ID.
func (m Mapping) ResourceGroups(id string) []int64 { g, _ := m.Lookup(KindResource, id); return g }

// LocationGroups returns the sorted, deduplicated groups of a location ID.
func (m Mapping) LocationGroups(id string) []int64 { g, _ := m.Lookup(KindLocation, id); return g }

// DefaultGroups returns the sorted, deduplicated Default groups.
func (m Mapping) DefaultGroups() []int64 { return normalize(m.Default) }

// Groups returns every group the mapping can grant (all tables and
// Default), sorted and deduplicated.
func (m Mapping) Groups() []int64 {
	set := make(map[int64]struct{})
	for _, t := range []map[string][]int64{m.Plans, m.Allowances, m.Resources, m.Locations} {
		for _, gs := range t {
			for _, g := range gs {
				set[g] = struct{}{}
			}
		}
	}
	for _, g := range m.Default {
		set[g] = struct{}{}
	}
	return slices.Sorted(maps.Keys(set))
}

// Clone returns a deep copy of m.
func (m Mapping) Clone() Mapping {
	c := m
	c.Plans = cloneTable(m.Plans)
	c.Allowances = cloneTable(m.Allowances)
	c.Resources = cloneTable(m.Resources)
	c.Locations = cloneTable(m.Locations)
	c.Default = slices.Clone(m.Default)
	return c
}

func cloneTable(t map[string][]int64) map[string][]int64 {
	if t == nil {
		return nil
	}
	c := make(map[string][]int64, len(t))
	for k, v := range t {
		c[k] = slices.Clone(v)
	}
	return c
}

// normalize returns a sorted copy of g without duplicates, nil when empty.
func normalize(g []int64) []int64 {
	if len(g) == 0 {
		return nil
	}
	c := slices.Clone(g)
	slices.Sort(c)
	return slices.Compact(c)
}

// ErrUnknownGroup reports a group ID that is not among the known groups.
var ErrUnknownGroup = errors.New("unknown group")

// ErrDuplicateGroup reports a group listed twice for one item.
var ErrDuplicateGroup = errors.New("duplicate group")

// ErrEmptyID reports an item with an empty platform ID.
var ErrEmptyID = errors.New("empty id")

// ErrInvalidGroup reports a group ID that is not positive.
var ErrInvalidGroup = errors.New("invalid group id")

// Validate checks m against the groups that exist in Kisi. It reports, in
// one error joined with [errors.Join], every group not in known (skipped when
// known is nil), every non-positive group, every group listed twice for one
// item and every empty platform ID. Each part wraps [ErrUnknownGroup],
// [ErrInvalidGroup], [ErrDuplicateGroup] or [ErrEmptyID]. It returns nil
// when m is valid.
func (m Mapping) Validate(known []int64) error {
	var knownSet map[int64]struct{}
	if known != nil {
		knownSet = make(map[int64]struct{}, len(known))
		for _, g := range known {
			knownSet[g] = struct{}{}
		}
	}
	var errs []error
	check := func(kind Kind, id string, gs []int64) {
		if kind != KindDefault && id == "" {
			errs = append(errs, fmt.Errorf("mapping: %s %q: %w", kind, id, ErrEmptyID))
		}
		name := string(kind)
		if kind != KindDefault {
			name = fmt.Sprintf("%s %q", kind, id)
		}
		seen := make(map[int64]bool, len(gs))
		for _, g := range gs {
			switch {
			case seen[g]:
				errs = append(errs, fmt.Errorf("mapping: %s: group %d: %w", name, g, ErrDuplicateGroup))
				continue
			case g <= 0:
				errs = append(errs, fmt.Errorf("mapping: %s: group %d: %w", name, g, ErrInvalidGroup))
			case knownSet != nil:
				if _, ok := knownSet[g]; !ok {
					errs = append(errs, fmt.Errorf("mapping: %s: group %d: %w", name, g, ErrUnknownGroup))
				}
			}
			seen[g] = true
		}
	}
	for _, t := range []struct {
		kind  Kind
		table map[string][]int64
	}{{KindPlan, m.Plans}, {KindAllowance, m.Allowances}, {KindResource, m.Resources}, {KindLocation, m.Locations}} {
		for _, id := range slices.Sorted(maps.Keys(t.table)) {
			check(t.kind, id, t.table[id])
		}
	}
	check(KindDefault, "", m.Default)
	return errors.Join(errs...)
}
