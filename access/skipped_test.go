package access_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
)

// TestSkippedTyped checks that the records a run skips stay typed errors
// in Changes and Report, also after a round trip of the Changes through
// JSON, and print as before.
func TestSkippedTyped(t *testing.T) {
	t.Parallel()
	e := newRig(t, rigConfig{})
	s := baseSnapshot()
	s.Members = append(s.Members, access.Member{ID: "eve", Email: "not an email"})
	s.Bookings = []access.Booking{
		bookingOf("bk1", "alice", "room1", "14:00", "15:00"),
		bookingOf("bk2", "alice", "room1", "15:00", "14:00"),
		bookingOf("bk3", "eve", "room1", "14:00", "15:00"),
		bookingOf("bk4", "nobody", "room1", "14:00", "15:00"),
	}
	c, err := e.r.Plan(t.Context(), s)
	require.NoError(t, err)
	data, err := json.Marshal(c)
	require.NoError(t, err)
	var back access.Changes
	require.NoError(t, json.Unmarshal(data, &back))

	type row struct {
		Text string
		Is   string
		On   string
	}
	describe := func(skipped []*access.RecordError) []row {
		var out []row
		for _, re := range skipped {
			r := row{Text: re.Error()}
			for name, target := range map[string]error{"invalid window": access.ErrInvalidWindow, "invalid email": access.ErrInvalidEmail,
				"unknown member": access.ErrUnknownMember, "depends on rejected": access.ErrDependsOnRejected} {
				if errors.Is(re, target) {
					r.Is = name
				}
			}
			var de *access.DependencyError
			if errors.As(re, &de) {
				r.On = de.On.String()
			}
			out = append(out, r)
		}
		return out
	}
	want := []row{
		{Text: `booking "bk2": end not after start: 2026-06-10T15:00:00+02:00–2026-06-10T14:00:00+02:00`, Is: "invalid window"},
		{Text: `booking "bk3": depends on rejected member "eve"`, Is: "depends on rejected", On: `member "eve"`},
		{Text: `booking "bk4": unknown member "nobody"`, Is: "unknown member"},
		{Text: `member "eve": email "not an email": invalid email`, Is: "invalid email"},
	}
	if diff := cmp.Diff(want, describe(c.Skipped)); diff != "" {
		t.Errorf("Changes.Skipped (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, describe(back.Skipped)); diff != "" {
		t.Errorf("Changes.Skipped after JSON (-want +got):\n%s", diff)
	}
	require.Contains(t, c.String(), "! skipped "+want[1].Text+"\n")

	rep := e.sync(s)
	if diff := cmp.Diff(want, describe(rep.Skipped)); diff != "" {
		t.Errorf("Report.Skipped (-want +got):\n%s", diff)
	}
}
