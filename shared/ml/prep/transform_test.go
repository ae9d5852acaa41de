package prep

import (
	"encoding/json"
	"math"
	"slices"
	"testing"
)

func TestOutlierBoundsGolden(t *testing.T) {
	g := loadGolden(t)
	for _, c := range g.Outlier {
		x := []float64(c.X)
		switch {
		case c.Gen != nil:
			a, b := uniform(11, c.Gen.N), uniform(12, c.Gen.N)
			x = make([]float64, c.Gen.N)
			for i := range x {
				x[i] = 1000 + 5000*a[i]*b[i]
			}
		}
		t.Run(c.Name, func(t *testing.T) {
			b, err := FitOutlierBounds(x, c.K)
			if err != nil {
				t.Fatal(err)
			}
			if b.N != c.N || !sameBits(b.Mean, c.Mean) || !sameBits(b.Std, c.Std) ||
				!sameBits(b.Lower, c.Lower) || !sameBits(b.Upper, c.Upper) {
				t.Errorf("got n %d mean %v std %v [%v, %v]; pandas n %d mean %v std %v [%v, %v]",
					b.N, b.Mean, b.Std, b.Lower, b.Upper, c.N, c.Mean, c.Std, c.Lower, c.Upper)
			}
			if math.Abs(b.Std-c.StdBottleneck) > 1e-12*c.StdBottleneck {
				t.Errorf("std %v too far from pandas+bottleneck %v", b.Std, c.StdBottleneck)
			}
			kept := b.KeepRows(x, nil)
			if len(kept) != c.Kept {
				t.Errorf("kept %d rows, pandas %d", len(kept), c.Kept)
			}
			var dropped []int
			for i, v := range x {
				if !b.Keep(v) {
					dropped = append(dropped, i)
				}
			}
			if !slices.Equal(dropped[:min(len(dropped), 200)], c.DroppedRows) {
				t.Errorf("dropped rows %v, pandas %v", dropped[:min(len(dropped), 10)], c.DroppedRows[:min(len(c.DroppedRows), 10)])
			}
		})
	}
	if _, err := FitOutlierBounds([]float64{1, math.NaN()}, 3); err == nil {
		t.Error("fit on one non-missing value accepted")
	}
	if _, err := FitOutlierBounds([]float64{1, 2, 3}, 0); err == nil {
		t.Error("k = 0 accepted")
	}
}

func TestLog1pGolden(t *testing.T) {
	g := loadGolden(t)
	got := Log1pColumn(g.Log1p.X, nil)
	exact := 0
	for i, v := range got {
		if v != Log1p(g.Log1p.X[i]) {
			t.Fatalf("column and per-value paths differ at %d", i)
		}
		if sameBits(v, g.Log1p.Y[i]) {
			exact++
		} else if !close12(v, g.Log1p.Y[i]) {
			t.Errorf("log1p(%v) = %v, numpy %v", g.Log1p.X[i], v, g.Log1p.Y[i])
		}
	}
	t.Logf("log1p: %d of %d bit-identical to numpy", exact, len(got))
}

