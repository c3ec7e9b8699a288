package main

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"
)

// readmeCommands returns the arguments of every `go run ./examples/kisisync`
// command in the sh code blocks of the Markdown file path, in order, with
// backslash continuations joined.
func readmeCommands(t *testing.T, path string) [][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var cmds [][]string
	in, line := false, ""
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		text := sc.Text()
		switch {
		case strings.HasPrefix(text, "```sh"):
			in = true
			continue
		case strings.HasPrefix(text, "```"):
			in = false
			continue
		case !in:
			continue
		}
		if cont, ok := strings.CutSuffix(text, `\`); ok {
			line += cont + " "
			continue
		}
		fields := strings.Fields(line + text)
		line = ""
		if len(fields) > 3 && fields[0] == "go" && fields[1] == "run" && fields[2] == "./examples/kisisync" {
			cmds = append(cmds, fields[3:])
		}
	}
	require.NoError(t, sc.Err())
	return cmds
}

// TestREADMEWalkthrough runs the CLI commands of the two READMEs as written
// (from the repository root, so their paths are rewritten to this
// directory's; files they write go to a temporary directory) on several
// dates, and checks that each prints the same, as recorded in a golden file.
func TestREADMEWalkthrough(t *testing.T) {
	t.Parallel()
	dates := []time.Time{
		time.Date(2026, time.June, 10, 8, 0, 0, 0, time.UTC),
		time.Date(2026, time.December, 1, 16, 0, 0, 0, time.UTC),
		time.Date(2031, time.March, 15, 23, 30, 0, 0, time.UTC),
	}
	for _, readme := range []struct{ name, path string }{
		{"readme_root", filepath.Join("..", "..", "README.md")},
		{"readme_cli", "README.md"},
	} {
		t.Run(readme.name, func(t *testing.T) {
			t.Parallel()
			cmds := readmeCommands(t, readme.path)
			require.NotEmpty(t, cmds)
			var first string
			for i, now := range dates {
				dir := t.TempDir()
				var out strings.Builder
				for _, args := range cmds {
					args = localArgs(args, dir)
					var stdout, stderr bytes.Buffer
					a := app{env: noEnv, stdout: &stdout, stderr: &stderr, clock: clockwork.NewFakeClockAt(now)}
					code := a.main(t.Context(), args)
					want := exitOK
					if args[0] == "diagnose" {
						want = exitFailed // the walkthrough's member has not accepted Kisi's invitation: an ERROR finding
					}
					require.Equal(t, want, code, "%v on %s:\n%s%s", args, now, stdout.String(), stderr.String())
					out.WriteString("$ kisisync " + strings.Join(args, " ") + "\n")
					out.WriteString(stdout.String() + stderr.String())
				}
				got := strings.ReplaceAll(out.String(), dir+string(filepath.Separator), "")
				if i == 0 {
					first = got
					checkGolden(t, readme.name, got)
					continue
				}
				if diff := cmp.Diff(first, got); diff != "" {
					t.Errorf("on %s the walkthrough differs from on %s (-first +now):\n%s", now, dates[0], diff)
				}
			}
		})
	}
}

// localArgs rewrites the paths of a command run from the repository root
// to this directory, and puts files it writes (plan.json, week.svg) under
// dir.
func localArgs(args []string, dir string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		switch {
		case strings.HasPrefix(a, "examples/kisisync/"):
			a = strings.TrimPrefix(a, "examples/kisisync/")
		case !strings.HasPrefix(a, "-") && (strings.HasSuffix(a, ".json") || strings.HasSuffix(a, ".svg")):
			a = filepath.Join(dir, a)
		}
		out[i] = a
	}
	return out
}

// TestREADMETimeline checks that the timeline the README shows under
// "## Timeline" is what the walkthrough's explain prints.
func TestREADMETimeline(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("README.md")
	require.NoError(t, err)
	_, sec, ok := strings.Cut(string(b), "\n## Timeline\n")
	require.True(t, ok, "the README has a Timeline section")
	_, block, ok := strings.Cut(sec, "```text\n")
	require.True(t, ok)
	block, _, ok = strings.Cut(block, "```")
	require.True(t, ok)
	got, err := os.ReadFile(td("readme_cli.golden"))
	require.NoError(t, err)
	require.Contains(t, string(got), block)
}
