package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
	_ "time/tzdata" // time zones work on machines without a zone database

	"github.com/jonboulle/clockwork"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/mapping"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1 // a run failed, or some changes did
	exitUsage  = 2 // bad flags or bad input files: nothing was done
	exitHeld   = 3 // the revoke guard held cuts of access back; the rest was applied
	exitSystem = 4 // the run stopped at once: Kisi unreachable, the key refused, the state failing
)

const usage = `usage: kisisync <command> [flags]

Commands:
  plan      print the changes a sync would make (a dry run; writes nothing)
  apply     make the changes in Kisi
  verify    list Kisi's groups to find drift from what kisisync manages
  explain   say why a member has or lacks access (--member; needs no Kisi)
  diagnose  explain plus Kisi's side: user, roles, doors, unlock failures (--member; reads only)

Flags:
  --snapshot FILE         the platform's snapshot (JSON, required)
  --mapping FILE          the mapping to Kisi groups (JSON, required)
  --policy FILE           buffers, lead time, check-ins (JSON)
  --state FILE            the SQLite file where kisisync records what it created (required to apply or verify
                          against Kisi); a scheduler may use the same file at the same time
  --org NAME              the organization key in the state file (default "default")
  --kisi-url URL          the Kisi API base URL (default KISI_URL, else https://api.kisi.io)
  --at TIME               plan, explain or diagnose as of this RFC 3339 time (default now)
  --member ID             the member to explain or diagnose
  --json                  machine-readable output
  --approve-revocations   apply the cuts of access the revoke guard would hold back
  --revoke-limit SHARE    the revoke guard: share of managed access one apply may cut when the cut
                          access vanished from the snapshot (default 0.25; all cuts: 0.5)
  --revoke-floor N        the revoke guard: cuts always allowed, whatever the share (default 3)
  --exclusive-groups      the mapped groups are the platform's: verify adopts every role in them and
                          apply replaces hand-made roles (for plan, verify and apply)
  --fake                  use an embedded fake Kisi seeded with the mapping's groups

The API key is read from the environment variable KISI_API_KEY.
`

// config is the parsed command line.
type config struct {
	command                               string
	snapshot, mapping, policy, state, org string
	kisiURL, member                       string
	at                                    time.Time
	json, approve, fake, exclusive        bool
	revokeLimit                           *float64 // nil: the reconciler's default
	revokeFloor                           *int     // nil: the reconciler's default
}

// run is the whole program; main only wires it to the process. It returns
// the exit code.
func run(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) int {
	return app{env: env, stdout: stdout, stderr: stderr, clock: clockwork.NewRealClock(), term: isTerminal(stdout)}.main(ctx, args)
}

// app is one invocation.
type app struct {
	env            func(string) string
	stdout, stderr io.Writer
	clock          clockwork.Clock
	term           bool // stdout is a terminal: redraw progress in place
}

func (a app) main(ctx context.Context, args []string) int {
	cfg, err := parseArgs(args, a.stderr)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(a.stdout, usage)
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(a.stderr, "kisisync: %v\n\n%s", err, usage)
		return exitUsage
	}
	var code int
	switch cfg.command {
	case "plan", "apply", "verify":
		code, err = a.reconcile(ctx, cfg)
	case "explain":
		code, err = a.explain(cfg)
	case "diagnose":
		code, err = a.diagnose(ctx, cfg)
	}
	if err != nil {
		var ie *inputError
		if errors.As(err, &ie) {
			fmt.Fprintf(a.stderr, "%v\nnothing was done\n", err)
			return exitUsage
		}
		fmt.Fprintf(a.stderr, "kisisync %s: %v\n", cfg.command, err)
		if code == exitOK {
			code = exitFailed
		}
	}
	return code
}

