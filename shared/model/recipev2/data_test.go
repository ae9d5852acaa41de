package recipev2_test

import (
	"compress/gzip"
	"context"
	"os"
	"sync"
	"testing"

	"github.com/arrestcast/arrestcast/internal/repo"

	"github.com/arrestcast/arrestcast/shared/data/crime"
	"github.com/arrestcast/arrestcast/shared/data/enrich"
	"github.com/arrestcast/arrestcast/shared/data/geo"
	"github.com/arrestcast/arrestcast/shared/data/table"
)

var (
	yearOnce     sync.Once
	year         *table.Table
	yearStations []geo.Station
	yearErr      error
)

// enriched2017 is the real 2017 year through the enrich step's code: the
// portal CSV read by crime.ReadPortalCSV, enriched against the police
// stations (rows without coordinates left out, as enrich rejects them).
func enriched2017(t testing.TB) (*table.Table, []geo.Station) {
	t.Helper()
	crimes := repo.Need(t, repo.Crimes2017)
	stations := repo.Need(t, repo.Stations)
	yearOnce.Do(func() {
		ctx := context.Background()
		sf, err := os.Open(stations)
		if err != nil {
			yearErr = err
			return
		}
		defer sf.Close()
		st, err := geo.ReadStationsCSV(ctx, sf)
		if err != nil {
			yearErr = err
			return
		}
		e, err := enrich.New(st)
		if err != nil {
			yearErr = err
			return
		}
		f, err := os.Open(crimes)
		if err != nil {
			yearErr = err
			return
		}
		defer f.Close()
		z, err := gzip.NewReader(f)
		if err != nil {
			yearErr = err
			return
		}
		res, err := crime.ReadPortalCSV(ctx, z)
		if err != nil {
			yearErr = err
			return
		}
		en, err := e.Table(ctx, res.Table)
		if err != nil {
			yearErr = err
			return
		}
		year, yearStations = en.Table, e.Stations()
	})
	if yearErr != nil {
		t.Fatal(yearErr)
	}
	return year, yearStations
}

// byDate splits an enriched table at wall-clock dates: rows before a, rows
// in [a, b), rows from b on.
func byDate(t testing.TB, tb *table.Table, a, b int64) (before, between, after *table.Table) {
	t.Helper()
	c, err := tb.Lookup(crime.ColDate, table.Time)
	if err != nil {
		t.Fatal(err)
	}
	var x, y, z []int
	for i, d := range c.Times {
		switch {
		case d < a:
			x = append(x, i)
		case d < b:
			y = append(y, i)
		default:
			z = append(z, i)
		}
	}
	return tb.Select(x), tb.Select(y), tb.Select(z)
}
