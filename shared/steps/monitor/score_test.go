package monitor

import (
	"compress/gzip"
	"context"
	"math"
	"os"
	"testing"

	"github.com/arrestcast/arrestcast/internal/repo"
	"github.com/arrestcast/arrestcast/shared/data/crime"
	"github.com/arrestcast/arrestcast/shared/model"
	"github.com/arrestcast/arrestcast/shared/predict"
)

// Every record the monitor scores reaches the model as the raw crime the
// tables hold (model.RawReader, what train's replay reads): rendered as the
// portal's JSON and parsed by predict's request parser, no field a recipe
// reads is lost or changed. (Without description, v2's description
// encodings all fell to the prior and drifted every month.)
func TestSODARecordsRoundTrip(t *testing.T) {
	f, err := os.Open(repo.Need(t, repo.Crimes2017))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	res, err := crime.ReadPortalCSV(context.Background(), zr)
	if err != nil {
		t.Fatal(err)
	}
	tab := res.Table
	rd, err := model.NewRawReader(tab)
	if err != nil {
		t.Fatal(err)
	}
	soda := newSODA(tab)
	same := func(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }
	bad := 0
	for i := 0; i < tab.Len(); i += 7 {
		var want model.Raw
		rd.Read(i, &want)
		recs, _, err := predict.ParseRequest(soda.record(i))
		if err != nil {
			continue // predict refuses it (no place, no date): counted apart
		}
		got := recs[0]
		if got.Date != want.Date || got.IUCR != want.IUCR || got.PrimaryType != want.PrimaryType || got.Location != want.Location ||
			got.FBICode != want.FBICode || got.Description != want.Description || got.Beat != want.Beat ||
			got.District != want.District || got.Ward != want.Ward || got.CommunityArea != want.CommunityArea ||
			got.Domestic != want.Domestic || !same(got.X, want.X) || !same(got.Y, want.Y) {
			if bad++; bad <= 3 {
				t.Errorf("row %d: predict reads %+v, the table holds %+v", i, got, want)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d records differ", bad)
	}
}
