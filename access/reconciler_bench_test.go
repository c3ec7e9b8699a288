package access_test

import (
	"testing"
)

// BenchmarkPlan plans the large generated space (10,000 members, 100,000
// bookings) against a steady Store (see BenchmarkPlanScale): the usual
// run, nothing to do, no Kisi request.
//
//	go test -run '^$' -bench 'BenchmarkPlan$' -benchmem -count 3 ./access/
func BenchmarkPlan(b *testing.B) {
	s, m := largeSpace(b)
	benchPlanSteady(b, s, m)
}
