package main

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"
)

// Limits every step must keep at the largest scale (the bar: a
// function's timeout and memory limit on faasd).
const (
	limitFactor  = 16
	limitSeconds = 60
	limitMB      = 1024
	// Below this many seconds at the larger size a step's growth is noise.
	judgeFloorSeconds = 0.5
	// Below this many MB of growth between sizes memory is the runtime's floor.
	judgeFloorMB = 64
)

// nlognSteps may sort or search trees, so n log n growth is allowed for them:
// merge sorts and deduplicates the window, enrich searches the stations,
// split deduplicates and sorts for the stratified split, balance and
// features search k nearest neighbours, train sorts feature values into bins.
var nlognSteps = []string{"merge", "enrich", "split", "balance", "features", "train"}

// scale runs the Go chain once on each size of the data.
func (b *bench) scale(ctx context.Context) *ScalePart {
	p := &ScalePart{MeasuredAt: time.Now().UTC(), Factors: b.cfg.Scales, LimitFactor: limitFactor,
		LimitSeconds: limitSeconds, LimitMB: limitMB}
	if !b.goOK {
		p.Skipped = "cmd/pipeline cannot run: " + b.whyNot()
		return p
	}
	for _, k := range b.cfg.Scales {
		size := ScaleSize{Factor: k, File: b.cfg.Crimes}
		if k > 1 {
			f, err := b.scaledFile(ctx, k)
			if err != nil {
				size.Error = err.Error()
				p.Sizes = append(p.Sizes, size)
				continue
			}
			size.File = f
		}
		// Sizes below the limit factor are short, so their per-step times
		// are the noisiest: the medians of several runs. The limit factor
		// runs once.
		var runs []GoRun
		var err error
		if k == 1 && len(b.chainRuns) > 0 {
			runs = b.chainRuns
			size.FromChain = true
		} else {
			n := b.cfg.ScaleRuns
			if k >= limitFactor || n < 1 {
				n = 1
			}
			for i := range n {
				slog.Info("scale: Go pipeline", "factor", k, "run", i+1, "of", n, "file", size.File)
				r, dir, rerr := b.runGoPipeline(ctx, size.File, fmt.Sprintf("scale-x%d-%d", k, i+1))
				os.RemoveAll(dir)
				if rerr != nil {
					err = rerr
					break
				}
				runs = append(runs, r)
			}
		}
		var r GoRun
		if err == nil {
			r, err = medianRun(runs)
			size.Runs = len(runs)
		}
		if err != nil {
			size.Error = err.Error()
		} else {
			size.Rows, size.TotalSeconds, size.Steps, size.Proc = r.Rows, r.TotalSeconds, r.Steps, r.Proc
			size.Trees, size.StoppedAtTimeLimit = r.Trees, r.StoppedAtTimeLimit
			slog.Info("scale: done", "factor", k, "rows", r.Rows, "total_seconds", r.TotalSeconds, "max_rss_mb", r.Proc.MaxRSSMB)
		}
		size.File = b.rel(size.File)
		p.Sizes = append(p.Sizes, size)
		if ctx.Err() != nil {
			break
		}
	}
	analyseScale(p)
	if len(p.Steps) > 0 {
		png := filepath.Join(b.cfg.Out, "scale.png")
		if err := plotScale(p, png); err != nil {
			slog.Warn("scale plot", "err", err)
		} else {
			p.Plot = "scale.png"
		}
	}
	return p
}

// scaledFile makes (once; it is kept in the work directory) the 2017 year
// replicated k times.
func (b *bench) scaledFile(ctx context.Context, k int) (string, error) {
	fi, err := os.Stat(b.cfg.Crimes)
	if err != nil {
		return "", err
	}
	// The name carries the input's size and time so a changed input is not
	// mistaken for the one the file came from.
	name := fmt.Sprintf("crimes_x%d_j5_s1_%d_%d.csv.gz", k, fi.Size(), fi.ModTime().Unix())
	path := filepath.Join(b.work, "scale", name)
	if fileExists(path) {
		return path, nil
	}
	os.MkdirAll(filepath.Dir(path), 0o755)
	slog.Info("scale: writing replicated data", "factor", k, "file", path)
	_, _, err = b.run(ctx, "scaledata-x"+strconv.Itoa(k), b.bin("scaledata"),
		[]string{"-in", b.cfg.Crimes, "-k", strconv.Itoa(k), "-jitter", "5", "-seed", "1", "-out", path}, nil, 30*time.Minute)
	if err != nil {
		return "", fmt.Errorf("replicate %d×: %w", k, err)
	}
	return path, nil
}

