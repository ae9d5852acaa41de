package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/arrestcast/arrestcast/shared/ml/metrics"
)

// --- Models ------------------------------------------------------------

// ModelsPage is the registry: versions, a comparison, the promotions.
type ModelsPage struct {
	Sort       string         `json:"sort"`
	Desc       bool           `json:"desc"`
	Columns    []Column       `json:"-"`
	Models     []ModelRow     `json:"models"`
	Compare    *Compare       `json:"compare,omitempty"`
	Promotions []PromotionRow `json:"promotions"`
}

// Column is a sortable column of the versions table.
type Column struct {
	Key, Label string
	Numeric    bool
	Active     bool
	Href       string // the page sorted by it (the other way when active)
}

// Compare is two versions and the fields where they differ.
type Compare struct {
	A     int    `json:"a"`
	B     int    `json:"b"`
	Diffs []Diff `json:"diffs"`
	Same  int    `json:"same"` // fields that are equal, not listed
}

// Diff is one field that differs.
type Diff struct {
	Field string `json:"field"`
	A     string `json:"a"`
	B     string `json:"b"`
	Delta string `json:"delta,omitempty"` // B − A for numbers
}

// modelColumn is a sortable column of the versions table.
type modelColumn struct {
	key, label string
	numeric    bool
	value      func(m *ModelRow) float64 // nil: by text
	text       func(m *ModelRow) string
}

var modelColumns = []modelColumn{
	{"version", "version", true, func(m *ModelRow) float64 { return float64(m.Version) }, nil},
	{"run_date", "run date", false, nil, func(m *ModelRow) string { return m.RunDate.String() }},
	{"role", "role", false, nil, func(m *ModelRow) string { return m.Role }},
	{"algorithm", "algorithm", false, nil, func(m *ModelRow) string { return m.Algorithm }},
	{"roc_auc", "ROC-AUC", true, func(m *ModelRow) float64 { return metric(m.Metrics, "roc_auc") }, nil},
	{"average_precision", "AP", true, func(m *ModelRow) float64 { return metric(m.Metrics, "average_precision") }, nil},
	{"f1", "F1", true, func(m *ModelRow) float64 { return metric(m.Metrics, "f1") }, nil},
	{"log_loss", "log loss", true, func(m *ModelRow) float64 { return metric(m.Metrics, "log_loss") }, nil},
	{"brier", "Brier", true, func(m *ModelRow) float64 { return metric(m.Metrics, "brier") }, nil},
	{"train_rows", "train rows", true, func(m *ModelRow) float64 { return float64(m.TrainRows) }, nil},
	{"test_rows", "test rows", true, func(m *ModelRow) float64 { return float64(m.TestRows) }, nil},
	{"features", "features", true, func(m *ModelRow) float64 { return float64(m.FeatureCount) }, nil},
	{"created_at", "registered", false, nil, func(m *ModelRow) string { return m.CreatedAt.UTC().Format(time.RFC3339Nano) }},
}

// metricNames are the scalar test metrics, in the order pages list them.
var metricNames = []string{"roc_auc", "average_precision", "log_loss", "brier", "accuracy", "precision", "recall", "f1", "mcc"}

var metricLabels = map[string]string{"roc_auc": "ROC-AUC", "average_precision": "average precision", "log_loss": "log loss",
	"brier": "Brier score", "accuracy": "accuracy", "precision": "precision", "recall": "recall", "f1": "F1", "mcc": "MCC"}

// metric reads a scalar test metric of a report (NaN when absent).
func metric(r *metrics.Report, name string) float64 {
	if r == nil {
		return math.NaN()
	}
	switch name {
	case "roc_auc":
		return r.ROCAUC
	case "average_precision":
		return r.AveragePrecision
	case "log_loss":
		return r.LogLoss
	case "brier":
		return r.Brier
	case "accuracy":
		return r.Accuracy
	case "precision":
		return r.Precision
	case "recall":
		return r.Recall
	case "f1":
		return r.F1
	case "mcc":
		return r.MCC
	}
	return math.NaN()
}