func TestCyclicalGolden(t *testing.T) {
	g := loadGolden(t)
	exact, total := 0, 0
	for _, c := range g.Cyclical {
		cy := Cyclical{Period: c.Period}
		sin, cos := cy.SinColumn(c.V, nil), cy.CosColumn(c.V, nil)
		for i, v := range c.V {
			for _, p := range [][2]float64{{sin[i], c.Sin[i]}, {cos[i], c.Cos[i]}} {
				total++
				if sameBits(p[0], p[1]) {
					exact++
				} else if !close12(p[0], p[1]) {
					t.Errorf("period %v v %v: %v, numpy %v", c.Period, v, p[0], p[1])
				}
			}
		}
	}
	t.Logf("sin/cos: %d of %d bit-identical to numpy", exact, total)
	for i, d := range g.DayOfWeek.Monday0 {
		s, err := DayOfWeekSunday1(d)
		if err != nil || s != g.DayOfWeek.Sunday1[i] {
			t.Errorf("remap %d = %d, %v; want %d", d, s, err, g.DayOfWeek.Sunday1[i])
		}
		v, _ := DayOfWeek(d)
		if !close12(v, g.DayOfWeek.Sin[i]) {
			t.Errorf("day %d: sin %v, numpy %v", d, v, g.DayOfWeek.Sin[i])
		}
	}
	col, err := DayOfWeekColumn(g.DayOfWeek.Monday0, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range g.DayOfWeek.Monday0 {
		if v, _ := DayOfWeek(d); v != col[i] {
			t.Fatal("column and per-value paths differ")
		}
	}
	for _, d := range []int{-1, 7} {
		if _, err := DayOfWeekSunday1(d); err == nil {
			t.Errorf("day %d accepted", d)
		}
	}
	if _, err := DayOfWeekColumn([]int{0, 9}, nil); err == nil {
		t.Error("column with day 9 accepted")
	}
}

func TestOneHotGolden(t *testing.T) {
	g := loadGolden(t)
	for _, c := range g.OneHot {
		t.Run(c.Feature, func(t *testing.T) {
			o, err := FitOneHotCodes(c.Feature, c.Train.Codes, c.Train.Dict)
			if err != nil {
				t.Fatal(err)
			}
			o2, err := FitOneHot(c.Feature, c.Train.strings())
			if err != nil {
				t.Fatal(err)
			}
			cats := slices.Clone(o.Categories)
			if o.HasMissing {
				cats = append(cats, "") // sklearn's NaN, last
			}
			if !slices.Equal(cats, c.Categories) || !slices.Equal(o.Categories, o2.Categories) {
				t.Fatalf("categories %q, sklearn %q", cats, c.Categories)
			}
			if !slices.Equal(o.Names(), c.Names) {
				t.Errorf("names %q, sklearn %q", o.Names(), c.Names)
			}
			test := c.Test.strings()
			out := o.Transform(test, nil)
			outCodes, err := o.TransformCodes(c.Test.Codes, c.Test.Dict, nil)
			if err != nil {
				t.Fatal(err)
			}
			row := make([]float64, o.Width())
			for i, v := range test {
				if got := o.Column(v); got != c.Hot[i] {
					t.Errorf("%q: column %d, sklearn %d", v, got, c.Hot[i])
				}
				o.Apply(v, row)
				for j := range row {
					want := 0.0
					if j == c.Hot[i] {
						want = 1
					}
					if row[j] != want || out[j][i] != want || outCodes[j][i] != want {
						t.Fatalf("row %d (%q) column %d: apply %v transform %v codes %v, sklearn %v", i, v, j, row[j], out[j][i], outCodes[j][i], want)
					}
				}
			}
		})
	}
}

func TestFreqGolden(t *testing.T) {
	g := loadGolden(t)
	for _, c := range g.Freq {
		t.Run(c.Feature, func(t *testing.T) {
			f, err := FitFreqCodes(c.Feature, c.Train.Codes, c.Train.Dict)
			if err != nil {
				t.Fatal(err)
			}
			f2, err := FitFreq(c.Feature, c.Train.strings())
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Counts) != len(c.Counts) || f.N != f2.N {
				t.Fatalf("%d categories, pandas %d", len(f.Counts), len(c.Counts))
			}
			for cat, k := range c.Counts {
				if f.Counts[cat] != k || f2.Counts[cat] != k {
					t.Errorf("count of %q: %d, pandas %d", cat, f.Counts[cat], k)
				}
				if !sameBits(f.Value(cat), c.Freq[cat]) {
					t.Errorf("share of %q: %v, pandas %v", cat, f.Value(cat), c.Freq[cat])
				}
			}
			out := f.Transform(c.Test.strings(), nil)
			outCodes, err := f.TransformCodes(c.Test.Codes, c.Test.Dict, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i, want := range c.Out {
				if !sameBits(out[i], want) || !sameBits(outCodes[i], want) {
					t.Errorf("row %d (%q): %v / %v, pandas %v", i, c.Test.strings()[i], out[i], outCodes[i], want)
				}
			}
			if f.Value("") != 0 || f.Value("never seen") != 0 {
				t.Error("missing or unseen is not 0")
			}
		})
	}
}

func TestScalerGolden(t *testing.T) {
	g := loadGolden(t)
	for _, c := range g.Scaler {
		t.Run(c.Name, func(t *testing.T) {
			X := make([][]float64, len(c.Train))
			for j := range X {
				X[j] = c.Train[j]
			}
			if c.Gen != nil {
				a, b := uniform(21, c.Gen.N), uniform(22, c.Gen.N)
				gx, gy := make([]float64, c.Gen.N), make([]float64, c.Gen.N)
				for i := range gx {
					gx[i] = 1e6 + 1000*a[i]
					gy[i] = 3*b[i] - 1.5
				}
				X = [][]float64{gx, gy}
				for j, col := range X {
					for i, v := range c.Probe[j] {
						if !sameBits(v, col[i]) {
							t.Fatalf("generator differs from Python at column %d row %d", j, i)
						}
					}
				}
			}
			s, err := FitScaler(c.Features, X)
			if err != nil {
				t.Fatal(err)
			}
			for j := range c.Features {
				if s.N[j] != c.N[j] || !sameBits(s.Mean[j], c.Mean[j]) || !sameBits(s.Var[j], c.Var[j]) || !sameBits(s.Scale[j], c.Scale[j]) {
					t.Errorf("%s: n %d mean %v var %v scale %v; sklearn n %d mean %v var %v scale %v",
						c.Features[j], s.N[j], s.Mean[j], s.Var[j], s.Scale[j], c.N[j], c.Mean[j], c.Var[j], c.Scale[j])
				}
				out := s.TransformColumn(j, c.Probe[j], nil)
				for i, want := range c.Out[j] {
					if !sameBits(out[i], want) || !sameBits(s.Apply(j, c.Probe[j][i]), want) {
						t.Errorf("%s row %d: %v, sklearn %v", c.Features[j], i, out[i], want)
					}
				}
			}
		})
	}
	if _, err := FitScaler([]string{"a"}, [][]float64{{math.NaN(), math.NaN()}}); err == nil {
		t.Error("all-NaN column accepted")
	}
	if _, err := FitScaler([]string{"a", "b"}, [][]float64{{1, 2}, {1}}); err == nil {
		t.Error("ragged columns accepted")
	}
}

// roundTrip marshals v, unmarshals into w and returns the JSON.
func roundTrip(t *testing.T, v, w any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, w); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestJSONRoundTrip checks that every fitted transform loads back with the
// same bits and so gives bit-identical outputs.
func TestJSONRoundTrip(t *testing.T) {
	g := loadGolden(t)
	x := uniform(31, 5000)
	for i := range x {
		x[i] = 1e4 * x[i] * x[i] / 3 // values with long mantissas
	}
	b, _ := FitOutlierBounds(x, 3)
	var b2 OutlierBounds
	roundTrip(t, b, &b2)
	for _, p := range [][2]float64{{b.Mean, b2.Mean}, {b.Std, b2.Std}, {b.Lower, b2.Lower}, {b.Upper, b2.Upper}} {
		if math.Float64bits(p[0]) != math.Float64bits(p[1]) {
			t.Errorf("outlier bounds: %v loaded as %v", p[0], p[1])
		}
	}

	sc, _ := FitScaler([]string{"x", "x3"}, [][]float64{x, Log1pColumn(x, nil)})
	var sc2 Scaler
	roundTrip(t, sc, &sc2)
	for j := range sc.Mean {
		for _, p := range [][2]float64{{sc.Mean[j], sc2.Mean[j]}, {sc.Var[j], sc2.Var[j]}, {sc.Scale[j], sc2.Scale[j]}} {
			if math.Float64bits(p[0]) != math.Float64bits(p[1]) {
				t.Errorf("scaler: %v loaded as %v", p[0], p[1])
			}
		}
		for _, v := range x[:500] {
			if math.Float64bits(sc.Apply(j, v)) != math.Float64bits(sc2.Apply(j, v)) {
				t.Fatalf("scaler output changed after reload")
			}
		}
	}

	for _, c := range g.Freq {
		f, _ := FitFreqCodes(c.Feature, c.Train.Codes, c.Train.Dict)
		var f2 FreqEncoder
		roundTrip(t, f, &f2)
		for cat := range f.Counts {
			if math.Float64bits(f.Value(cat)) != math.Float64bits(f2.Value(cat)) {
				t.Errorf("%s: share of %q changed after reload", c.Feature, cat)
			}
		}
	}
	for _, c := range g.OneHot {
		o, _ := FitOneHotCodes(c.Feature, c.Train.Codes, c.Train.Dict)
		var o2 OneHot
		roundTrip(t, o, &o2)
		for _, v := range c.Test.strings() {
			if o.Column(v) != o2.Column(v) {
				t.Errorf("%s: %q encodes differently after reload", c.Feature, v)
			}
		}
	}
	cy := Cyclical{Period: 7}
	var cy2 Cyclical
	roundTrip(t, cy, &cy2)
	if cy2 != cy {
		t.Error("cyclical changed after reload")
	}
}

func TestLoadRejectsBadJSON(t *testing.T) {
	for _, c := range []struct {
		name string
		into any
		js   string
	}{
		{"scaler lengths", &Scaler{}, `{"features":["a"],"n":[1],"mean":[1,2],"var":[1],"scale":[1]}`},
		{"scaler zero scale", &Scaler{}, `{"features":["a"],"n":[1],"mean":[1],"var":[1],"scale":[0]}`},
		{"one-hot unsorted", &OneHot{}, `{"feature":"f","categories":["b","a"]}`},
		{"one-hot empty", &OneHot{}, `{"feature":"f","categories":[]}`},
		{"freq total", &FreqEncoder{}, `{"feature":"f","n":3,"counts":{"a":1}}`},
		{"freq empty key", &FreqEncoder{}, `{"feature":"f","n":1,"counts":{"":1}}`},
		{"bounds inverted", &OutlierBounds{}, `{"k":3,"n":2,"mean":0,"std":1,"lower":2,"upper":1}`},
	} {
		if err := json.Unmarshal([]byte(c.js), c.into); err == nil {
			t.Errorf("%s: loaded", c.name)
		}
	}
}

func TestPerValueDoesNotAllocate(t *testing.T) {
	g := loadGolden(t)
	f, _ := FitFreqCodes(g.Freq[0].Feature, g.Freq[0].Train.Codes, g.Freq[0].Train.Dict)
	o, _ := FitOneHotCodes(g.OneHot[0].Feature, g.OneHot[0].Train.Codes, g.OneHot[0].Train.Dict)
	sc, _ := FitScaler([]string{"a"}, [][]float64{{1, 2, 3}})
	b, _ := FitOutlierBounds([]float64{1, 2, 3}, 3)
	cy := Cyclical{Period: 7}
	row := make([]float64, o.Width())
	cat := g.Freq[0].Train.Dict[0]
	sink := 0.0
	n := testing.AllocsPerRun(100, func() {
		sink += f.Value(cat) + f.Value("unseen") + sc.Apply(0, 2.5) + Log1p(3) + cy.Sin(2) + cy.Cos(2)
		o.Apply("Summer", row)
		sink += float64(o.Column("Winter"))
		if b.Keep(2) {
			sink++
		}
		d, _ := DayOfWeek(3)
		sink += d
	})
	if n != 0 {
		t.Errorf("per-value methods allocate %v times per call", n)
	}
	_ = sink
}
