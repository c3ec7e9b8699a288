package opsim

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	flagSeed    = flag.Int64("seed", 0, "replay the history of this seed only (TestOperations)")
	flagRuns    = flag.Int("opsim.histories", 0, "histories TestOperations runs (default: 8, or with CI=true as many as start within -opsim.budget)")
	flagBudget  = flag.Duration("opsim.budget", 90*time.Second, "wall time TestOperations spends on new histories with CI=true")
	flagDays    = flag.Int("opsim.days", 3, "simulated days per history")
	flagFirst   = flag.Int64("opsim.first", 0, "seed of the first history (default: a new one each run, printed)")
	flagStrict  = flag.Bool("opsim.strict", false, "fail on known defects too (see Known)")
	flagAll     = flag.Bool("opsim.all", false, "run every history even after a violation, and count them")
	flagSave    = flag.Bool("opsim.save", false, "shrink each failing history and save it under testdata/found/")
	flagVerbose = flag.Bool("opsim.v", false, "log each history's outcome (with -seed: every line of its trace)")
	flagReplay  = flag.String("opsim.replay", "", "replay this saved case (a file under testdata/) with its trace (TestReplayCase)")
	flagRegress = flag.Bool("opsim.regress", false, "find, shrink and save under testdata/regress a history of each known defect")
	flagIssue   = flag.Int("opsim.issue", 0, "with -opsim.regress: only the known defects of this issue")
	flagSoak    = flag.Bool("opsim.soak", false, "the soak: histories from -opsim.first (default 1) until 10,000 organization-days, each to its end (implies -opsim.all), with counts every 50 histories")
)

// soakDays is how many organization-days -opsim.soak simulates.
const soakDays = 10_000

