// Package profile is the reference profile train stores with each model and
// the monitor compares every new month with, so monitoring never reads
// training data again: for every raw report-time field of a crime, every
// field the model derives from it (nearest station, distance, time of day)
// and every model input (the encoded, scaled features), a drift reference
// (shared/ml/drift); the predicted probabilities; the arrest rate; and the
// records per month of the window.
//
// Both sides build a Sample the same way: the raw fields from a table's
// columns (train: its raw test records; the monitor: the month's crimes),
// the derived fields and the inputs from the recipe.Record and the feature
// vector of each record as the model artifact computes them, and the
// probability the artifact gives it.
package profile

import (
	"math"
	"sort"
	"strings"

	"github.com/arrestcast/arrestcast/shared/data/crime"
	"github.com/arrestcast/arrestcast/shared/data/table"
	"github.com/arrestcast/arrestcast/shared/ml/drift"
	"github.com/arrestcast/arrestcast/shared/model/recipe"
)

// Format names the document's layout.
const Format = "arrestcast.profile/v1"

// Inputs: where a field comes from.
const (
	Raw   = "raw"   // a report-time field of the portal's record
	Model = "model" // derived by the model's enrichment or an input of the model
)

// Kinds of fields.
const (
	Numeric     = "numeric"
	Categorical = "categorical"
)

// Field is one profiled field and its reference.
type Field struct {
	Name  string `json:"name"`
	Kind  string `json:"kind"`
	Input string `json:"input"`
	// Calendar marks a field the month fixes (the season and its one-hot
	// inputs: a month is one season, the window all four): shown, never
	// judged.
	Calendar bool               `json:"calendar,omitempty"`
	Num      *drift.Numeric     `json:"numeric,omitempty"`
	Cat      *drift.Categorical `json:"categorical,omitempty"`
}

// Month is the records of one month of the profiled data.
type Month struct {
	Month      string  `json:"month"` // YYYY-MM
	Rows       int     `json:"rows"`
	ArrestRate float64 `json:"arrest_rate"`
}

// Profile is the reference of one model.
type Profile struct {
	Format     string         `json:"format"`
	RunDate    string         `json:"run_date"`
	Artifact   string         `json:"artifact_etag"` // the model artifact it was fitted for
	Rows       int            `json:"rows"`          // records profiled
	ArrestRate float64        `json:"arrest_rate"`   // share of them with an arrest
	Months     []Month        `json:"months"`
	Prediction *drift.Numeric `json:"prediction"` // the model's probabilities
	Fields     []Field        `json:"fields"`
}

// The raw report-time fields profiled, from the portal record's columns
// (the date is profiled through what the model derives from it).
var (
	RawCategorical = []string{crime.ColIUCR, crime.ColPrimaryType, crime.ColDescription, crime.ColLocationDescription, crime.ColFBICode,
		crime.ColBeat, crime.ColDistrict, crime.ColWard, crime.ColCommunityArea, crime.ColBlock, crime.ColDomestic}
	RawNumeric = []string{crime.ColX, crime.ColY, crime.ColLatitude, crime.ColLongitude}
)

// The fields the model's enrichment derives, read from each recipe.Record.
var (
	derivedCategorical = []string{crime.ColStationDistrict, crime.ColStationName, crime.ColDayTime, crime.ColSeason}
	derivedNumeric     = []string{crime.ColDistance, crime.ColDayOfWeek}
)

// Sample is the profiled values of a set of records, column by column.
type Sample struct {
	Features []string    // the model's inputs, in the order of the vectors added
	inputs   [][]float64 // their values, per feature
	cat      map[string][]string
	num      map[string][]float64
	pred     []float64
	label    []int8          // 1 arrest, 0 none, -1 unknown
	date     []int64         // table.Time, table.NoTime when unknown
	absent   map[string]bool // raw fields the table did not have
}

