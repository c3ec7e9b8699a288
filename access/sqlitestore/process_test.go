package sqlitestore_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/kisisync/kisisync/access/state"
)

// childEnv names the state file a child process of TestTwoProcesses
// writes to.
const childEnv = "SQLITESTORE_TEST_CHILD_STATE"

const processWrites = 200

// TestTwoProcesses runs a second process of this test binary on one state
// file while this process writes to it: both write their own
// organization at once and neither loses a record; the child cannot take
// the organization this process holds, and its write with a made-up token
// is fenced.
func TestTwoProcesses(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state.db")
	st := open(t, path)
	ctx := t.Context()
	now := time.Now()
	token, err := st.Lease(ctx, "parent", "parent-run", now, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, exe, "-test.run=^TestChildProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+path)
	done := make(chan error, 1)
	var out []byte
	go func() {
		var err error
		out, err = cmd.CombinedOutput()
		done <- err
	}()
	for i := range processWrites {
		if err := st.Put(ctx, "parent", token, state.Record{Key: fmt.Sprintf("user/p%03d", i), Kind: state.KindUser}); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("child process: %v\n%s", err, out)
	}
	for _, org := range []string{"parent", "child"} {
		recs, err := st.Load(ctx, org)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != processWrites {
			t.Errorf("%s has %d records after both processes wrote, want %d", org, len(recs), processWrites)
		}
	}
}

// TestChildProcess is the second process of TestTwoProcesses; it does
// nothing unless started by it.
func TestChildProcess(t *testing.T) {
	path := os.Getenv(childEnv)
	if path == "" {
		t.Skip("runs only as the child process of TestTwoProcesses")
	}
	st := open(t, path)
	ctx := t.Context()
	now := time.Now()
	if _, err := st.Lease(ctx, "parent", "child-run", now, now.Add(time.Hour)); !errors.Is(err, state.ErrLeaseHeld) {
		t.Fatalf("child took the parent's organization: %v", err)
	}
	if err := st.Put(ctx, "parent", 99, state.Record{Key: "user/intruder", Kind: state.KindUser}); !errors.Is(err, state.ErrLeaseLost) {
		t.Fatalf("write with a token not of the current term: %v, want ErrLeaseLost", err)
	}
	token, err := st.Lease(ctx, "child", "child-run", now, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for i := range processWrites {
		if err := st.Put(ctx, "child", token, state.Record{Key: fmt.Sprintf("user/c%03d", i), Kind: state.KindUser}); err != nil {
			t.Fatal(err)
		}
	}
}
