package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // time zones work on machines without a zone database

	"github.com/jonboulle/clockwork"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/access/sqlitestore"
	"github.com/kisisync/kisisync/kisi"
	"github.com/kisisync/kisisync/kisi/kisitest"
	"github.com/kisisync/kisisync/mapping"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole program; it returns the exit code.
func run(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) int {
	return runWith(ctx, args, env, stdout, stderr, clockwork.NewRealClock())
}

// options are the command-line flags.
type options struct {
	once                  bool
	verbose               bool
	org, state            string
	snapshot, mappingFile string
	floor, ceiling        time.Duration
	verifyEvery           time.Duration
	integration           string // NAME,CONTACT: Kisi's integration partner headers
}

func runWith(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer, clock clockwork.Clock) int {
	fs := flag.NewFlagSet("scheduler", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.BoolVar(&o.once, "once", false, "run one sync and one verify, then exit")
	fs.BoolVar(&o.verbose, "v", false, "log at debug level")
	fs.StringVar(&o.org, "org", "default", "organization key in the store")
	fs.StringVar(&o.state, "state", "", "SQLite file the records are kept in, shareable with kisisync apply (required with KISI_API_KEY)")
	fs.StringVar(&o.snapshot, "snapshot", "", "snapshot JSON file, re-read before every run (with KISI_API_KEY)")
	fs.StringVar(&o.mappingFile, "mapping", "", "mapping JSON file (with KISI_API_KEY)")
	fs.DurationVar(&o.floor, "floor", 30*time.Second, "shortest wait between runs")
	fs.DurationVar(&o.ceiling, "ceiling", 15*time.Minute, "longest wait between runs")
	fs.DurationVar(&o.verifyEvery, "verify-every", time.Hour, "how often to verify Kisi (0: never)")
	fs.StringVar(&o.integration, "integration", "", "NAME,CONTACT: send Kisi's integration partner headers with every request, e.g. acme-coworking,ops@acme.example (default KISI_INTEGRATION)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if o.floor <= 0 || o.ceiling < o.floor {
		fmt.Fprintf(stderr, "scheduler: need 0 < -floor <= -ceiling, got %v and %v\n", o.floor, o.ceiling)
		return 2
	}
	level := slog.LevelInfo
	if o.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stdout, &slog.HandlerOptions{Level: level}))

	var (
		api    access.KisiAPI
		store  access.Store
		loader SnapshotLoader
		m      mapping.Mapping
	)
	if key := env("KISI_API_KEY"); key != "" {
		if o.state == "" || o.snapshot == "" || o.mappingFile == "" {
			fmt.Fprintln(stderr, "scheduler: with KISI_API_KEY, -state, -snapshot and -mapping are required")
			return 2
		}
		var kopts []kisi.Option
		if u := env("KISI_URL"); u != "" {
			kopts = append(kopts, kisi.WithBaseURL(u))
		}
		if in := cmp.Or(o.integration, env("KISI_INTEGRATION")); in != "" {
			name, contact, ok := strings.Cut(in, ",")
			if !ok {
				fmt.Fprintf(stderr, "scheduler: -integration %q: want NAME,CONTACT such as acme-coworking,ops@acme.example\n", in)
				return 2
			}
			kopts = append(kopts, kisi.WithIntegration(strings.TrimSpace(name), strings.TrimSpace(contact)))
		}
		c, err := kisi.NewClient(key, kopts...)
		if err != nil {
			fmt.Fprintf(stderr, "scheduler: %v\n", err)
			return 2
		}
		if m, err = readMapping(o.mappingFile); err != nil {
			fmt.Fprintf(stderr, "scheduler: %v\n", err)
			return 2
		}
		api, loader = c, fileLoader(o.snapshot)
		log.Info("syncing a Kisi organization", "kisi", c.BaseURL(), "org", o.org)
	} else {
		srv, groups, err := startDemo(clock)
		if err != nil {
			fmt.Fprintf(stderr, "scheduler: %v\n", err)
			return 1
		}
		defer srv.Close()
		c, err := kisi.NewClient(srv.APIKey, kisi.WithBaseURL(srv.URL), kisi.WithRateLimit(1000, 100))
		if err != nil {
			fmt.Fprintf(stderr, "scheduler: %v\n", err)
			return 1
		}
		api, m = c, demoMapping(groups)
		loader = LoaderFunc(func(context.Context) (access.Snapshot, error) { return demoSnapshot(clock.Now()), nil })
		log.Info("syncing a demo space into an embedded fake Kisi (set KISI_API_KEY for a real organization)")
	}
	// The host's Store: here a SQLite file (which kisisync apply may use at
	// the same time), or memory for the demo. A platform passes a Store on
	// its own database (access/pgstore), keyed by organization.
	if o.state != "" {
		st, err := sqlitestore.Open(o.state)
		if err != nil {
			fmt.Fprintf(stderr, "scheduler: %v\n", err)
			return 1
		}
		defer st.Close()
		if err := st.Migrate(ctx); err != nil {
			fmt.Fprintf(stderr, "scheduler: %v\n", err)
			return 1
		}
		store = st
	} else {
		store = access.NewMemoryStore()
	}
	r, err := access.NewReconciler(api, store, m, access.DefaultPolicy(),
		access.WithClock(clock), access.WithOrganization(o.org), access.WithLogger(log))
	if err != nil {
		fmt.Fprintf(stderr, "scheduler: %v\n", err)
		return 2
	}
	s := NewScheduler(r, loader, clock, log)
	s.Floor, s.Ceiling, s.VerifyEvery = o.floor, o.ceiling, o.verifyEvery
	if o.once {
		next, err := s.Once(ctx, true)
		if err != nil {
			return 1
		}
		log.Info("next run due", "at", next)
		return 0
	}
	if err := s.Run(ctx); err != nil {
		log.Error("scheduler stopped", "err", err)
		return 1
	}
	return 0
}