func parseArgs(args []string, stderr io.Writer) (config, error) {
	var cfg config
	if len(args) == 0 {
		return cfg, errors.New("no command")
	}
	cfg.command = args[0]
	switch cfg.command {
	case "-h", "-help", "--help", "help":
		return cfg, flag.ErrHelp
	case "plan", "apply", "verify", "explain", "diagnose":
	default:
		return cfg, fmt.Errorf("unknown command %q", cfg.command)
	}
	fs := flag.NewFlagSet("kisisync "+cfg.command, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&cfg.snapshot, "snapshot", "", "")
	fs.StringVar(&cfg.mapping, "mapping", "", "")
	fs.StringVar(&cfg.policy, "policy", "", "")
	fs.StringVar(&cfg.state, "state", "", "")
	fs.StringVar(&cfg.org, "org", "default", "")
	fs.StringVar(&cfg.kisiURL, "kisi-url", "", "")
	fs.StringVar(&cfg.member, "member", "", "")
	at := fs.String("at", "", "")
	fs.BoolVar(&cfg.json, "json", false, "")
	fs.BoolVar(&cfg.approve, "approve-revocations", false, "")
	fs.BoolVar(&cfg.fake, "fake", false, "")
	fs.BoolVar(&cfg.exclusive, "exclusive-groups", false, "")
	fs.Func("revoke-limit", "", func(v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || f > 1 {
			return fmt.Errorf("want a share between 0 and 1 such as 0.25, got %q", v)
		}
		cfg.revokeLimit = &f
		return nil
	})
	fs.Func("revoke-floor", "", func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("want a count of revocations such as 3, got %q", v)
		}
		cfg.revokeFloor = &n
		return nil
	})
	if err := fs.Parse(args[1:]); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if cfg.snapshot == "" || cfg.mapping == "" {
		return cfg, errors.New("--snapshot and --mapping are required")
	}
	if *at != "" {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			return cfg, fmt.Errorf("--at: cannot parse %q as RFC 3339 (e.g. 2026-06-10T14:00:00+02:00)", *at)
		}
		cfg.at = t
	}
	switch {
	case (cfg.command == "explain" || cfg.command == "diagnose") && cfg.member == "":
		return cfg, fmt.Errorf("%s needs --member", cfg.command)
	case cfg.command != "explain" && cfg.command != "diagnose" && cfg.member != "":
		return cfg, fmt.Errorf("--member is for explain and diagnose, not %s", cfg.command)
	case (cfg.command == "apply" || cfg.command == "verify") && !cfg.at.IsZero() && !cfg.fake:
		return cfg, fmt.Errorf("--at is for plan, explain and diagnose; %s against Kisi always runs now", cfg.command)
	case cfg.fake && cfg.state != "":
		return cfg, errors.New("--state cannot be used with --fake: the fake Kisi starts empty on every run")
	case cfg.fake && cfg.kisiURL != "":
		return cfg, errors.New("--kisi-url cannot be used with --fake")
	case cfg.approve && cfg.command != "apply":
		return cfg, fmt.Errorf("--approve-revocations is for apply, not %s", cfg.command)
	case (cfg.revokeLimit != nil || cfg.revokeFloor != nil) && cfg.command != "apply" && cfg.command != "plan":
		return cfg, fmt.Errorf("--revoke-limit and --revoke-floor are for plan and apply, not %s", cfg.command)
	case cfg.exclusive && cfg.command != "apply" && cfg.command != "plan" && cfg.command != "verify":
		return cfg, fmt.Errorf("--exclusive-groups is for plan, verify and apply, not %s", cfg.command)
	}
	return cfg, nil
}

// load reads and checks the three files, all of them before anything else
// happens, and reports every problem found. The error matches *inputError.
func load(cfg config) (access.Snapshot, mapping.Mapping, access.Policy, error) {
	s, serr := loadSnapshot(cfg.snapshot)
	m, merr := loadMapping(cfg.mapping)
	p, perr := loadPolicy(cfg.policy)
	return s, m, p, errors.Join(serr, merr, perr)
}
