package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// goStepOrder is cmd/pipeline's step order.
var goStepOrder = []string{"download", "merge", "enrich", "split", "outliers", "encode", "scale", "balance", "features", "train"}

// stepGroups maps our steps onto seed_recipe.py's: the Python reference
// reads the CSV and enriches in memory, where the Go chain downloads (here:
// reads the local export), merges the 365-day window and enriches.
var stepGroups = []struct {
	Name string
	Go   []string
	Py   []string
}{
	{"load + enrich", []string{"download", "merge", "enrich"}, []string{"load", "enrich"}},
	{"split", []string{"split"}, []string{"split"}},
	{"outliers", []string{"outliers"}, []string{"outliers"}},
	{"encode", []string{"encode"}, []string{"encode"}},
	{"scale", []string{"scale"}, []string{"scale"}},
	{"balance", []string{"balance"}, []string{"balance"}},
	{"features", []string{"features"}, []string{"features"}},
	{"train", []string{"train"}, []string{"train_xgboost"}},
}

// firstJSONObject decodes the first JSON object in out, skipping anything
// printed before it (a warning on stdout must not lose a whole run).
// Python's json module writes NaN for a missing value; it is read as null.
func firstJSONObject(out []byte, v any) error {
	i := bytes.IndexByte(out, '{')
	if i < 0 {
		return fmt.Errorf("no JSON object in output (%d bytes)", len(out))
	}
	b := pyNaN.ReplaceAll(out[i:], []byte("${1}null"))
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode JSON output: %w", err)
	}
	return nil
}

var pyNaN = regexp.MustCompile(`([:\[,]\s*)-?(?:NaN|Infinity)\b`)

// parseGoRun reads cmd/pipeline -json output.
func parseGoRun(out []byte) (GoRun, error) {
	var r GoRun
	if err := firstJSONObject(out, &r); err != nil {
		return r, fmt.Errorf("pipeline output: %w", err)
	}
	if len(r.Steps) == 0 {
		return r, fmt.Errorf("pipeline output: no steps")
	}
	if r.Rows == 0 {
		r.Rows = r.Steps[0].RowsIn
	}
	if r.TotalSeconds == 0 {
		for _, s := range r.Steps {
			r.TotalSeconds += s.Seconds
		}
	}
	return r, nil
}

// parsePyRun reads seed_recipe.py --json output.
func parsePyRun(out []byte) (PyRun, error) {
	var r PyRun
	if err := firstJSONObject(out, &r); err != nil {
		return r, fmt.Errorf("seed_recipe output: %w", err)
	}
	if len(r.Steps) == 0 {
		return r, fmt.Errorf("seed_recipe output: no steps")
	}
	if r.TotalStepSeconds == 0 {
		for _, s := range r.Steps {
			r.TotalStepSeconds += s.Seconds
		}
	}
	return r, nil
}

// goStepStats is the median of each step over runs, in the pipeline's order
// (steps it does not list come after, in first-seen order).
func goStepStats(runs []GoRun) []StepStat {
	secs := map[string][]float64{}
	peaks := map[string][]float64{}
	rowsIn := map[string]int64{}
	rowsOut := map[string]int64{}
	var order []string
	for _, r := range runs {
		for _, s := range r.Steps {
			if _, ok := secs[s.Step]; !ok {
				order = append(order, s.Step)
			}
			secs[s.Step] = append(secs[s.Step], s.Seconds)
			peaks[s.Step] = append(peaks[s.Step], s.PeakRSSMB)
			rowsIn[s.Step], rowsOut[s.Step] = s.RowsIn, s.RowsOut
		}
	}
	order = orderSteps(order, goStepOrder)
	out := make([]StepStat, 0, len(order))
	for _, name := range order {
		out = append(out, StepStat{
			Step: name, Seconds: median(secs[name]), MinSeconds: slices.Min(secs[name]), MaxSeconds: slices.Max(secs[name]),
			PeakRSSMB: median(peaks[name]), RowsIn: rowsIn[name], RowsOut: rowsOut[name],
		})
	}
	return out
}

