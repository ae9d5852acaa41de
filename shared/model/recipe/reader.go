package recipe

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/arrestcast/arrestcast/shared/data/crime"
	"github.com/arrestcast/arrestcast/shared/data/table"
)

// Reader reads Records out of an enriched table, row by row, without
// allocating: the table path of the same per-record code predict runs.
type Reader struct {
	cats                 []*table.Column // per categorical field, nil when absent
	catField             []string
	x, y, dist, dow, dom *table.Column
}

var recordCategories = []string{
	crime.ColIUCR, crime.ColPrimaryType, crime.ColLocationDescription, crime.ColFBICode, crime.ColBeat, crime.ColDistrict, crime.ColWard,
	crime.ColCommunityArea, crime.ColStationDistrict, crime.ColStationName, crime.ColSeason, crime.ColDayTime,
}

// NewReader checks the table's columns and returns a Reader over it.
func NewReader(t *table.Table) (*Reader, error) {
	rd := &Reader{catField: recordCategories}
	for _, col := range recordCategories {
		c, err := t.Lookup(col, table.Categorical)
		if err != nil {
			return nil, err
		}
		rd.cats = append(rd.cats, c)
	}
	var err error
	for _, p := range []struct {
		name string
		dst  **table.Column
	}{{crime.ColX, &rd.x}, {crime.ColY, &rd.y}, {crime.ColDistance, &rd.dist}} {
		if *p.dst, err = t.Lookup(p.name, table.Numeric); err != nil {
			return nil, err
		}
	}
	if rd.dom, err = t.Lookup(crime.ColDomestic, table.Bool); err != nil {
		return nil, err
	}
	rd.dow = t.Col(crime.ColDayOfWeek)
	if rd.dow == nil || (rd.dow.Kind != table.Numeric && rd.dow.Kind != table.Categorical) {
		return nil, fmt.Errorf("column %s: want numeric 0-6", crime.ColDayOfWeek)
	}
	return rd, nil
}

// Read fills r with row i.
func (rd *Reader) Read(i int, r *Record) {
	for k, c := range rd.cats {
		*r.category(rd.catField[k]) = c.Str(i)
	}
	r.X, r.Y, r.Distance = rd.x.Nums[i], rd.y.Nums[i], rd.dist.Nums[i]
	r.Domestic = rd.dom.Bools[i] == 1
	r.DayOfWeek = -1
	switch rd.dow.Kind {
	case table.Numeric:
		if v := rd.dow.Nums[i]; !math.IsNaN(v) {
			r.DayOfWeek = int(v)
		}
	case table.Categorical:
		if d, err := strconv.Atoi(rd.dow.Str(i)); err == nil {
			r.DayOfWeek = d
		}
	}
}

// FitFill fits the fill values on the train table: "UNKNOWN" for the seed's
// category columns, and for beat/ward/community_area the category whose
// numeric code is nearest the median code (the seed's median, kept a real code).
func FitFill(train *table.Table) (*Fill, error) {
	f := &Fill{Unknown: FillUnknown, Median: map[string]string{}}
	for _, col := range FillMedian {
		c, err := train.Lookup(col, table.Categorical)
		if err != nil {
			return nil, fmt.Errorf("fit fill: %w", err)
		}
		num := make([]float64, len(c.Dict))
		for k, s := range c.Dict {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				v = math.NaN()
			}
			num[k] = v
		}
		// The median of the rows' values, from a count per code: the rows'
		// values are never gathered (at 16× the year that was 380 MB).
		counts := make([]int, len(c.Dict))
		total := 0
		for _, code := range c.Codes {
			if code >= 0 && !math.IsNaN(num[code]) {
				counts[code]++
				total++
			}
		}
		if total == 0 {
			return nil, fmt.Errorf("fit fill: %s has no numeric codes", col)
		}
		order := make([]int, 0, len(counts))
		for k, n := range counts {
			if n > 0 {
				order = append(order, k)
			}
		}
		slices.SortFunc(order, func(a, b int) int { return cmp.Compare(num[a], num[b]) })
		// kth is the k-th smallest value (0-based) of the sorted rows.
		kth := func(k int) float64 {
			for _, code := range order {
				if k < counts[code] {
					return num[code]
				}
				k -= counts[code]
			}
			panic("fit fill: median past the rows")
		}
		med := kth(total / 2)
		if total%2 == 0 {
			med = (kth(total/2-1) + kth(total/2)) / 2
		}
		best, bestD := "", math.Inf(1)
		for k, v := range num {
			if d := math.Abs(v - med); d < bestD || (d == bestD && c.Dict[k] < best) {
				best, bestD = c.Dict[k], d
			}
		}
		f.Median[col] = best
	}
	return f, nil
}

// Table fills the missing values of every filled column of t, in place,
// with Value: the same fill Record applies to one record.
func (f *Fill) Table(t *table.Table) error {
	cols := append(append([]string{}, f.Unknown...), FillMedian...)
	for _, col := range cols {
		v := f.Value(col)
		if v == "" {
			continue
		}
		c, err := t.Lookup(col, table.Categorical)
		if err != nil {
			return fmt.Errorf("fill: %w", err)
		}
		code := int32(slices.Index(c.Dict, v))
		dict := c.Dict
		if code < 0 {
			dict = append(slices.Clip(c.Dict), v)
			code = int32(len(dict) - 1)
		}
		codes := slices.Clone(c.Codes)
		for i, k := range codes {
			if k < 0 {
				codes[i] = code
			}
		}
		if err := t.Set(table.NewCategorical(col, codes, dict)); err != nil {
			return err
		}
	}
	return nil
}
