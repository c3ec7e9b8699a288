package main

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/kisisync/kisisync/schedule"
)

// errDone reports that the command line asked for help, the version or a
// completion script, which was printed: there is nothing to run.
var errDone = errors.New("printed")

// command describes one command for the help.
type command struct {
	name    string
	args    string // the synopsis after the name
	summary string // one line for the command list
	detail  string // paragraphs for kisisync help <command>
	flags   []string
	// operands is the most positional arguments it takes (apply: PLANFILE).
	operands int
}

// commands are the commands, in the order the help lists them.
var commands = []command{
	{name: "plan", args: "--snapshot FILE --mapping FILE [flags]",
		summary: "print the changes a sync would make (a dry run; writes nothing)",
		detail: `Plan prints the changes a sync would make, like a Terraform plan, and
writes nothing to Kisi. With --out FILE it also saves them as JSON, for
'kisisync apply FILE'. Against Kisi it first makes one request to check
the API key, so a wrong key exits 4 instead of planning in the dark.`,
		flags: []string{"snapshot", "mapping", "policy", "state", "org", "kisi-url", "integration", "at", "out", "json", "revoke-limit", "revoke-floor", "exclusive-groups", "invite", "fake"}},
	{name: "apply", args: "--snapshot FILE --mapping FILE --state FILE [flags] [PLANFILE]", operands: 1,
		summary: "make the changes in Kisi (or those of a saved plan)",
		detail: `Apply plans, prints the plan and makes the changes in Kisi, with
progress, then prints the report and the next run time. Given PLANFILE,
written by 'kisisync plan --out', it applies exactly that plan instead of
planning again, and refuses it (exit 2) when the state changed since.`,
		flags: []string{"snapshot", "mapping", "policy", "state", "org", "kisi-url", "integration", "at", "json", "approve-revocations", "revoke-limit", "revoke-floor", "exclusive-groups", "invite", "fake"}},
	{name: "verify", args: "--snapshot FILE --mapping FILE --state FILE [flags]",
		summary: "list Kisi's groups to find drift from what kisisync manages",
		detail: `Verify lists the mapped groups in Kisi and reports drift: grants deleted
or edited by hand, orphans of interrupted runs, unconfirmed users and
access not managed here.`,
		flags: []string{"snapshot", "mapping", "policy", "state", "org", "kisi-url", "integration", "at", "json", "exclusive-groups", "fake"}},
	{name: "check", args: "--mapping FILE [flags]",
		summary: "check the API key and the mapped groups in Kisi (reads only)",
		detail: `Check asks Kisi whether the API key works and may write, and whether
every group of the mapping exists, has doors and what restricts it. It
never writes. Exit 4 when Kisi refuses the key or cannot be reached, 1
when a finding is an error, else 0.`,
		flags: []string{"mapping", "policy", "state", "org", "kisi-url", "integration", "at", "json", "fake"}},
	{name: "groups", args: "[--mapping FILE] [flags]",
		summary: "list the organization's Kisi groups with their doors and mapping entries (reads only)",
		detail: `Groups lists the organization's Kisi groups: id, name, place, doors,
and, given --mapping, the mapping entries that grant each. The doors of
the mapped groups are named (one request per group); mapped groups Kisi
does not have are listed after the table, and make it exit 1. With
--fake it lists the fake's groups, one per group of the mapping.`,
		flags: []string{"mapping", "kisi-url", "integration", "json", "fake"}},
	{name: "explain", args: "--snapshot FILE --mapping FILE --member ID [flags]",
		summary: "say why a member has or lacks access (needs no Kisi)",
		detail: `Explain says why a member has or lacks access at --at, source by
source. It reads only the files, never Kisi.

--timeline also draws the member's week from midnight of --at's day, per
group in the group's time zone: one row per day and lane (the merged
access, then each source that gives access that day), the day's hours
across, one column per half-hour, in plain ASCII:

  # access   > lead time (Kisi holds the role, doors shut)
  = source   + buffer    v now

--svg FILE writes the same picture as an SVG file, with or without
--timeline (the explanation prints as usual, or as JSON with --json).
Kisi's own time restrictions of the groups are shown by
'kisisync diagnose --timeline', which reads Kisi.`,
		flags: []string{"snapshot", "mapping", "policy", "member", "at", "json", "timeline", "svg", "html"}},
	{name: "diagnose", args: "--snapshot FILE --mapping FILE --member ID [flags]",
		summary: "explain plus Kisi's side: user, roles, doors, unlock failures (reads only)",
		detail: `Diagnose is explain plus what only Kisi knows: the member's Kisi user,
roles, the groups' doors and restrictions and recent unlock failures.
It never writes to Kisi. --timeline and --svg FILE draw the member's
week as explain does, name each group's time restrictions in Kisi
("Kisi time restriction: NAME (DAYS HOURS)", in the place's time
zone, as Kisi reads them) and draw their hours ("Kisi hours: NAME").`,
		flags: []string{"snapshot", "mapping", "policy", "state", "org", "kisi-url", "integration", "member", "at", "json", "timeline", "svg", "html", "fake"}},
}