func pyStepStats(runs []PyRun) []StepStat {
	secs := map[string][]float64{}
	peaks := map[string][]float64{}
	var order []string
	for _, r := range runs {
		for _, s := range r.Steps {
			if _, ok := secs[s.Step]; !ok {
				order = append(order, s.Step)
			}
			secs[s.Step] = append(secs[s.Step], s.Seconds)
			peaks[s.Step] = append(peaks[s.Step], s.PeakRSSMB)
		}
	}
	out := make([]StepStat, 0, len(order))
	for _, name := range order {
		out = append(out, StepStat{
			Step: name, Seconds: median(secs[name]), MinSeconds: slices.Min(secs[name]), MaxSeconds: slices.Max(secs[name]),
			PeakRSSMB: median(peaks[name]),
		})
	}
	return out
}

// orderSteps sorts names by their place in ref; unknown names keep their
// order after the known ones.
func orderSteps(names, ref []string) []string {
	out := slices.Clone(names)
	slices.SortStableFunc(out, func(a, b string) int {
		ia, ib := slices.Index(ref, a), slices.Index(ref, b)
		if ia < 0 {
			ia = len(ref)
		}
		if ib < 0 {
			ib = len(ref)
		}
		return ia - ib
	})
	return out
}

// groupValue sums a group's step seconds and takes the max of their peaks in
// one run; ok is false when the run has none of the group's steps.
func groupValue[S any](steps []S, names []string, name func(S) string, secs, peak func(S) float64) (sec, pk float64, ok bool) {
	for _, s := range steps {
		if slices.Contains(names, name(s)) {
			sec += secs(s)
			pk = math.Max(pk, peak(s))
			ok = true
		}
	}
	return sec, pk, ok
}

// compareChain builds the group table and totals from the runs.
func compareChain(gos []GoRun, pys []PyRun) ([]GroupCompare, Totals) {
	var groups []GroupCompare
	covered := map[string]bool{}
	addGroup := func(name string, goNames, pyNames []string) {
		var gs, gp, ps, pp []float64
		for _, r := range gos {
			if s, p, ok := groupValue(r.Steps, goNames, func(s GoStep) string { return s.Step },
				func(s GoStep) float64 { return s.Seconds }, func(s GoStep) float64 { return s.PeakRSSMB }); ok {
				gs, gp = append(gs, s), append(gp, p)
			}
		}
		for _, r := range pys {
			if s, p, ok := groupValue(r.Steps, pyNames, func(s PyStep) string { return s.Step },
				func(s PyStep) float64 { return s.Seconds }, func(s PyStep) float64 { return s.PeakRSSMB }); ok {
				ps, pp = append(ps, s), append(pp, p)
			}
		}
		if len(gs) == 0 && len(ps) == 0 {
			return
		}
		g := GroupCompare{Name: name, GoSteps: goNames, PySteps: pyNames,
			GoSeconds: optNum(gs), PySeconds: optNum(ps), GoPeakMB: optNum(gp), PyPeakMB: optNum(pp)}
		g.Speedup = ratio(float64(g.PySeconds), float64(g.GoSeconds))
		groups = append(groups, g)
	}
	for _, g := range stepGroups {
		addGroup(g.Name, g.Go, g.Py)
		for _, n := range g.Go {
			covered["go:"+n] = true
		}
		for _, n := range g.Py {
			covered["py:"+n] = true
		}
	}
	// Steps the mapping does not know are shown on their own, never dropped.
	for _, r := range gos {
		for _, s := range r.Steps {
			if !covered["go:"+s.Step] {
				covered["go:"+s.Step] = true
				addGroup(s.Step+" (Go only)", []string{s.Step}, nil)
			}
		}
	}
	for _, r := range pys {
		for _, s := range r.Steps {
			if !covered["py:"+s.Step] {
				covered["py:"+s.Step] = true
				addGroup(s.Step+" (Python only)", nil, []string{s.Step})
			}
		}
	}

	var t Totals
	var gStep, pStep, gWall, pWall, gCPU, pCPU, gRSS, pRSS []float64
	for _, r := range gos {
		gStep = append(gStep, r.TotalSeconds)
		gWall = append(gWall, r.Proc.WallSeconds)
		gCPU = append(gCPU, r.Proc.UserSeconds+r.Proc.SysSeconds)
		gRSS = append(gRSS, r.Proc.MaxRSSMB)
	}
	for _, r := range pys {
		pStep = append(pStep, r.TotalStepSeconds)
		pWall = append(pWall, r.Proc.WallSeconds)
		pCPU = append(pCPU, r.Proc.UserSeconds+r.Proc.SysSeconds)
		pRSS = append(pRSS, r.Proc.MaxRSSMB)
	}
	t.GoStepSeconds, t.PyStepSeconds = optNum(gStep), optNum(pStep)
	t.StepSpeedup = ratio(float64(t.PyStepSeconds), float64(t.GoStepSeconds))
	t.GoWallSeconds, t.PyWallSeconds = optNum(gWall), optNum(pWall)
	t.WallSpeedup = ratio(float64(t.PyWallSeconds), float64(t.GoWallSeconds))
	t.GoCPUSeconds, t.PyCPUSeconds = optNum(gCPU), optNum(pCPU)
	t.GoMaxRSSMB, t.PyMaxRSSMB = optNum(gRSS), optNum(pRSS)
	t.MemoryRatio = ratio(float64(t.PyMaxRSSMB), float64(t.GoMaxRSSMB))
	return groups, t
}

