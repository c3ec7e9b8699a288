package main

import (
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
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the program without its process: it returns the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("kisiprobe", flag.ContinueOnError)
	fs.SetOutput(stderr)
	write := fs.Bool("write", false, "allow the probe to create (and then delete) a group, a user, roles and links; required")
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
	if !*write {
		fmt.Fprintln(stderr, "kisiprobe: the probe writes to the organization (and deletes what it wrote); run it against a sandbox with -write")
		return 2
	}
	c, err := kisi.NewClient(key, kisi.WithBaseURL(*baseURL), kisi.WithUserAgent("kisisync-kisiprobe"))
	if err != nil {
		fmt.Fprintln(stderr, "kisiprobe:", err)
		return 2
	}
	if *name == "" {
		*name = fmt.Sprintf("kisiprobe-%d", time.Now().Unix())
	}
	p := &probe{c: c, now: time.Now, name: *name, domain: *domain, linkQuota: *linkQuota, log: stderr}
	findings, err := probeAndClean(ctx, p)
	printFindings(stdout, findings)
	if err != nil {
		fmt.Fprintln(stderr, "kisiprobe:", err)
		return 1
	}
	return 0
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
