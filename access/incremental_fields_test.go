package access

import (
	"reflect"
	"testing"

	"github.com/kisisync/kisisync/schedule"
)

// TestIncrementalComparesEveryField: an incremental plan tells a changed
// record by comparing it with the copy it kept; sameBooking and
// sameAssignment name the fields, and compiled keeps the snapshot's kinds
// one by one. A field or kind added since must be added there too.
func TestIncrementalComparesEveryField(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		typ    reflect.Type
		fields int
	}{
		{reflect.TypeFor[Snapshot](), 9},
		{reflect.TypeFor[Booking](), 7},
		{reflect.TypeFor[Guest](), 2},
		{reflect.TypeFor[Assignment](), 7},
		{reflect.TypeFor[schedule.Rule](), 3},
		{reflect.TypeFor[schedule.Clock](), 2},
	} {
		if n := c.typ.NumField(); n != c.fields {
			t.Errorf("%v has %d fields, incremental.go compares %d: compare the new ones (sameBooking, sameAssignment, compiled)", c.typ, n, c.fields)
		}
	}
	// The others are compared with ==, which sees every field.
	for _, typ := range []reflect.Type{reflect.TypeFor[Location](), reflect.TypeFor[Resource](), reflect.TypeFor[Member](),
		reflect.TypeFor[Plan](), reflect.TypeFor[Allowance](), reflect.TypeFor[CheckIn]()} {
		if !typ.Comparable() {
			t.Errorf("%v is no longer comparable: incremental.go compares it with ==", typ)
		}
	}
}
