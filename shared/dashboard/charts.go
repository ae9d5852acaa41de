package dashboard

import (
	"fmt"
	"html/template"
	"math"
	"strings"

	"github.com/arrestcast/arrestcast/shared/ml/metrics"
)

// OperatingPoint is where a model's threshold puts it on its curves.
type OperatingPoint struct {
	Threshold float64 `json:"threshold"`
	FPR       float64 `json:"fpr"`
	TPR       float64 `json:"tpr"` // = recall
	Precision float64 `json:"precision"`
}

func operatingPoint(r *metrics.Report) OperatingPoint {
	c := r.Confusion
	ratio := func(a, b int) float64 {
		if b == 0 {
			return 0
		}
		return float64(a) / float64(b)
	}
	return OperatingPoint{Threshold: r.Threshold, FPR: ratio(c.FP, c.FP+c.TN), TPR: ratio(c.TP, c.TP+c.FN), Precision: ratio(c.TP, c.TP+c.FP)}
}

var unitTicks = []float64{0, 0.2, 0.4, 0.6, 0.8, 1}

func unitLabel(v float64) string { return fixed(v, 1) }

// rocChart draws the stored ROC points, the chance diagonal and the
// operating point at the model's threshold.
func rocChart(r *metrics.Report) template.HTML {
	p := newPlot(380, 340, "roc", fmt.Sprintf("ROC curve, AUC %s", num(r.ROCAUC)))
	p.yAxis(unitTicks, unitLabel, "true positive rate")
	p.xAxis(unitTicks, unitLabel, "false positive rate")
	p.line(p.x(0), p.y(0), p.x(1), p.y(1), "ref")
	if r.ROC != nil {
		p.polyline("curve c1", "roc", r.ROC.FPR, r.ROC.TPR)
	}
	op := operatingPoint(r)
	p.dot(p.x(op.FPR), p.y(op.TPR), 5, "op", fmt.Sprintf("threshold %s: FPR %s, TPR %s", fixed(op.Threshold, 2), num(op.FPR), num(op.TPR)))
	p.text(p.x(op.FPR)+8, p.y(op.TPR)+14, "note", "start", "threshold "+fixed(op.Threshold, 2))
	p.text(p.x(1)-4, p.y(0)-8, "big", "end", "AUC "+num(r.ROCAUC))
	return p.svg()
}

// prChart draws the stored precision-recall points, the base rate (the
// precision of guessing) and the operating point.
func prChart(r *metrics.Report) template.HTML {
	p := newPlot(380, 340, "pr", fmt.Sprintf("precision-recall curve, AP %s", num(r.AveragePrecision)))
	p.yAxis(unitTicks, unitLabel, "precision")
	p.xAxis(unitTicks, unitLabel, "recall")
	base := 0.0
	if r.N > 0 {
		base = float64(r.Positives) / float64(r.N)
	}
	p.line(p.x(0), p.y(base), p.x(1), p.y(base), "ref")
	p.text(p.x(1)-4, p.y(base)-5, "note", "end", "base rate "+num(base))
	if r.PR != nil {
		p.polyline("curve c1", "pr", r.PR.Recall, r.PR.Precision)
	}
	op := operatingPoint(r)
	p.dot(p.x(op.TPR), p.y(op.Precision), 5, "op", fmt.Sprintf("threshold %s: recall %s, precision %s", fixed(op.Threshold, 2), num(op.TPR), num(op.Precision)))
	p.text(p.x(op.TPR)-8, p.y(op.Precision)+16, "note", "end", "threshold "+fixed(op.Threshold, 2))
	p.text(p.x(0)+6, p.y(0)-8, "big", "start", "AP "+num(r.AveragePrecision))
	return p.svg()
}