func (d *Dashboard) models(ctx context.Context, q Querier, sortBy, dir, a, b string) (*ModelsPage, error) {
	if sortBy == "" {
		sortBy = "version"
	}
	col := slices.IndexFunc(modelColumns, func(c modelColumn) bool { return c.key == sortBy })
	if col < 0 {
		var keys []string
		for _, c := range modelColumns {
			keys = append(keys, c.key)
		}
		return nil, &paramError{"sort", "one of " + strings.Join(keys, ", ")}
	}
	if dir != "" && dir != "asc" && dir != "desc" {
		return nil, &paramError{"dir", "asc or desc"}
	}
	c := modelColumns[col]
	desc := dir == "desc" || (dir == "" && c.numeric)
	ms, err := queryModels(ctx, q, d.o.Limit)
	if err != nil {
		return nil, err
	}
	if ms == nil {
		ms = []ModelRow{}
	}
	sort.SliceStable(ms, func(i, j int) bool {
		var less bool
		if c.value != nil {
			x, y := c.value(&ms[i]), c.value(&ms[j])
			if x == y {
				return ms[i].Version > ms[j].Version
			}
			less = x < y
		} else {
			x, y := c.text(&ms[i]), c.text(&ms[j])
			if x == y {
				return ms[i].Version > ms[j].Version
			}
			less = x < y
		}
		if desc {
			return !less
		}
		return less
	})
	p := &ModelsPage{Sort: sortBy, Desc: desc, Models: ms, Promotions: []PromotionRow{}}
	for _, k := range modelColumns {
		col := Column{Key: k.key, Label: k.label, Numeric: k.numeric, Active: k.key == sortBy}
		next := "desc"
		if (col.Active && desc) || (!col.Active && !k.numeric) {
			next = "asc"
		}
		col.Href = "?page=models&sort=" + k.key + "&dir=" + next
		p.Columns = append(p.Columns, col)
	}
	if p.Promotions, err = queryPromotions(ctx, q, d.o.Limit); err != nil {
		return nil, err
	}
	if p.Promotions == nil {
		p.Promotions = []PromotionRow{}
	}
	va, vb, err := compareVersions(ms, a, b)
	if err != nil {
		return nil, err
	}
	if va > 0 && vb > 0 {
		ma, err := queryModel(ctx, q, va)
		if err == errNotFound {
			return nil, &paramError{"a", fmt.Sprintf("no model version %d", va)}
		}
		if err != nil {
			return nil, err
		}
		mb, err := queryModel(ctx, q, vb)
		if err == errNotFound {
			return nil, &paramError{"b", fmt.Sprintf("no model version %d", vb)}
		}
		if err != nil {
			return nil, err
		}
		p.Compare = compare(&ma, &mb)
	}
	return p, nil
}

// compareVersions picks the versions to compare: the ones asked for, else
// the champion and the newest other model.
func compareVersions(ms []ModelRow, a, b string) (int, int, error) {
	parse := func(field, s string) (int, error) {
		if s == "" {
			return 0, nil
		}
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			return 0, &paramError{field, "want a model version (1, 2, …)"}
		}
		return v, nil
	}
	va, err := parse("a", a)
	if err != nil {
		return 0, 0, err
	}
	vb, err := parse("b", b)
	if err != nil {
		return 0, 0, err
	}
	if va > 0 || vb > 0 {
		if va == 0 || vb == 0 {
			return 0, 0, &paramError{"b", "compare needs both a and b"}
		}
		return va, vb, nil
	}
	champ, newest := 0, 0
	for _, m := range ms {
		if m.Role == "champion" {
			champ = m.Version
		}
	}
	for _, m := range ms {
		if m.Version != champ && m.Version > newest {
			newest = m.Version
		}
	}
	if champ == 0 || newest == 0 {
		return 0, 0, nil
	}
	return min(champ, newest), max(champ, newest), nil
}

