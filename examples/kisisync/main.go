package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // time zones work on machines without a zone database

	"github.com/jonboulle/clockwork"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/state"
	"github.com/kisisync/kisisync/mapping"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes, the same for every command (see exitCodes for their help).
const (
	exitOK        = 0
	exitFailed    = 1   // something was not applied: changes failed or parked, records skipped, an error found
	exitUsage     = 2   // bad flags or bad input files: nothing was done
	exitHeld      = 3   // the revoke guard held cuts of access back; the rest was applied
	exitSystem    = 4   // Kisi unreachable or refusing the key, or the state failing: the run stopped at once
	exitLease     = 5   // another run of the organization holds the lease: nothing was done
	exitInterrupt = 130 // interrupted (Ctrl-C, SIGTERM): what was done is recorded in the state
)

// config is the parsed command line.
type config struct {
	command                               string
	snapshot, mapping, policy, state, org string
	kisiURL, member                       string
	out, planFile                         string // plan -out FILE; apply PLANFILE
	svg                                   string // explain, diagnose --svg FILE
	timeline                              bool   // explain, diagnose --timeline
	at                                    time.Time
	json, approve, fake, exclusive        bool
	revokeLimit                           *float64 // nil: the reconciler's default
	revokeFloor                           *int     // nil: the reconciler's default
}

// run is the whole program; main only wires it to the process. It returns
// the exit code.
func run(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) int {
	return app{env: env, stdout: stdout, stderr: stderr, clock: clockwork.NewRealClock(), term: isTerminal(stdout), fakePace: fakeRate}.main(ctx, args)
}

// app is one invocation.
type app struct {
	env            func(string) string
	stdout, stderr io.Writer
	clock          clockwork.Clock
	term           bool    // stdout is a terminal: redraw progress in place
	fakePace       float64 // requests per second of the fake's client; 0 for fakeRate
}

func (a app) main(ctx context.Context, args []string) int {
	cfg, err := parseArgs(args, a.stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(a.stdout, usageOf(cfg.command))
		return exitOK
	case errors.Is(err, errVersion):
		fmt.Fprintf(a.stdout, "kisisync %s\n", version(debug.ReadBuildInfo))
		return exitOK
	case err != nil && cfg.command == "":
		fmt.Fprintf(a.stderr, "kisisync: %v\n\n%s", err, usageOf(""))
		return exitUsage
	case err != nil:
		fmt.Fprintf(a.stderr, "kisisync %s: %v\n%sRun 'kisisync help %s' for details.\n", cfg.command, err, synopsis(cfg.command), cfg.command)
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
	case "check":
		code, err = a.check(ctx, cfg)
	}
	var ie *inputError
	var busy *leaseBusy
	switch {
	case ctx.Err() != nil:
		fmt.Fprintf(a.stderr, "kisisync %s: interrupted; what was done is recorded in the state, and the next run carries on\n", cfg.command)
		return exitInterrupt
	case errors.As(err, &ie):
		fmt.Fprintf(a.stderr, "%v\nnothing was done\n", err)
		return exitUsage
	case errors.As(err, &busy):
		fmt.Fprintf(a.stderr, "kisisync %s: %v\n", cfg.command, busy)
		return exitLease
	case errors.Is(err, state.ErrLeaseHeld):
		fmt.Fprintf(a.stderr, "kisisync %s: another run of organization %q is in progress; nothing was done: run again after it\n", cfg.command, cfg.org)
		return exitLease
	case err != nil:
		fmt.Fprintf(a.stderr, "kisisync %s: %s\n", cfg.command, operatorMessage(err))
		if code == exitOK {
			code = exitFailed
		}
	}
	return code
}

// operatorMessage is err's text without the package prefixes the layers
// add on the way ("access: kisi: GET …"): an operator reads what happened,
// not where in the code.
func operatorMessage(err error) string {
	return packagePrefixes.Replace(err.Error())
}

var packagePrefixes = strings.NewReplacer("access: ", "", "kisi: ", "", "sqlitestore: ", "", "troubleshoot: ", "")

