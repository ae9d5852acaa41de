package enrich

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/arrestcast/arrestcast/shared/data/crime"
	"github.com/arrestcast/arrestcast/shared/data/table"
)

// Kept are the columns of an enriched table, in order (seed step 4).
var Kept = []string{
	crime.ColDate, crime.ColIUCR, crime.ColPrimaryType, crime.ColDescription, crime.ColLocationDescription,
	crime.ColArrest, crime.ColDomestic, crime.ColBeat, crime.ColDistrict, crime.ColWard,
	crime.ColCommunityArea, crime.ColFBICode, crime.ColX, crime.ColY,
	crime.ColStationDistrict, crime.ColStationName, crime.ColDistance,
	crime.ColSeason, crime.ColDayOfWeek, crime.ColDayTime,
}

// Result is an enriched table and the input rows that could not be
// enriched. A Reject's Line is the 1-based row of the input table and its
// Raw the input row in crime.WriteCSV's format.
type Result struct {
	Table   *table.Table
	Rejects []crime.Reject
}

// Table enriches a crime table (the columns of Kept up to y_coordinate, with
// the kinds of crime.Kinds; latitude/longitude are used when present). The
// result has the columns of Kept; x_coordinate/y_coordinate hold projected
// values for rows that only had latitude/longitude. Each row goes through
// Record.
//
// The result is built in t's own column storage (the kept rows moved down in
// place, x/y overwritten): a copy of the input would be the step's largest
// allocation. t must not be used afterwards; Clone it first to keep it.
func (e *Enricher) Table(ctx context.Context, t *table.Table) (*Result, error) {
	var src []*table.Column
	for _, name := range Kept[:14] {
		c, err := t.Lookup(name, crime.Kinds[name])
		if err != nil {
			return nil, fmt.Errorf("enrich: %w", err)
		}
		src = append(src, c)
	}
	kept, err := t.Keep(Kept[:12]...)
	if err != nil {
		return nil, fmt.Errorf("enrich: %w", err)
	}
	dates, xs, ys := src[0].Times, src[12].Nums, src[13].Nums
	lats, lons := optional(t, crime.ColLatitude), optional(t, crime.ColLongitude)

	n := t.Len()
	rows := make([]int, 0, n)
	dist, dow := make([]float64, 0, n), make([]float64, 0, n)
	station, season, daytime := make([]int32, 0, n), make([]int32, 0, n), make([]int32, 0, n)
	stDistrict, stName, districts, names := e.stationCodes()
	var rejects []crime.Reject
	for i := range n {
		if i%16384 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("enrich: %w", err)
			}
		}
		in := Input{Date: dates[i], X: xs[i], Y: ys[i], Lat: math.NaN(), Lon: math.NaN()}
		if lats != nil {
			in.Lat, in.Lon = lats[i], lons[i]
		}
		f, err := e.Record(in)
		if err != nil {
			// Row i is intact: only rows before the kept count k <= i were written.
			rejects = append(rejects, crime.Reject{Line: i + 1, Reason: err.Error(), Raw: crime.FormatRow(t, i)})
			continue
		}
		k := len(rows)
		rows = append(rows, i)
		xs[k], ys[k] = f.X, f.Y // k <= i: row k was read already
		dist = append(dist, f.Distance)
		station = append(station, int32(f.Station))
		season, daytime = append(season, int32(f.Season)), append(daytime, int32(f.DayTime))
		dow = append(dow, float64(f.DayOfWeek))
	}

	if err := kept.Compact(rows); err != nil {
		return nil, fmt.Errorf("enrich: %w", err)
	}
	k := len(rows)
	for _, c := range []*table.Column{
		table.NewNumeric(crime.ColX, xs[:k:k]),
		table.NewNumeric(crime.ColY, ys[:k:k]),
		table.NewCategorical(crime.ColStationDistrict, remap(slices.Clone(station), stDistrict), districts),
		table.NewCategorical(crime.ColStationName, remap(station, stName), names),
		table.NewNumeric(crime.ColDistance, dist),
		table.NewCategorical(crime.ColSeason, season, crime.Vocab[crime.ColSeason]),
		table.NewNumeric(crime.ColDayOfWeek, dow),
		table.NewCategorical(crime.ColDayTime, daytime, crime.Vocab[crime.ColDayTime]),
	} {
		if err := kept.Set(c); err != nil {
			return nil, fmt.Errorf("enrich: %w", err)
		}
	}
	return &Result{Table: kept, Rejects: rejects}, nil
}

func optional(t *table.Table, name string) []float64 {
	if c := t.Col(name); c != nil && c.Kind == table.Numeric {
		return c.Nums
	}
	return nil
}

// stationCodes returns, per station, its code in the district and name
// dictionaries (stations may share a district or name), and the dictionaries.
func (e *Enricher) stationCodes() (district, name []int32, districts, names []string) {
	db, nb := table.NewCatBuilder(), table.NewCatBuilder()
	for _, s := range e.Stations() {
		district = append(district, db.Code(s.District))
		name = append(name, nb.Code(s.Name))
	}
	return district, name, slices.Clip(db.Dict()), slices.Clip(nb.Dict())
}

// remap turns station indices into dictionary codes, in place.
func remap(station, code []int32) []int32 {
	for i, s := range station {
		station[i] = code[s]
	}
	return station
}