// NewSample starts a sample with the raw fields, the labels and the dates
// of rows of t (a crime table: the portal's columns, more or fewer); a
// column t lacks is missing on every row. Add the model's view of each
// row, in the same order, with Add.
func NewSample(t *table.Table, rows []int, features []string) *Sample {
	s := &Sample{Features: features, cat: map[string][]string{}, num: map[string][]float64{}, absent: map[string]bool{}}
	for _, name := range RawCategorical {
		vals := make([]string, len(rows))
		if c := t.Col(name); c != nil {
			for k, i := range rows {
				vals[k] = categoryOf(c, i)
			}
		} else {
			s.absent[name] = true
		}
		s.cat[name] = vals
	}
	for _, name := range RawNumeric {
		vals := make([]float64, len(rows))
		c := t.Col(name)
		if c == nil || c.Kind != table.Numeric {
			s.absent[name] = true
		}
		for k, i := range rows {
			vals[k] = math.NaN()
			if c != nil && c.Kind == table.Numeric {
				vals[k] = c.Nums[i]
			}
		}
		s.num[name] = vals
	}
	s.label = make([]int8, len(rows))
	s.date = make([]int64, len(rows))
	arrest, date := t.Col(crime.ColArrest), t.Col(crime.ColDate)
	for k, i := range rows {
		s.label[k], s.date[k] = -1, table.NoTime
		if arrest != nil && arrest.Kind == table.Bool {
			s.label[k] = arrest.Bools[i]
		}
		if date != nil && date.Kind == table.Time {
			s.date[k] = date.Times[i]
		}
	}
	return s
}

// categoryOf is row i of a categorical, text or bool column as a category;
// "" (missing) for a missing value and for split's fill of one, "UNKNOWN".
func categoryOf(c *table.Column, i int) string {
	var v string
	switch c.Kind {
	case table.Categorical, table.Text:
		v = c.Str(i)
	case table.Bool:
		switch c.Bools[i] {
		case 0:
			v = "false"
		case 1:
			v = "true"
		}
	}
	if v == recipe.Unknown {
		return ""
	}
	return v
}

// Add adds the model's view of the next row: its enriched, filled record,
// its feature vector (Features' order) and its probability.
func (s *Sample) Add(r *recipe.Record, x []float64, p float64) {
	for _, name := range derivedCategorical {
		v := ""
		switch name {
		case crime.ColStationDistrict:
			v = r.StationDistrict
		case crime.ColStationName:
			v = r.StationName
		case crime.ColDayTime:
			v = r.DayTime
		case crime.ColSeason:
			v = r.Season
		}
		if v == recipe.Unknown {
			v = ""
		}
		s.cat[name] = append(s.cat[name], v)
	}
	dow := math.NaN()
	if r.DayOfWeek >= 0 {
		dow = float64(r.DayOfWeek)
	}
	s.num[crime.ColDistance] = append(s.num[crime.ColDistance], r.Distance)
	s.num[crime.ColDayOfWeek] = append(s.num[crime.ColDayOfWeek], dow)
	if s.inputs == nil {
		s.inputs = make([][]float64, len(s.Features))
	}
	for k := range s.Features {
		s.inputs[k] = append(s.inputs[k], x[k])
	}
	s.pred = append(s.pred, p)
}

// Len is the number of rows the model's view was added for.
func (s *Sample) Len() int { return len(s.pred) }

// Predictions are the probabilities added.
func (s *Sample) Predictions() []float64 { return s.pred }

// Labels are the rows' arrests (1, 0, or -1 when unknown).
func (s *Sample) Labels() []int8 { return s.label }

