// Package kisiglue is the one copy of the glue between this module's
// packages and the Kisi API: how a window becomes Kisi's validity and back,
// how windows are compared at Kisi's precision, the metadata tag that marks
// the users this SDK created, and reading every page of a list through a
// caller's narrow interface with [kisi.Iterate].
//
// Its users are access (the reconciler) and access/troubleshoot, so both
// decide these questions the same way. It imports kisi and schedule only.
//
// # Usage
//
//	from, until := kisiglue.Validity(window)
//	...
//	if kisiglue.SameWindow(kisiglue.Window(ra.ValidFrom, ra.ValidUntil), window) { ... }
//	roles, err := kisiglue.All(ctx, kisiglue.RoleAssignments(ctx, k, kisi.RoleAssignmentListOptions{
//		AppliesToType: kisi.ScopeGroup, AppliesToID: g}))
package kisiglue