// TestOperations runs generated histories and fails on the first
// violation of an invariant that is not a known defect; it logs how often
// each known defect showed. Locally it runs a fixed series (seeds 1 to 8);
// with CI=true, a new series each run for -opsim.budget (the first seed is
// printed). -seed N replays one history exactly.
func TestOperations(t *testing.T) {
	cfg := Config{Days: *flagDays}
	opts := Options{Known: Known}
	if *flagStrict {
		opts.Known = nil
	}
	if *flagSeed != 0 {
		if *flagVerbose {
			opts.Trace = func(line string) { t.Log(line) }
		}
		res, err := Run(context.Background(), Generate(*flagSeed, cfg), opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range res.Known {
			t.Logf("known defect (issue %d): %v", knownDefect(Known, k).Issue, k)
		}
		if res.Violation != nil {
			t.Fatal(res.Violation)
		}
		return
	}
	first, histories, budget := *flagFirst, *flagRuns, time.Duration(0)
	explore := os.Getenv("CI") == "true" && !*flagSoak
	all := *flagAll || *flagSoak
	switch {
	case *flagSoak:
		histories = (soakDays + cfg.Days - 1) / cfg.Days
	case histories > 0:
	case explore:
		budget = *flagBudget
	default:
		histories = 8
	}
	if first == 0 {
		first = 1
		if explore {
			first = time.Now().UnixNano()%1_000_000_000 + 1
		}
	}
	t.Logf("first seed %d (replay one with -seed N)", first)
	start := time.Now()
	var progress func(o outcome, done int)
	if *flagSoak {
		// Counted as the histories end, so that a soak stopped early still
		// tells what it found.
		broken, known := map[int]int{}, map[string]int{}
		progress = func(o outcome, done int) {
			if v := o.res.Violation; v != nil {
				broken[v.Invariant]++
			}
			for _, k := range o.res.Known {
				d := knownDefect(Known, k)
				known[fmt.Sprintf("issue %d inv %d", d.Issue, d.Invariant)]++
			}
			if done%50 == 0 {
				t.Logf("%d histories, %d organization-days done in %s; violations by invariant %v; known defects %v",
					done, done*cfg.Days, time.Since(start).Round(time.Second), broken, known)
			}
		}
	}
	outcomes := runSeries(first, histories, budget, cfg, opts, !all, progress)
	var (
		days    int
		failed  = map[int][]int64{} // invariant → seeds
		defects = make([]int, len(Known))
		exposed struct {
			longest   time.Duration
			seed      int64
			histories int
		}
	)
	for _, o := range outcomes {
		days += cfg.Days
		if o.res.LongestExposure > 0 {
			exposed.histories++
		}
		if o.res.LongestExposure > exposed.longest {
			exposed.longest, exposed.seed = o.res.LongestExposure, o.seed
		}
		for _, k := range o.res.Known {
			defects[slices.IndexFunc(Known, func(d Defect) bool { return d.matches(k) })]++
		}
		v := o.res.Violation
		if *flagVerbose {
			t.Logf("seed %d: %d runs, %d known defects, violation: %v", o.seed, o.res.Runs, len(o.res.Known), v)
		}
		if o.err != nil {
			t.Fatalf("seed %d: %v", o.seed, o.err)
		}
		if v == nil {
			continue
		}
		failed[v.Invariant] = append(failed[v.Invariant], o.seed)
		if *flagSave {
			saveShrunk(t, o.h, v)
		}
		if !all {
			t.Fatal(v)
		}
	}
	t.Logf("%d histories, %d organization-days from seed %d in %s", len(outcomes), days, first, time.Since(start).Round(time.Second))
	if exposed.longest > 0 {
		t.Logf("longest a member was exposed by a failed create after a replacement's delete: %s (seed %d); %d histories exposed one",
			exposed.longest, exposed.seed, exposed.histories)
	}
	for i, n := range defects {
		if n > 0 {
			t.Logf("known defect of invariant %d (issue %d) in %d histories: %s", Known[i].Invariant, Known[i].Issue, n, Known[i].Summary)
		}
	}
	for inv, seeds := range failed {
		t.Errorf("invariant %d broken in %d histories, seeds %v", inv, len(seeds), seeds)
	}
}

// outcome is what one generated history led to.
type outcome struct {
	seed int64
	h    History
	res  Result
	err  error
}

// runSeries runs the histories of seeds first, first+1, … on every CPU:
// n of them, or as many as start within budget. With stopEarly it starts
// no more after the first violation. Outcomes come back in seed order;
// progress, if set, is told of each one as it ends, and how many have.
func runSeries(first int64, n int, budget time.Duration, cfg Config, opts Options, stopEarly bool, progress func(o outcome, done int)) []outcome {
	deadline := time.Now().Add(budget)
	var (
		mu      sync.Mutex
		next    = first
		out     []outcome
		stopped bool
		wg      sync.WaitGroup
	)
	take := func() (int64, bool) {
		mu.Lock()
		defer mu.Unlock()
		if stopped || n > 0 && next >= first+int64(n) || n == 0 && time.Now().After(deadline) {
			return 0, false
		}
		next++
		return next - 1, true
	}
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seed, ok := take(); ok; seed, ok = take() {
				h := Generate(seed, cfg)
				res, err := Run(context.Background(), h, opts)
				mu.Lock()
				out = append(out, outcome{seed: seed, h: h, res: res, err: err})
				stopped = stopped || err != nil || stopEarly && res.Violation != nil
				if progress != nil {
					progress(out[len(out)-1], len(out))
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	slices.SortFunc(out, func(a, b outcome) int { return int(a.seed - b.seed) })
	return out
}

// Case is a saved history and what it must lead to: a regression test.
type Case struct {
	// Note says what the history shows.
	Note string `json:"note"`
	// Issue, Invariant and Match name the known defect the history still
	// shows (kept to prove the simulator finds it); Invariant 0: the
	// history must break no invariant except by other known defects.
	Issue     int     `json:"issue,omitempty"`
	Invariant int     `json:"invariant"`
	Match     string  `json:"match,omitempty"`
	History   History `json:"history"`
}

// others returns the known defects other than the case's own.
func (c Case) others() []Defect {
	return slices.DeleteFunc(slices.Clone(Known), func(d Defect) bool { return d.Invariant == c.Invariant && d.Match == c.Match })
}

// TestRegressions replays every saved history under testdata/regress.
func TestRegressions(t *testing.T) {
	t.Parallel()
	paths, err := filepath.Glob(filepath.Join("testdata", "regress", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no saved histories under testdata/regress")
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			t.Parallel()
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var c Case
			if err := json.Unmarshal(b, &c); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			res, err := Run(context.Background(), c.History, Options{Known: c.others()})
			if err != nil {
				t.Fatal(err)
			}
			v := res.Violation
			switch {
			case c.Invariant == 0 && v != nil:
				t.Fatalf("%s: %v", c.Note, v)
			case c.Invariant != 0 && v == nil:
				t.Fatalf("%s: no longer breaks invariant %d: if issue %d fixed it, set \"invariant\" to 0", c.Note, c.Invariant, c.Issue)
			case c.Invariant != 0 && (v.Invariant != c.Invariant || !strings.Contains(v.What, c.Match)):
				t.Fatalf("%s: breaks invariant %d instead of %d (%q): %v", c.Note, v.Invariant, c.Invariant, c.Match, v)
			}
		})
	}
}

// saveShrunk shrinks h and saves it as a regression case under
// testdata/found, to be reviewed and moved to testdata/regress.
func saveShrunk(t *testing.T, h History, v *Violation) {
	t.Helper()
	s, sv, err := Shrink(context.Background(), h, v, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := Case{Note: sv.What, Invariant: sv.Invariant, History: s}
	if d := knownDefect(Known, sv); d != nil {
		c.Issue = d.Issue
	}
	path := filepath.Join("testdata", "found", fmt.Sprintf("inv%d-seed%d.json", sv.Invariant, h.Seed))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("saved %s: %d of %d events: %v", path, len(s.Events), len(h.Events), sv)
}

// TestSaveRegressions, with -opsim.regress, finds a history of each known
// defect, shrinks it and saves it under testdata/regress.
func TestSaveRegressions(t *testing.T) {
	if !*flagRegress {
		t.Skip("run with -opsim.regress to find and save a history of each known defect")
	}
	for _, d := range Known {
		if *flagIssue != 0 && d.Issue != *flagIssue {
			continue
		}
		t.Run(fmt.Sprintf("issue%d-inv%d", d.Issue, d.Invariant), func(t *testing.T) {
			t.Parallel()
			c := Case{Issue: d.Issue, Invariant: d.Invariant, Match: d.Match}
			o := Options{Known: c.others()}
			for seed := int64(1); seed <= 400; seed++ {
				h := Generate(seed, Config{Days: *flagDays})
				res, err := Run(context.Background(), h, o)
				if err != nil {
					t.Fatal(err)
				}
				if res.Violation == nil || !d.matches(res.Violation) {
					continue
				}
				small, v, err := Shrink(context.Background(), h, res.Violation, o)
				if err != nil {
					t.Fatal(err)
				}
				c.Note, c.History = d.Summary+". Shrunk from seed "+fmt.Sprint(seed)+": "+v.What, small
				b, err := json.MarshalIndent(c, "", "  ")
				if err != nil {
					t.Fatal(err)
				}
				path := filepath.Join("testdata", "regress", fmt.Sprintf("issue%d-inv%d-%s.json", d.Issue, d.Invariant,
					strings.ReplaceAll(d.Match, " ", "-")))
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
				t.Logf("seed %d: %d events → %d in %d days: %s", seed, len(h.Events), len(small.Events), small.Days, path)
				return
			}
			t.Errorf("no history of 400 shows it")
		})
	}
}

// TestReplayCase, with -opsim.replay FILE, replays a saved case and logs
// every line of its trace.
func TestReplayCase(t *testing.T) {
	if *flagReplay == "" {
		t.Skip("run with -opsim.replay FILE")
	}
	b, err := os.ReadFile(*flagReplay)
	if err != nil {
		t.Fatal(err)
	}
	var c Case
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), c.History, Options{Known: c.others(), Trace: func(l string) { t.Log(l) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(res.Violation)
}
