package main

import (
	"fmt"
	"image/color"
	"math"
	"os"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// plotScale draws seconds and peak MB of every step against rows, log-log,
// side by side, with a slope-1 guide (linear growth) through the total's
// first point, the limits, and one legend for both in a column of its own.
func plotScale(p *ScalePart, path string) error {
	secs := newLogLog("Go chain: seconds per step", "rows", "seconds")
	mbs := newLogLog("Go chain: peak RSS per step", "rows", "MB")
	legend := plot.NewLegend()
	legend.Top, legend.Left = true, true
	legend.TextStyle.Font.Size = vg.Points(9)
	legend.ThumbnailWidth = vg.Points(24)
	for i, st := range p.Steps {
		if len(st.Rows) == 0 {
			continue
		}
		c := plotutil.Color(i)
		width := vg.Points(1.2)
		if st.Step == "total" {
			c, width = color.Black, vg.Points(2.2)
		}
		thumbs, err := addLine(secs, st.Step, st.Rows, st.Seconds, c, width, i)
		if err != nil {
			return err
		}
		if _, err := addLine(mbs, st.Step, st.Rows, st.PeakMB, c, width, i); err != nil {
			return err
		}
		if thumbs != nil {
			legend.Add(st.Step, thumbs...)
		}
	}
	for _, st := range p.Steps {
		if st.Step == "total" && len(st.Rows) >= 2 {
			addGuide(secs, st.Rows, st.Seconds[0])
			if g := addGuide(mbs, st.Rows, st.PeakMB[0]); g != nil {
				legend.Add("linear growth (through total)", g)
			}
		}
	}
	if p.LimitSeconds > 0 {
		addLimit(secs, p, p.LimitSeconds)
		if l := addLimit(mbs, p, p.LimitMB); l != nil {
			legend.Add(fmt.Sprintf("limit at %d×: %.0f s, %.0f MB", p.LimitFactor, p.LimitSeconds, p.LimitMB), l)
		}
	}
	ticks := sizeTicks(p)
	secs.X.Tick.Marker, mbs.X.Tick.Marker = ticks, ticks

	const w, h, legendW = 34 * vg.Centimeter, 13 * vg.Centimeter, 6 * vg.Centimeter
	img := vgimg.New(w, h)
	dc := draw.New(img)
	plots := draw.Crop(dc, 0, -legendW, 0, 0)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Millimeter * 8, PadTop: vg.Millimeter * 3, PadBottom: vg.Millimeter * 3,
		PadLeft: vg.Millimeter * 3, PadRight: vg.Millimeter * 3}
	canvases := plot.Align([][]*plot.Plot{{secs, mbs}}, tiles, plots)
	secs.Draw(canvases[0][0])
	mbs.Draw(canvases[0][1])
	legend.Draw(draw.Crop(dc, w-legendW+vg.Millimeter*2, 0, 0, -vg.Centimeter))
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

// sizeTicks labels the x axis at the measured sizes ("1.07 M (4×)").
func sizeTicks(p *ScalePart) plot.ConstantTicks {
	var ticks plot.ConstantTicks
	for _, s := range p.Sizes {
		if s.Error != "" || s.Rows <= 0 {
			continue
		}
		ticks = append(ticks, plot.Tick{Value: float64(s.Rows), Label: fmt.Sprintf("%s (%d×)", shortCount(float64(s.Rows)), s.Factor)})
	}
	return ticks
}

func shortCount(n float64) string {
	switch {
	case n >= 1e6:
		return fmt.Sprintf("%.2f M", n/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.0f k", n/1e3)
	}
	return fmt.Sprintf("%.0f", n)
}

func newLogLog(title, x, y string) *plot.Plot {
	pl := plot.New()
	pl.Title.Text = title
	pl.X.Label.Text = x
	pl.Y.Label.Text = y
	pl.X.Scale, pl.Y.Scale = plot.LogScale{}, plot.LogScale{}
	pl.X.Tick.Marker = plot.LogTicks{Prec: -1}
	pl.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	pl.Add(plotter.NewGrid())
	return pl
}

// floor keeps log axes away from zero: a step that took no time is drawn at
// a millisecond (or a megabyte).
const logFloor = 1e-3

// addLine draws one step; it returns the legend thumbnails.
func addLine(pl *plot.Plot, name string, xs, ys []float64, c color.Color, width vg.Length, i int) ([]plot.Thumbnailer, error) {
	pts := make(plotter.XYs, 0, len(xs))
	for j := range xs {
		if xs[j] > 0 {
			pts = append(pts, plotter.XY{X: xs[j], Y: math.Max(ys[j], logFloor)})
		}
	}
	if len(pts) == 0 {
		return nil, nil
	}
	line, points, err := plotter.NewLinePoints(pts)
	if err != nil {
		return nil, fmt.Errorf("plot %s: %w", name, err)
	}
	line.Color, line.Width = c, width
	line.Dashes = plotutil.Dashes(i / 7)
	points.Color, points.Shape = c, plotutil.Shape(i)
	pl.Add(line, points)
	return []plot.Thumbnailer{line, points}, nil
}

// addGuide draws y ∝ rows through the first point: what linear growth is.
func addGuide(pl *plot.Plot, rows []float64, y0 float64) plot.Thumbnailer {
	if len(rows) < 2 || !(rows[0] > 0) || !(y0 > 0) {
		return nil
	}
	pts := plotter.XYs{{X: rows[0], Y: y0}, {X: rows[len(rows)-1], Y: y0 * rows[len(rows)-1] / rows[0]}}
	l, err := plotter.NewLine(pts)
	if err != nil {
		return nil
	}
	l.Color = color.Gray{Y: 130}
	l.Dashes = []vg.Length{vg.Points(2), vg.Points(3)}
	pl.Add(l)
	return l
}

// addLimit draws a limit as a horizontal line over the measured sizes.
func addLimit(pl *plot.Plot, p *ScalePart, y float64) plot.Thumbnailer {
	var lo, hi float64
	for _, s := range p.Sizes {
		if s.Rows <= 0 {
			continue
		}
		if lo == 0 || float64(s.Rows) < lo {
			lo = float64(s.Rows)
		}
		hi = math.Max(hi, float64(s.Rows))
	}
	if lo == 0 {
		return nil
	}
	l, err := plotter.NewLine(plotter.XYs{{X: lo, Y: y}, {X: hi, Y: y}})
	if err != nil {
		return nil
	}
	l.Color = color.RGBA{R: 200, A: 255}
	l.Dashes = []vg.Length{vg.Points(6), vg.Points(3)}
	pl.Add(l)
	return l
}
