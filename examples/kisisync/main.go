package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
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
	integration                           string    // --integration NAME,CONTACT as given
	out, planFile                         string    // plan -out FILE; apply PLANFILE
	svg, html                             string    // explain, diagnose --svg FILE, --html FILE
	timeline                              bool      // explain, diagnose --timeline
	atText                                string    // --at as given
	at                                    time.Time // --at read; zero for now
	json, approve, fake, exclusive        bool
	inviteLater                           bool     // --invite later: stage the people Kisi would invite
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
	cfg, err := parseArgs(args, a.stdout)
	var ue *usageError
	switch {
	case errors.Is(err, errDone):
		return exitOK // help, version or completion printed
	case errors.As(err, &ue) && cfg.command == "":
		fmt.Fprintf(a.stderr, "kisisync: %v\n\n%s", err, globalHelp())
		return exitUsage
	case err != nil:
		fmt.Fprintf(a.stderr, "kisisync %s: %v\nRun 'kisisync %s --help' for its flags.\n", cfg.command, err, cfg.command)
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
	case "groups":
		code, err = a.groups(ctx, cfg)
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
