package main

import (
	"fmt"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// synthetic makes a size whose steps grow as given: seconds = c·n^b.
func synthetic(factor int, rows float64, steps map[string][2]float64) ScaleSize {
	s := ScaleSize{Factor: factor, Rows: int64(rows)}
	for _, name := range goStepOrder {
		g, ok := steps[name]
		if !ok {
			continue
		}
		sec := g[0] * math.Pow(rows/267_792, g[1])
		s.Steps = append(s.Steps, GoStep{Step: name, Seconds: sec, RowsIn: int64(rows), PeakRSSMB: 100 + 200*rows/267_792})
		s.TotalSeconds += sec
	}
	s.Proc = Proc{WallSeconds: s.TotalSeconds + 0.1, MaxRSSMB: 100 + 200*rows/267_792}
	return s
}

func TestAnalyseScaleVerdictsAndLimits(t *testing.T) {
	steps := map[string][2]float64{
		"download": {0.5, 1.0},  // linear
		"merge":    {0.3, 1.2},  // above linear, within n log n + tolerance: allowed for merge
		"encode":   {0.3, 1.3},  // too steep for a linear step
		"features": {1.0, 1.9},  // quadratic: never allowed
		"scale":    {0.0005, 2}, // tiny (0.13 s at 16×): too short to judge
	}
	p := &ScalePart{LimitFactor: 16, LimitSeconds: 60, LimitMB: 1024}
	for _, k := range []int{1, 4, 16} {
		p.Sizes = append(p.Sizes, synthetic(k, 267_792*float64(k), steps))
	}
	analyseScale(p)
	got := map[string]ScaleStep{}
	for _, s := range p.Steps {
		got[s.Step] = s
	}
	want := map[string]string{"download": growthLinear, "merge": growthNLogN, "encode": growthSuper, "features": growthSuper, "scale": growthTooShort}
	for name, v := range want {
		if got[name].SecondsRule != v {
			t.Errorf("%s: %q (exponents %v), want %q", name, got[name].SecondsRule, got[name].SecondsExp, v)
		}
	}
	if e := float64(got["features"].SecondsFit); math.Abs(e-1.9) > 1e-9 {
		t.Errorf("features fitted exponent %v, want 1.9", e)
	}
	if p.GrowthOK {
		t.Error("growth judged OK with super-linear steps")
	}
	if _, ok := got["total"]; !ok {
		t.Error("no total row")
	}
	// Memory 100 + 200·k MB: 3300 MB at 16× is over the 1 GiB limit for every step.
	if !p.LimitChecked || p.AllWithin {
		t.Fatalf("limits: checked %v, all within %v", p.LimitChecked, p.AllWithin)
	}
	// features at 16×: 16^1.9 ≈ 194 s > 60 s.
	if w := got["features"].WithinLimit; w == nil || *w {
		t.Errorf("features at 16× within limits: %v", w)
	}

	// Linear steps only, small memory: all good.
	p2 := &ScalePart{LimitFactor: 16, LimitSeconds: 60, LimitMB: 1024}
	for _, k := range []int{1, 4, 16} {
		s := synthetic(k, 267_792*float64(k), map[string][2]float64{"download": {0.2, 1}, "train": {1, 1.05}})
		for i := range s.Steps {
			s.Steps[i].PeakRSSMB = 50 + 20*float64(k)
		}
		s.Proc.MaxRSSMB = 50 + 20*float64(k)
		p2.Sizes = append(p2.Sizes, s)
	}
	analyseScale(p2)
	if !p2.GrowthOK || !p2.AllWithin {
		t.Fatalf("linear, small run judged growth %v, within %v: %+v", p2.GrowthOK, p2.AllWithin, p2.Steps)
	}

	// Without the 16× size the limits are not checked.
	p3 := &ScalePart{LimitFactor: 16, LimitSeconds: 60, LimitMB: 1024, Sizes: p2.Sizes[:2]}
	analyseScale(p3)
	if p3.LimitChecked || p3.AllWithin {
		t.Fatalf("limits without the 16× size: checked %v within %v", p3.LimitChecked, p3.AllWithin)
	}
	// A failed size is left out of the fit.
	p4 := &ScalePart{LimitFactor: 16, Sizes: append(p2.Sizes[:2:2], ScaleSize{Factor: 16, Error: "killed"})}
	analyseScale(p4)
	if len(p4.Steps[0].Rows) != 2 {
		t.Fatalf("failed size used: %+v", p4.Steps[0])
	}
}

func TestPlotScaleWritesPNG(t *testing.T) {
	p := &ScalePart{LimitFactor: 16, LimitSeconds: 60, LimitMB: 1024}
	for _, k := range []int{1, 4, 16} {
		p.Sizes = append(p.Sizes, synthetic(k, 267_792*float64(k), map[string][2]float64{
			"download": {0.4, 1}, "enrich": {0.2, 1}, "balance": {0.6, 1.05}, "features": {1.3, 1.1}, "scale": {0, 1},
		}))
	}
	analyseScale(p)
	path := filepath.Join(t.TempDir(), "scale.png")
	if err := plotScale(p, path); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if cfg.Width < 800 || cfg.Height < 300 {
		t.Fatalf("image %dx%d", cfg.Width, cfg.Height)
	}
}

func TestMedianRun(t *testing.T) {
	run := func(total float64, secs ...float64) GoRun {
		r := GoRun{TotalSeconds: total, Proc: Proc{WallSeconds: total}}
		for i, s := range secs {
			r.Steps = append(r.Steps, GoStep{Step: fmt.Sprint("s", i), Seconds: s, PeakRSSMB: 10 * s})
		}
		return r
	}
	got, err := medianRun([]GoRun{run(9, 1, 8), run(3, 2, 1), run(6, 3, 3)})
	if err != nil {
		t.Fatal(err)
	}
	if got.TotalSeconds != 6 || got.Proc.WallSeconds != 6 || got.Steps[0].Seconds != 2 || got.Steps[1].Seconds != 3 || got.Steps[1].PeakRSSMB != 30 {
		t.Fatalf("%+v", got)
	}
	if _, err := medianRun([]GoRun{run(1, 1), run(1, 1, 2)}); err == nil {
		t.Error("runs with different steps accepted")
	}
	if _, err := medianRun(nil); err == nil {
		t.Error("no runs accepted")
	}
}