// maxFileSize bounds the snapshot and mapping files read, so that a broken
// export cannot exhaust the machine's memory.
const maxFileSize = 256 << 20

// fileLoader reads the snapshot from a JSON file before every run, so an
// export job can rewrite it in between. Like kisisync's CLI it refuses a
// field it does not know (a misspelt "check_ins" would otherwise vanish
// silently, and with it everyone's check-in access).
func fileLoader(path string) SnapshotLoader {
	return LoaderFunc(func(context.Context) (access.Snapshot, error) {
		var s access.Snapshot
		return s, decodeFile(path, &s)
	})
}

func readMapping(path string) (mapping.Mapping, error) {
	var m mapping.Mapping
	if err := decodeFile(path, &m); err != nil {
		return m, err
	}
	return m, m.Validate(nil)
}

// decodeFile decodes the JSON file at path into v, refusing unknown fields,
// trailing data and files over maxFileSize.
func decodeFile(path string, v any) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > maxFileSize {
		return fmt.Errorf("%s: %d MiB is over the limit of %d MiB", path, fi.Size()>>20, maxFileSize>>20)
	}
	dec := json.NewDecoder(io.LimitReader(f, maxFileSize))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if dec.More() {
		return fmt.Errorf("%s: data after the JSON value", path)
	}
	return nil
}

// startDemo starts the embedded fake Kisi with two groups.
func startDemo(clock clockwork.Clock) (*kisitest.Server, [2]int64, error) {
	var groups [2]int64
	srv := kisitest.NewServer(kisitest.WithClock(clock), kisitest.WithoutRateLimit())
	for i, name := range []string{"Members", "Meeting room"} {
		id, err := srv.AddGroup(name, 0)
		if err != nil {
			srv.Close()
			return nil, groups, err
		}
		groups[i] = id
	}
	return srv, groups, nil
}

func demoMapping(groups [2]int64) mapping.Mapping {
	return mapping.Mapping{
		Plans:     map[string][]int64{"flex": {groups[0]}},
		Resources: map[string][]int64{"room": {groups[1]}},
	}
}

// demoSnapshot is a small space whose access keeps changing: two members
// on plans and a meeting-room booking at the start of every hour, 10 to 40
// minutes past, for the next hours.
func demoSnapshot(now time.Time) access.Snapshot {
	hour := now.Truncate(time.Hour)
	s := access.Snapshot{
		Locations: []access.Location{{ID: "hq", TimeZone: "Europe/Berlin"}},
		Resources: []access.Resource{{ID: "room", LocationID: "hq"}},
		Members: []access.Member{
			{ID: "m1", Email: "alice@example.com", Name: "Alice", Managed: true},
			{ID: "m2", Email: "bruno@example.com", Name: "Bruno", Managed: true},
		},
		Plans: []access.Plan{
			{ID: "p1", PlanID: "flex", MemberID: "m1", Start: hour.Add(-24 * time.Hour), Status: access.PlanActive},
			{ID: "p2", PlanID: "flex", MemberID: "m2", Start: hour.Add(-24 * time.Hour), Status: access.PlanActive},
		},
	}
	for h := range 4 {
		start := hour.Add(time.Duration(h)*time.Hour + 10*time.Minute)
		s.Bookings = append(s.Bookings, access.Booking{
			ID: fmt.Sprintf("bk-%s", start.UTC().Format("150405")), ResourceID: "room", MemberID: []string{"m1", "m2"}[h%2],
			Start: start, End: start.Add(30 * time.Minute),
		})
	}
	return s
}
