package monitor

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/arrestcast/arrestcast/shared/platform/monitoring"

	"github.com/arrestcast/arrestcast/shared/ml/metrics"
	"github.com/arrestcast/arrestcast/shared/model/profile"
	"github.com/arrestcast/arrestcast/shared/platform/store"
)

// Format names the report's layout.
const Format = "arrestcast.monitor/v1"

// Verdicts and field statuses.
const (
	OK    = "ok"
	Warn  = "warn"
	Alert = "alert"
	Info  = "info" // a calendar field: shown, never judged
)

// Alert kinds.
const (
	KindDrift           = "drift"            // a field's distribution moved
	KindEmptyColumn     = "empty_column"     // a field the reference had is (almost) all missing
	KindPredictionDrift = "prediction_drift" // the champion's probabilities moved
	KindLabelShift      = "label_shift"      // the arrest rate moved
	KindPerformance     = "performance"      // the champion's ROC-AUC on the month fell
	KindVolume          = "volume"           // far fewer records than usual
	KindRejects         = "rejects"          // the decoder refused many records
	KindRunFailed       = "run_failed"       // a monthly run failed (the watch)
	KindRunStalled      = "run_stalled"      // a monthly run stopped moving (the watch)
	KindChampionChanged = "champion_changed" // another model serves (the watch)
)

// Report is the monitor's report on one month, as scored by one model: the
// JSON next to the month (chain.MonitorReportKey) and, but for the bins'
// labels and the notes, a row of monitor_reports. It holds no clock time,
// so computing it again on the same data writes the same bytes.
type Report struct {
	Format  string    `json:"format"`
	Month   string    `json:"month"`           // YYYY-MM
	RunDate string    `json:"run_date"`        // the run whose download started it
	Input   store.Ref `json:"input"`           // the month's crimes as read
	Model   *ModelRef `json:"model,omitempty"` // nil: no champion that never saw the month

	Verdict string `json:"verdict"`

	Volume      int64       `json:"volume"`  // records of the month
	Rejects     int64       `json:"rejects"` // records the decoder refused
	UsualVolume *float64    `json:"usual_volume,omitempty"`
	Trailing    []MonthRows `json:"trailing,omitempty"` // the months the usual volume is the median of

	Scored    int64            `json:"scored"`  // records the champion scored
	Refused   int64            `json:"refused"` // records predict refuses (no place, no date), by field below
	RefusedBy map[string]int64 `json:"refused_by,omitempty"`

	ArrestRate          *float64    `json:"arrest_rate,omitempty"`
	ReferenceArrestRate *float64    `json:"reference_arrest_rate,omitempty"`
	PredictionPSI       *float64    `json:"prediction_psi,omitempty"`
	Prediction          *FieldDrift `json:"prediction,omitempty"`
	DriftedShare        float64     `json:"drifted_share"` // share of judged fields that warn or alert
	WorstField          string      `json:"worst_field,omitempty"`

	TestROCAUC *float64  `json:"test_roc_auc,omitempty"`
	Realized   *Realized `json:"realized,omitempty"`

	Fields     []FieldDrift `json:"fields"`
	Alerts     []Note       `json:"alerts"`
	Notes      []string     `json:"notes,omitempty"`
	Thresholds Thresholds   `json:"thresholds"`
}

// ModelRef is the model that scored the month.
type ModelRef struct {
	Version  int        `json:"version"`
	RunDate  string     `json:"run_date"`
	Artifact store.Ref  `json:"artifact"`
	Profile  *store.Ref `json:"profile,omitempty"`
}

// MonthRows is one trailing month's volume and where it was read.
type MonthRows struct {
	Month  string `json:"month"`
	Rows   int64  `json:"rows"`
	Source string `json:"source"` // "manifest" (download's) or "history" (an earlier report)
}

// The report's parts, in the shapes the dashboard reads.
type (
	Realized   = monitoring.Realized
	FieldDrift = monitoring.FieldDrift
	Bin        = monitoring.Bin
	Note       = monitoring.Note
)

