package main

import (
	"bytes"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/kisi/kisitest"
)

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestPlanningProgress (issue 30): while a plan waits on Kisi (it lists
// the roles of the groups that get new grants, seconds per thousand
// members at Kisi's pace), it says every 5 seconds how long it has run and
// the requests it sent; a plan that ends sooner prints no such line.
func TestPlanningProgress(t *testing.T) {
	t.Parallel()
	srv := kisitest.NewServer(kisitest.WithoutRateLimit())
	t.Cleanup(srv.Close)
	group, err := srv.AddGroup("Members", 0)
	require.NoError(t, err)
	blocked, release := make(chan struct{}), make(chan struct{})
	var once atomic.Bool
	srv.Intercept(func(r *http.Request) kisitest.Fault {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/role_assignments") {
			if once.CompareAndSwap(false, true) {
				close(blocked)
				<-release
			}
		}
		return kisitest.Fault{}
	})
	clock := clockwork.NewFakeClockAt(time.Date(2026, time.June, 10, 8, 0, 0, 0, time.UTC))
	var stdout, stderr syncBuffer
	a := app{env: kisiEnv(srv, srv.APIKey), stdout: &stdout, stderr: &stderr, clock: clock}
	args := []string{"plan", "--snapshot", td("small_snapshot.json"), "--mapping", mappingFor(t, group)}
	code := make(chan int, 1)
	go func() { code <- a.main(t.Context(), args) }()

	select {
	case <-blocked:
	case <-time.After(10 * time.Second):
		t.Fatal("the plan listed no roles")
	}
	clock.Advance(5 * time.Second)
	require.Eventually(t, func() bool { return strings.Contains(stdout.String(), "planning for 5 seconds so far; ") }, 5*time.Second, time.Millisecond)
	clock.Advance(5 * time.Second)
	require.Eventually(t, func() bool { return strings.Contains(stdout.String(), "planning for 10 seconds so far; ") }, 5*time.Second, time.Millisecond)
	close(release)
	require.Equal(t, exitOK, <-code, stdout.String()+stderr.String())
	out := stdout.String()
	require.Regexp(t, `planning for 5 seconds so far; [1-9]\d* requests? to Kisi\n`, out)
	require.Less(t, strings.Index(out, "planning for 10 seconds"), strings.Index(out, "plan for organization"), "progress before the plan")

	// A quick plan says nothing of the kind.
	_, quick, _ := invoke(t, noEnv, "plan", "--fake", "--at", at, "--snapshot", td("snapshot.json"), "--mapping", td("mapping.json"))
	require.NotContains(t, quick, "planning for")
}
