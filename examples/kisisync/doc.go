// Command kisisync plans, applies, verifies and explains Kisi door access
// from JSON files: a snapshot of the platform (members, plans, bookings, …),
// a mapping to Kisi groups and an optional policy.
//
//	kisisync plan     --snapshot snapshot.json --mapping mapping.json [--policy policy.json] [--at TIME] [--out plan.json]
//	kisisync apply    --snapshot snapshot.json --mapping mapping.json --state state.db [--approve-revocations] [plan.json]
//	kisisync verify   --snapshot snapshot.json --mapping mapping.json --state state.db
//	kisisync check    --mapping mapping.json [--state state.db]
//	kisisync explain  --snapshot snapshot.json --mapping mapping.json --member ID [--at TIME] [--timeline] [--svg week.svg]
//	kisisync diagnose --snapshot snapshot.json --mapping mapping.json --member ID [--state state.db] [--timeline] [--svg week.svg]
//	kisisync help [command]
//	kisisync --version
//
// The Kisi API key is read from the environment variable KISI_API_KEY only;
// it is never a flag and never printed. --fake runs against an embedded fake
// Kisi instead, seeded with the mapping's groups, so every command can be
// tried without an account. The sample files describe a week in June 2026;
// --at replays them at a moment of it:
//
//	go run ./examples/kisisync plan --fake --at 2026-06-10T08:00:00+02:00 \
//		--snapshot examples/kisisync/testdata/snapshot.json \
//		--mapping examples/kisisync/testdata/mapping.json
//
// Exit codes: 0 done, 1 failures, 2 bad input (nothing done), 3 cuts held
// by the revoke guard (the rest applied), 4 Kisi unreachable, the key
// refused or the state failing.
//
// See README.md in this directory for the file formats.
package main
