// Package storetest is the conformance suite for implementations of
// [access.Store]. Every Store, in this module or a host's, runs it:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) access.Store {
//			return sqlstore.New(openTestDB(t))
//		})
//	}
//
// # What it checks
//
// The contract in the doc comments of [access.Store]: Put replaces by key
// and keeps a copy, Load returns sorted copies per organization, Delete of
// a missing key succeeds, organizations are isolated, and the lease admits
// one holder at a time until it expires or is released. It also runs
// concurrent writers, so run it with -race.
//
// newStore is called once per subtest and must return an empty Store; use
// t.Cleanup in it to release resources.
package storetest
