package schedule_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/kisisync/kisisync/schedule"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// TestExpandYearGolden expands a year of rules in several zones and compares the result, one
// interval per line in RFC 3339 with explicit offsets, with testdata/<zone>.golden.
func TestExpandYearGolden(t *testing.T) {
	t.Parallel()
	rules := []schedule.Rule{
		rule(weekdays, 9, 0, 17, 0),
		rule([]time.Weekday{time.Saturday}, 22, 0, 2, 30), // overnight, across DST nights
		rule([]time.Weekday{time.Sunday}, 1, 30, 3, 0),    // the DST hours themselves
	}
	for _, zone := range []string{"Europe/Berlin", "America/New_York", "Australia/Lord_Howe"} {
		t.Run(zone, func(t *testing.T) {
			t.Parallel()
			loc := loadLocation(t, zone)
			window := schedule.Interval{Start: time.Date(2026, 1, 1, 0, 0, 0, 0, loc), End: time.Date(2027, 1, 1, 0, 0, 0, 0, loc)}
			got, err := schedule.Expand(rules, loc, window)
			require.NoError(t, err)
			var b strings.Builder
			b.WriteString("# " + zone + " " + window.String() + "\n")
			for _, r := range rules {
				b.WriteString("# rule " + r.String() + "\n")
			}
			for v := range got.All() {
				b.WriteString(v.String() + " " + v.Duration().String() + "\n")
			}
			path := filepath.Join("testdata", strings.ReplaceAll(zone, "/", "_")+".golden")
			if *update {
				require.NoError(t, os.MkdirAll("testdata", 0o755))
				require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run go test -update to create it")
			if diff := cmp.Diff(string(want), b.String()); diff != "" {
				t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
			}
		})
	}
}