// flagDocs documents every flag: its argument (empty for a switch) and its
// meaning.
var flagDocs = map[string]struct{ arg, doc string }{
	"snapshot": {"FILE", "the platform's snapshot, a JSON FILE"},
	"mapping":  {"FILE", "the mapping to Kisi groups, a JSON FILE"},
	"policy":   {"FILE", "buffers, lead time and check-ins, a JSON FILE"},
	"state": {"FILE", "the SQLite FILE where kisisync records what it created (required to apply or " +
		"verify against Kisi); a scheduler may use the same file at the same time"},
	"org":      {"NAME", "the organization NAME in the state file"},
	"kisi-url": {"URL", "the Kisi API base URL (default KISI_URL, else https://api.kisi.io)"},
	"integration": {"NAME,CONTACT", "send Kisi's integration partner headers with every request to Kisi: " +
		"NAME,CONTACT names the integration and an email or URL Kisi can reach about it, such as " +
		"acme-coworking,ops@acme.example (default KISI_INTEGRATION; not sent to the fake)"},
	"at": {"TIME", "act as of this TIME (default now): RFC 3339 (2026-06-10T08:00:00+02:00) or a wall " +
		"time and a zone (\"2026-06-10 08:00 Europe/Berlin\"); apply and verify take it only with --fake"},
	"out":                 {"FILE", "also write the planned changes as JSON to FILE, for 'kisisync apply FILE'"},
	"member":              {"ID", "the member to explain or diagnose: the member's ID or email"},
	"timeline":            {"", "also draw the member's week in plain ASCII, 100 columns wide (not with --json)"},
	"svg":                 {"FILE", "write the member's week as an SVG picture to FILE"},
	"html":                {"FILE", "write the member's week as a self-contained HTML page to FILE: the picture and a table of the exact times"},
	"json":                {"", "machine-readable output"},
	"approve-revocations": {"", "apply the cuts of access the revoke guard would hold back"},
	"revoke-limit": {"SHARE", "the revoke guard: the SHARE of managed access one apply may cut when the " +
		"cut access vanished from the snapshot (default 0.25; all cuts: 0.5)"},
	"revoke-floor": {"N", "the revoke guard: N cuts always allowed, whatever the share (default 3)"},
	"exclusive-groups": {"", "the mapped groups are the platform's: verify adopts every role in them and " +
		"apply replaces hand-made roles"},
	"invite": {"WHEN", "new Kisi users get Kisi's invitation email WHEN: now (default, with their first " +
		"grant) or later: stage them — no Kisi user, access or email yet, each named on stderr; an apply " +
		"without --invite later grants their access and invites them (managed users get no email either way)"},
	"fake": {"", "use an embedded fake Kisi seeded with the mapping's groups; with --state it " +
		"lasts between runs (plan, apply, verify)"},
}

// exitCodes is the exit-code table of the help; the README has the same.
const exitCodes = `Exit codes (every command):
  0    done: everything applied, or nothing to do
  1    something was not applied: changes failed or parked, snapshot records
       skipped (each reported with what to do), a mapped group missing from
       Kisi, or a finding is an ERROR
  2    bad flags or input files: nothing was done
  3    the revoke guard held cuts of access back; the rest was applied
  4    Kisi unreachable or refusing the API key, or the state failing: stopped
  5    another run of the organization (a scheduler, an apply) holds the lease:
       nothing was done
  130  interrupted (Ctrl-C): what was done is recorded; the next run goes on
`

// helpWidth is the width the help wraps flag descriptions to when it is
// not written to a terminal (a file, a pipe, a test).
const helpWidth = 100

// termWidth is the width of the terminal w writes to, between 60 and 120
// columns, or helpWidth when w is no terminal.
func termWidth(w io.Writer) int {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return helpWidth
	}
	cols, _, err := term.GetSize(int(f.Fd()))
	if err != nil {
		return helpWidth
	}
	return min(max(cols, 60), 120)
}

