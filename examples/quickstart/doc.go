// Command quickstart shows kisisync end to end in a few seconds, with no Kisi
// account and no network.
//
//	go run ./examples/quickstart
//
// It starts the embedded fake Kisi (kisi/kisitest) on a loopback port,
// creates a place, its doors and groups through the Kisi client, describes a
// small coworking space (members on plans, a team plan, a meeting-room
// booking, a weekly desk assignment, a check-in and a drop-in guest), then:
//
//  1. prints the plan (the dry run) and applies it;
//  2. prints the report and what Kisi now holds;
//  3. moves the clock forward until a booking enters its lead time and syncs
//     again, so the booking is granted;
//  4. cancels a plan and syncs, so that access is revoked;
//  5. syncs once more with nothing new, which writes nothing;
//  6. explains why one member cannot get in and why another can.
//
// Time is a fake clock that starts on Wednesday 10 June 2026 at 08:00 in
// Berlin and is shared by the fake Kisi and the reconciler, so the output is
// the same on every run.
//
// # Real Kisi
//
// With KISI_API_KEY set, the same space is planned against a real Kisi
// organization (KISI_URL overrides the base URL, default
// https://api.kisi.io), at the real time. Without -apply this is read only:
// it looks up the quickstart groups by name and prints the plan. With
// -apply it creates the place and groups it needs, creates the users as
// managed users (Kisi sends them no email), grants the access and prints
// what Kisi holds. Drop-in links are not emailed in this mode.
package main