func parseArgs(args []string, stderr io.Writer) (config, error) {
	var cfg config
	if len(args) == 0 {
		return cfg, errors.New("no command")
	}
	switch args[0] {
	case "-h", "-help", "--help":
		return cfg, flag.ErrHelp
	case "-version", "--version", "version":
		return cfg, errVersion
	case "help":
		switch {
		case len(args) == 1:
			return cfg, flag.ErrHelp
		case len(args) > 2:
			return cfg, errors.New("help takes one command")
		case commandByName(args[1]) == nil:
			return cfg, fmt.Errorf("unknown help topic %q; run 'kisisync help' for the commands", args[1])
		}
		cfg.command = args[1]
		return cfg, flag.ErrHelp
	}
	if commandByName(args[0]) == nil {
		return cfg, fmt.Errorf("unknown command %q", args[0])
	}
	cfg.command = args[0]
	fs := flag.NewFlagSet("kisisync "+cfg.command, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&cfg.snapshot, "snapshot", "", "")
	fs.StringVar(&cfg.mapping, "mapping", "", "")
	fs.StringVar(&cfg.policy, "policy", "", "")
	fs.StringVar(&cfg.state, "state", "", "")
	fs.StringVar(&cfg.org, "org", "default", "")
	fs.StringVar(&cfg.kisiURL, "kisi-url", "", "")
	fs.StringVar(&cfg.member, "member", "", "")
	fs.StringVar(&cfg.out, "out", "", "")
	fs.StringVar(&cfg.svg, "svg", "", "")
	fs.BoolVar(&cfg.timeline, "timeline", false, "")
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
	rest := fs.Args()
	if cfg.command == "apply" && len(rest) > 0 {
		cfg.planFile, rest = rest[0], rest[1:]
	}
	if len(rest) > 0 {
		return cfg, fmt.Errorf("unexpected argument %q (flags go before it)", rest[0])
	}
	switch {
	case cfg.command == "check" && cfg.mapping == "":
		return cfg, errors.New("--mapping is required")
	case cfg.command == "check" && cfg.snapshot != "":
		return cfg, errors.New("--snapshot is not for check: it checks Kisi against the mapping only")
	case cfg.command != "check" && (cfg.snapshot == "" || cfg.mapping == ""):
		return cfg, errors.New("--snapshot and --mapping are required")
	case cfg.out != "" && cfg.command != "plan":
		return cfg, fmt.Errorf("--out is for plan, not %s", cfg.command)
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
	case cfg.command != "explain" && cfg.command != "diagnose" && (cfg.timeline || cfg.svg != ""):
		return cfg, fmt.Errorf("--timeline and --svg are for explain and diagnose, not %s", cfg.command)
	case cfg.timeline && cfg.json:
		return cfg, errors.New("--timeline draws text and cannot be mixed with --json; --svg FILE writes the picture alongside --json")
	case (cfg.command == "apply" || cfg.command == "verify") && !cfg.at.IsZero() && !cfg.fake:
		return cfg, fmt.Errorf("--at is for plan, explain and diagnose; %s against Kisi always runs now", cfg.command)
	case cfg.fake && cfg.state != "" && cfg.command != "plan" && cfg.command != "apply" && cfg.command != "verify":
		return cfg, fmt.Errorf("--state with --fake is for plan, apply and verify, not %s", cfg.command)
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

// inputs are the three files, read and checked.
type inputs struct {
	s access.Snapshot
	m mapping.Mapping
	p access.Policy
	// problems are the snapshot's records the library rejects or merges:
	// reported, while the valid records are used.
	problems []recordProblem
}

// load reads and checks the three files, all of them before anything else
// happens, and reports every problem of form found. The error matches
// *inputError.
func load(cfg config) (inputs, error) {
	s, probs, serr := loadSnapshot(cfg.snapshot)
	m, merr := loadMapping(cfg.mapping)
	p, perr := loadPolicy(cfg.policy)
	return inputs{s: s, m: m, p: p, problems: probs}, errors.Join(serr, merr, perr)
}

// reportProblems prints the rejected and merged records on stderr, one line
// each with its remedy, at most maxInputErrors, and reports whether a record
// was not synced.
func (a app) reportProblems(probs []recordProblem) (skipped bool) {
	for i, p := range probs {
		if i == maxInputErrors {
			fmt.Fprintf(a.stderr, "… and %d more records (all of them in --json)\n", len(probs)-i)
			break
		}
		fmt.Fprintln(a.stderr, p)
	}
	for _, p := range probs {
		if !p.warning {
			return true
		}
	}
	return false
}
