package main

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/kisi/kisitest"
)

// TestIntegrationFlag (issue 31): --integration NAME,CONTACT (or
// KISI_INTEGRATION) sends Kisi's integration partner headers with every
// request of every command that reads or writes Kisi; without it neither
// header goes out; a malformed value exits 2.
func TestIntegrationFlag(t *testing.T) {
	t.Parallel()
	srv := kisitest.NewServer(kisitest.WithoutRateLimit())
	t.Cleanup(srv.Close)
	group, err := srv.AddGroup("Members", 0)
	require.NoError(t, err)
	var mu sync.Mutex
	var seen []string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get(kisi.IntegrationIdentifierHeader)+" / "+r.Header.Get(kisi.IntegrationContactHeader))
		mu.Unlock()
		srv.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	base := proxy.URL + u.Path
	env := func(extra map[string]string) func(string) string {
		return func(k string) string {
			switch k {
			case "KISI_API_KEY":
				return srv.APIKey
			case "KISI_URL":
				return base
			}
			return extra[k]
		}
	}
	dir := t.TempDir()
	files := []string{"--snapshot", td("small_snapshot.json"), "--mapping", mappingFor(t, group)}
	state := []string{"--state", dir + "/state.db"}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{name: "plan", args: append([]string{"plan", "--integration", "acme-coworking,ops@acme.example"}, files...), want: "acme-coworking / ops@acme.example"},
		{name: "apply", args: append(append([]string{"apply", "--integration", "acme-coworking,ops@acme.example"}, files...), state...), want: "acme-coworking / ops@acme.example"},
		{name: "verify from the environment", args: append(append([]string{"verify"}, files...), state...),
			env: map[string]string{"KISI_INTEGRATION": "acme-coworking,https://acme.example/kisi"}, want: "acme-coworking / https://acme.example/kisi"},
		{name: "check", args: []string{"check", "--integration", "acme,ops@acme.example", "--mapping", mappingFor(t, group)}, want: "acme / ops@acme.example"},
		{name: "groups", args: []string{"groups", "--integration", "acme,ops@acme.example"}, want: "acme / ops@acme.example"},
		{name: "without", args: append([]string{"plan"}, files...), want: " / "},
	}
	for _, tc := range tests { // in order: apply before verify, one proxy log
		mu.Lock()
		seen = nil
		mu.Unlock()
		code, stdout, stderr := invoke(t, env(tc.env), tc.args...)
		require.NotEqual(t, exitUsage, code, "%s: %s%s", tc.name, stdout, stderr)
		mu.Lock()
		require.NotEmpty(t, seen, tc.name)
		for _, h := range seen {
			require.Equal(t, tc.want, h, tc.name)
		}
		mu.Unlock()
	}

	for _, bad := range []string{"acme", "acme,", ",ops@acme.example"} {
		code, _, stderr := invoke(t, env(nil), append([]string{"plan", "--integration", bad}, files...)...)
		require.Equal(t, exitUsage, code, bad)
		require.Contains(t, stderr, "--integration")
	}
}