// analyseScale fits each step's growth and checks the limits.
func analyseScale(p *ScalePart) {
	var sizes []ScaleSize
	for _, s := range p.Sizes {
		if s.Error == "" && len(s.Steps) > 0 {
			sizes = append(sizes, s)
		}
	}
	slices.SortFunc(sizes, func(a, b ScaleSize) int { return a.Factor - b.Factor })
	var names []string
	for _, s := range sizes {
		for _, st := range s.Steps {
			if !slices.Contains(names, st.Step) {
				names = append(names, st.Step)
			}
		}
	}
	names = orderSteps(names, goStepOrder)
	names = append(names, "total")
	p.Steps = nil
	p.GrowthOK = len(sizes) >= 2
	var limitSize *ScaleSize
	for i := range sizes {
		if sizes[i].Factor == p.LimitFactor {
			limitSize = &sizes[i]
		}
	}
	p.LimitChecked = limitSize != nil
	p.AllWithin = limitSize != nil
	for _, name := range names {
		st := ScaleStep{Step: name, NLogN: slices.Contains(nlognSteps, name) || name == "total"}
		for _, s := range sizes {
			sec, mb, ok := stepOf(s, name)
			if !ok {
				continue
			}
			st.Rows = append(st.Rows, float64(s.Rows))
			st.Seconds = append(st.Seconds, sec)
			st.PeakMB = append(st.PeakMB, mb)
		}
		n := len(st.Rows)
		for i := 1; i < n; i++ {
			st.SecondsExp = append(st.SecondsExp, exponent(st.Rows[i-1], st.Seconds[i-1], st.Rows[i], st.Seconds[i]))
			st.MBExp = append(st.MBExp, exponent(st.Rows[i-1], st.PeakMB[i-1], st.Rows[i], st.PeakMB[i]))
		}
		st.SecondsFit = fitExponent(st.Rows, st.Seconds)
		st.MBFit = fitExponent(st.Rows, st.PeakMB)
		st.SecondsRule, st.MBRule = growthUndefined, growthUndefined
		if n >= 2 {
			// Judged between the two largest sizes, where growth is closest to
			// its asymptote and start-up costs weigh least.
			n1, n2 := st.Rows[n-2], st.Rows[n-1]
			st.SecondsRule = judgeGrowth(st.SecondsExp[n-2], n1, n2, st.Seconds[n-1], judgeFloorSeconds, st.NLogN)
			mbRule := judgeGrowth(st.MBExp[n-2], n1, n2, st.PeakMB[n-1], 0, false)
			if st.PeakMB[n-1]-st.PeakMB[n-2] < judgeFloorMB && mbRule == growthSuper {
				mbRule = growthTooShort
			}
			st.MBRule = mbRule
			if !growthOK(st.SecondsRule) || !growthOK(st.MBRule) {
				p.GrowthOK = false
			}
		}
		if limitSize != nil && name != "total" {
			if sec, mb, ok := stepOf(*limitSize, name); ok {
				within := sec <= p.LimitSeconds && mb <= p.LimitMB
				st.WithinLimit = &within
				if !within {
					p.AllWithin = false
				}
			}
		}
		p.Steps = append(p.Steps, st)
	}
}

// stepOf is a step's seconds and peak MB in one size ("total": the whole run
// and the process's peak).
func stepOf(s ScaleSize, name string) (sec, mb float64, ok bool) {
	if name == "total" {
		mb = s.Proc.MaxRSSMB
		for _, st := range s.Steps {
			mb = max(mb, st.PeakRSSMB)
		}
		return s.TotalSeconds, mb, true
	}
	for _, st := range s.Steps {
		if st.Step == name {
			return st.Seconds, st.PeakRSSMB, true
		}
	}
	return 0, 0, false
}

// medianRun is runs' per-step median seconds and peak MB (runs of the same
// chain on the same data), with the process figures and the model of the
// run whose total is the median.
func medianRun(runs []GoRun) (GoRun, error) {
	if len(runs) == 0 {
		return GoRun{}, fmt.Errorf("no run")
	}
	byTotal := slices.Clone(runs)
	slices.SortFunc(byTotal, func(a, b GoRun) int { return cmp.Compare(a.TotalSeconds, b.TotalSeconds) })
	out := byTotal[(len(byTotal)-1)/2]
	for _, r := range runs {
		if len(r.Steps) != len(out.Steps) {
			return GoRun{}, fmt.Errorf("runs differ in their steps")
		}
	}
	out.Steps = slices.Clone(out.Steps)
	for i, st := range out.Steps {
		var secs, mb []float64
		for _, r := range runs {
			if r.Steps[i].Step != st.Step {
				return GoRun{}, fmt.Errorf("runs differ in their steps")
			}
			secs, mb = append(secs, r.Steps[i].Seconds), append(mb, r.Steps[i].PeakRSSMB)
		}
		out.Steps[i].Seconds, out.Steps[i].PeakRSSMB = median(secs), median(mb)
	}
	return out, nil
}
