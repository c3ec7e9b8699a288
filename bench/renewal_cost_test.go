package bench_test

import (
	"flag"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var renewalReport = flag.Bool("renewal.report", false, "run the renewal cost of the reduced month at several validities, with and without PATCH")

// renewalCost is what the renewals of rolling windows cost over a month, from the wire.
type renewalCost struct {
	renewals int // rolling windows renewed (see wire.renewed)
	roles    int // (member, group) pairs renewed at least once
	// requests are the requests that made the renewals: a delete and a create, or a PATCH
	// and, if one followed it, its read-back.
	requests int
	// steady is the renewals per role per 30 days in steady state: 30 days over the mean
	// time between two renewals of one role.
	steady float64
	gaps   int // the intervals between two renewals of one role that steady averages
	// slack is the least and the most validity the renewed role had left when renewed.
	minSlack, maxSlack time.Duration
	// worst is the longest a renewed role was valid beyond the instant of its renewal:
	// how long a member keeps access at most when the integration stops right after.
	worst time.Duration
}

// renewalCost measures the renewals of rolling windows of the given validity made
// through w.
func (w *wire) renewalCost(validity time.Duration) renewalCost {
	w.mu.Lock()
	defer w.mu.Unlock()
	per := map[[2]int64][]*object{}
	add := func(o *object) {
		if o.kind == "role" {
			k := [2]int64{o.userID, o.groupID}
			per[k] = append(per[k], o)
		}
	}
	for _, o := range w.objects {
		add(o)
	}
	for _, o := range w.patched {
		add(o)
	}
	// The log's entries by method and object id, to find the requests of each renewal.
	type at struct {
		i int
		t time.Time
	}
	byID := map[string][]at{}
	for i, e := range w.log {
		if e.id != 0 {
			k := e.method + " " + fmt.Sprint(e.id)
			byID[k] = append(byID[k], at{i, e.at})
		}
	}
	closest := func(method string, id int64, t time.Time) int {
		best, bestD := -1, time.Duration(1<<62)
		for _, a := range byID[method+" "+fmt.Sprint(id)] {
			if d := a.t.Sub(t).Abs(); d < bestD {
				best, bestD = a.i, d
			}
		}
		return best
	}
	near := func(a, b time.Time, d time.Duration) bool { return a.Sub(b).Abs() < d }
	c := renewalCost{minSlack: time.Duration(1 << 62)}
	var gaps time.Duration
	var nGaps int
	for _, os := range per {
		slices.SortFunc(os, func(a, b *object) int { return a.created.Compare(b.created) })
		var last time.Time
		for i := 1; i < len(os); i++ {
			prev, cur := os[i-1], os[i]
			due := cur.created.Add(validity)
			if !near(prev.validity.Start, cur.validity.Start, time.Minute) || !cur.validity.End.After(prev.validity.End) ||
				!cur.validity.End.Before(due.Add(2*time.Minute)) || !cur.validity.End.After(due.Add(-time.Hour)) {
				continue
			}
			c.renewals++
			if last.IsZero() {
				c.roles++
			} else {
				gaps += cur.created.Sub(last)
				nGaps++
			}
			last = cur.created
			slack := prev.validity.End.Sub(cur.created)
			c.minSlack, c.maxSlack = min(c.minSlack, slack), max(c.maxSlack, slack)
			c.worst = max(c.worst, cur.validity.End.Sub(cur.created))
			if cur.id == prev.id { // a PATCH
				j := closest("PATCH", cur.id, cur.created)
				c.requests++
				if j+1 < len(w.log) && w.log[j+1].method == "GET" && w.log[j+1].path == "/role_assignments" {
					c.requests++ // its read-back
				}
				continue
			}
			c.requests++ // the create
			if closest("DELETE", prev.id, cur.created) >= 0 {
				c.requests++
			}
		}
	}
	c.gaps = nGaps
	if nGaps > 0 {
		c.steady = float64(30*24*time.Hour) / float64(gaps/time.Duration(nGaps))
	}
	return c
}

// TestRenewalCost runs the reduced month (30 days) at rolling validities of 7, 14 and 28
// days, renewing by delete and create and by PATCH (against a Kisi that accepts it), and
// reports what the renewals cost against the minimum of one renewal per validity: the
// trade-off table of BENCHMARKS.md. Run with -renewal.report:
//
//	cd bench && go test -count=1 -run 'TestRenewalCost$' -v -renewal.report .
func TestRenewalCost(t *testing.T) {
	if !*renewalReport {
		t.Skip("run with -renewal.report")
	}
	c := reducedSpace(1)
	probe := newKisiEnv(t, c)
	sp := generate(c, probe.groups)
	var b strings.Builder
	fmt.Fprintf(&b, "| validity | renewal | requests | renewals | roles renewed | requests per renewal | renewals per role per 30 days (steady; intervals) | minimum (30 days / validity) | × minimum | validity left when renewed | longest access after the integration stops |\n")
	fmt.Fprintf(&b, "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|\n")
	for _, days := range []int{7, 14, 28} {
		validity := time.Duration(days) * 24 * time.Hour
		for _, patch := range []bool{false, true} {
			env, o := runReconciler(t, sp, c, ourVariant{patch: patch, validity: validity})
			require.Zero(t, o.failed, "failed syncs")
			rc := env.wire.renewalCost(validity)
			require.Positive(t, rc.renewals)
			how := "delete + create"
			if patch {
				how = "PATCH"
			}
			minimum := 30 / float64(days)
			fmt.Fprintf(&b, "| %d days | %s | %d | %d | %d | %.2f | %.2f (%d) | %.2f | %.2f | %s – %s | %s |\n", days, how,
				len(env.wire.sentLog()), rc.renewals, rc.roles, float64(rc.requests)/float64(rc.renewals), rc.steady, rc.gaps, minimum,
				rc.steady/minimum, days2(rc.minSlack), days2(rc.maxSlack), days2(rc.worst))
		}
	}
	t.Log("\n" + b.String())
}

// days2 renders d in days with two decimals.
func days2(d time.Duration) string { return fmt.Sprintf("%.2f d", d.Hours()/24) }
