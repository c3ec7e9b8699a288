package fleet_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/examples/fleet"
	"github.com/kisisync/kisisync/kisi"
)

func TestFailureClass(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"revoke guard", &access.RevokeLimitError{Organization: "o"}, "held"},
		{"lease held", &access.LeaseHeldError{Organization: "o"}, "busy"},
		{"401", &kisi.Error{StatusCode: 401}, "systemic"},
		{"403", &kisi.Error{StatusCode: 403}, "systemic"},
		{"404", fmt.Errorf("access: create: %w", &kisi.Error{StatusCode: 404}), "missing"},
		{"422", &kisi.Error{StatusCode: 422}, "refused"},
		{"429", &kisi.Error{StatusCode: 429}, "rate_limited"},
		{"503", &kisi.Error{StatusCode: 503}, "server"},
		{"lost create", fmt.Errorf("%w: %w", kisi.ErrMaybeApplied, &kisi.Error{StatusCode: 500}), "unknown_outcome"},
		{"timeout", fmt.Errorf("run: %w", context.DeadlineExceeded), "timeout"},
		{"network", &net.OpError{Op: "dial", Err: errors.New("connection refused")}, "network"},
		{"other", errors.New("snapshot unreadable"), "other"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, fleet.FailureClass(tc.err))
		})
	}
}
