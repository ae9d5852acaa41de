package dashboard

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strconv"
	"strings"
)

// Charts are inline SVG written here, styled by classes in style.css (the
// page's Content-Security-Policy allows no style attributes). Every chart's
// numbers are also in a table on the page; a <title> on a mark repeats its
// value for hovering. Curves are one <polyline> per series whose points are
// exactly the stored points (data-series names the series), so a test can
// count them.

// plot maps a data domain onto an SVG canvas with margins.
type plot struct {
	w, h                  float64
	left, right, top, bot float64
	x0, x1, y0, y1        float64
	b                     strings.Builder
	label, key            string
	wide                  bool // drawn at the width of its card (else at its own size)
}

func newPlot(w, h float64, key, label string) *plot {
	return &plot{w: w, h: h, left: 52, right: 16, top: 14, bot: 40, x0: 0, x1: 1, y0: 0, y1: 1, key: key, label: label}
}

func (p *plot) x(v float64) float64 {
	if p.x1 == p.x0 {
		return p.left + (p.w-p.left-p.right)/2
	}
	return p.left + (v-p.x0)/(p.x1-p.x0)*(p.w-p.left-p.right)
}

func (p *plot) y(v float64) float64 {
	if p.y1 == p.y0 {
		return p.top + (p.h-p.top-p.bot)/2
	}
	return p.h - p.bot - (v-p.y0)/(p.y1-p.y0)*(p.h-p.top-p.bot)
}

func f1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

func (p *plot) printf(format string, args ...any) { fmt.Fprintf(&p.b, format, args...) }

// svg closes the chart into markup.
func (p *plot) svg() template.HTML {
	var b strings.Builder
	if p.wide {
		fmt.Fprintf(&b, `<svg class="chart wide" viewBox="0 0 %s %s" role="img" aria-label="%s" data-chart="%s">`,
			f1(p.w), f1(p.h), html.EscapeString(p.label), html.EscapeString(p.key))
	} else {
		fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %s %s" width="%s" height="%s" role="img" aria-label="%s" data-chart="%s">`,
			f1(p.w), f1(p.h), f1(p.w), f1(p.h), html.EscapeString(p.label), html.EscapeString(p.key))
	}
	b.WriteString(p.b.String())
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// text writes escaped text.
func (p *plot) text(x, y float64, class, anchor, s string) {
	p.printf(`<text x="%s" y="%s" class="%s" text-anchor="%s">%s</text>`, f1(x), f1(y), class, anchor, html.EscapeString(s))
}

// niceTicks returns about n round values covering [lo, hi].
func niceTicks(lo, hi float64, n int) []float64 {
	if hi <= lo || math.IsNaN(lo) || math.IsNaN(hi) {
		return []float64{lo}
	}
	raw := (hi - lo) / float64(max(n, 1))
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	var out []float64
	for v := math.Ceil(lo/step-1e-9) * step; v <= hi+step*1e-9; v += step {
		out = append(out, math.Round(v/step)*step)
	}
	return out
}

// niceRange widens [lo, hi] to round ticks: the axis runs from the first
// tick to the last, which enclose every value.
func niceRange(lo, hi float64, n int) (float64, float64) {
	t := axisTicks(lo, hi, n)
	return t[0], t[len(t)-1]
}

// axisTicks are about n round ticks, the first at or below lo and the last
// at or above hi.
func axisTicks(lo, hi float64, n int) []float64 {
	if hi <= lo {
		if lo == 0 {
			hi = 1
		} else {
			lo, hi = lo-math.Abs(lo)*0.1, hi+math.Abs(hi)*0.1
		}
	}
	t := niceTicks(lo, hi, n)
	if len(t) < 2 {
		return []float64{lo, hi}
	}
	step := t[1] - t[0]
	if t[0] > lo+step*1e-9 {
		t = append([]float64{math.Round((t[0]-step)/step) * step}, t...)
	}
	if last := t[len(t)-1]; last < hi-step*1e-9 {
		t = append(t, math.Round((last+step)/step)*step)
	}
	return t
}