// optNum is the median, undefined for no values or only zeros (not measured).
func optNum(xs []float64) Num {
	m := median(xs)
	if !(m > 0) {
		return NaN
	}
	return Num(m)
}

// runGoPipeline runs the built pipeline once into a fresh directory.
func (b *bench) runGoPipeline(ctx context.Context, crimes, tag string) (GoRun, string, error) {
	out := filepath.Join(b.work, "runs", "go-"+tag)
	if err := os.RemoveAll(out); err != nil {
		return GoRun{}, "", fmt.Errorf("clear %s: %w", out, err)
	}
	args := append([]string{"-crimes", crimes, "-stations", b.cfg.Stations, "-as-of", b.cfg.AsOf, "-out", out, "-json"}, b.cfg.PipelineArgs...)
	stdout, proc, err := b.run(ctx, "pipeline-"+tag, b.bin("pipeline"), args, b.cfg.PipelineEnv, b.cfg.RunTimeout)
	if err != nil {
		return GoRun{}, out, err
	}
	r, err := parseGoRun(stdout)
	if err != nil {
		return r, out, err
	}
	r.Proc = proc
	// cmd/pipeline resets the kernel's high-water mark before each step (so
	// each step's peak is its own), which also resets what rusage reports at
	// exit: the process's peak is the larger of that and every step's peak.
	for _, s := range r.Steps {
		r.Proc.MaxRSSMB = math.Max(r.Proc.MaxRSSMB, s.PeakRSSMB)
	}
	return r, out, nil
}

// runPython runs seed_recipe.py once into a fresh directory.
func (b *bench) runPython(ctx context.Context, tag string) (PyRun, string, error) {
	out := filepath.Join(b.work, "runs", "py-"+tag)
	if err := os.RemoveAll(out); err != nil {
		return PyRun{}, "", fmt.Errorf("clear %s: %w", out, err)
	}
	args := []string{b.seedRecipe(), "--crimes", b.cfg.Crimes, "--stations", b.cfg.Stations, "--out", out, "--json"}
	stdout, proc, err := b.run(ctx, "seed_recipe-"+tag, b.cfg.Python, args, nil, b.cfg.RunTimeout)
	if err != nil {
		return PyRun{}, out, err
	}
	r, err := parsePyRun(stdout)
	if err != nil {
		return r, out, err
	}
	r.Proc = proc
	return r, out, nil
}

