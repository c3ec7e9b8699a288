package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/kisi/kisitest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// TestQuickstart runs the whole story against the embedded fake on its
// fixed fake clock and compares the output with testdata/quickstart.golden.
func TestQuickstart(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), nil, envOf(nil), &stdout, &stderr)
	require.Equal(t, 0, code, "stderr: %s", stderr.String())
	require.Empty(t, stderr.String())

	golden := filepath.Join("testdata", "quickstart.golden")
	if *update {
		require.NoError(t, os.WriteFile(golden, stdout.Bytes(), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	if diff := cmp.Diff(string(want), stdout.String()); diff != "" {
		t.Errorf("output differs from %s (-want +got):\n%s\nrun go test ./examples/quickstart -update to accept", golden, diff)
	}
}

// TestRealKisi drives the KISI_API_KEY path against a fake standing in for
// real Kisi: without -apply nothing is written; with -apply the grants are.
func TestRealKisi(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("paced at Kisi's 5 requests per second: a few seconds")
	}
	tests := []struct {
		name      string
		args      []string
		wantPOSTs bool
		wantOut   string
	}{
		{name: "plan only", wantOut: "Nothing was written"},
		{name: "apply", args: []string{"-apply"}, wantPOSTs: true, wantOut: "What Kisi holds now"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := kisitest.NewServer(kisitest.WithoutRateLimit())
			t.Cleanup(srv.Close)
			var stdout, stderr bytes.Buffer
			env := envOf(map[string]string{"KISI_API_KEY": srv.APIKey, "KISI_URL": srv.URL})
			code := run(t.Context(), tc.args, env, &stdout, &stderr)
			require.Equal(t, 0, code, "stderr: %s", stderr.String())
			require.Contains(t, stdout.String(), tc.wantOut)
			require.NotContains(t, stdout.String()+stderr.String(), srv.APIKey, "the key is never printed")
			posts := srv.Count("POST", "/")
			if tc.wantPOSTs {
				require.Positive(t, srv.Count("POST", "/role_assignments"))
			} else {
				require.Zero(t, posts, "read-only mode wrote to Kisi")
				for _, r := range srv.Requests() {
					require.Equal(t, "GET", r.Method, "read-only mode sent %s %s", r.Method, r.Path)
				}
			}
			if strings.Contains(stdout.String(), "Skipped") {
				t.Errorf("records skipped:\n%s", stdout.String())
			}
		})
	}
}

func TestUsage(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	require.Equal(t, 2, run(t.Context(), []string{"-nope"}, envOf(nil), &stdout, &stderr))
	require.Contains(t, stderr.String(), "usage: quickstart")
}