// compare lists what differs between two models: their fields, scalar
// test metrics, parameters (flattened) and features, in that order.
func compare(a, b *ModelRow) *Compare {
	fa, fb := flatModel(a), flatModel(b)
	keys := map[string]bool{}
	for k := range fa {
		keys[k] = true
	}
	for k := range fb {
		keys[k] = true
	}
	order := make([]string, 0, len(keys))
	for k := range keys {
		order = append(order, k)
	}
	sort.Slice(order, func(i, j int) bool {
		ri, rj := fieldRank(order[i]), fieldRank(order[j])
		if ri != rj {
			return ri < rj
		}
		return order[i] < order[j]
	})
	c := &Compare{A: a.Version, B: b.Version, Diffs: []Diff{}}
	for _, k := range order {
		x, y := fa[k], fb[k]
		if x == y {
			c.Same++
			continue
		}
		d := Diff{Field: k, A: orDash(x), B: orDash(y)}
		nx, err1 := strconv.ParseFloat(x, 64)
		ny, err2 := strconv.ParseFloat(y, 64)
		if err1 == nil && err2 == nil {
			d.A, d.B = numberPair(nx, ny)
			delta := ny - nx
			if delta == math.Trunc(delta) && nx == math.Trunc(nx) {
				d.Delta = count(int64(delta))
			} else {
				d.Delta, _ = numberPair(delta, 0)
			}
			if delta > 0 {
				d.Delta = "+" + d.Delta
			}
		}
		c.Diffs = append(c.Diffs, d)
	}
	added, removed := diffSets(a.Features, b.Features)
	if len(added)+len(removed) > 0 {
		c.Diffs = append(c.Diffs, Diff{Field: "features only in v" + strconv.Itoa(b.Version), A: "", B: orDash(strings.Join(added, ", "))},
			Diff{Field: "features only in v" + strconv.Itoa(a.Version), A: orDash(strings.Join(removed, ", ")), B: ""})
	} else {
		c.Same++
	}
	return c
}

