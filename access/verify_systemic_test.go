package access_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/kisi/kisitest"
)

// TestVerifyStopsAtSystemicFailure (issue 30): a key refused (401) stops
// Verify at the first group, as it stops Sync, instead of failing group
// after group; a 403 on one group's roles concerns that group only and
// Verify goes on.
func TestVerifyStopsAtSystemicFailure(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		status   int
		systemic bool
	}{
		{name: "key refused", status: http.StatusUnauthorized, systemic: true},
		{name: "one group forbidden", status: http.StatusForbidden},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newRig(t, rigConfig{})
			e.srv.Intercept(func(r *http.Request) kisitest.Fault {
				if r.Method == http.MethodGet && r.URL.Path == "/role_assignments" {
					return kisitest.Fault{Status: tc.status}
				}
				return kisitest.Fault{}
			})
			e.srv.ResetRequests()
			d, err := e.r.Verify(t.Context())
			require.Error(t, err)
			require.NotNil(t, d)
			roleLists := 0
			for _, r := range e.srv.Requests() {
				if r.Method == http.MethodGet && r.Path == "/role_assignments" {
					roleLists++
				}
			}
			if tc.systemic {
				require.ErrorIs(t, err, kisi.ErrUnauthorized)
				require.Equal(t, 1, roleLists, "stopped at the first group")
			} else {
				require.Equal(t, d.Groups, roleLists, "every group listed")
			}
		})
	}
}
