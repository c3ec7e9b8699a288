package kisitest

import (
	"bytes"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

func renderModules(m [][]bool) string {
	var b strings.Builder
	for _, row := range m {
		for _, dark := range row {
			if dark {
				b.WriteString("##")
			} else {
				b.WriteString("  ")
			}
		}
		b.WriteString("|\n")
	}
	return b.String()
}

// TestQRGolden pins the symbols; they were checked once with a QR reader
// (zbarimg), which TestQRDecodes repeats when it is installed.
func TestQRGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, text string
		size       int
	}{
		{"version1", "KISI:42", 21},
		{"version3", "KISI:0123456789abcdef0123456789abcdef", 29},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m, err := qrEncode([]byte(tc.text))
			require.NoError(t, err)
			require.Len(t, m, tc.size)
			got := renderModules(m)
			path := filepath.Join("testdata", "qr_"+tc.name+".golden")
			if *Update {
				require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err)
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestQRTooLong(t *testing.T) {
	t.Parallel()
	_, err := qrEncode(make([]byte, 107))
	require.Error(t, err)
	_, err = qrEncode(make([]byte, 106))
	require.NoError(t, err)
}

// TestQRReedSolomon checks that every codeword block is divisible by its
// generator polynomial: appending the remainder leaves remainder zero.
func TestQRReedSolomon(t *testing.T) {
	t.Parallel()
	for _, c := range qrLevelL {
		data := make([]byte, c.data)
		for i := range data {
			data[i] = byte(i*37 + 11)
		}
		div := rsDivisor(c.ecc)
		full := append(append([]byte(nil), data...), rsRemainder(data, div)...)
		require.Equal(t, make([]byte, c.ecc), rsRemainder(full, div))
	}
}

func TestQRDecodes(t *testing.T) {
	t.Parallel()
	zbar, err := exec.LookPath("zbarimg")
	if err != nil {
		t.Skip("zbarimg not installed")
	}
	for _, text := range []string{"KISI:42", "KISI:0123456789abcdef0123456789abcdef", strings.Repeat("x", 100)} {
		img, err := qrPNG(text)
		require.NoError(t, err)
		_, err = png.Decode(bytes.NewReader(img))
		require.NoError(t, err)
		path := filepath.Join(t.TempDir(), "qr.png")
		require.NoError(t, os.WriteFile(path, img, 0o644))
		out, err := exec.CommandContext(t.Context(), zbar, "-q", "--raw", path).Output()
		require.NoError(t, err)
		require.Equal(t, text, strings.TrimSpace(string(out)))
	}
}
