package bench_test

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/access"
	"github.com/kisisync/kisisync/mapping"
)

var verifyReport = flag.Bool("verify.report", false, "report the requests of one Verify of the reduced space")

// TestVerifyCost reports the requests of one Verify of the reduced space (40 members) after
// its first Sync, with drop-in links mapped (the month's space) and without, by kind. Run
// with -verify.report:
//
//	cd bench && go test -count=1 -run 'TestVerifyCost$' -v -verify.report .
func TestVerifyCost(t *testing.T) {
	if !*verifyReport {
		t.Skip("run with -verify.report")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "| space | mapped groups | requests of one Verify | by kind |\n|---|---:|---:|---|\n")
	for _, dropIns := range []bool{true, false} {
		c := reducedSpace(1)
		env := newKisiEnv(t, c)
		sp := generate(c, env.groups)
		m := sp.mapping
		name := "reduced, drop-in links"
		if !dropIns {
			m.DropIn = mapping.DropIn{}
			name = "reduced, no drop-in links"
		}
		client, err := env.wire.client(env.srv.URL, env.srv.APIKey)
		require.NoError(t, err)
		r, err := access.NewReconciler(client, access.NewMemoryStore(), m, access.DefaultPolicy(), access.WithClock(env.clock))
		require.NoError(t, err)
		ctx := context.Background()
		_, err = r.Sync(ctx, sp.initial)
		require.NoError(t, err)
		before := len(env.wire.sentLog())
		_, err = r.Verify(ctx)
		require.NoError(t, err)
		log := env.wire.sentLog()[before:]
		st := statsOf(log)
		kinds := sortedKeys(st.byKind)
		parts := make([]string, 0, len(kinds))
		for _, k := range kinds {
			parts = append(parts, fmt.Sprintf("%s %d", k, st.byKind[k]))
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %s |\n", name, len(m.Groups()), st.total, strings.Join(parts, "; "))
	}
	t.Log("\n" + b.String())
}