// numberPair formats two numbers alike: integers grouped, others with 4
// decimals or as many more as it takes for different values to read differently.
func numberPair(a, b float64) (string, string) {
	if a == math.Trunc(a) && b == math.Trunc(b) && math.Abs(a) < 1e15 && math.Abs(b) < 1e15 {
		return count(int64(a)), count(int64(b))
	}
	for prec := 4; prec < 12; prec++ {
		x, y := fixed(a, prec), fixed(b, prec)
		if x != y || a == b {
			return x, y
		}
	}
	return strconv.FormatFloat(a, 'g', -1, 64), strconv.FormatFloat(b, 'g', -1, 64)
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

// compareFirst are the fields a comparison lists first, in this order.
var compareFirst = []string{"decision", "role", "run date", "algorithm", "train rows", "test rows", "features", "threshold",
	"ROC-AUC", "average precision", "log loss", "Brier score", "accuracy", "precision", "recall", "F1", "MCC"}

func fieldRank(k string) int {
	if i := slices.Index(compareFirst, k); i >= 0 {
		return i
	}
	if strings.HasPrefix(k, "param ") {
		return len(compareFirst) + 2
	}
	return len(compareFirst) + 1
}

func diffSets(a, b []string) (added, removed []string) {
	for _, f := range b {
		if !slices.Contains(a, f) {
			added = append(added, f)
		}
	}
	for _, f := range a {
		if !slices.Contains(b, f) {
			removed = append(removed, f)
		}
	}
	return added, removed
}

// reportLabels name a metrics.Report's other scalar fields in a comparison.
var reportLabels = map[string]string{"n": "test rows scored", "positives": "test arrests", "threshold": "threshold",
	"roc_points": "ROC curve points", "pr_points": "PR curve points",
	"confusion.tn": "true negatives", "confusion.fp": "false positives", "confusion.fn": "false negatives", "confusion.tp": "true positives"}

// flatModel is a model as field → value text, for comparing.
func flatModel(m *ModelRow) map[string]string {
	out := map[string]string{
		"run date": m.RunDate.String(), "algorithm": m.Algorithm, "role": m.Role, "source": m.Source,
		"train rows": strconv.FormatInt(m.TrainRows, 10), "test rows": strconv.FormatInt(m.TestRows, 10),
		"features": strconv.Itoa(m.FeatureCount), "code version": m.CodeVersion,
		"training seconds": strconv.FormatFloat(float64(m.DurationMS)/1000, 'f', 1, 64),
	}
	if m.Decision != nil {
		out["decision"] = m.Decision.Reason
	}
	if m.Metrics != nil {
		r := *m.Metrics
		r.ROC, r.PR, r.Calibration = nil, nil, nil
		b, _ := json.Marshal(r)
		var v map[string]any
		_ = json.Unmarshal(b, &v)
		delete(v, "roc")
		delete(v, "pr")
		delete(v, "calibration")
		flat := map[string]string{}
		flatten("", v, flat)
		for k, val := range flat {
			if l, ok := metricLabels[k]; ok {
				k = l
			} else if l, ok := reportLabels[k]; ok {
				k = l
			} else {
				k = "metric " + k
			}
			out[k] = val
		}
	}
	var params any
	if json.Unmarshal(m.Params, &params) == nil {
		flatten("param ", params, out)
	}
	return out
}

// flatten writes a JSON value as dotted keys → text.
func flatten(prefix string, v any, out map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			p := prefix + k
			if prefix != "" && !strings.HasSuffix(prefix, " ") {
				p = prefix + "." + k
			}
			flatten(p, e, out)
		}
	case []any:
		b, _ := json.Marshal(x)
		out[strings.TrimSpace(prefix)] = string(b)
	case float64:
		out[strings.TrimSpace(prefix)] = strconv.FormatFloat(x, 'g', -1, 64)
	case nil:
		out[strings.TrimSpace(prefix)] = "null"
	default:
		out[strings.TrimSpace(prefix)] = fmt.Sprint(x)
	}
}

// --- Model detail ------------------------------------------------------

// ModelPage is one model in full.
type ModelPage struct {
	Model       ModelRow       `json:"model"`
	Operating   OperatingPoint `json:"operating_point"`
	BaseRate    float64        `json:"base_rate"`
	Metrics     []KV           `json:"-"`
	Confusion   [2][2]int      `json:"confusion"` // [[TN FP] [FN TP]]
	Importance  []Importance   `json:"importance"`
	Params      []KV           `json:"params"`
	Bins        []BinRow       `json:"calibration_bins"`
	Promotions  []PromotionRow `json:"promotions"` // changes of champion to or from it
	CompareWith int            `json:"-"`          // the version a comparison link pairs it with (0: none)
	ROC         template.HTML  `json:"-"`
	PR          template.HTML  `json:"-"`
	Reliability template.HTML  `json:"-"`
	ImpChart    template.HTML  `json:"-"`
}

// KV is a labelled value.
type KV struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Importance is a feature's rank and importance.
type Importance struct {
	Rank    int     `json:"rank"`
	Feature string  `json:"feature"`
	Value   float64 `json:"importance"`
	Share   float64 `json:"share"` // of the total importance
}

// BinRow is one reliability bin.
type BinRow struct {
	Range     string  `json:"range"`
	Count     int     `json:"count"`
	Predicted float64 `json:"mean_predicted"`
	Observed  float64 `json:"observed"`
}

// TopImportance is how many features the model page ranks.
const TopImportance = 20

