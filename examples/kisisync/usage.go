package main

import (
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
)

// errVersion asks for the version (--version or the version command).
var errVersion = errors.New("version requested")

// command describes one command for the help.
type command struct {
	name    string
	args    string // the synopsis after the name
	summary string // one line for the command list
	detail  string // paragraphs for kisisync help <command>
	flags   []string
}

// commands are the commands, in the order the help lists them.
var commands = []command{
	{name: "plan", args: "--snapshot FILE --mapping FILE [flags]",
		summary: "print the changes a sync would make (a dry run; writes nothing)",
		detail: `Plan prints the changes a sync would make, like a Terraform plan, and
writes nothing to Kisi. With --out FILE it also saves them as JSON, for
'kisisync apply FILE'. Against Kisi it first makes one request to check
the API key, so a wrong key exits 4 instead of planning in the dark.`,
		flags: []string{"snapshot", "mapping", "policy", "state", "org", "kisi-url", "at", "out", "json", "revoke-limit", "revoke-floor", "exclusive-groups", "fake"}},
	{name: "apply", args: "--snapshot FILE --mapping FILE --state FILE [flags] [PLANFILE]",
		summary: "make the changes in Kisi (or those of a saved plan)",
		detail: `Apply plans, prints the plan and makes the changes in Kisi, with
progress, then prints the report and the next run time. Given PLANFILE,
written by 'kisisync plan --out', it applies exactly that plan instead of
planning again, and refuses it (exit 2) when the state changed since.`,
		flags: []string{"snapshot", "mapping", "policy", "state", "org", "kisi-url", "at", "json", "approve-revocations", "revoke-limit", "revoke-floor", "exclusive-groups", "fake"}},
	{name: "verify", args: "--snapshot FILE --mapping FILE --state FILE [flags]",
		summary: "list Kisi's groups to find drift from what kisisync manages",
		detail: `Verify lists the mapped groups in Kisi and reports drift: grants deleted
or edited by hand, orphans of interrupted runs, unconfirmed users and
access not managed here.`,
		flags: []string{"snapshot", "mapping", "policy", "state", "org", "kisi-url", "at", "json", "exclusive-groups", "fake"}},
	{name: "check", args: "--mapping FILE [flags]",
		summary: "check the API key and the mapped groups in Kisi (reads only)",
		detail: `Check asks Kisi whether the API key works and may write, and whether
every group of the mapping exists, has doors and what restricts it. It
never writes. Exit 4 when Kisi refuses the key or cannot be reached, 1
when a finding is an error, else 0.`,
		flags: []string{"mapping", "policy", "state", "org", "kisi-url", "at", "json", "fake"}},
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
		flags: []string{"snapshot", "mapping", "policy", "member", "at", "json", "timeline", "svg"}},
	{name: "diagnose", args: "--snapshot FILE --mapping FILE --member ID [flags]",
		summary: "explain plus Kisi's side: user, roles, doors, unlock failures (reads only)",
		detail: `Diagnose is explain plus what only Kisi knows: the member's Kisi user,
roles, the groups' doors and restrictions and recent unlock failures.
It never writes to Kisi. --timeline and --svg FILE draw the member's
week as explain does, and name each group's time restrictions in Kisi
("Kisi time restriction: NAME (ZONE)"; Kisi does not document their
hours, so they are not drawn).`,
		flags: []string{"snapshot", "mapping", "policy", "state", "org", "kisi-url", "member", "at", "json", "timeline", "svg", "fake"}},
}

