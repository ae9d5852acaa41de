package dashboard

import (
	"context"
	"html/template"
	"slices"
	"sort"
	"time"

	"github.com/arrestcast/arrestcast/shared/chain"
)

func three(v float64) string { return fixed(v, 3) }

// --- Drift -------------------------------------------------------------

// DriftPage is the monitor's data drift.
type DriftPage struct {
	Table      bool            `json:"table"`   // the monitor's table exists
	Reports    []MonitorReport `json:"reports"` // newest report per month, oldest first (fields without bins)
	Month      string          `json:"month,omitempty"`
	Selected   *MonitorReport  `json:"selected,omitempty"` // with bins, fields drifted first
	Heatmap    template.HTML   `json:"-"`
	Histograms []Histogram     `json:"-"`
	PredPSI    template.HTML   `json:"-"`
	Rate       template.HTML   `json:"-"`
	Volume     template.HTML   `json:"-"`
}

// Histogram is a field's reference vs month chart.
type Histogram struct {
	Field, Status string
	Chart         template.HTML
}

// HeatmapFields bounds the fields the heatmap shows (the most drifted):
// enough for every raw field and every input of recipe v2 (43).
const HeatmapFields = 64

func (d *Dashboard) drift(ctx context.Context, q Querier, month string) (*DriftPage, error) {
	var want time.Time
	if month != "" {
		t, err := time.Parse(chain.MonthLayout, month)
		if err != nil {
			return nil, &paramError{"month", "want YYYY-MM"}
		}
		want = t
	}
	p := &DriftPage{Reports: []MonitorReport{}}
	var err error
	if p.Table, err = monitorExists(ctx, q); err != nil || !p.Table {
		return p, err
	}
	if p.Reports, err = queryMonitor(ctx, q, d.o.Limit); err != nil {
		return nil, err
	}
	if len(p.Reports) == 0 {
		p.Reports = []MonitorReport{}
		return p, nil
	}
	slices.Reverse(p.Reports)
	sel := len(p.Reports) - 1
	if !want.IsZero() {
		sel = slices.IndexFunc(p.Reports, func(r MonitorReport) bool { return r.Month.Time().Equal(want) })
		if sel < 0 {
			return nil, errNotFound
		}
	}
	s := p.Reports[sel]
	p.Month = s.Month.String()
	if s.Fields, err = queryMonitorBins(ctx, q, s.Month.Time()); err != nil {
		return nil, err
	}
	sortDrifted(s.Fields)
	p.Selected = &s
	for _, f := range s.Fields {
		if len(f.Bins) > 0 {
			p.Histograms = append(p.Histograms, Histogram{Field: f.Field, Status: f.Status, Chart: histogramChart(f.Field, f.Bins)})
		}
	}
	// Heatmap rows: the selected month's fields drifted first, then any
	// other month's.
	var fields []string
	for _, f := range s.Fields {
		fields = append(fields, f.Field)
	}
	for _, r := range p.Reports {
		for _, f := range r.Fields {
			if !slices.Contains(fields, f.Field) {
				fields = append(fields, f.Field)
			}
		}
	}
	if len(fields) > HeatmapFields {
		fields = fields[:HeatmapFields]
	}
	var months []string
	psi := make([]map[string]float64, len(p.Reports))
	var ppsi, rate, vol, usual []float64
	for j, r := range p.Reports {
		months = append(months, r.Month.String())
		psi[j] = map[string]float64{}
		for _, f := range r.Fields {
			if f.PSI != nil {
				psi[j][f.Field] = *f.PSI
			}
		}
		ppsi = append(ppsi, ptrNaN(r.PredictionPSI))
		rate = append(rate, ptrNaN(r.ArrestRate))
		vol = append(vol, float64(r.Volume))
		usual = append(usual, ptrNaN(r.UsualVolume))
	}
	p.Heatmap = heatmapChart(fields, months, func(i, j int) (float64, bool) {
		v, ok := psi[j][fields[i]]
		return v, ok
	}, s.PSIWarn, s.PSIAlert, sel)
	p.PredPSI = seriesChart(chartSpec{key: "prediction-psi", label: "PSI of predicted probabilities by month", cats: months,
		yTitle: "prediction PSI", format: three, zero: true, w: 650, h: 260}, series{name: "prediction PSI", class: "c1", values: ppsi})
	p.Rate = seriesChart(chartSpec{key: "arrest-rate", label: "arrest rate by month", cats: months, yTitle: "arrest rate",
		format: func(v float64) string { return fixed(100*v, 1) + "%" }, w: 650, h: 260}, series{name: "arrest rate", class: "c1", values: rate})
	p.Volume = seriesChart(chartSpec{key: "volume", label: "records per month", cats: months, yTitle: "records", format: tickLabel, zero: true},
		series{name: "records", class: "c1", values: vol}, series{name: "usual", class: "c3", values: usual})
	return p, nil
}

// sortDrifted puts alerts first, then warnings, each by PSI descending.
func sortDrifted(fs []FieldDrift) {
	rank := func(s string) int {
		switch s {
		case "alert":
			return 0
		case "warn":
			return 1
		}
		return 2
	}
	sort.SliceStable(fs, func(i, j int) bool {
		if rank(fs[i].Status) != rank(fs[j].Status) {
			return rank(fs[i].Status) < rank(fs[j].Status)
		}
		return fs[i].PSIOr(-1) > fs[j].PSIOr(-1)
	})
}