func (d *Dashboard) model(ctx context.Context, q Querier, version string) (*ModelPage, error) {
	v, err := strconv.Atoi(version)
	if err != nil || v < 1 {
		return nil, &paramError{"version", "want a model version (1, 2, …)"}
	}
	m, err := queryModel(ctx, q, v)
	if err != nil {
		return nil, err
	}
	p := &ModelPage{Model: m, Importance: []Importance{}, Params: []KV{}, Bins: []BinRow{}, Promotions: []PromotionRow{}}
	if r := m.Metrics; r != nil {
		p.Operating = operatingPoint(r)
		if r.N > 0 {
			p.BaseRate = float64(r.Positives) / float64(r.N)
		}
		p.Confusion = r.Confusion.Matrix()
		for _, k := range metricNames {
			p.Metrics = append(p.Metrics, KV{metricLabels[k], num(metric(r, k))})
		}
		p.ROC, p.PR, p.Reliability = rocChart(r), prChart(r), reliabilityChart(r.Calibration)
		if c := r.Calibration; c != nil {
			for i, b := range c.Bin {
				p.Bins = append(p.Bins, BinRow{Range: binRange(c, b), Count: c.Count[i], Predicted: c.ProbPred[i], Observed: c.ProbTrue[i]})
			}
		}
	}
	total := 0.0
	for f, v := range m.FeatureImportance {
		p.Importance = append(p.Importance, Importance{Feature: f, Value: v})
		total += v
	}
	sort.Slice(p.Importance, func(i, j int) bool {
		a, b := p.Importance[i], p.Importance[j]
		return a.Value > b.Value || (a.Value == b.Value && a.Feature < b.Feature)
	})
	if len(p.Importance) > TopImportance {
		p.Importance = p.Importance[:TopImportance]
	}
	var names []string
	var vals []float64
	for i := range p.Importance {
		p.Importance[i].Rank = i + 1
		if total > 0 {
			p.Importance[i].Share = p.Importance[i].Value / total
		}
		names, vals = append(names, p.Importance[i].Feature), append(vals, p.Importance[i].Value)
	}
	if len(names) > 0 {
		p.ImpChart = barsChart("importance", "top features by importance", names, vals, sig)
	}
	var params any
	if json.Unmarshal(m.Params, &params) == nil {
		flat := map[string]string{}
		flatten("", params, flat)
		for k, v := range flat {
			p.Params = append(p.Params, KV{k, v})
		}
		sort.Slice(p.Params, func(i, j int) bool { return p.Params[i].Key < p.Params[j].Key })
	}
	proms, err := queryPromotions(ctx, q, d.o.Limit)
	if err != nil {
		return nil, err
	}
	for _, pr := range proms {
		if pr.To == v || pr.From == v {
			p.Promotions = append(p.Promotions, pr)
		}
	}
	// Compare with the champion, or the champion with the model it replaced.
	if champ, err := queryChampion(ctx, q); err == nil && champ.Version != v {
		p.CompareWith = champ.Version
	} else if err != nil && err != errNotFound {
		return nil, err
	} else {
		for _, pr := range p.Promotions {
			if pr.To == v && pr.From != 0 {
				p.CompareWith = pr.From
				break
			}
		}
	}
	return p, nil
}

// --- Metric over time --------------------------------------------------

// MetricsPage is a test metric by version and realized metrics by month.
type MetricsPage struct {
	Metric    string          `json:"metric"`
	Label     string          `json:"label"`
	Choices   []KV            `json:"-"`
	Points    []MetricPoint   `json:"versions"` // oldest version first
	Monitor   bool            `json:"monitor"`  // the monitor's table exists
	Realized  []RealizedPoint `json:"realized"` // oldest month first
	ByVersion template.HTML   `json:"-"`
	ByMonth   template.HTML   `json:"-"`
}

// MetricPoint is one version's test metric.
type MetricPoint struct {
	Version     int      `json:"version"`
	RunDate     Date     `json:"run_date"`
	Role        string   `json:"role"`
	Value       *float64 `json:"value"`
	WasChampion bool     `json:"was_champion"` // promoted at some time
}

