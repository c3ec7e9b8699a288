package times_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/internal/times"
)

func TestLaterEarlier(t *testing.T) {
	t.Parallel()
	a := time.Date(2026, time.June, 10, 12, 0, 0, 0, time.UTC)
	b := a.Add(time.Minute)
	sameInstant := a.In(time.FixedZone("X", 7200))
	tests := []struct {
		name               string
		x, y               time.Time
		wantLater, wantEar time.Time
	}{
		{"ordered", a, b, b, a},
		{"reversed", b, a, b, a},
		{"equal instants give the second", a, sameInstant, sameInstant, sameInstant},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.wantLater, times.Later(tc.x, tc.y))
			require.Equal(t, tc.wantEar, times.Earlier(tc.x, tc.y))
		})
	}
}