func tickLabel(v float64) string {
	a := math.Abs(v)
	switch {
	case math.Abs(v) < 1e-12:
		return "0"
	case a >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', -1, 64) + "M"
	case a >= 1e4:
		return strconv.FormatFloat(v/1e3, 'f', -1, 64) + "k"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// grid draws the y grid and axis with ticks, and the x axis line.
func (p *plot) yAxis(ticks []float64, format func(float64) string, title string) {
	for _, t := range ticks {
		y := p.y(t)
		p.printf(`<line class="grid" x1="%s" x2="%s" y1="%s" y2="%s"/>`, f1(p.left), f1(p.w-p.right), f1(y), f1(y))
		p.text(p.left-6, y+4, "tick", "end", format(t))
	}
	if title != "" {
		p.printf(`<text class="axis-title" transform="translate(12 %s) rotate(-90)" text-anchor="middle">%s</text>`,
			f1((p.top+p.h-p.bot)/2), html.EscapeString(title))
	}
	p.printf(`<line class="axis" x1="%s" x2="%s" y1="%s" y2="%s"/>`, f1(p.left), f1(p.w-p.right), f1(p.h-p.bot), f1(p.h-p.bot))
}

func (p *plot) xAxis(ticks []float64, format func(float64) string, title string) {
	for _, t := range ticks {
		x := p.x(t)
		p.printf(`<line class="tickmark" x1="%s" x2="%s" y1="%s" y2="%s"/>`, f1(x), f1(x), f1(p.h-p.bot), f1(p.h-p.bot+4))
		p.text(x, p.h-p.bot+16, "tick", "middle", format(t))
	}
	if title != "" {
		p.text((p.left+p.w-p.right)/2, p.h-6, "axis-title", "middle", title)
	}
}

// xLabels writes category labels under the x axis, thinned to fit.
func (p *plot) xLabels(labels []string, at func(i int) float64) {
	if len(labels) == 0 {
		return
	}
	room := (p.w - p.left - p.right) / float64(len(labels))
	every := max(1, int(math.Ceil(64/room)))
	for i, l := range labels {
		if i%every != 0 && i != len(labels)-1 {
			continue
		}
		if i != len(labels)-1 && len(labels)-1-i < every && i%every == 0 && i != 0 {
			continue // leave room for the last label
		}
		p.text(at(i), p.h-p.bot+16, "tick", "middle", l)
	}
}

// polyline draws one series through (xs[i], ys[i]), skipping NaN as gaps
// would break the point count: callers pass only real points.
func (p *plot) polyline(class, series string, xs, ys []float64) {
	var pts strings.Builder
	for i := range xs {
		if i > 0 {
			pts.WriteByte(' ')
		}
		pts.WriteString(f1(p.x(xs[i])))
		pts.WriteByte(',')
		pts.WriteString(f1(p.y(ys[i])))
	}
	p.printf(`<polyline class="%s" data-series="%s" data-points="%d" points="%s"/>`, class, html.EscapeString(series), len(xs), pts.String())
}

func (p *plot) dot(x, y, r float64, class, title string) {
	p.printf(`<circle class="%s" cx="%s" cy="%s" r="%s"><title>%s</title></circle>`, class, f1(x), f1(y), f1(r), html.EscapeString(title))
}

func (p *plot) rect(x, y, w, h float64, class, title string) {
	if h < 0 {
		y, h = y+h, -h
	}
	if w < 0 {
		x, w = x+w, -w
	}
	p.printf(`<rect class="%s" x="%s" y="%s" width="%s" height="%s"><title>%s</title></rect>`, class, f1(x), f1(y), f1(w), f1(h), html.EscapeString(title))
}

func (p *plot) line(x1, y1, x2, y2 float64, class string) {
	p.printf(`<line class="%s" x1="%s" y1="%s" x2="%s" y2="%s"/>`, class, f1(x1), f1(y1), f1(x2), f1(y2))
}

// legend writes entries left to right, ending at the right of the plot
// area, above it (callers leave a top margin of 30).
func (p *plot) legend(entries ...[2]string) {
	x := p.w - p.right - 4
	for i := len(entries) - 1; i >= 0; i-- {
		class, label := entries[i][0], entries[i][1]
		w := 6.6*float64(len([]rune(label))) + 26
		x -= w
		p.printf(`<rect class="swatch %s" x="%s" y="4" width="12" height="12"/>`, class, f1(x))
		p.text(x+16, 14, "legend", "start", label)
	}
}