// RealizedPoint is the champion's realized metric on one month.
type RealizedPoint struct {
	Month        Month    `json:"month"`
	ModelVersion int      `json:"model_version"`
	Value        *float64 `json:"value"`
	Test         *float64 `json:"test_roc_auc,omitempty"`
	Rows         int64    `json:"rows"`
}

// realizedMetric reads a realized metric (nil when not reported).
func realizedMetric(r *Realized, name string) *float64 {
	if r == nil {
		return nil
	}
	switch name {
	case "roc_auc":
		return r.ROCAUC
	case "average_precision":
		return r.AveragePrecision
	case "log_loss":
		return r.LogLoss
	case "brier":
		return r.Brier
	case "mcc":
		return r.MCC
	}
	return nil
}

func (d *Dashboard) metricsOverTime(ctx context.Context, q Querier, name string) (*MetricsPage, error) {
	if name == "" {
		name = "roc_auc"
	}
	if !slices.Contains(metricNames, name) {
		return nil, &paramError{"metric", "one of " + strings.Join(metricNames, ", ")}
	}
	p := &MetricsPage{Metric: name, Label: metricLabels[name], Points: []MetricPoint{}, Realized: []RealizedPoint{}}
	for _, k := range metricNames {
		p.Choices = append(p.Choices, KV{k, metricLabels[k]})
	}
	ms, err := queryModels(ctx, q, d.o.Limit)
	if err != nil {
		return nil, err
	}
	proms, err := queryPromotions(ctx, q, d.o.Limit)
	if err != nil {
		return nil, err
	}
	was := map[int]bool{}
	for _, pr := range proms {
		was[pr.To] = true
	}
	slices.Reverse(ms)
	var cats []string
	var vals []float64
	var marks []bool
	var titles []string
	for _, m := range ms {
		pt := MetricPoint{Version: m.Version, RunDate: m.RunDate, Role: m.Role, WasChampion: was[m.Version]}
		v := metric(m.Metrics, name)
		if !math.IsNaN(v) {
			pt.Value = &v
		}
		p.Points = append(p.Points, pt)
		cats = append(cats, "v"+strconv.Itoa(m.Version))
		vals = append(vals, v)
		marks = append(marks, m.Role == "champion")
		titles = append(titles, fmt.Sprintf("v%d (%s, %s): %s", m.Version, m.RunDate, m.Role, num(v)))
	}
	p.ByVersion = seriesChart(chartSpec{key: "by-version", label: p.Label + " by model version", cats: cats, yTitle: p.Label, format: three},
		series{name: p.Label, class: "c1", values: vals, marks: marks, titles: titles})
	if p.Monitor, err = monitorExists(ctx, q); err != nil {
		return nil, err
	}
	if !p.Monitor {
		return p, nil
	}
	reps, err := queryMonitor(ctx, q, d.o.Limit)
	if err != nil {
		return nil, err
	}
	slices.Reverse(reps)
	var mcats []string
	var real, test []float64
	for _, r := range reps {
		rp := RealizedPoint{Month: r.Month, ModelVersion: r.ModelVersion, Value: realizedMetric(r.Realized, name), Test: r.TestROCAUC}
		if r.Realized != nil {
			rp.Rows = r.Realized.Rows
		}
		p.Realized = append(p.Realized, rp)
		mcats = append(mcats, r.Month.String())
		real = append(real, ptrNaN(rp.Value))
		test = append(test, ptrNaN(r.TestROCAUC))
	}
	if len(reps) > 0 {
		ss := []series{{name: "realized " + p.Label, class: "c1", values: real}}
		if name == "roc_auc" {
			ss = append(ss, series{name: "champion's test ROC-AUC", class: "c3", values: test})
		}
		p.ByMonth = seriesChart(chartSpec{key: "by-month", label: "realized " + p.Label + " by month", cats: mcats, yTitle: p.Label, format: three}, ss...)
	}
	return p, nil
}

func ptrNaN(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}
