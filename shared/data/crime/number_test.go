package crime

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

func TestParseNumberMatchesStrconv(t *testing.T) {
	cases := []string{"0", "-0", "1", "+1", "1176813", "41.903227727", "-87.627356171", "0.1", ".5", "5.",
		"1e10", "1E-7", "1.5e+300", "9007199254740993", "123456789012345678901234567890", "0.000001",
		"1e22", "1e23", "4.9e-324", "1e-400", "1e400", "Inf", "-inf", "NaN", "0x1p-2", "1176569.052"}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		v := math.Float64frombits(r.Uint64())
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		cases = append(cases, strconv.FormatFloat(v, 'g', -1, 64), strconv.FormatFloat(r.Float64()*2e6-1e6, 'f', r.IntN(12), 64))
	}
	for _, s := range cases {
		want, werr := strconv.ParseFloat(s, 64)
		got, err := parseNumber([]byte(s))
		if werr != nil && !isRange(werr) {
			if err == nil {
				t.Errorf("%q: accepted, strconv says %v", s, werr)
			}
			continue
		}
		if err != nil || (got != want && !(math.IsNaN(got) && math.IsNaN(want))) || math.Signbit(got) != math.Signbit(want) {
			t.Errorf("%q: got %v %v, want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "-", "1.2.3", "12a", "e5", "1e", "--1", "1,5", " 1"} {
		if _, err := parseNumber([]byte(s)); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}

func isRange(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

func TestAppendNumberRoundTrips(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	vals := []float64{0, math.Copysign(0, -1), 1, -1, 1176813, 41.903227727, 1e15, 1e15 + 1, 123456789012345, 1e-5, 5e-324, math.MaxFloat64, math.Inf(1), math.Inf(-1), 0.1 + 0.2}
	for range 20000 {
		if v := math.Float64frombits(r.Uint64()); !math.IsNaN(v) {
			vals = append(vals, v)
		}
		vals = append(vals, math.Round(r.Float64()*1e6), r.NormFloat64())
	}
	for _, v := range vals {
		s := appendNumber(nil, v)
		got, err := parseNumber(s)
		if err != nil || got != v || math.Signbit(got) != math.Signbit(v) {
			t.Errorf("%v written %q read %v %v", v, s, got, err)
		}
	}
	if s := string(appendNumber(nil, 1176813)); s != "1176813" {
		t.Errorf("integer written as %q", s)
	}
	if s := string(appendNumber(nil, 41.903227727)); s != "41.903227727" {
		t.Errorf("decimal written as %q", s)
	}
}
