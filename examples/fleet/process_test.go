package fleet_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/kisi/kisitest"
)

// TestWorkerProcess runs the worker binary as a host would: -migrate, then
// a worker serving HTTP; an event is queued and run, the metrics show it,
// and SIGTERM stops it cleanly.
func TestWorkerProcess(t *testing.T) {
	dsn := testDatabase(t)
	dir := t.TempDir()
	bin := buildWorker(t, dir, "")
	out, err := exec.Command(bin, "-database", dsn, "-migrate").CombinedOutput()
	require.NoError(t, err, "worker -migrate: %s", out)

	srv := kisitest.NewServer()
	t.Cleanup(srv.Close)
	cfg := filepath.Join(dir, "fleet.json")
	require.NoError(t, os.WriteFile(cfg, []byte(`{"floor": "100ms", "ceiling": "1h", "events_secret_env": "FLEET_TEST_EVENTS", "organizations": [
		{"id": "org-a", "kisi_user": "u1", "api_key_env": "FLEET_TEST_KEY", "base_url": "`+srv.URL+`"}]}`), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "org-a.json"), []byte(`{}`), 0o600))

	cmd := exec.Command(bin, "-config", cfg, "-database", dsn, "-snapshots", dir, "-listen", "127.0.0.1:0", "-id", "w1")
	cmd.Env = append(os.Environ(), "FLEET_TEST_KEY="+srv.APIKey, "FLEET_TEST_EVENTS="+testEventsSecret)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	// The log says where it listens, then each run.
	lines := make(chan map[string]any, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				lines <- m
			}
		}
		close(lines)
	}()
	next := func(msg string) map[string]any {
		t.Helper()
		timeout := time.After(20 * time.Second)
		for {
			select {
			case m, ok := <-lines:
				require.True(t, ok, "worker exited before logging %q", msg)
				if m["msg"] == msg {
					return m
				}
			case <-timeout:
				t.Fatalf("no %q in the worker's log", msg)
			}
		}
	}
	addr := next("http listening")["addr"].(string)
	first := next("run finished")
	require.Equal(t, "org-a", first["organization"])
	require.Equal(t, "ok", first["result"])

	event := `{"organization": "org-a", "type": "plan.created"}`
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/events", strings.NewReader(event))
	require.NoError(t, err)
	req.Header.Set("X-Signature", signWith(testEventsSecret, event))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	next("run finished") // woken, not an hour later

	resp, err = http.Get("http://" + addr + "/metrics")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Contains(t, string(body), `kisisync_fleet_runs_total{result="ok"} 2`)

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	next("stopping")
	for range lines {
	}
	require.NoError(t, cmd.Wait(), "worker did not stop cleanly on SIGTERM")
}
