package recipe

import (
	"fmt"
	"math"

	"github.com/arrestcast/arrestcast/shared/data/crime"
	"github.com/arrestcast/arrestcast/shared/data/table"
	"github.com/arrestcast/arrestcast/shared/ml/prep"
)

// FreqColumns are frequency-encoded (share of train rows), as the seed does.
var FreqColumns = []string{
	crime.ColIUCR, crime.ColPrimaryType, crime.ColLocationDescription, crime.ColFBICode, crime.ColDistrict,
	crime.ColStationDistrict, crime.ColStationName, crime.ColBeat, crime.ColWard, crime.ColCommunityArea,
}

// FreqName is the encoded column of a frequency-encoded column.
func FreqName(col string) string { return col + "_freq" }

// ScaledColumns are standardised by the scale step.
var ScaledColumns = []string{crime.ColX, crime.ColY, crime.ColDistance}

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
	if e.Season, err = fitOne(crime.ColSeason); err != nil {
		return nil, fmt.Errorf("fit season one-hot: %w", err)
	}
	if e.DayTime, err = fitOne(crime.ColDayTime); err != nil {
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
	names := []string{crime.ColX, crime.ColY, crime.ColDistance, ColDayOfWeekSin}
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

// Schema is the encoded table's columns, without data: Names() (numeric),
// then the label arrest (bool, 0/1).
func (e *Encoder) Schema() []*table.Column { return LabelledSchema(e.Names()) }

// LabelledSchema is the columns, without data, of a table of numeric
// features (names) and the label arrest (bool, 0/1), the layout of the
// steps from encode on.
func LabelledSchema(names []string) []*table.Column {
	cols := make([]*table.Column, 0, len(names)+1)
	for _, name := range names {
		cols = append(cols, table.NewNumeric(name, nil))
	}
	return append(cols, table.NewBool(crime.ColArrest, nil))
}

// Filler returns what encodes rows [lo, lo+g.Len()) of an enriched (and
// filled) table t into g, a table of Schema's columns: every row goes
// through Row, as predict's do. The encode step hands it to
// table.NewBinaryGroups, so the encoded table is made while it is uploaded
// and never held whole.
func (e *Encoder) Filler(t *table.Table) (func(lo int, g *table.Table) error, error) {
	rd, err := NewReader(t)
	if err != nil {
		return nil, err
	}
	label, err := Labels(t)
	if err != nil {
		return nil, err
	}
	width := len(e.Names())
	return func(lo int, g *table.Table) error {
		cols := g.Columns()
		if len(cols) != width+1 || lo < 0 || lo+g.Len() > len(label) {
			return fmt.Errorf("encode: rows [%d, %d) into %d columns: want %d columns within %d rows", lo, lo+g.Len(), len(cols), width+1, len(label))
		}
		buf := make([]float64, width)
		var r Record
		for i := range g.Len() {
			rd.Read(lo+i, &r)
			e.Row(&r, buf)
			for j, v := range buf {
				cols[j].Nums[i] = v
			}
			cols[width].Bools[i] = int8(label[lo+i])
		}
		return nil
	}, nil
}

// Table encodes every row of an enriched (and filled) table (Filler over
// one group of all rows).
func (e *Encoder) Table(t *table.Table) (*table.Table, error) {
	fill, err := e.Filler(t)
	if err != nil {
		return nil, err
	}
	out, err := table.Alloc(e.Schema(), t.Len())
	if err != nil {
		return nil, err
	}
	if err := fill(0, out); err != nil {
		return nil, err
	}
	return out, nil
}

// Labels reads the arrest column (bool, or numeric 0/1) as labels.
func Labels(t *table.Table) ([]uint8, error) {
	c := t.Col(crime.ColArrest)
	if c == nil {
		return nil, fmt.Errorf("no %s column", crime.ColArrest)
	}
	y := make([]uint8, t.Len())
	switch c.Kind {
	case table.Bool:
		for i, v := range c.Bools {
			if v < 0 {
				return nil, fmt.Errorf("row %d: %s is missing", i, crime.ColArrest)
			}
			y[i] = uint8(v)
		}
	case table.Numeric:
		for i, v := range c.Nums {
			if v != 0 && v != 1 {
				return nil, fmt.Errorf("row %d: %s is %v, want 0 or 1", i, crime.ColArrest, v)
			}
			y[i] = uint8(v)
		}
	default:
		return nil, fmt.Errorf("%s is %v, want bool or 0/1", crime.ColArrest, c.Kind)
	}
	return y, nil
}