// chain runs Go and Python interleaved (Go, Python, Go, Python, ...) so a
// machine that slows down or speeds up mid-way weighs on both alike.
func (b *bench) chain(ctx context.Context) *ChainPart {
	p := &ChainPart{MeasuredAt: time.Now().UTC(), Runs: b.cfg.Runs, Crimes: b.rel(b.cfg.Crimes)}
	p.GoCommand = strings.Join(append(slices.Clone(b.cfg.PipelineEnv), ""), " ") + "pipeline -crimes " + b.rel(b.cfg.Crimes) + " -stations " + b.rel(b.cfg.Stations) + " -as-of " + b.cfg.AsOf + " -out DIR -json " + strings.Join(b.cfg.PipelineArgs, " ")
	p.PyCommand = b.cfg.Python + " bench/reference/seed_recipe.py --crimes " + b.rel(b.cfg.Crimes) + " --stations " + b.rel(b.cfg.Stations) + " --out DIR --json"
	haveGo, havePy := b.haveGoPipeline(), b.havePython()
	if !haveGo && !havePy {
		p.Skipped = "neither cmd/pipeline nor the Python reference can run: " + b.whyNot()
		return p
	}
	if havePy {
		b.warmPython(ctx)
	}
	for i := 0; i < b.cfg.Runs; i++ {
		tag := fmt.Sprintf("chain-%d", i+1)
		if haveGo {
			slog.Info("chain: Go pipeline", "run", i+1, "of", b.cfg.Runs)
			r, dir, err := b.runGoPipeline(ctx, b.cfg.Crimes, tag)
			if err != nil {
				p.Errors = append(p.Errors, fmt.Sprintf("Go run %d: %v", i+1, err))
			} else {
				p.GoRuns = append(p.GoRuns, r)
				b.chainRuns = append(b.chainRuns, r)
				slog.Info("chain: Go pipeline done", "run", i+1, "total_seconds", r.TotalSeconds, "max_rss_mb", r.Proc.MaxRSSMB)
				b.keepArtifact(r, dir)
			}
			os.RemoveAll(dir)
		}
		if havePy {
			slog.Info("chain: Python reference", "run", i+1, "of", b.cfg.Runs)
			r, dir, err := b.runPython(ctx, tag)
			if err != nil {
				p.Errors = append(p.Errors, fmt.Sprintf("Python run %d: %v", i+1, err))
				os.RemoveAll(dir)
			} else {
				p.PyRuns = append(p.PyRuns, r)
				slog.Info("chain: Python reference done", "run", i+1, "total_step_seconds", r.TotalStepSeconds, "max_rss_mb", r.Proc.MaxRSSMB)
				b.keepMLReady(dir)
			}
		}
		if ctx.Err() != nil {
			break
		}
	}
	if !haveGo {
		p.Errors = append(p.Errors, "Go side not run: "+b.whyNot())
	}
	if !havePy {
		p.Errors = append(p.Errors, "Python side not run: "+b.whyNot())
	}
	p.GoSteps = goStepStats(p.GoRuns)
	p.PySteps = pyStepStats(p.PyRuns)
	p.Groups, p.Totals = compareChain(p.GoRuns, p.PyRuns)
	if n := len(p.GoRuns); n > 0 {
		p.GoMetrics = p.GoRuns[n-1].Metrics
		p.GoFeatures = p.GoRuns[n-1].Features
	}
	if n := len(p.PyRuns); n > 0 {
		p.PyMetrics = p.PyRuns[n-1].TestMetrics
		p.PyKeptFeatures = p.PyRuns[n-1].KeptFeatures
	}
	return p
}

// warmPython imports the libraries once so the first timed run does not pay
// for reading them from disk.
func (b *bench) warmPython(ctx context.Context) {
	b.run(ctx, "python-warm", b.cfg.Python, []string{"-c", "import pandas, sklearn, imblearn, xgboost, scipy"}, nil, 5*time.Minute)
}

// keepArtifact copies the model of a Go run for the predict benchmark.
func (b *bench) keepArtifact(r GoRun, outDir string) {
	src := r.Artifact
	if src == "" {
		src = filepath.Join(outDir, "models", "arrest", b.cfg.AsOf, "model.json")
	} else if !filepath.IsAbs(src) && !fileExists(src) {
		src = filepath.Join(outDir, src)
	}
	data, err := os.ReadFile(src)
	if err != nil {
		slog.Warn("no artifact to keep", "path", src, "err", err)
		return
	}
	dst := b.artifactPath()
	os.MkdirAll(filepath.Dir(dst), 0o755)
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		slog.Warn("keep artifact", "err", err)
	}
}

// keepMLReady keeps the last Python run's ml-ready train/test for FastAPI.
func (b *bench) keepMLReady(dir string) {
	dst := b.mlReadyDir()
	os.RemoveAll(dst)
	os.MkdirAll(filepath.Dir(dst), 0o755)
	if err := os.Rename(dir, dst); err != nil {
		slog.Warn("keep ml-ready data", "err", err)
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