func commandByName(name string) *command {
	for i := range commands {
		if commands[i].name == name {
			return &commands[i]
		}
	}
	return nil
}

// parseArgs parses the command line with cobra: flags anywhere on the line,
// help generated from the flags, suggestions for a mistyped command, shell
// completion. Help, the version and completion scripts go to out, and the
// error is errDone. Any other error is a usage error; cfg.command names the
// command when one was found.
func parseArgs(args []string, out io.Writer) (config, error) {
	var cfg config
	ran := false
	root := &cobra.Command{
		Use:           "kisisync",
		Short:         "kisisync keeps Kisi door access in step with a platform's data.",
		Version:       version(debug.ReadBuildInfo),
		SilenceErrors: true,
		SilenceUsage:  true,
		// Without a command: the help goes to stderr with exit 2.
		RunE: func(*cobra.Command, []string) error { return &usageError{"no command"} },
	}
	root.SetVersionTemplate("kisisync {{.Version}}\n")
	root.SetOut(out)
	root.SetErr(io.Discard)
	width := termWidth(out)
	root.SetHelpFunc(func(c *cobra.Command, _ []string) { fmt.Fprint(c.OutOrStdout(), helpOf(c, width)) })
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return flagError(c, err) })
	root.CompletionOptions.HiddenDefaultCmd = false
	for _, spec := range commands {
		c := &cobra.Command{
			Use:   spec.name + " " + spec.args,
			Short: spec.summary,
			Long:  spec.detail,
			Args:  cobra.MaximumNArgs(spec.operands),
			RunE: func(c *cobra.Command, rest []string) error {
				ran = true
				cfg.command = spec.name
				if len(rest) > 0 {
					cfg.planFile = rest[0]
				}
				return validate(&cfg, c.Flags())
			},
		}
		defineFlags(c.Flags(), spec.flags, &cfg)
		c.InitDefaultHelpFlag() // so that 'help CMD' lists it as 'CMD --help' does
		for _, f := range spec.flags {
			if flagDocs[f].arg == "FILE" {
				_ = c.MarkFlagFilename(f, "json", "db", "svg", "html")
			}
		}
		root.AddCommand(c)
	}
	root.AddCommand(&cobra.Command{
		Use:   "version",
		Short: "print the version (also --version)",
		Args:  cobra.NoArgs,
		Run:   func(c *cobra.Command, _ []string) { fmt.Fprintf(c.OutOrStdout(), "kisisync %s\n", root.Version) },
	})
	root.SetHelpCommand(&cobra.Command{
		Use:   "help [command]",
		Short: "print this help, or a command's",
		Args:  cobra.MaximumNArgs(1),
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			var names []string
			for _, c := range commands {
				names = append(names, c.name)
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return root.Help()
			}
			target, _, err := root.Find(args)
			if err != nil || target == root {
				return &usageError{fmt.Sprintf("unknown help topic %q; run 'kisisync help' for the commands", args[0])}
			}
			return target.Help()
		},
	})
	if args == nil {
		args = []string{} // nil would make cobra read os.Args
	}
	root.SetArgs(args)
	cmd, err := root.ExecuteC()
	if cmd != nil && cmd != root && commandByName(cmd.Name()) != nil {
		cfg.command = cmd.Name()
	}
	switch {
	case err != nil:
		return cfg, usageErrorOf(err)
	case !ran:
		return cfg, errDone
	}
	return cfg, nil
}

// usageErrorOf returns err as a *usageError, its text without cobra's
// trailing newlines and with its suggestions on one line.
func usageErrorOf(err error) error {
	var ue *usageError
	if errors.As(err, &ue) {
		return ue
	}
	msg, suggestions, ok := strings.Cut(strings.TrimSpace(err.Error()), "\n\nDid you mean this?\n\t")
	if ok {
		msg += "; did you mean " + strings.ReplaceAll(suggestions, "\n\t", " or ") + "?"
	}
	return &usageError{msg}
}

// flagError says, for a flag the command does not take, which commands
// take it.
func flagError(c *cobra.Command, err error) error {
	msg := err.Error()
	name, ok := strings.CutPrefix(msg, "unknown flag: --")
	if !ok {
		return err
	}
	var takers []string
	for _, spec := range commands {
		if slices.Contains(spec.flags, name) {
			takers = append(takers, spec.name)
		}
	}
	if len(takers) == 0 {
		return err
	}
	return &usageError{fmt.Sprintf("--%s is for %s, not %s", name, strings.Join(takers, ", "), c.Name())}
}

