package fleet

import (
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/state"
)

func TestObserveFailures(t *testing.T) {
	tests := []struct {
		name   string
		report *access.Report
		err    error
		want   map[string]float64
	}{
		{"classes of the report", &access.Report{Failures: []access.Failure{
			{Class: access.FailureUnknown}, {Class: access.FailureTransient}, {Class: access.FailureUnknown},
		}}, errors.New("joined"), map[string]float64{"unknown": 2, "transient": 1}},
		{"systemic stop", &access.Report{Failures: []access.Failure{{Class: access.FailureSystemic}}},
			&access.SystemicError{Err: errors.New("401")}, map[string]float64{"systemic": 1}},
		{"no plan", nil, errors.New("snapshot unreadable"), map[string]float64{"run": 1}},
		{"busy", nil, &state.LeaseHeldError{Organization: "o"}, map[string]float64{}},
		{"held", nil, &access.RevokeLimitError{Organization: "o"}, map[string]float64{}},
		{"clean", &access.Report{}, nil, map[string]float64{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMetrics()
			m.observeFailures(tc.report, tc.err)
			got := map[string]float64{}
			for _, class := range []string{"systemic", "missing", "quota", "refused", "unknown", "transient", "run"} {
				if v := testutil.ToFloat64(m.Failures.WithLabelValues(class)); v > 0 {
					got[class] = v
				}
			}
			require.Equal(t, tc.want, got)
		})
	}
}
