// Command kisisync plans, applies, verifies and explains Kisi door access
// from JSON files: a snapshot of the platform (members, plans, bookings, …),
// a mapping to Kisi groups and an optional policy.
//
//	kisisync plan    --snapshot snapshot.json --mapping mapping.json [--policy policy.json] [--at TIME]
//	kisisync apply   --snapshot snapshot.json --mapping mapping.json --state state.db [--approve-revocations]
//	kisisync verify  --snapshot snapshot.json --mapping mapping.json --state state.db
//	kisisync explain --snapshot snapshot.json --mapping mapping.json --member ID [--at TIME]
//	kisisync diagnose --snapshot snapshot.json --mapping mapping.json --member ID [--state state.db]
//
// The Kisi API key is read from the environment variable KISI_API_KEY only;
// it is never a flag and never printed. --fake runs against an embedded fake
// Kisi instead, seeded with the mapping's groups, so every command can be
// tried without an account:
//
//	go run ./examples/kisisync plan --fake \
//		--snapshot examples/kisisync/testdata/snapshot.json \
//		--mapping examples/kisisync/testdata/mapping.json
//
// See README.md in this directory for the file formats.
package main
