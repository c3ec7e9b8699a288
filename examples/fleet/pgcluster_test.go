package fleet_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/examples/fleet"
)

// pgCluster is a throw-away PostgreSQL cluster of one test, which the test
// may restart: the load test restarts it under load, which it cannot do to
// the server the other tests share.
type pgCluster struct {
	bin, data, log string
	port           int
	opts           string // the server's options
	asUser         string // run the server as this user ("" as the test's own)
}

// privateCluster starts a new PostgreSQL cluster on a free port of
// 127.0.0.1 from the binaries of the newest PostgreSQL under
// /usr/lib/postgresql, creates a database migrated for the fleet, and
// returns the cluster and the database's URL; it stops the cluster when
// the test ends. Without the binaries the test is skipped, or fails when
// CI=true. Run as root, the server runs as the user postgres (it refuses
// root).
func privateCluster(t *testing.T) (*pgCluster, string) {
	t.Helper()
	inits, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(inits) == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("no PostgreSQL binaries under /usr/lib/postgresql: CI must install PostgreSQL")
		}
		t.Skip("no PostgreSQL binaries under /usr/lib/postgresql to start a cluster of this test's own")
	}
	slices.SortFunc(inits, func(a, b string) int { return version(a) - version(b) })
	c := &pgCluster{bin: filepath.Dir(inits[len(inits)-1])}
	dir, err := os.MkdirTemp("", "fleet-pg-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		require.NoError(t, err, "run as root, the server needs the user postgres")
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		require.NoError(t, os.Chown(dir, uid, gid))
		c.asUser = "postgres"
	}
	c.data, c.log = filepath.Join(dir, "data"), filepath.Join(dir, "log")
	c.port = freePort(t)
	c.run(t, "initdb", "-D", c.data, "-U", "postgres", "--auth=trust", "-E", "UTF8")
	c.opts = fmt.Sprintf("-h 127.0.0.1 -p %d -k %s", c.port, dir)
	c.start(t)
	t.Cleanup(func() { c.runQuiet("pg_ctl", "-D", c.data, "-m", "immediate", "stop") })

	base := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
	conn, err := pgx.Connect(t.Context(), base)
	require.NoError(t, err)
	_, err = conn.Exec(t.Context(), "CREATE DATABASE fleet")
	require.NoError(t, err)
	require.NoError(t, conn.Close(t.Context()))
	dsn := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/fleet?sslmode=disable", c.port)
	require.NoError(t, fleet.Migrate(context.Background(), testPool(t, dsn)))
	return c, dsn
}

// restart stops the server (fast: every connection is closed, as in a
// restart for an upgrade or a failover) and starts it again, waiting until
// it accepts connections.
func (c *pgCluster) restart(t *testing.T) {
	t.Helper()
	c.run(t, "pg_ctl", "-D", c.data, "-m", "fast", "-w", "stop")
	c.start(t)
}

// start starts the server, its output to the log file (pg_ctl restart
// has no log file: the server would keep the test's pipe open).
func (c *pgCluster) start(t *testing.T) {
	t.Helper()
	c.run(t, "pg_ctl", "-D", c.data, "-l", c.log, "-w", "-o", c.opts, "start")
}

func (c *pgCluster) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	path := filepath.Join(c.bin, name)
	var cmd *exec.Cmd
	if c.asUser != "" {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", c.asUser, "--", path}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, path, args...)
	}
	cmd.WaitDelay = time.Second // a child holding the output open cannot hang the test
	return cmd
}

func (c *pgCluster) run(t *testing.T, name string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := c.command(ctx, name, args...).CombinedOutput()
	require.NoError(t, err, "%s: %s", name, out)
}

func (c *pgCluster) runQuiet(name string, args ...string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_ = c.command(ctx, name, args...).Run()
}

// version is the major version in a path /usr/lib/postgresql/15/bin/initdb.
func version(path string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(path))))
	return n
}

// freePort returns a TCP port of 127.0.0.1 nobody listened on a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitDatabase waits until the database of pool answers again, after a
// restart: pooled connections the restart closed fail once each.
func waitDatabase(t *testing.T, ctx context.Context, ping func(context.Context) error) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		if err := ping(ctx); err == nil {
			return time.Since(start)
		}
		require.Less(t, time.Since(start), 30*time.Second, "the database did not answer after its restart")
		time.Sleep(50 * time.Millisecond)
	}
}
