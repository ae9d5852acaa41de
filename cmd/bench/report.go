package main

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// renderMarkdown writes bench/results.md from the results.
func renderMarkdown(r *Results) string {
	var w mdWriter
	w.line("# ArrestCast benchmarks")
	w.line("")
	w.line("Written by `%s` (`make bench`); how each number is taken: [README.md](README.md). Raw numbers: [results.json](results.json).", r.Command)
	w.line("")
	renderMachine(&w, r.Machine)
	renderSummary(&w, r)
	if r.Chain != nil {
		renderChain(&w, r.Chain, r.Machine.Date)
	}
	if r.Predict != nil {
		renderPredict(&w, r.Predict, r.Seed, r.Machine.Date)
	}
	if r.Scale != nil {
		renderScale(&w, r.Scale, r.Machine.Date)
	}
	if r.Micro != nil {
		renderMicro(&w, r.Micro, r.Machine.Date)
	}
	if len(r.Notes) > 0 {
		w.line("## Notes")
		w.line("")
		for _, n := range r.Notes {
			w.line("- %s", n)
		}
		w.line("")
	}
	return w.String()
}

type mdWriter struct{ strings.Builder }

func (w *mdWriter) line(format string, args ...any) {
	fmt.Fprintf(w, format, args...)
	w.WriteByte('\n')
}

// row writes a table row; cells must not contain "|".
func (w *mdWriter) row(cells ...string) {
	for i, c := range cells {
		cells[i] = strings.ReplaceAll(c, "|", "\\|")
	}
	w.line("| %s |", strings.Join(cells, " | "))
}

// header writes a table header: the first column left-aligned, the others
// (numbers) right-aligned.
func (w *mdWriter) header(cells ...string) {
	w.headerAligned("l"+strings.Repeat("r", max(0, len(cells)-1)), cells...)
}

// headerAligned takes one letter per column: l(eft) or r(ight).
func (w *mdWriter) headerAligned(align string, cells ...string) {
	w.row(cells...)
	seps := make([]string, len(cells))
	for i := range seps {
		seps[i] = "---"
		if i < len(align) && align[i] == 'r' {
			seps[i] = "---:"
		}
	}
	w.line("|%s|", strings.Join(seps, "|"))
}

func renderMachine(w *mdWriter, m Machine) {
	w.line("## Machine")
	w.line("")
	w.line("| | |")
	w.line("|---|---|")
	w.row("date", m.Date.Format("2006-01-02 15:04 MST"))
	w.row("CPU", fmt.Sprintf("%s, %d cores", orDash(m.CPU), m.Cores))
	w.row("memory", fmt.Sprintf("%.1f GiB", float64(m.MemoryMB)/1024))
	w.row("system", strings.TrimSpace(m.OS+", kernel "+m.Kernel))
	w.row("load average at start", orDash(m.LoadAverage))
	w.row("Go", orDash(m.Go))
	py := orDash(m.Python)
	if len(m.Libraries) > 0 {
		var libs []string
		for _, k := range sortedKeys(m.Libraries) {
			if k != "wrk" {
				libs = append(libs, k+" "+m.Libraries[k])
			}
		}
		py += " — " + strings.Join(libs, ", ")
	}
	w.row("Python", py)
	if v, ok := m.Libraries["wrk"]; ok {
		w.row("wrk", v)
	}
	if m.Commit != "" {
		w.row("commit", m.Commit)
	}
	w.line("")
}