// defineFlags defines the named flags on fs, bound to cfg.
func defineFlags(fs *pflag.FlagSet, names []string, cfg *config) {
	for _, name := range names {
		d := flagDocs[name]
		// pflag names a flag's argument by the word of its usage in
		// backquotes.
		usage := strings.Replace(d.doc, d.arg, "`"+d.arg+"`", 1)
		switch name {
		case "snapshot":
			fs.StringVar(&cfg.snapshot, name, "", usage)
		case "mapping":
			fs.StringVar(&cfg.mapping, name, "", usage)
		case "policy":
			fs.StringVar(&cfg.policy, name, "", usage)
		case "state":
			fs.StringVar(&cfg.state, name, "", usage)
		case "org":
			fs.StringVar(&cfg.org, name, "default", usage)
		case "kisi-url":
			fs.StringVar(&cfg.kisiURL, name, "", usage)
		case "integration":
			fs.StringVar(&cfg.integration, name, "", usage)
		case "member":
			fs.StringVar(&cfg.member, name, "", usage)
		case "out":
			fs.StringVar(&cfg.out, name, "", usage)
		case "svg":
			fs.StringVar(&cfg.svg, name, "", usage)
		case "html":
			fs.StringVar(&cfg.html, name, "", usage)
		case "at":
			fs.StringVar(&cfg.atText, name, "", usage)
		case "timeline":
			fs.BoolVar(&cfg.timeline, name, false, usage)
		case "json":
			fs.BoolVar(&cfg.json, name, false, usage)
		case "approve-revocations":
			fs.BoolVar(&cfg.approve, name, false, usage)
		case "fake":
			fs.BoolVar(&cfg.fake, name, false, usage)
		case "exclusive-groups":
			fs.BoolVar(&cfg.exclusive, name, false, usage)
		case "revoke-limit":
			fs.Var(funcValue(func(v string) error {
				f, err := strconv.ParseFloat(v, 64)
				if err != nil || f < 0 || f > 1 {
					return fmt.Errorf("want a share between 0 and 1 such as 0.25, got %q", v)
				}
				cfg.revokeLimit = &f
				return nil
			}), name, usage)
		case "invite":
			fs.Var(funcValue(func(v string) error {
				switch v {
				case "now", "later":
					cfg.inviteLater = v == "later"
					return nil
				}
				return fmt.Errorf("want now or later, got %q", v)
			}), name, usage)
		case "revoke-floor":
			fs.Var(funcValue(func(v string) error {
				n, err := strconv.Atoi(v)
				if err != nil || n < 0 {
					return fmt.Errorf("want a count of revocations such as 3, got %q", v)
				}
				cfg.revokeFloor = &n
				return nil
			}), name, usage)
		default:
			panic("kisisync: flag without a definition: " + name) // a mistake in the commands table
		}
	}
}

// funcValue is a flag whose value a function checks and stores.
type funcValue func(string) error

func (f funcValue) Set(s string) error { return f(s) }
func (f funcValue) String() string     { return "" }
func (f funcValue) Type() string       { return "value" }

// helpOf is the help of c: the global help for the root.
func helpOf(c *cobra.Command, width int) string {
	var b strings.Builder
	if !c.HasParent() {
		b.WriteString(c.Short + "\n\nUsage:\n  kisisync <command> [flags]\n\nCommands:\n")
		// The commands in the table's order, then cobra's and ours.
		subs := c.Commands()
		slices.SortStableFunc(subs, func(x, y *cobra.Command) int { return order(x.Name()) - order(y.Name()) })
		for _, sub := range subs {
			if sub.IsAvailableCommand() || sub.Name() == "help" {
				fmt.Fprintf(&b, "  %-11s %s\n", sub.Name(), sub.Short)
			}
		}
		b.WriteString("\nRun 'kisisync <command> --help' (or 'kisisync help <command>') for its flags.\n")
		b.WriteString("The API key is read from the environment variable KISI_API_KEY.\n\n")
		b.WriteString(exitCodes)
		return b.String()
	}
	spec := commandByName(c.Name())
	if spec == nil { // completion and its shells: cobra's own help
		fmt.Fprintf(&b, "%s\n\nUsage:\n  %s\n", strings.TrimSpace(cmp.Or(c.Long, c.Short)), c.UseLine())
		if c.HasAvailableLocalFlags() {
			b.WriteString("\nFlags:\n" + c.LocalFlags().FlagUsagesWrapped(width))
		}
		return b.String()
	}
	fmt.Fprintf(&b, "Usage:\n  kisisync %s %s\n\n%s\n\nFlags:\n", spec.name, spec.args, spec.detail)
	b.WriteString(c.LocalFlags().FlagUsagesWrapped(width))
	if spec.name != "explain" {
		b.WriteString("\nThe API key is read from the environment variable KISI_API_KEY.\n")
	}
	b.WriteString("\n" + exitCodes)
	return b.String()
}

