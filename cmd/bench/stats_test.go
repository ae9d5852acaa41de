package main

import (
	"encoding/json"
	"math"
	"testing"
)

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 2.5}, {[]float64{7}, 7}} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
	if !math.IsNaN(median(nil)) {
		t.Error("median of nothing is a number")
	}
	in := []float64{3, 1, 2}
	median(in)
	if in[0] != 3 {
		t.Error("median sorted its input")
	}
}

func TestExponentFitsPowerLaws(t *testing.T) {
	ns := []float64{267_792, 1_071_168, 4_284_672}
	for _, b := range []float64{0.5, 1, 1.5, 2} {
		ys := make([]float64, len(ns))
		for i, n := range ns {
			ys[i] = 3e-6 * math.Pow(n, b)
		}
		if got := exponent(ns[0], ys[0], ns[1], ys[1]); math.Abs(float64(got)-b) > 1e-9 {
			t.Errorf("pairwise exponent of n^%v: %v", b, got)
		}
		if got := fitExponent(ns, ys); math.Abs(float64(got)-b) > 1e-9 {
			t.Errorf("fitted exponent of n^%v: %v", b, got)
		}
	}
	// n log n between 1× and 16× of the 2017 year shows an exponent a little above 1.
	e := float64(nlognExponent(267_792, 4_284_672))
	ys := []float64{267_792 * math.Log(267_792), 4_284_672 * math.Log(4_284_672)}
	if direct := float64(exponent(267_792, ys[0], 4_284_672, ys[1])); math.Abs(e-direct) > 1e-9 || e < 1.05 || e > 1.1 {
		t.Errorf("n log n exponent %v, measured on n log n itself %v", e, direct)
	}
	for _, bad := range []Num{exponent(0, 1, 2, 2), exponent(1, 0, 2, 2), exponent(2, 1, 2, 2), fitExponent([]float64{5}, []float64{1})} {
		if bad.OK() {
			t.Errorf("undefined exponent gave %v", bad)
		}
	}
}

func TestJudgeGrowth(t *testing.T) {
	n1, n2 := 1_071_168.0, 4_284_672.0
	cases := []struct {
		b     float64
		y     float64
		nlogn bool
		want  string
	}{
		{0.95, 10, false, growthLinear},
		{1.12, 10, false, growthLinear},
		{1.2, 10, false, growthSuper},
		{1.2, 10, true, growthNLogN},
		{1.5, 10, true, growthSuper},
		{2.0, 0.1, false, growthTooShort},
	}
	for _, c := range cases {
		if got := judgeGrowth(Num(c.b), n1, n2, c.y, judgeFloorSeconds, c.nlogn); got != c.want {
			t.Errorf("b=%v y=%v nlogn=%v: %q, want %q", c.b, c.y, c.nlogn, got, c.want)
		}
	}
	if got := judgeGrowth(NaN, n1, n2, 10, 0, false); got != growthUndefined {
		t.Errorf("undefined exponent judged %q", got)
	}
}

func TestNumJSON(t *testing.T) {
	b, err := json.Marshal(struct{ A, B Num }{Num(1.5), NaN})
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"A":1.5,"B":null}` {
		t.Fatalf("encoded %s", b)
	}
	var back struct{ A, B Num }
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.A != 1.5 || back.B.OK() {
		t.Fatalf("decoded %+v", back)
	}
	if ratio(1, 0).OK() || ratio(0, 1).OK() || ratio(6, 3) != 2 {
		t.Fatal("ratio")
	}
}