// flagDocs documents every flag: its argument and its meaning.
var flagDocs = map[string]struct{ arg, doc string }{
	"snapshot": {"FILE", "the platform's snapshot (JSON)"},
	"mapping":  {"FILE", "the mapping to Kisi groups (JSON)"},
	"policy":   {"FILE", "buffers, lead time, check-ins (JSON)"},
	"state": {"FILE", "the SQLite file where kisisync records what it created (required to apply or verify\n" +
		"against Kisi); a scheduler may use the same file at the same time"},
	"org":      {"NAME", `the organization key in the state file (default "default")`},
	"kisi-url": {"URL", "the Kisi API base URL (default KISI_URL, else https://api.kisi.io)"},
	"at": {"TIME", "act as of this RFC 3339 time (default now); apply and verify accept it only\n" +
		"with --fake"},
	"out":                 {"FILE", "also write the planned changes as JSON, for 'kisisync apply FILE'"},
	"member":              {"ID", "the member to explain or diagnose"},
	"timeline":            {"", "also draw the member's week in plain ASCII, 100 columns wide (not with --json)"},
	"svg":                 {"FILE", "write the member's week as an SVG picture to FILE"},
	"json":                {"", "machine-readable output"},
	"approve-revocations": {"", "apply the cuts of access the revoke guard would hold back"},
	"revoke-limit": {"SHARE", "the revoke guard: share of managed access one apply may cut when the cut\n" +
		"access vanished from the snapshot (default 0.25; all cuts: 0.5)"},
	"revoke-floor": {"N", "the revoke guard: cuts always allowed, whatever the share (default 3)"},
	"exclusive-groups": {"", "the mapped groups are the platform's: verify adopts every role in them and\n" +
		"apply replaces hand-made roles"},
	"fake": {"", "use an embedded fake Kisi seeded with the mapping's groups; with --state it\n" +
		"lasts between runs (plan, apply, verify)"},
}

// exitCodes is the exit-code table of the help; the README has the same.
const exitCodes = `Exit codes (every command):
  0    done: everything applied, or nothing to do
  1    something was not applied: changes failed or parked, snapshot records
       skipped (each reported with what to do), or a finding is an ERROR
  2    bad flags or input files: nothing was done
  3    the revoke guard held cuts of access back; the rest was applied
  4    Kisi unreachable or refusing the API key, or the state failing: stopped
  5    another run of the organization (a scheduler, an apply) holds the lease:
       nothing was done
  130  interrupted (Ctrl-C): what was done is recorded; the next run goes on
`

func commandByName(name string) *command {
	for i := range commands {
		if commands[i].name == name {
			return &commands[i]
		}
	}
	return nil
}

// synopsis is the usage line of the command name.
func synopsis(name string) string {
	c := commandByName(name)
	if c == nil {
		return "usage: kisisync <command> [flags]\n"
	}
	return fmt.Sprintf("usage: kisisync %s %s\n", c.name, c.args)
}

// usageOf is the help of the command name, or the global help for "".
func usageOf(name string) string {
	var b strings.Builder
	c := commandByName(name)
	if c == nil {
		b.WriteString("kisisync keeps Kisi door access in step with a platform's data.\n\n")
		b.WriteString(synopsis(""))
		b.WriteString("\nCommands:\n")
		for _, c := range commands {
			fmt.Fprintf(&b, "  %-9s %s\n", c.name, c.summary)
		}
		b.WriteString("  help      print this help, or a command's: kisisync help <command>\n")
		b.WriteString("  version   print the version (also --version)\n")
		b.WriteString("\nRun 'kisisync help <command>' or 'kisisync <command> --help' for its flags.\n")
		b.WriteString("The API key is read from the environment variable KISI_API_KEY.\n\n")
		b.WriteString(exitCodes)
		return b.String()
	}
	b.WriteString(synopsis(name))
	b.WriteString("\n" + c.detail + "\n\nFlags:\n")
	for _, f := range c.flags {
		d := flagDocs[f]
		left := "--" + f
		if d.arg != "" {
			left += " " + d.arg
		}
		doc := strings.ReplaceAll(d.doc, "\n", "\n"+strings.Repeat(" ", 26))
		fmt.Fprintf(&b, "  %-23s %s\n", left, doc)
	}
	if c.name != "explain" {
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