func renderSummary(w *mdWriter, r *Results) {
	w.line("## Summary")
	w.line("")
	w.headerAligned("lrrrl", "", "Go", "Python reference (measured here)", "seed's numbers (same machine kind)", "Go against Python")
	if c := r.Chain; c != nil && c.Skipped == "" {
		t := c.Totals
		w.row("whole chain, sum of step seconds (median)", secs(t.GoStepSeconds), secs(t.PyStepSeconds),
			fmt.Sprintf("%.1f s", r.Seed.ComputeSeconds), faster(t.StepSpeedup))
		w.row("whole chain, process wall time", secs(t.GoWallSeconds), secs(t.PyWallSeconds),
			fmt.Sprintf("%.0f s", r.Seed.WallSeconds), faster(t.WallSpeedup))
		w.row("whole chain, process peak memory", mb(t.GoMaxRSSMB), mb(t.PyMaxRSSMB),
			fmt.Sprintf("%.0f MB", r.Seed.PeakMB), less(t.MemoryRatio))
	}
	if p := r.Predict; p != nil && p.Skipped == "" {
		for _, c := range p.Compare {
			seed := "–"
			switch c.Connections {
			case 1:
				seed = fmt.Sprintf("%.0f req/s, p99 %.1f ms", r.Seed.RPS1, r.Seed.P99ms1)
			case 16:
				seed = fmt.Sprintf("%.0f req/s, p99 %.0f ms", r.Seed.RPS16, r.Seed.P99ms16)
			}
			w.row(fmt.Sprintf("predict, %d connection%s", c.Connections, plural(c.Connections)),
				rpsP99(c.GoRPS, c.GoP99ms), rpsP99(c.PyRPS, c.PyP99ms), seed, throughput(c.Speedup))
		}
	}
	if s := r.Scale; s != nil && s.Skipped == "" {
		within := "not run (needs the " + fmt.Sprint(s.LimitFactor) + "× size)"
		if s.LimitChecked {
			within = yesNo(s.AllWithin)
		}
		w.row(fmt.Sprintf("scale: every step at %d× within %.0f s and %.0f MB", s.LimitFactor, s.LimitSeconds, s.LimitMB), within, "", "", "")
		w.row("scale: growth no worse than linear (n log n for sort/tree steps)", yesNo(s.GrowthOK), "", "", "")
	}
	w.line("")
}