// reliabilityChart draws each non-empty bin's mean predicted probability
// against its observed share of arrests, above a histogram of the bins' rows.
func reliabilityChart(c *metrics.Calibration) template.HTML {
	p := newPlot(380, 430, "reliability", "reliability diagram")
	p.bot = 150
	p.yAxis(unitTicks, unitLabel, "observed arrest share")
	p.line(p.x(0), p.y(0), p.x(1), p.y(1), "ref")
	if c == nil || len(c.Bin) == 0 {
		return p.svg()
	}
	p.polyline("curve c1", "calibration", c.ProbPred, c.ProbTrue)
	for i := range c.Bin {
		p.dot(p.x(c.ProbPred[i]), p.y(c.ProbTrue[i]), 3.5, "pt c1", fmt.Sprintf("bin %s: predicted %s, observed %s, %s rows",
			binRange(c, c.Bin[i]), num(c.ProbPred[i]), num(c.ProbTrue[i]), count(int64(c.Count[i]))))
	}
	// The count histogram under it, on the same x scale.
	top, bottom := p.h-p.bot+26, p.h-36
	maxCount := 0
	for _, n := range c.Count {
		maxCount = max(maxCount, n)
	}
	for i, b := range c.Bin {
		lo, hi := c.Edges[b], c.Edges[b+1]
		h := (bottom - top) * float64(c.Count[i]) / float64(max(maxCount, 1))
		p.printf(`<rect class="bar c2" data-series="counts" x="%s" y="%s" width="%s" height="%s"><title>%s</title></rect>`,
			f1(p.x(lo)+0.5), f1(bottom-h), f1(max(p.x(hi)-p.x(lo)-1, 1)), f1(h),
			fmt.Sprintf("bin %s: %s rows", binRange(c, b), count(int64(c.Count[i]))))
	}
	p.line(p.left, bottom, p.w-p.right, bottom, "axis")
	p.text(p.left-6, top+8, "tick", "end", count(int64(maxCount)))
	p.text(p.left-6, bottom, "tick", "end", "0")
	p.text(12, (top+bottom)/2, "axis-title", "middle", "")
	for _, t := range unitTicks {
		p.text(p.x(t), bottom+16, "tick", "middle", unitLabel(t))
	}
	p.text((p.left+p.w-p.right)/2, p.h-6, "axis-title", "middle", "mean predicted probability (bars: rows per bin)")
	return p.svg()
}

func binRange(c *metrics.Calibration, b int) string {
	return fixed(c.Edges[b], 2) + "–" + fixed(c.Edges[b+1], 2)
}

// barsChart draws labelled horizontal bars (feature importance).
func barsChart(key, label string, names []string, values []float64, format func(float64) string) template.HTML {
	rowH := 20.0
	p := newPlot(560, rowH*float64(len(names))+34, key, label)
	p.left, p.right, p.top, p.bot = 220, 70, 6, 28
	hi := 0.0
	for _, v := range values {
		hi = max(hi, v)
	}
	p.x0, p.x1 = 0, hi
	if hi == 0 {
		p.x1 = 1
	}
	for _, t := range niceTicks(0, p.x1, 4) {
		if t <= p.x1 {
			p.line(p.x(t), p.top, p.x(t), p.h-p.bot, "grid")
			p.text(p.x(t), p.h-p.bot+14, "tick", "middle", tickLabel(t))
		}
	}
	for i, n := range names {
		y := p.top + rowH*float64(i)
		p.rowLabel(p.left-6, y+14, n, 30)
		p.printf(`<rect class="bar c1" data-series="%s" x="%s" y="%s" width="%s" height="%s"><title>%s: %s</title></rect>`,
			key, f1(p.left), f1(y+3), f1(max(p.x(values[i])-p.left, 1)), f1(rowH-6), escape(n), format(values[i]))
		p.text(p.x(values[i])+4, y+14, "value", "start", format(values[i]))
	}
	return p.svg()
}

// series is one line of a seriesChart; NaN values are left out.
type series struct {
	name, class string
	values      []float64
	marks       []bool // points drawn as marks (the champion)
	titles      []string
}

