// Package spacegen generates large, realistic coworking spaces (a
// [access.Snapshot] with its [mapping.Mapping]) for benchmarks, examples
// and simulations. The output is deterministic for a [Config]: the same
// seed and sizes give the same space.
//
// Usage:
//
//	s, m := spacegen.Generate(spacegen.Large(1, start))
//	grants, err := access.Desired(s, m, access.DefaultPolicy(), start.Add(36*time.Hour))
//
// # Shape
//
// Locations cycle through several time zones (including DST zones on both
// hemispheres). Every resource maps to one or two Kisi groups, every
// location to one, plan products to one or two (one product stays unmapped
// so Default applies). Most members hold one plan (a few pending or
// cancelled); teams share team plans and assignments. Bookings fall on a
// 15-minute grid during the day; a few are drop-ins by guests. Check-ins
// are spread over the period, most with a check-out.
package spacegen