func renderChain(w *mdWriter, c *ChainPart, machineDate time.Time) {
	w.line("## Whole chain: Go against the Python reference")
	w.line("")
	w.measured(c.MeasuredAt, machineDate)
	if c.Skipped != "" {
		w.line("Not run: %s", c.Skipped)
		w.line("")
		return
	}
	w.line("%d run%s of each on `%s`, interleaved (Go, Python, Go, Python, …); medians. Go: `%s` (built once, not `go run`). Python: `%s`.",
		c.Runs, plural(c.Runs), c.Crimes, strings.TrimSpace(c.GoCommand), c.PyCommand)
	w.line("Step seconds are what each program reports around its steps; process rows are the kernel's (wall, user+sys CPU, peak RSS of the whole process, start-up and imports included).")
	w.line("")
	w.header("step (Go steps ↔ Python steps)", "Go s", "Python s", "Go faster by", "Go peak MB", "Python peak MB")
	for _, g := range c.Groups {
		name := g.Name
		if len(g.GoSteps) > 1 || len(g.PySteps) > 1 || (len(g.GoSteps) == 1 && len(g.PySteps) == 1 && g.GoSteps[0] != g.PySteps[0]) {
			name = fmt.Sprintf("%s (%s ↔ %s)", g.Name, orDash(strings.Join(g.GoSteps, "+")), orDash(strings.Join(g.PySteps, "+")))
		}
		w.row(name, secs(g.GoSeconds), secs(g.PySeconds), speedup(g.Speedup), mb(g.GoPeakMB), mb(g.PyPeakMB))
	}
	t := c.Totals
	w.row("**total (sum of steps)**", "**"+secs(t.GoStepSeconds)+"**", "**"+secs(t.PyStepSeconds)+"**", "**"+speedup(t.StepSpeedup)+"**", "", "")
	w.row("process wall time", secs(t.GoWallSeconds), secs(t.PyWallSeconds), speedup(t.WallSpeedup), "", "")
	w.row("process CPU time (user + sys)", secs(t.GoCPUSeconds), secs(t.PyCPUSeconds), speedup(ratio(float64(t.PyCPUSeconds), float64(t.GoCPUSeconds))), "", "")
	w.row("process peak RSS", "", "", "", mb(t.GoMaxRSSMB), mb(t.PyMaxRSSMB))
	w.line("")
	w.line("Peak MB is each program's own report: Go's is the peak RSS during that step alone (cmd/pipeline resets the kernel's high-water mark before each step); Python's is ru_maxrss at the end of the step, the process's peak so far, so it never falls. The process row is the whole run's peak for both (for Go, the larger of the kernel's figure and every step's peak).")
	w.line("")
	if strings.Contains(c.GoCommand, "-no-search") {
		w.line("Both train rows fit one gradient-boosted model with fixed parameters (Go: cmd/pipeline -no-search, gbt's defaults, 250 trees of up to 255 leaves, within the train function's time limit; Python: the seed's XGBoost, 200 trees, depth 8). Go's train also fits a logistic-regression baseline, compares with the champion and checks that the artifact replays the preprocessing on raw records; the deployed function also runs a time-bounded hyperparameter search (TRAIN_BUDGET), left out here.")
	} else {
		w.line("The train rows do not do the same work: Go's train searches gradient-boosted trees' hyperparameters by successive halving within its time budget (cmd/pipeline -train-budget), fits a logistic-regression baseline and checks that the artifact replays the preprocessing on raw records; Python's fits one XGBoost with the seed's fixed parameters (200 trees, depth 8).")
	}
	w.line("")
	if len(c.GoSteps) > 0 {
		w.line("### Go steps (median of %d)", len(c.GoRuns))
		w.line("")
		w.header("step", "seconds", "min–max", "rows in", "rows out", "peak RSS MB")
		for _, s := range c.GoSteps {
			w.row(s.Step, fmt.Sprintf("%.3f", s.Seconds), fmt.Sprintf("%.3f–%.3f", s.MinSeconds, s.MaxSeconds),
				count(s.RowsIn), count(s.RowsOut), fmt.Sprintf("%.0f", s.PeakRSSMB))
		}
		w.line("")
	}
	if len(c.PySteps) > 0 {
		w.line("### Python steps (median of %d)", len(c.PyRuns))
		w.line("")
		w.header("step", "seconds", "min–max", "peak RSS MB")
		for _, s := range c.PySteps {
			w.row(s.Step, fmt.Sprintf("%.3f", s.Seconds), fmt.Sprintf("%.3f–%.3f", s.MinSeconds, s.MaxSeconds), fmt.Sprintf("%.0f", s.PeakRSSMB))
		}
		w.line("")
	}
	if len(c.GoMetrics) > 0 || len(c.PyMetrics) > 0 {
		w.line("### Test metrics of the last run (threshold 0.5)")
		w.line("")
		w.header("metric", "Go", "Python")
		keys := sortedKeys(c.GoMetrics)
		for _, k := range sortedKeys(c.PyMetrics) {
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
		for _, k := range keys {
			w.row(k, metric(c.GoMetrics, k), metric(c.PyMetrics, k))
		}
		w.line("")
		if len(c.GoFeatures) > 0 {
			w.line("Go kept features: %s.", strings.Join(c.GoFeatures, ", "))
			w.line("")
		}
		if len(c.PyKeptFeatures) > 0 {
			w.line("Python kept features: %s.", strings.Join(c.PyKeptFeatures, ", "))
			w.line("")
		}
	}
	if len(c.Errors) > 0 {
		w.line("Problems:")
		w.line("")
		for _, e := range c.Errors {
			w.line("- %s", oneLine(e))
		}
		w.line("")
	}
}

func renderPredict(w *mdWriter, p *PredictPart, seed SeedNumbers, machineDate time.Time) {
	w.line("## Predict under load")
	w.line("")
	w.measured(p.MeasuredAt, machineDate)
	if p.Skipped != "" {
		w.line("Not run: %s", p.Skipped)
		w.line("")
		return
	}
	w.line("Each server runs alone as its own process; `internal/loadgen` (closed loop: every connection keeps one request in flight, keep-alive) loads it for %.0f s after a %.0f s warm-up, cycling %d distinct bodies made from real 2017 rows. Server and load generator share the machine's cores, as with wrk in the seed's measurement. Our predict takes raw portal records and does the whole preprocessing per request; FastAPI takes the already-encoded floats (the caller's job in the seed).",
		p.DurationSeconds, p.WarmupSeconds, p.Bodies)
	w.line("")
	w.header("connections", "predict (Go) req/s", "FastAPI req/s", "Go faster by", "Go p50 / p99 ms", "FastAPI p50 / p99 ms", "seed's FastAPI (wrk)")
	for _, c := range p.Compare {
		seedCell := "–"
		switch c.Connections {
		case 1:
			seedCell = fmt.Sprintf("%.0f req/s, p99 %.1f ms", seed.RPS1, seed.P99ms1)
		case 16:
			seedCell = fmt.Sprintf("%.0f req/s, p99 %.0f ms", seed.RPS16, seed.P99ms16)
		}
		w.row(fmt.Sprint(c.Connections), rps(c.GoRPS), rps(c.PyRPS), speedup(c.Speedup),
			fmt.Sprintf("%s / %s", ms(c.GoP50ms), ms(c.GoP99ms)), fmt.Sprintf("%s / %s", ms(c.PyP50ms), ms(c.PyP99ms)), seedCell)
	}
	w.line("")
	w.line("### Per server")
	w.line("")
	w.headerAligned("lrrrrrrlrr", "server", "connections", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors", "wrk req/s", "wrk p50 / p99 ms")
	for _, s := range p.Servers {
		for _, l := range s.Levels {
			cells := []string{s.Name, fmt.Sprint(l.Connections), "–", "–", "–", "–", "–", "–", "–", "–"}
			if g := l.Loadgen; g != nil {
				cells[2] = fmt.Sprintf("%.0f", g.RequestsPerSec)
				cells[3], cells[4] = fmt.Sprintf("%.2f", g.Latency.P50), fmt.Sprintf("%.2f", g.Latency.P90)
				cells[5], cells[6] = fmt.Sprintf("%.2f", g.Latency.P99), fmt.Sprintf("%.1f", g.Latency.Max)
				cells[7] = errorsCell(g.Errors, g.ErrorsByKind)
			}
			if l.Error != "" {
				cells[7] = oneLine(l.Error)
			}
			if x := l.Wrk; x != nil {
				cells[8] = fmt.Sprintf("%.0f", x.RPS)
				cells[9] = fmt.Sprintf("%.2f / %.2f", x.P50ms, x.P99ms)
			}
			w.row(cells...)
		}
	}
	w.line("")
	for _, s := range p.Servers {
		w.line("- **%s**: %s", s.Name, orDash(s.Description))
		if s.Error != "" {
			w.line("  - problem: %s", oneLine(s.Error))
		}
		if s.StartupSeconds > 0 {
			w.line("  - ready after %.1f s; peak RSS %.0f MB after the load test", s.StartupSeconds, s.MaxRSSMB)
		}
		if s.SampleRequest != "" {
			w.line("  - request `%s`", clip(s.SampleRequest, 400))
			w.line("  - answer `%s`", clip(s.SampleResponse, 200))
		}
	}
	w.line("")
}

func renderScale(w *mdWriter, p *ScalePart, machineDate time.Time) {
	w.line("## Scale: the Go chain on more data")
	w.line("")
	w.measured(p.MeasuredAt, machineDate)
	if p.Skipped != "" {
		w.line("Not run: %s", p.Skipped)
		w.line("")
		return
	}
	w.line("The 2017 year replicated by `cmd/scaledata` (new IDs and case numbers, X/Y moved by at most 5 feet, dates kept), runs of `cmd/pipeline` per size: below 16× the step figures are per-step medians of several runs (the short sizes are the noisiest), 16× runs once; the sum and process columns are those of the run with the median sum.")
	w.line("")
	w.headerAligned("lrrrrrrl", "factor", "rows", "runs", "sum of steps s", "process wall s", "process peak MB", "trees", "file")
	stopped := false
	for _, s := range p.Sizes {
		if s.Error != "" {
			w.row(fmt.Sprintf("%d×", s.Factor), "–", "–", "–", "–", "–", "–", "failed: "+oneLine(s.Error))
			continue
		}
		file := "`" + s.File + "`"
		if s.FromChain {
			file += " (the chain part's Go runs)"
		}
		trees := "–"
		if s.Trees > 0 {
			trees = strconv.Itoa(s.Trees)
			if s.StoppedAtTimeLimit {
				trees += "*"
				stopped = true
			}
		}
		w.row(fmt.Sprintf("%d×", s.Factor), count(s.Rows), strconv.Itoa(max(s.Runs, 1)), fmt.Sprintf("%.2f", s.TotalSeconds), fmt.Sprintf("%.2f", s.Proc.WallSeconds),
			fmt.Sprintf("%.0f", s.Proc.MaxRSSMB), trees, file)
	}
	if stopped {
		w.line("")
		w.line("\\* train stopped boosting to finish within its function's time limit (stack.yml's exec_timeout, passed as -step-timeout): the model has fewer trees than gbt's default 250, and says so in its manifest (`stopped_at_time_limit`).")
	}
	w.line("")
	var factors []string
	for _, s := range p.Sizes {
		if s.Error == "" && len(s.Steps) > 0 {
			factors = append(factors, fmt.Sprintf("%d×", s.Factor))
		}
	}
	cols := []string{"step"}
	for _, f := range factors {
		cols = append(cols, f+" s")
	}
	cols = append(cols, "exponent (s)", "time growth")
	for _, f := range factors {
		cols = append(cols, f+" MB")
	}
	cols = append(cols, "exponent (MB)", "memory growth")
	if p.LimitChecked {
		cols = append(cols, fmt.Sprintf("%d×: ≤ %.0f s and ≤ %.0f MB", p.LimitFactor, p.LimitSeconds, p.LimitMB))
	}
	w.header(cols...)
	for _, st := range p.Steps {
		cells := []string{st.Step}
		for i := range factors {
			cells = append(cells, at(st.Seconds, i, "%.3f"))
		}
		cells = append(cells, exps(st.SecondsExp), verdict(st.SecondsRule, st.NLogN))
		for i := range factors {
			cells = append(cells, at(st.PeakMB, i, "%.0f"))
		}
		cells = append(cells, exps(st.MBExp), verdict(st.MBRule, false))
		if p.LimitChecked {
			switch {
			case st.WithinLimit == nil:
				cells = append(cells, "")
			case *st.WithinLimit:
				cells = append(cells, "yes")
			default:
				cells = append(cells, "**no**")
			}
		}
		w.row(cells...)
	}
	w.line("")
	w.line("Exponent b of y ∝ rows^b between consecutive sizes; the growth verdict is taken between the two largest: linear when b ≤ %.2f, n log n when the step sorts or searches trees (%s) and b is within %.2f of n log n's own exponent over the same sizes; steps under %.2f s at the larger size, or memory growing by less than %d MB, are too small to judge.",
		1+growthTolerance, strings.Join(nlognSteps, ", "), growthTolerance, judgeFloorSeconds, judgeFloorMB)
	if !p.LimitChecked {
		w.line("The %d× size was not run (-quick or -scales): the 60 s / 1 GiB limits are unchecked.", p.LimitFactor)
	}
	w.line("")
	if p.Plot != "" {
		w.line("![seconds and peak MB per step against rows](%s)", p.Plot)
		w.line("")
	}
}

func renderMicro(w *mdWriter, p *MicroPart, machineDate time.Time) {
	w.line("## Go micro-benchmarks")
	w.line("")
	w.measured(p.MeasuredAt, machineDate)
	if p.Skipped != "" {
		w.line("Not run: %s", p.Skipped)
		w.line("")
		return
	}
	bt := p.Benchtime
	if bt == "" {
		bt = "1s (default)"
	}
	w.line("`go test -run '^$' -bench . -benchmem` in every `shared/` package with benchmarks (most on the real 2017 data), -benchtime %s.", bt)
	w.line("")
	w.headerAligned("llrrrrl", "package", "benchmark", "runs", "time/op", "memory/op", "allocs/op", "other")
	for _, r := range p.Results {
		var other []string
		for _, k := range sortedKeys(r.Extra) {
			other = append(other, fmt.Sprintf("%s %s", trimFloat(r.Extra[k]), k))
		}
		w.row(r.Package, r.Name, fmt.Sprint(r.Iterations), duration(r.NsPerOp), bytesSize(r.BytesPerOp),
			trimFloat(r.AllocsPerOp), strings.Join(other, ", "))
	}
	w.line("")
	for _, f := range p.Failed {
		w.line("- failed: %s", oneLine(f))
	}
	if len(p.Failed) > 0 {
		w.line("")
	}
}

// measured says when a part was measured if it was not with this run (a
// run with -only keeps the other parts of the previous results).
func (w *mdWriter) measured(at, machine time.Time) {
	if at.IsZero() || machine.IsZero() || !at.Before(machine) {
		return
	}
	w.line("_Kept from an earlier run on %s._", at.Format("2006-01-02 15:04 MST"))
	w.line("")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "–"
	}
	return s
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "**no**"
}

func secs(n Num) string {
	if !n.OK() {
		return "–"
	}
	if n < 10 {
		return fmt.Sprintf("%.2f s", float64(n))
	}
	return fmt.Sprintf("%.1f s", float64(n))
}

func mb(n Num) string {
	if !n.OK() {
		return "–"
	}
	return fmt.Sprintf("%.0f MB", float64(n))
}

func ms(n Num) string {
	if !n.OK() {
		return "–"
	}
	if n < 10 {
		return fmt.Sprintf("%.2f", float64(n))
	}
	return fmt.Sprintf("%.1f", float64(n))
}

func rps(n Num) string {
	if !n.OK() {
		return "–"
	}
	return fmt.Sprintf("%.0f", float64(n))
}

func rpsP99(r, p99 Num) string {
	if !r.OK() {
		return "–"
	}
	return fmt.Sprintf("%.0f req/s, p99 %s ms", float64(r), ms(p99))
}

// times writes a ratio as "7.4×".
func times(n Num) string {
	if !n.OK() {
		return "–"
	}
	if n < 10 {
		return fmt.Sprintf("%.2f×", float64(n))
	}
	return fmt.Sprintf("%.0f×", float64(n))
}

// speedup writes a Python ÷ Go ratio in a "Go faster by" column: "15×",
// or "1.92× slower" when Go is the slower one.
func speedup(n Num) string {
	if !n.OK() || n >= 1 {
		return times(n)
	}
	return times(1/n) + " slower"
}

func faster(n Num) string {
	if !n.OK() {
		return "–"
	}
	if n >= 1 {
		return times(n) + " faster"
	}
	return times(1/n) + " slower"
}

func throughput(n Num) string {
	if !n.OK() {
		return "–"
	}
	return times(n) + " the requests/s"
}

func less(n Num) string {
	if !n.OK() {
		return "–"
	}
	if n >= 1 {
		return times(n) + " less"
	}
	return times(1/n) + " more"
}

func count(n int64) string {
	if n == 0 {
		return "–"
	}
	s := fmt.Sprint(n)
	var out []byte
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

func metric(m map[string]float64, k string) string {
	v, ok := m[k]
	if !ok {
		return "–"
	}
	return fmt.Sprintf("%.4f", v)
}

func at(xs []float64, i int, format string) string {
	if i >= len(xs) {
		return "–"
	}
	return fmt.Sprintf(format, xs[i])
}

func exps(xs []Num) string {
	if len(xs) == 0 {
		return "–"
	}
	parts := make([]string, len(xs))
	for i, x := range xs {
		if x.OK() {
			parts[i] = fmt.Sprintf("%.2f", float64(x))
		} else {
			parts[i] = "–"
		}
	}
	return strings.Join(parts, ", ")
}

func verdict(v string, nlogn bool) string {
	switch v {
	case growthSuper:
		return "**super-linear**"
	case growthLinear:
		return "linear"
	case growthNLogN:
		return "n log n"
	}
	return v
}

func errorsCell(n int64, kinds map[string]int64) string {
	if n == 0 {
		return "0"
	}
	var parts []string
	for _, k := range sortedKeys(kinds) {
		parts = append(parts, fmt.Sprintf("%s %d", k, kinds[k]))
	}
	return fmt.Sprintf("%d (%s)", n, strings.Join(parts, ", "))
}

// duration writes nanoseconds in a readable unit.
func duration(ns float64) string {
	switch {
	case ns >= 1e9:
		return fmt.Sprintf("%.2f s", ns/1e9)
	case ns >= 1e6:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.2f µs", ns/1e3)
	}
	return fmt.Sprintf("%.1f ns", ns)
}

func bytesSize(b float64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.2f GiB", b/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", b/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.1f KiB", b/(1<<10))
	}
	return fmt.Sprintf("%.0f B", b)
}

func trimFloat(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.3g", v)
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return clip(s, 600)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