// chartSpec describes a seriesChart.
type chartSpec struct {
	key, label, yTitle string
	cats               []string // one per x position
	format             func(float64) string
	zero               bool    // the y axis starts at 0 (durations, counts)
	w, h               float64 // 0: the card's width (1300 units), 280 high
}

// seriesChart draws series over categories (run dates, versions, months).
func seriesChart(c chartSpec, ss ...series) template.HTML {
	wide := c.w == 0
	if wide {
		c.w = 1300
	}
	if c.h == 0 {
		c.h = 280
	}
	p := newPlot(c.w, c.h, c.key, c.label)
	p.wide = wide
	if len(ss) > 1 {
		p.top = 30 // room for the legend above the plot
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range ss {
		for _, v := range s.values {
			if !math.IsNaN(v) {
				lo, hi = min(lo, v), max(hi, v)
			}
		}
	}
	if math.IsInf(lo, 1) {
		lo, hi = 0, 1
	}
	if c.zero {
		lo = min(lo, 0)
	}
	ticks := axisTicks(lo, hi, 4)
	p.y0, p.y1 = ticks[0], ticks[len(ticks)-1]
	p.x0, p.x1 = -0.5, float64(len(c.cats))-0.5
	p.yAxis(ticks, c.format, c.yTitle)
	p.xLabels(c.cats, func(i int) float64 { return p.x(float64(i)) })
	var leg [][2]string
	for _, s := range ss {
		var xs, ys []float64
		for i, v := range s.values {
			if !math.IsNaN(v) {
				xs, ys = append(xs, float64(i)), append(ys, v)
			}
		}
		p.polyline("curve "+s.class, s.name, xs, ys)
		for i, v := range s.values {
			if math.IsNaN(v) {
				continue
			}
			title := c.cats[i] + ": " + c.format(v)
			if i < len(s.titles) && s.titles[i] != "" {
				title = s.titles[i]
			}
			if i < len(s.marks) && s.marks[i] {
				p.printf(`<path class="mark" d="M%s %sl6 6-6 6-6-6z"><title>%s</title></path>`, f1(p.x(float64(i))), f1(p.y(v)-6), escape(title))
			} else {
				p.dot(p.x(float64(i)), p.y(v), 3, "pt "+s.class, title)
			}
		}
		leg = append(leg, [2]string{s.class, s.name})
	}
	if len(ss) > 1 {
		p.legend(leg...)
	}
	return p.svg()
}

// sparkline is a small line of values (NaN left out), for tables.
func sparkline(key string, values []float64) template.HTML {
	p := newPlot(140, 30, key, "trend")
	p.left, p.right, p.top, p.bot = 2, 2, 3, 3
	lo, hi := math.Inf(1), math.Inf(-1)
	var xs, ys []float64
	for i, v := range values {
		if !math.IsNaN(v) {
			lo, hi = min(lo, v), max(hi, v)
			xs, ys = append(xs, float64(i)), append(ys, v)
		}
	}
	if len(xs) == 0 {
		return p.svg()
	}
	p.y0, p.y1 = min(0, lo), hi
	p.x0, p.x1 = 0, float64(max(len(values)-1, 1))
	p.polyline("spark", key, xs, ys)
	p.dot(p.x(xs[len(xs)-1]), p.y(ys[len(ys)-1]), 2.5, "pt c1", "latest")
	return p.svg()
}

// ganttBar is one attempt on the run's time line.
type ganttBar struct {
	Row        int
	From, To   float64 // seconds since the run started
	Status     string
	Title      string
	Unfinished bool
}

// ganttChart draws the attempts of a run's steps on its time line, a row
// per step.
func ganttChart(rows []string, bars []ganttBar) template.HTML {
	rowH := 24.0
	p := newPlot(1300, rowH*float64(len(rows))+48, "gantt", "steps on the run's time line")
	p.left, p.right, p.top, p.bot = 90, 20, 8, 40
	p.wide = true
	end := 1.0
	for _, b := range bars {
		end = max(end, b.To)
	}
	_, p.x1 = niceRange(0, end, 6)
	for _, t := range niceTicks(0, p.x1, 6) {
		p.line(p.x(t), p.top, p.x(t), p.h-p.bot, "grid")
		p.text(p.x(t), p.h-p.bot+16, "tick", "middle", tickLabel(t))
	}
	p.text((p.left+p.w-p.right)/2, p.h-6, "axis-title", "middle", "seconds since the run's first step started")
	for i, r := range rows {
		p.text(p.left-8, p.top+rowH*float64(i)+16, "label", "end", r)
	}
	for _, b := range bars {
		y := p.top + rowH*float64(b.Row) + 4
		class := "bar st-" + statusClass(b.Status)
		if b.Unfinished {
			class += " open"
		}
		p.printf(`<rect class="%s" data-series="attempts" x="%s" y="%s" width="%s" height="%s"><title>%s</title></rect>`,
			class, f1(p.x(b.From)), f1(y), f1(max(p.x(b.To)-p.x(b.From), 2)), f1(rowH-8), escape(b.Title))
	}
	return p.svg()
}

// funnelChart draws each step's rows in and out and its rejects.
func funnelChart(steps []string, in, out, rejects []float64) template.HTML {
	rowH := 30.0
	p := newPlot(1300, rowH*float64(len(steps))+54, "funnel", "rows in, out and rejected per step")
	p.left, p.right, p.top, p.bot = 90, 90, 26, 28
	p.wide = true
	hi := 1.0
	for i := range steps {
		hi = max(hi, in[i], out[i])
	}
	_, p.x1 = niceRange(0, hi, 5)
	for _, t := range niceTicks(0, p.x1, 5) {
		p.line(p.x(t), p.top, p.x(t), p.h-p.bot, "grid")
		p.text(p.x(t), p.h-p.bot+14, "tick", "middle", tickLabel(t))
	}
	for i, s := range steps {
		y := p.top + rowH*float64(i)
		p.text(p.left-8, y+18, "label", "end", s)
		p.rect(p.x(0), y+3, p.x(in[i])-p.x(0), 10, "bar c3", fmt.Sprintf("%s: %s rows in", s, count(int64(in[i]))))
		p.rect(p.x(0), y+14, p.x(out[i])-p.x(0), 10, "bar c1", fmt.Sprintf("%s: %s rows out", s, count(int64(out[i]))))
		if rejects[i] > 0 {
			p.rect(p.x(out[i]), y+14, max(p.x(rejects[i])-p.x(0), 2), 10, "bar bad", fmt.Sprintf("%s: %s rejects", s, count(int64(rejects[i]))))
		}
		p.text(p.x(max(in[i], out[i]+rejects[i]))+6, y+20, "value", "start", count(int64(out[i])))
	}
	p.legend([2]string{"c3", "rows in"}, [2]string{"c1", "rows out"}, [2]string{"bad", "rejects"})
	return p.svg()
}

// heatmapChart draws a PSI cell per field and month, coloured by the bands
// the monitor judged with, the value written in each cell.
func heatmapChart(fields []string, months []string, psi func(f, m int) (float64, bool), warn, alert float64, selected int) template.HTML {
	cellW, cellH := 76.0, 24.0
	p := newPlot(190+cellW*float64(len(months))+10, cellH*float64(len(fields))+70, "psi-heatmap", "PSI by field and month")
	p.left, p.top = 190, 44
	for j, m := range months {
		class := "tick"
		if j == selected {
			class = "tick sel"
		}
		p.text(p.left+cellW*float64(j)+cellW/2, p.top-8, class, "middle", m)
	}
	for i, f := range fields {
		y := p.top + cellH*float64(i)
		p.rowLabel(p.left-6, y+15, f, 26)
		for j := range months {
			x := p.left + cellW*float64(j)
			v, ok := psi(i, j)
			if !ok {
				p.printf(`<rect class="cell none" x="%s" y="%s" width="%s" height="%s"/>`, f1(x), f1(y), f1(cellW-2), f1(cellH-2))
				continue
			}
			band := "ok"
			switch {
			case v >= alert:
				band = "alert"
			case v >= warn:
				band = "warn"
			}
			p.printf(`<rect class="cell %s" data-series="psi" x="%s" y="%s" width="%s" height="%s"><title>%s %s: PSI %s</title></rect>`,
				band, f1(x), f1(y), f1(cellW-2), f1(cellH-2), escape(f), escape(months[j]), fixed(v, 3))
			p.text(x+cellW/2-1, y+16, "cellv "+band, "middle", fixed(v, 3))
		}
	}
	ly := p.h - 12
	p.printf(`<rect class="cell ok" x="%s" y="%s" width="14" height="12"/>`, f1(p.left), f1(ly-10))
	p.text(p.left+18, ly, "legend", "start", "< "+fixed(warn, 2))
	p.printf(`<rect class="cell warn" x="%s" y="%s" width="14" height="12"/>`, f1(p.left+80), f1(ly-10))
	p.text(p.left+98, ly, "legend", "start", fixed(warn, 2)+"–"+fixed(alert, 2))
	p.printf(`<rect class="cell alert" x="%s" y="%s" width="14" height="12"/>`, f1(p.left+190), f1(ly-10))
	p.text(p.left+208, ly, "legend", "start", "≥ "+fixed(alert, 2))
	return p.svg()
}

// histogramChart draws a field's reference and current shares per bin.
func histogramChart(field string, bins []DriftBin) template.HTML {
	p := newPlot(360, 210, "histogram", field+": reference vs month")
	p.left, p.top, p.bot = 40, 26, 46
	hi := 0.0
	for _, b := range bins {
		hi = max(hi, b.Ref, b.Cur)
	}
	_, p.y1 = niceRange(0, max(hi, 0.01), 3)
	p.x0, p.x1 = 0, float64(max(len(bins), 1))
	p.yAxis(niceTicks(0, p.y1, 3), func(v float64) string { return fixed(100*v, 0) + "%" }, "")
	w := (p.w - p.left - p.right) / float64(max(len(bins), 1))
	for i, b := range bins {
		x := p.x(float64(i))
		p.rect(x+1, p.y(b.Ref), w/2-1.5, p.y(0)-p.y(b.Ref), "bar c3", fmt.Sprintf("%s reference: %s", b.Label, pct(b.Ref)))
		p.rect(x+w/2, p.y(b.Cur), w/2-1.5, p.y(0)-p.y(b.Cur), "bar c1", fmt.Sprintf("%s month: %s", b.Label, pct(b.Cur)))
	}
	labels := make([]string, len(bins))
	for i, b := range bins {
		labels[i] = shorten(b.Label, 9)
	}
	p.xLabels(labels, func(i int) float64 { return p.x(float64(i) + 0.5) })
	p.legend([2]string{"c3", "reference"}, [2]string{"c1", "month"})
	return p.svg()
}

func escape(s string) string { return template.HTMLEscapeString(s) }

// shorten cuts s to n characters, the last one an ellipsis.
func shorten(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// rowLabel writes a row's name right-aligned at x, shortened to n
// characters (the whole name on hover).
func (p *plot) rowLabel(x, y float64, name string, n int) {
	p.printf(`<text x="%s" y="%s" class="label" text-anchor="end">%s<title>%s</title></text>`, f1(x), f1(y), escape(shorten(name, n)), escape(name))
}

// statusClass maps a status to a CSS class (unknown ones share one).
func statusClass(s string) string {
	switch s {
	case "done", "running", "failed", "stalled", "ok", "warn", "alert":
		return s
	case "":
		return "none"
	}
	return "other"
}

// joinNonEmpty joins the non-empty parts.
func joinNonEmpty(sep string, parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}
