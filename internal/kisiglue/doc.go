// Package kisiglue is the one copy of the glue between this module's
// packages and the Kisi API: how a window becomes Kisi's validity and back,
// how windows are compared at Kisi's precision, the metadata tag that marks
// the users this SDK created, and the mark in the names of the group links
// it created. Lists are read with kisi's generic pagers ([kisi.All]).
//
// Its users are access (the reconciler) and access/troubleshoot, so both
// decide these questions the same way. It imports kisi and schedule only.
//
// # Usage
//
//	from, until := kisiglue.Validity(window)
//	...
//	if kisiglue.SameWindow(kisiglue.Window(ra.ValidFrom, ra.ValidUntil), window) { ... }
//	name := kisiglue.LinkName(guest, bookingID)
package kisiglue
