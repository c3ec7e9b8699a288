package access

import (
	"testing"
	"time"
)

// TestRenewAtShortNight: the renewal span of a rolling window can begin
// seconds before the night hours end, leaving a night of under a minute;
// renewAt picks its start rather than dividing by zero.
func TestRenewAtShortNight(t *testing.T) {
	t.Parallel()
	const validity = 14 * 24 * time.Hour
	// The span [end − validity/2, end − validity/4) starts at 04:59:30 UTC.
	end := time.Date(2026, 6, 20, 4, 59, 30, 0, time.UTC).Add(validity / 2)
	h := holding{now: end.Add(-validity), validity: validity, loc: time.UTC}
	for _, key := range []string{"role/1/a@example.com", "role/2/b@example.com", "role/3/c@example.com"} {
		at := h.renewAt(key, 0, end)
		if at.Before(end.Add(-validity/2)) || !at.Before(end.Add(-validity/4)) {
			t.Errorf("%s renewed at %v, outside the span", key, at)
		}
	}
}