func ptr(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// fieldDrift judges one compared field.
func fieldDrift(c profile.Compared, th Thresholds) FieldDrift {
	f := FieldDrift{Field: c.Name, Kind: c.Kind, Input: c.Input, PSI: ptr(c.PSI), KS: ptr(c.KS),
		MissingRef: c.RefMissing, MissingCur: c.Missing}
	if c.Kind == profile.Categorical {
		f.KS = nil
	}
	for i, l := range c.Labels {
		b := Bin{Label: l}
		if i < len(c.Ref) {
			b.Ref = c.Ref[i]
		}
		if i < len(c.Shares) {
			b.Cur = c.Shares[i]
		}
		f.Bins = append(f.Bins, b)
	}
	for _, s := range c.Shifts {
		f.Shifts = append(f.Shifts, fmt.Sprintf("%s %s → %s", s.Label, pct(s.Ref), pct(s.Cur)))
	}
	f.Status = status(c, f, th)
	return f
}

// status is a field's status: see Thresholds.
func status(c profile.Compared, f FieldDrift, th Thresholds) string {
	psi, ks := c.PSI, c.KS
	switch {
	case c.Calendar:
		return Info
	case empty(f, th):
		return Alert
	case !math.IsNaN(psi) && psi >= th.PSIAlert, c.Kind == profile.Numeric && !math.IsNaN(ks) && ks >= th.KSAlert, len(c.Shifts) > 0:
		return Alert
	case !math.IsNaN(psi) && psi >= th.PSIWarn, f.MissingCur-f.MissingRef >= th.MissingWarn:
		return Warn
	}
	return OK
}

// empty: the field is (almost) all missing where the reference mostly had it.
func empty(f FieldDrift, th Thresholds) bool {
	return f.MissingCur >= th.EmptyShare && f.MissingRef < 0.5
}

func pct(v float64) string { return fmt.Sprintf("%.1f%%", 100*v) }

func severity(s string) int {
	switch s {
	case Alert:
		return 2
	case Warn:
		return 1
	}
	return 0
}

// judge sets the dataset verdict, the worst field, the drifted share and
// the alerts from everything measured.
func (r *Report) judge(th Thresholds) {
	var drifted, empties []string
	judged, moved := 0, 0
	worst := -1
	for i, f := range r.Fields {
		if f.Status == Info {
			continue
		}
		judged++
		if severity(f.Status) > 0 {
			moved++
		}
		if worst < 0 || severity(f.Status) > severity(r.Fields[worst].Status) ||
			severity(f.Status) == severity(r.Fields[worst].Status) && val(f.PSI) > val(r.Fields[worst].PSI) {
			worst = i
		}
		switch {
		case empty(f, th):
			empties = append(empties, fmt.Sprintf("%s %s missing (reference %s)", f.Field, pct(f.MissingCur), pct(f.MissingRef)))
		case f.Status == Alert:
			drifted = append(drifted, describe(f))
		}
	}
	if judged > 0 {
		r.DriftedShare = float64(moved) / float64(judged)
	}
	if worst >= 0 && severity(r.Fields[worst].Status) > 0 {
		r.WorstField = r.Fields[worst].Field
	}
	add := func(kind, msg string) { r.Alerts = append(r.Alerts, Note{Kind: kind, Message: msg}) }
	if len(empties) > 0 {
		add(KindEmptyColumn, strings.Join(empties, "; "))
	}
	if len(drifted) > 0 {
		add(KindDrift, fmt.Sprintf("%d of %d fields drifted: %s", len(drifted), judged, strings.Join(drifted, "; ")))
	}
	if r.PredictionPSI != nil && *r.PredictionPSI >= th.PSIAlert {
		add(KindPredictionDrift, fmt.Sprintf("PSI of the predicted probabilities %.3f (alert from %.2f)", *r.PredictionPSI, th.PSIAlert))
	}
	if r.ArrestRate != nil && r.ReferenceArrestRate != nil && math.Abs(*r.ArrestRate-*r.ReferenceArrestRate) >= th.ArrestShift {
		add(KindLabelShift, fmt.Sprintf("arrest rate %s, the champion's training data %s", pct(*r.ArrestRate), pct(*r.ReferenceArrestRate)))
	}
	if r.Realized != nil && r.Realized.ROCAUC != nil && r.TestROCAUC != nil && *r.TestROCAUC-*r.Realized.ROCAUC > th.AUCDrop {
		add(KindPerformance, fmt.Sprintf("ROC-AUC %.4f on %d records, %.4f below its test ROC-AUC %.4f", *r.Realized.ROCAUC,
			r.Realized.Rows, *r.TestROCAUC-*r.Realized.ROCAUC, *r.TestROCAUC))
	}
	if r.UsualVolume != nil && float64(r.Volume) < th.VolumeDrop**r.UsualVolume {
		add(KindVolume, fmt.Sprintf("%d records, %.0f%% of the usual %.0f (median of %d months)", r.Volume,
			100*float64(r.Volume) / *r.UsualVolume, *r.UsualVolume, len(r.Trailing)))
	}
	if total := r.Volume + r.Rejects; total > 0 && float64(r.Rejects)/float64(total) > th.RejectsAlert {
		add(KindRejects, fmt.Sprintf("%d of %d records refused by the decoder (%s)", r.Rejects, total, pct(float64(r.Rejects)/float64(total))))
	}
	r.Verdict = OK
	switch {
	case len(r.Alerts) > 0:
		r.Verdict = Alert
	case r.WorstField != "" || r.PredictionPSI != nil && *r.PredictionPSI >= th.PSIWarn:
		r.Verdict = Warn
	}
	if r.Alerts == nil {
		r.Alerts = []Note{}
	}
	if r.Fields == nil {
		r.Fields = []FieldDrift{}
	}
}

func val(p *float64) float64 {
	if p == nil {
		return math.Inf(1) // undefined ranks first: a field with nothing to compare
	}
	return *p
}

// describe is one drifted field in a sentence.
func describe(f FieldDrift) string {
	var parts []string
	if f.PSI != nil {
		parts = append(parts, fmt.Sprintf("PSI %.3f", *f.PSI))
	}
	if f.KS != nil {
		parts = append(parts, fmt.Sprintf("KS %.3f", *f.KS))
	}
	shifts := f.Shifts
	if len(shifts) > 3 {
		shifts = append(shifts[:3:3], fmt.Sprintf("%d more categories", len(f.Shifts)-3))
	}
	parts = append(parts, shifts...)
	return f.Field + " (" + strings.Join(parts, ", ") + ")"
}

// realized is the champion's performance on labelled rows.
func realized(y []uint8, p []float64, threshold float64) (*Realized, error) {
	r := &Realized{Rows: int64(len(y)), Threshold: ptr(threshold)}
	var sum float64
	for i := range y {
		r.Positives += int64(y[i])
		sum += p[i]
	}
	if len(y) == 0 {
		return r, nil
	}
	r.MeanPredicted = ptr(sum / float64(len(y)))
	r.ObservedRate = ptr(float64(r.Positives) / float64(len(y)))
	if r.Positives == 0 || r.Positives == int64(len(y)) {
		return r, nil // one class: no ranking metric
	}
	rep, err := metrics.NewReport(y, p, threshold)
	if err != nil {
		return nil, err
	}
	r.ROCAUC, r.AveragePrecision, r.LogLoss = ptr(rep.ROCAUC), ptr(rep.AveragePrecision), ptr(rep.LogLoss)
	r.Brier, r.MCC = ptr(rep.Brier), ptr(rep.MCC)
	return r, nil
}

// median of values (which it sorts).
func median(v []float64) float64 {
	sort.Float64s(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}
