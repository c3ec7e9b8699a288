package access_test

import (
	"strings"
	"testing"

	"github.com/kisisync/kisisync/access"
)

// TestChangesStringNoChanges (issue 30): a plan with nothing to do never
// says that Kisi matches — a plan does not read Kisi — and with parked or
// skipped items it says that access is held back, not that all is well.
func TestChangesStringNoChanges(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		c    access.Changes
		want string
	}{
		{name: "nothing", c: access.Changes{}, want: "no changes: the Store holds the desired access (Verify compares it with Kisi)"},
		{name: "parked", c: access.Changes{Parked: []access.Parked{{Object: access.ObjectGrant, Email: "a@example.com", GroupID: 9,
			Class: access.FailureMissing, Reason: "group 9 was deleted in Kisi"}}}, want: "no changes to make now; some access is held back (below)"},
		{name: "skipped", c: access.Changes{Skipped: []*access.RecordError{{Kind: access.KindMember, ID: "m1", Err: access.ErrInvalidEmail}}},
			want: "no changes to make now; some access is held back (below)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := tc.c.String()
			if !strings.Contains(got, tc.want) || strings.Contains(got, "Kisi matches") {
				t.Errorf("String() =\n%s\nwant it to contain %q and not \"Kisi matches\"", got, tc.want)
			}
		})
	}
}