// version is the module version the binary was built from, or "(devel)"
// when there is none (go run, go build in a checkout).
func version(read func() (*debug.BuildInfo, bool)) string {
	bi, ok := read()
	if !ok || bi.Main.Version == "" {
		return "(devel)"
	}
	return bi.Main.Version
}

// validate checks the flags of cfg.command together, once parsed, and
// reads --at.
func validate(cfg *config, fs *pflag.FlagSet) error {
	cmd := cfg.command
	switch {
	case cmd == "check" && cfg.mapping == "":
		return &usageError{"--mapping is required"}
	case cmd == "groups" && cfg.fake && cfg.mapping == "":
		return &usageError{"groups --fake needs --mapping: the fake holds the mapping's groups"}
	case cmd == "groups":
	case cmd != "check" && (cfg.snapshot == "" || cfg.mapping == ""):
		return &usageError{"--snapshot and --mapping are required"}
	case (cmd == "explain" || cmd == "diagnose") && cfg.member == "":
		return &usageError{cmd + " needs --member"}
	case cfg.timeline && cfg.json:
		return &usageError{"--timeline draws text and cannot be mixed with --json; --svg FILE writes the picture alongside --json"}
	case (cmd == "apply" || cmd == "verify") && cfg.atText != "" && !cfg.fake:
		return &usageError{"--at is for plan, explain and diagnose; " + cmd + " against Kisi always runs now"}
	case cfg.fake && cfg.state != "" && cmd != "plan" && cmd != "apply" && cmd != "verify":
		return &usageError{"--state with --fake is for plan, apply and verify, not " + cmd}
	case cfg.fake && fs.Changed("kisi-url"):
		return &usageError{"--kisi-url cannot be used with --fake"}
	}
	if cfg.atText != "" {
		t, err := parseAt(cfg.atText)
		if err != nil {
			return err
		}
		cfg.at = t
	}
	return nil
}

// parseAt reads --at: an RFC 3339 time, or a wall time and an IANA zone
// ("2026-06-10 08:00 Europe/Berlin", seconds optional). A wall time the
// zone skips (a spring-forward night) means the instant the clocks jump,
// one it repeats (a fall-back night) its first occurrence, as everywhere
// in kisisync.
func parseAt(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		// In the offset given, whatever the machine's zone (time.Parse
		// takes the machine's zone when its offset is the same): check
		// writes its time in it.
		if _, offset := t.Zone(); offset != 0 {
			return t.In(time.FixedZone("", offset)), nil
		}
		return t.UTC(), nil
	}
	bad := &usageError{fmt.Sprintf("--at: cannot read %q: want RFC 3339 (2026-06-10T08:00:00+02:00) or a wall time and a zone (\"2026-06-10 08:00 Europe/Berlin\")", s)}
	fields := strings.Fields(s)
	if len(fields) != 3 {
		return time.Time{}, bad
	}
	var wall time.Time
	var err error
	for _, layout := range []string{"2006-01-02 15:04", "2006-01-02 15:04:05"} {
		if wall, err = time.Parse(layout, fields[0]+" "+fields[1]); err == nil {
			break
		}
	}
	if err != nil {
		return time.Time{}, bad
	}
	loc, err := loadZone(fields[2])
	if err != nil {
		return time.Time{}, &usageError{fmt.Sprintf("--at: %q is not an IANA time zone such as Europe/Berlin", fields[2])}
	}
	t := schedule.WallTime(loc, wall.Year(), wall.Month(), wall.Day(), wall.Hour(), wall.Minute())
	return t.Add(time.Duration(wall.Second()) * time.Second), nil
}

// loadZone loads an IANA zone; "Local" (the machine's) and "" are refused.
func loadZone(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return nil, fmt.Errorf("no zone %q", name)
	}
	return time.LoadLocation(name)
}

// order ranks a command for the global help: the table's commands in its
// order, the others after them.
func order(name string) int {
	for i, c := range commands {
		if c.name == name {
			return i
		}
	}
	return len(commands)
}

// globalHelp is the help of kisisync without a command.
func globalHelp() string {
	var b strings.Builder
	_, _ = parseArgs([]string{"--help"}, &b)
	return b.String()
}
