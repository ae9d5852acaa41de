package recipe

import (
	"fmt"
	"math"

	"github.com/arrestcast/arrestcast/shared/prep"
	"github.com/arrestcast/arrestcast/shared/table"
)

// FreqColumns are frequency-encoded (share of train rows), as the seed does.
var FreqColumns = []string{
	ColIUCR, ColPrimaryType, ColLocation, ColFBICode, ColDistrict,
	ColStationDistrict, ColStationName, ColBeat, ColWard, ColCommunityArea,
}

// FreqName is the encoded column of a frequency-encoded column.
func FreqName(col string) string { return col + "_freq" }

// ScaledColumns are standardised by the scale step.
var ScaledColumns = []string{ColX, ColY, ColDistance}

// Encoder turns a Record into numbers: x, y, log1p(distance), sin of the day
// of week (Sun = 1 … Sat = 7), one-hot season and day time (first category
// dropped, unseen → zeros), domestic as 0/1, and frequency encodings.
type Encoder struct {
	Season  *prep.OneHot        `json:"season"`
	DayTime *prep.OneHot        `json:"day_time"`
	Freq    []*prep.FreqEncoder `json:"freq"` // in FreqColumns order
}

// FitEncoder fits the encoders on the train table.
func FitEncoder(train *table.Table) (*Encoder, error) {
	e := &Encoder{}
	var err error
	fitOne := func(col string) (*prep.OneHot, error) {
		c, err := train.Lookup(col, table.Categorical)
		if err != nil {
			return nil, err
		}
		return prep.FitOneHotCodes(col, c.Codes, c.Dict)
	}
	if e.Season, err = fitOne(ColSeason); err != nil {
		return nil, fmt.Errorf("fit season one-hot: %w", err)
	}
	if e.DayTime, err = fitOne(ColDayTime); err != nil {
		return nil, fmt.Errorf("fit day_time one-hot: %w", err)
	}
	for _, col := range FreqColumns {
		c, err := train.Lookup(col, table.Categorical)
		if err != nil {
			return nil, fmt.Errorf("fit frequencies: %w", err)
		}
		f, err := prep.FitFreqCodes(col, c.Codes, c.Dict)
		if err != nil {
			return nil, fmt.Errorf("fit %s frequencies: %w", col, err)
		}
		e.Freq = append(e.Freq, f)
	}
	return e, nil
}

// Names lists the encoded columns in Row's order.
func (e *Encoder) Names() []string {
	names := []string{ColX, ColY, ColDistance, ColDayOfWeekSin}
	names = append(names, e.Season.Names()...)
	names = append(names, e.DayTime.Names()...)
	names = append(names, ColIsDomestic)
	for _, col := range FreqColumns {
		names = append(names, FreqName(col))
	}
	return names
}

// dayOfWeekSin is the seed's day-of-week feature for 0 = Monday … 6 = Sunday.
var dayOfWeekSin = func() (v [7]float64) {
	for d := range v {
		s, err := prep.DayOfWeek(d)
		if err != nil {
			panic(err)
		}
		v[d] = s
	}
	return v
}()

// Row encodes r into out (len(Names()) values). It does not allocate.
func (e *Encoder) Row(r *Record, out []float64) {
	out[0], out[1] = r.X, r.Y
	out[2] = prep.Log1p(r.Distance)
	out[3] = math.NaN()
	if r.DayOfWeek >= 0 && r.DayOfWeek < 7 {
		out[3] = dayOfWeekSin[r.DayOfWeek]
	}
	j := 4
	w := e.Season.Width()
	e.Season.Apply(r.Season, out[j:j+w])
	j += w
	w = e.DayTime.Width()
	e.DayTime.Apply(r.DayTime, out[j:j+w])
	j += w
	out[j] = 0
	if r.Domestic {
		out[j] = 1
	}
	j++
	for k, f := range e.Freq {
		out[j+k] = f.Value(*r.category(FreqColumns[k]))
	}
}

// Table encodes every row of an enriched (and filled) table through Row,
// and appends the label column arrest as 0/1.
func (e *Encoder) Table(t *table.Table) (*table.Table, error) {
	rd, err := NewReader(t)
	if err != nil {
		return nil, err
	}
	names := e.Names()
	n := t.Len()
	cols := make([][]float64, len(names))
	for j := range cols {
		cols[j] = make([]float64, n)
	}
	buf := make([]float64, len(names))
	var r Record
	for i := 0; i < n; i++ {
		rd.Read(i, &r)
		e.Row(&r, buf)
		for j, v := range buf {
			cols[j][i] = v
		}
	}
	out := make([]*table.Column, 0, len(names)+1)
	for j, name := range names {
		out = append(out, table.NewNumeric(name, cols[j]))
	}
	label, err := Labels(t)
	if err != nil {
		return nil, err
	}
	out = append(out, LabelColumn(label))
	return table.New(out...)
}

// LabelColumn is the arrest column of labels (bool, as in the enriched table).
func LabelColumn(y []uint8) *table.Column {
	v := make([]int8, len(y))
	for i, l := range y {
		v[i] = int8(l)
	}
	return table.NewBool(ColArrest, v)
}

// Labels reads the arrest column (bool, or numeric 0/1) as labels.
func Labels(t *table.Table) ([]uint8, error) {
	c := t.Col(ColArrest)
	if c == nil {
		return nil, fmt.Errorf("no %s column", ColArrest)
	}
	y := make([]uint8, t.Len())
	switch c.Kind {
	case table.Bool:
		for i, v := range c.Bools {
			if v < 0 {
				return nil, fmt.Errorf("row %d: %s is missing", i, ColArrest)
			}
			y[i] = uint8(v)
		}
	case table.Numeric:
		for i, v := range c.Nums {
			if v != 0 && v != 1 {
				return nil, fmt.Errorf("row %d: %s is %v, want 0 or 1", i, ColArrest, v)
			}
			y[i] = uint8(v)
		}
	default:
		return nil, fmt.Errorf("%s is %v, want bool or 0/1", ColArrest, c.Kind)
	}
	return y, nil
}
