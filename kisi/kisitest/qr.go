package kisitest

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
)

// qrPNG encodes text as a QR code symbol (byte mode, error correction level
// L, versions 1 to 5, mask pattern 0) and returns it as a PNG image with a
// four-module quiet zone and four pixels per module.
func qrPNG(text string) ([]byte, error) {
	m, err := qrEncode([]byte(text))
	if err != nil {
		return nil, err
	}
	const scale, quiet = 4, 4
	n := len(m)
	side := (n + 2*quiet) * scale
	img := image.NewGray(image.Rect(0, 0, side, side))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	for y := range n {
		for x := range n {
			if !m[y][x] {
				continue
			}
			for dy := range scale {
				for dx := range scale {
					img.SetGray((x+quiet)*scale+dx, (y+quiet)*scale+dy, color.Gray{})
				}
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("encode qr png: %w", err)
	}
	return buf.Bytes(), nil
}

// qrLevelL holds, per version 1 to 5, the data and error-correction
// codewords of the single block at level L.
var qrLevelL = [...]struct{ data, ecc int }{{19, 7}, {34, 10}, {55, 15}, {80, 20}, {108, 26}}

// qrEncode returns the modules (true = dark) of the smallest version that
// holds data.
func qrEncode(data []byte) ([][]bool, error) {
	version := 0
	for v, c := range qrLevelL {
		if 4+8+8*len(data) <= 8*c.data {
			version = v + 1
			break
		}
	}
	if version == 0 {
		return nil, fmt.Errorf("qr: %d bytes do not fit version 5-L", len(data))
	}
	spec := qrLevelL[version-1]
	code := qrCodewords(data, spec.data)
	code = append(code, rsRemainder(code, rsDivisor(spec.ecc))...)

	g := newQRGrid(17 + 4*version)
	g.drawFunctionPatterns(version)
	g.drawFormat()
	g.placeData(code)
	return g.mod, nil
}

// qrCodewords returns the n data codewords of data in byte mode: mode,
// 8-bit count, data, terminator and padding.
func qrCodewords(data []byte, n int) []byte {
	var bits []bool
	put := func(v, n int) {
		for i := n - 1; i >= 0; i-- {
			bits = append(bits, v>>i&1 == 1)
		}
	}
	put(0b0100, 4)
	put(len(data), 8)
	for _, b := range data {
		put(int(b), 8)
	}
	capBits := n * 8
	put(0, min(4, capBits-len(bits)))
	put(0, (8-len(bits)%8)%8)
	for pad := 0; len(bits) < capBits; pad++ {
		put([]int{0xec, 0x11}[pad%2], 8)
	}
	code := make([]byte, n)
	for i, b := range bits {
		if b {
			code[i/8] |= 1 << (7 - i%8)
		}
	}
	return code
}

// qrGrid is a symbol being drawn: mod holds the modules (true = dark), fn
// marks the function modules that data must not overwrite.
type qrGrid struct {
	size    int
	mod, fn [][]bool
}

func newQRGrid(size int) *qrGrid {
	g := &qrGrid{size: size, mod: make([][]bool, size), fn: make([][]bool, size)}
	for i := range g.mod {
		g.mod[i], g.fn[i] = make([]bool, size), make([]bool, size)
	}
	return g
}

func (g *qrGrid) set(x, y int, dark bool) { g.mod[y][x], g.fn[y][x] = dark, true }

// drawFunctionPatterns draws the timing patterns, the three finders with
// their separators, and the alignment pattern of versions 2 to 6.
func (g *qrGrid) drawFunctionPatterns(version int) {
	size := g.size
	for i := range size {
		g.set(6, i, i%2 == 0)
		g.set(i, 6, i%2 == 0)
	}
	for _, c := range [][2]int{{3, 3}, {size - 4, 3}, {3, size - 4}} {
		for dy := -4; dy <= 4; dy++ {
			for dx := -4; dx <= 4; dx++ {
				x, y := c[0]+dx, c[1]+dy
				if x < 0 || y < 0 || x >= size || y >= size {
					continue
				}
				d := max(abs(dx), abs(dy))
				g.set(x, y, d != 2 && d != 4)
			}
		}
	}
	if version >= 2 {
		p := size - 7
		for dy := -2; dy <= 2; dy++ {
			for dx := -2; dx <= 2; dx++ {
				g.set(p+dx, p+dy, max(abs(dx), abs(dy)) != 1)
			}
		}
	}
}

// drawFormat draws the format information (level L, mask 0) in both its
// copies, and the dark module.
func (g *qrGrid) drawFormat() {
	size := g.size
	fmtData := 1 << 3
	rem := fmtData
	for range 10 {
		rem = rem<<1 ^ (rem>>9)*0x537
	}
	format := (fmtData<<10 | rem) ^ 0x5412
	bit := func(i int) bool { return format>>i&1 == 1 }
	for i := 0; i <= 5; i++ {
		g.set(8, i, bit(i))
	}
	g.set(8, 7, bit(6))
	g.set(8, 8, bit(7))
	g.set(7, 8, bit(8))
	for i := 9; i < 15; i++ {
		g.set(14-i, 8, bit(i))
	}
	for i := range 8 {
		g.set(size-1-i, 8, bit(i))
	}
	for i := 8; i < 15; i++ {
		g.set(8, size-15+i, bit(i))
	}
	g.set(8, size-8, true)
}

// placeData places code in the zigzag order, then applies mask 0 to every
// non-function module.
func (g *qrGrid) placeData(code []byte) {
	size, i := g.size, 0
	for right := size - 1; right >= 1; right -= 2 {
		if right == 6 {
			right = 5
		}
		for vert := range size {
			for j := range 2 {
				x, y := right-j, vert
				if (right+1)&2 == 0 {
					y = size - 1 - vert
				}
				if g.fn[y][x] {
					continue
				}
				if i < len(code)*8 {
					g.mod[y][x] = code[i>>3]>>(7-i&7)&1 == 1
					i++
				}
				if (x+y)%2 == 0 {
					g.mod[y][x] = !g.mod[y][x]
				}
			}
		}
	}
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// gfMul multiplies in GF(2^8) modulo x^8+x^4+x^3+x^2+1.
func gfMul(x, y byte) byte {
	z := 0
	for i := 7; i >= 0; i-- {
		z = z<<1 ^ (z>>7)*0x11d
		z ^= int(y>>i&1) * int(x)
	}
	return byte(z)
}

// rsDivisor returns the Reed-Solomon generator polynomial of the degree,
// highest coefficient (always 1) omitted.
func rsDivisor(degree int) []byte {
	out := make([]byte, degree)
	out[degree-1] = 1
	root := byte(1)
	for range degree {
		for j := range out {
			out[j] = gfMul(out[j], root)
			if j+1 < len(out) {
				out[j] ^= out[j+1]
			}
		}
		root = gfMul(root, 2)
	}
	return out
}

func rsRemainder(data, divisor []byte) []byte {
	out := make([]byte, len(divisor))
	for _, b := range data {
		factor := b ^ out[0]
		copy(out, out[1:])
		out[len(out)-1] = 0
		for i, d := range divisor {
			out[i] ^= gfMul(d, factor)
		}
	}
	return out
}