// ArrestRate is the share of rows with an arrest among those with a label
// (NaN without any).
func (s *Sample) ArrestRate() float64 {
	n, pos := 0, 0
	for _, y := range s.label {
		if y >= 0 {
			n++
			pos += int(y)
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return float64(pos) / float64(n)
}

// fields lists every profiled field of s, in report order.
func (s *Sample) fields() []Field {
	var out []Field
	for _, n := range RawCategorical {
		out = append(out, Field{Name: n, Kind: Categorical, Input: Raw})
	}
	for _, n := range RawNumeric {
		out = append(out, Field{Name: n, Kind: Numeric, Input: Raw})
	}
	for _, n := range derivedCategorical {
		out = append(out, Field{Name: n, Kind: Categorical, Input: Model, Calendar: n == crime.ColSeason})
	}
	for _, n := range derivedNumeric {
		out = append(out, Field{Name: n, Kind: Numeric, Input: Model})
	}
	for _, f := range s.Features {
		out = append(out, Field{Name: f, Kind: Numeric, Input: Model, Calendar: strings.HasPrefix(f, crime.ColSeason+"_")})
	}
	return out
}

// numbers are a numeric field's values in s.
func (s *Sample) numbers(f Field) []float64 {
	if f.Input == Model && !isDerived(f.Name) {
		for k, name := range s.Features {
			if name == f.Name && k < len(s.inputs) {
				return s.inputs[k]
			}
		}
		return nil
	}
	return s.num[f.Name]
}

func isDerived(name string) bool {
	for _, n := range append(append([]string{}, derivedCategorical...), derivedNumeric...) {
		if n == name {
			return true
		}
	}
	return false
}

// Fit fits the profile of the model whose artifact has etag on sample s.
// A raw field the sample's table did not have is not profiled (enrich
// leaves latitude and longitude out of the tables it writes).
func Fit(s *Sample, runDate, artifactETag string, o drift.Options) *Profile {
	p := &Profile{Format: Format, RunDate: runDate, Artifact: artifactETag, Rows: s.Len(), ArrestRate: s.ArrestRate(),
		Prediction: drift.FitNumeric(s.pred, o)}
	if math.IsNaN(p.ArrestRate) {
		p.ArrestRate = 0
	}
	for _, f := range s.fields() {
		if f.Input == Raw && s.absent[f.Name] {
			continue
		}
		if f.Kind == Numeric {
			f.Num = drift.FitNumeric(s.numbers(f), o)
		} else {
			counts, missing := drift.Counts(s.cat[f.Name])
			f.Cat = drift.FitCategorical(counts, missing, o)
		}
		p.Fields = append(p.Fields, f)
	}
	p.Months = s.months()
	return p
}

// months counts the rows per month of their date, oldest first.
func (s *Sample) months() []Month {
	return countMonths(len(s.date), func(i int) (int64, int8) { return s.date[i], s.label[i] })
}

// MonthsOf counts the rows of a crime table per month of their date, oldest
// first: a profile fitted on a sample of t's rows takes t's months from it.
func MonthsOf(t *table.Table) []Month {
	arrest, date := t.Col(crime.ColArrest), t.Col(crime.ColDate)
	if date == nil || date.Kind != table.Time {
		return []Month{}
	}
	return countMonths(t.Len(), func(i int) (int64, int8) {
		y := int8(-1)
		if arrest != nil && arrest.Kind == table.Bool {
			y = arrest.Bools[i]
		}
		return date.Times[i], y
	})
}

// countMonths counts n rows per month; row(i) is a row's date and label.
func countMonths(n int, row func(i int) (int64, int8)) []Month {
	type acc struct{ n, labelled, pos int }
	by := map[string]*acc{}
	var order []string
	for i := range n {
		d, y := row(i)
		if d == table.NoTime {
			continue
		}
		m := table.Wall(d).Format("2006-01")
		a := by[m]
		if a == nil {
			a = &acc{}
			by[m] = a
			order = append(order, m)
		}
		a.n++
		if y >= 0 {
			a.labelled++
			a.pos += int(y)
		}
	}
	sort.Strings(order)
	out := make([]Month, 0, len(order))
	for _, m := range order {
		a := by[m]
		rate := 0.0
		if a.labelled > 0 {
			rate = float64(a.pos) / float64(a.labelled)
		}
		out = append(out, Month{Month: m, Rows: a.n, ArrestRate: rate})
	}
	return out
}

// Compared is one field of a month against the profile.
type Compared struct {
	Name, Kind, Input string
	Calendar          bool
	drift.Comparison
	Ref        []float64     // the reference's share of each bin
	RefMissing float64       // the reference's missing share
	Labels     []string      // the bins' labels
	Shifts     []drift.Shift // categorical: categories halved or doubled (see drift.Categorical.Shifts)
}

// Compare compares sample s (a month) with the profile, field by field
// (every field of the profile, in its order); ratio and minShare are the
// categorical shift rule's.
func (p *Profile) Compare(s *Sample, ratio, minShare float64) []Compared {
	out := make([]Compared, 0, len(p.Fields))
	for _, f := range p.Fields {
		c := Compared{Name: f.Name, Kind: f.Kind, Input: f.Input, Calendar: f.Calendar}
		switch {
		case f.Kind == Numeric && f.Num != nil:
			vals := s.numbers(f)
			if vals == nil { // a model input the month's model does not have
				vals = make([]float64, s.Len())
				for i := range vals {
					vals[i] = math.NaN()
				}
			}
			c.Comparison, c.Labels, c.Ref, c.RefMissing = f.Num.Compare(vals), f.Num.Labels(), f.Num.Shares, f.Num.Missing
		case f.Kind == Categorical && f.Cat != nil:
			counts, missing := drift.Counts(s.cat[f.Name])
			if s.cat[f.Name] == nil {
				missing = s.Len()
			}
			c.Comparison, c.Labels, c.Ref, c.RefMissing = f.Cat.Compare(counts, missing), f.Cat.Labels(), f.Cat.Shares, f.Cat.Missing
			c.Shifts = f.Cat.Shifts(c.Comparison, ratio, minShare)
		default:
			continue
		}
		out = append(out, c)
	}
	return out
}
