package crime

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

// checkF fails unless appendNumber writes v as strconv's shortest form.
func checkF(t *testing.T, v float64) bool {
	t.Helper()
	got := string(appendNumber(nil, v))
	a := math.Abs(v)
	var want string
	switch {
	case v == math.Trunc(v) && a < 1e15:
		return true
	case a >= 1e-4 && a < 1e15:
		want = strconv.FormatFloat(v, 'f', -1, 64)
	default:
		want = strconv.FormatFloat(v, 'g', -1, 64)
	}
	if got != want {
		t.Errorf("%b: %s, strconv %s", v, got, want)
		return false
	}
	return true
}

// The fast path writes strconv's bytes: on decimals of every length and
// magnitude (the values it takes), on random bit patterns and on their
// neighbours (the values it must leave to strconv), and at the edges of its
// range and of its table.
func TestAppendShortFIsStrconv(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	n := 2_000_000
	if testing.Short() {
		n = 100_000
	}
	fast := 0
	for range n {
		// A decimal with k significant digits and a random scale.
		k := 1 + rng.IntN(17)
		m := rng.Int64N(int64(math.Pow10(min(k, 18))))
		s := strconv.FormatInt(m, 10) + "e" + strconv.Itoa(rng.IntN(36)-22)
		v, _ := strconv.ParseFloat(s, 64)
		if rng.IntN(2) == 0 {
			v = -v
		}
		for _, x := range []float64{v, math.Nextafter(v, 0), math.Nextafter(v, math.Inf(1)), math.Float64frombits(rng.Uint64())} {
			if !checkF(t, x) {
				return
			}
			if a := math.Abs(x); a >= 1e-4 && a < 1e15 && x != math.Trunc(x) {
				if _, ok := appendShortF(nil, x); ok {
					fast++
				}
			}
		}
	}
	edges := []float64{1e-4, 1.0000000000000001e-4, 0.00010000000000000002, 9.999999999999999e-5, 1e15 - 0.5, 1e15 - 0.125,
		999999999999999.9, 0.1, 0.2, 0.3, 1.0 / 3, 2.0 / 3, 41.815117282, -87.613843427, 0.5, 1.5, 4503599627370495.5,
		1125899906842623.8, 562949953421311.9, 281474976710655.94, 0.000123456789012345, 123456.789, 5e-324, math.MaxFloat64}
	for e := -16; e <= 52; e++ { // every binade's ends, where the table changes
		p := math.Ldexp(1, e)
		edges = append(edges, p, math.Nextafter(p, 0), math.Nextafter(p, 2*p), p+0.5, p*1.1)
	}
	for _, x := range edges {
		checkF(t, x)
		checkF(t, -x)
	}
	if fast < n/4 {
		t.Fatalf("fast path taken %d times in %d values: not exercised", fast, 4*n)
	}
}

func BenchmarkAppendNumber(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	short := make([]float64, 1024) // coordinates, as the portal writes them
	full := make([]float64, 1024)  // computed values (distances, scaled)
	for i := range short {
		short[i] = math.Round((41+rng.Float64())*1e9) / 1e9
		full[i] = rng.NormFloat64() * 1000
	}
	for _, c := range []struct {
		name string
		v    []float64
	}{{"short", short}, {"full", full}} {
		b.Run(c.name, func(b *testing.B) {
			buf := make([]byte, 0, 64)
			for i := 0; b.Loop(); i++ {
				buf = appendNumber(buf[:0], c.v[i%len(c.v)])
			}
		})
		b.Run(c.name+"-strconv", func(b *testing.B) {
			buf := make([]byte, 0, 64)
			for i := 0; b.Loop(); i++ {
				buf = strconv.AppendFloat(buf[:0], c.v[i%len(c.v)], 'f', -1, 64)
			}
		})
	}
}
