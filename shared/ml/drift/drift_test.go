package drift

import (
	"math"
	"testing"
)

func TestQuantileIsNumpysLower(t *testing.T) {
	s := []float64{1, 2, 4, 8}
	// numpy.quantile([1, 2, 4, 8], q, method="lower"): the value at floor(3q).
	for q, want := range map[float64]float64{0: 1, 0.1: 1, 0.34: 2, 0.5: 2, 0.9: 4, 1: 8} {
		if got := Quantile(s, q); got != want {
			t.Errorf("Quantile(%v) = %v, want %v", q, got, want)
		}
	}
	if Quantile([]float64{5}, 0.3) != 5 {
		t.Error("one value")
	}
}

func TestPSI(t *testing.T) {
	if p := PSI([]float64{0.5, 0.5}, []float64{0.5, 0.5}); p != 0 {
		t.Errorf("identical shares: %v", p)
	}
	// An empty bin on one side is floored, not infinite.
	p := PSI([]float64{0.5, 0.5, 0}, []float64{0.4, 0.4, 0.2})
	want := 2*(-0.1)*math.Log(0.4/0.5) + (0.2-Floor)*math.Log(0.2/Floor)
	if math.Abs(p-want) > 1e-15 || math.IsInf(p, 0) {
		t.Errorf("PSI with an empty bin %v, want %v", p, want)
	}
	if !math.IsNaN(PSI(nil, nil)) || !math.IsNaN(PSI([]float64{1}, []float64{0.5, 0.5})) {
		t.Error("undefined PSI is not NaN")
	}
}

func TestKS(t *testing.T) {
	for _, c := range []struct {
		a, b []float64
		want float64
	}{
		{[]float64{1, 2, 3}, []float64{1, 2, 3}, 0},
		{[]float64{1, 2}, []float64{3, 4}, 1},
		{[]float64{1, 2, 3, 4}, []float64{3, 4, 5, 6}, 0.5},
		{[]float64{1, 1, 1, 2}, []float64{1, 2, 2, 2}, 0.5}, // ties counted together
	} {
		if got := KS(c.a, c.b); got != c.want {
			t.Errorf("KS(%v, %v) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
	if !math.IsNaN(KS(nil, []float64{1})) {
		t.Error("KS of an empty sample")
	}
}

// A field with two values gets one bin per value; a month outside the
// range lands in the open end bins; a month with nothing present is
// undefined but for its missing share.
func TestNumericBins(t *testing.T) {
	ref := []float64{0, 0, 0, 1, 1, math.NaN()}
	n := FitNumeric(ref, Options{})
	if len(n.Edges) != 2 || n.Edges[0] != 0 || n.Edges[1] != 1 || math.Abs(n.Missing-1.0/6) > 1e-15 {
		t.Fatalf("edges %v missing %v", n.Edges, n.Missing)
	}
	if n.Shares[0] != 0.6 || n.Shares[1] != 0.4 || n.Shares[2] != 0 {
		t.Errorf("shares %v", n.Shares)
	}
	c := n.Compare([]float64{-5, 0, 1, 7})
	if c.Shares[0] != 0.5 || c.Shares[1] != 0.25 || c.Shares[2] != 0.25 || c.PSI <= 0.25 {
		t.Errorf("outside the range: %+v", c)
	}
	empty := n.Compare([]float64{math.NaN(), math.NaN()})
	if empty.Missing != 1 || !math.IsNaN(empty.PSI) || !math.IsNaN(empty.KS) || empty.Shares != nil {
		t.Errorf("an emptied column: %+v", empty)
	}
	if got := n.Labels(); len(got) != 3 || got[0] != "≤ 0" || got[2] != "> 1" {
		t.Errorf("labels %v", got)
	}
	none := FitNumeric([]float64{math.NaN()}, Options{})
	if c := none.Compare([]float64{1}); !math.IsNaN(c.PSI) || none.Missing != 1 {
		t.Errorf("a reference without values: %+v", c)
	}
}

func TestCategoricalTopAndShifts(t *testing.T) {
	counts := map[string]int{"A": 50, "B": 30, "C": 10, "D": 5, "E": 5}
	c := FitCategorical(counts, 100, Options{TopK: 3})
	if len(c.Top) != 3 || c.Top[0] != "A" || c.Top[2] != "C" || c.Missing != 0.5 {
		t.Fatalf("%+v", c)
	}
	if c.Shares[3] != 0.1 { // D and E
		t.Errorf("other share %v", c.Shares[3])
	}
	// C halved, the rest spread; an unseen category goes to other.
	cmp := c.Compare(map[string]int{"A": 52, "B": 31, "C": 5, "D": 5, "Z": 7}, 0)
	if cmp.Missing != 0 || cmp.Shares[3] != 0.12 {
		t.Errorf("%+v", cmp)
	}
	sh := c.Shifts(cmp, 2, 0.01)
	if len(sh) != 1 || sh[0].Label != "C" {
		t.Errorf("shifts %+v", sh)
	}
	// Below the least share nothing is flagged, however large the factor.
	if sh := c.Shifts(cmp, 2, 0.2); len(sh) != 0 {
		t.Errorf("shifts below the floor: %+v", sh)
	}
	// Ties by name.
	tie := FitCategorical(map[string]int{"b": 1, "a": 1}, 0, Options{TopK: 1})
	if tie.Top[0] != "a" {
		t.Errorf("tie %v", tie.Top)
	}
}
