// Package kisisync keeps Kisi door access in step with a coworking or
// flex-space platform.
//
// A platform (members, teams, plans, allowances, bookings, recurring resource
// assignments, check-ins, drop-in guests) hands kisisync a snapshot of what it
// knows and a mapping from its plans, allowances, resources and locations to
// Kisi groups. kisisync computes who may open which doors when — buffers,
// weekly rules, time zones and daylight-saving time included — makes Kisi hold
// exactly that with the fewest API calls, survives faults without duplicating
// or leaking access, and explains to a support person why a member can or
// cannot get in.
//
// This root package holds documentation only; the SDK lives in its
// sub-packages.
//
// # Layers
//
// Imports point down only:
//
//	examples/         runnable programs (quickstart on an embedded fake Kisi, a CLI, a scheduler)
//	access/           what a host calls: Desired and Explain (pure), the Reconciler, its Store
//	mapping/          which Kisi groups each plan, allowance, resource and location grants
//	schedule/         pure interval engine: sets, buffers, weekly rules, time zones
//	kisi/             typed Kisi REST client: retries, rate limit, pagination, typed errors, webhooks
//	kisi/kisitest/    in-memory fake Kisi API server with fault injection
//
// schedule and mapping do no I/O and read no clock: they take instants and
// windows as arguments. access declares the narrow interface it needs from
// Kisi ([github.com/kisisync/kisisync/access.KisiAPI]), which
// *[github.com/kisisync/kisisync/kisi.Client] satisfies.
//
// # How a host calls the SDK
//
// Once per organization, build a client, a store and a reconciler; then, on
// every change and at every [github.com/kisisync/kisisync/access.Report]
// NextRun, hand it a fresh snapshot:
//
//	client, err := kisi.NewClient(apiKey)
//	// handle err
//	r, err := access.NewReconciler(client, store, m, access.DefaultPolicy())
//	// handle err
//	report, err := r.Sync(ctx, snapshot)
//	// handle err; schedule the next run at report.NextRun
//
// To answer a support question without touching Kisi, call
// [github.com/kisisync/kisisync/access.Explain] with the same snapshot.
package kisisync
