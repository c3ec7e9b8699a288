package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/kisisync/kisisync/kisi"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the program without its process: it returns the exit code.
// clientOpts are added to the client's options (tests lift the pace).
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer, clientOpts ...kisi.Option) int {
	fs := flag.NewFlagSet("kisiprobe", flag.ContinueOnError)
	fs.SetOutput(stderr)
	write := fs.Bool("write", false, "also run the checks that create (and then delete) a group, a user, roles and links; without it the probe only reads")
	yes := fs.Bool("yes", false, "with -write, do not ask to confirm the organization")
	baseURL := fs.String("base-url", kisi.DefaultBaseURL, "Kisi API base URL")
	name := fs.String("name", "", "prefix of every name and email the probe creates (default kisiprobe-<unix time>)")
	domain := fs.String("email-domain", "example.com", "email domain of the probe's user and links")
	linkQuota := fs.Int("link-quota", 0, "the organization's email-link quota (Kisi's is 1000); when set, the probe creates that many email links to see whether an expired link counts")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	key := strings.TrimSpace(getenv("KISI_API_KEY"))
	if key == "" {
		fmt.Fprintln(stderr, "kisiprobe: set KISI_API_KEY to an API key of a sandbox organization")
		return 2
	}
	c, err := kisi.NewClient(key, append([]kisi.Option{kisi.WithBaseURL(*baseURL), kisi.WithUserAgent("kisisync-kisiprobe")}, clientOpts...)...)
	if err != nil {
		fmt.Fprintln(stderr, "kisiprobe:", err)
		return 2
	}
	if *name == "" {
		*name = fmt.Sprintf("kisiprobe-%d", time.Now().Unix())
	}
	p := &probe{c: c, now: time.Now, name: *name, domain: *domain, linkQuota: *linkQuota, log: stderr}

	// Read only first: whose organization this is, and what reading tells.
	org, err := p.Organization(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "kisiprobe:", err)
		return 1
	}
	fmt.Fprintln(stdout, org)
	findings, err := p.ReadOnly(ctx)
	if err != nil {
		printFindings(stdout, findings)
		fmt.Fprintln(stderr, "kisiprobe:", err)
		return 1
	}
	if !*write {
		printFindings(stdout, findings)
		fmt.Fprintln(stderr, "kisiprobe: read only; run with -write against a sandbox organization for the checks that create and delete objects")
		return 0
	}
	if !*yes && !confirm(stdin, stderr, org) {
		printFindings(stdout, findings)
		fmt.Fprintln(stderr, "kisiprobe: not confirmed; nothing was written")
		return 2
	}
	written, err := probeAndClean(ctx, p)
	printFindings(stdout, append(findings, written...))
	if err != nil {
		fmt.Fprintln(stderr, "kisiprobe:", err)
		return 1
	}
	return 0
}

// confirm asks on stderr for the organization's domain to be typed on
// stdin and reports whether it was.
func confirm(stdin io.Reader, stderr io.Writer, org orgInfo) bool {
	fmt.Fprintf(stderr, "kisiprobe: -write creates and then deletes a group, a user, roles and links in %s.\nType the organization's domain (%s) to go on: ", org.name, org.domain)
	line, _ := bufio.NewReader(stdin).ReadString('\n')
	return strings.TrimSpace(line) == org.domain && org.domain != ""
}

// probeAndClean runs the probe and then deletes what it created, with a
// fresh context so that cleanup also happens after a failure or interrupt.
func probeAndClean(ctx context.Context, p *probe) (findings []Finding, err error) {
	defer func() {
		// Cleanup has a context of its own, so that it also runs after an
		// interrupt, bounded by a time that grows with what was created.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout(p.creates))
		defer cancel()
		p.logf("deleting what the probe created")
		if cerr := p.Cleanup(cctx); cerr != nil {
			err = errors.Join(err, fmt.Errorf("cleanup (delete by hand what is named %q): %w", p.name, cerr))
		}
	}()
	return p.Run(ctx)
}

func printFindings(w io.Writer, findings []Finding) {
	if len(findings) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "UNKNOWN\tMATCHING FAKE SETTING (kisitest)\tEVIDENCE")
	for _, f := range findings {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", f.Unknown, f.Setting, f.Evidence)
	}
	_ = tw.Flush()
}
