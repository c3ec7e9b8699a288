package fleet

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kisisync/kisisync/access"
)

// DirLoader reads each organization's snapshot from the JSON file
// <Dir>/<organization>.json (the format of access.Snapshot). It stands in
// for the platform's database in the worker binary and the load test.
type DirLoader struct{ Dir string }

// Load implements [Loader].
func (d DirLoader) Load(ctx context.Context, org string) (access.Snapshot, error) {
	var s access.Snapshot
	if err := ctx.Err(); err != nil {
		return s, err
	}
	if !validID(org) {
		return s, fmt.Errorf("fleet: organization id %q cannot name a file", org)
	}
	b, err := os.ReadFile(filepath.Join(d.Dir, org+".json"))
	if err != nil {
		return s, fmt.Errorf("fleet: read snapshot: %w", err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("fleet: snapshot of %q: %w", org, err)
	}
	return s, nil
}
