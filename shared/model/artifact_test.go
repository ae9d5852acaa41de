package model

import (
	"math"
	"strings"
	"testing"

	"github.com/arrestcast/arrestcast/shared/data/crime"
	"github.com/arrestcast/arrestcast/shared/data/table"
)

// An artifact without recipe_name (every artifact before v2) is the seed's.
func TestKind(t *testing.T) {
	if k := (&Artifact{}).Kind(); k != RecipeSeed {
		t.Errorf("no recipe name: %q", k)
	}
	if k := (&Artifact{RecipeName: RecipeV2}).Kind(); k != "v2" {
		t.Errorf("v2: %q", k)
	}
	for _, body := range []string{
		`{"format":"arrestcast.model/v1","recipe_name":"v3"}`,
		`{"format":"arrestcast.model/v1","recipe_name":"v2","algorithm":"gbt"}`,
		`{"format":"arrestcast.model/v1","algorithm":"gbt"}`,
		`{"format":"arrestcast.model/v1","algorithm":"gbt","recipe":{},"recipe_v2":{}}`,
	} {
		if _, err := Load([]byte(body)); err == nil {
			t.Errorf("loaded %s", body)
		}
	}
}

// RawReader gives back the portal's fields of each row, with NaN
// latitude/longitude when the table has none.
func TestRawReader(t *testing.T) {
	cat := func(name string, vals ...string) *table.Column {
		b := table.NewCatBuilder()
		for _, v := range vals {
			b.Add(v)
		}
		return b.Column(name)
	}
	at := table.WallClock(2017, 11, 5, 13, 47, 0)
	cols := []*table.Column{
		table.NewTime(crime.ColDate, []int64{at, at + 60}),
		cat(crime.ColIUCR, "0486", "0820"), cat(crime.ColPrimaryType, "BATTERY", "THEFT"),
		cat(crime.ColDescription, "DOMESTIC BATTERY SIMPLE", ""), cat(crime.ColLocationDescription, "STREET", "RESIDENCE"),
		cat(crime.ColFBICode, "08B", "06"), cat(crime.ColBeat, "0631", "1533"), cat(crime.ColDistrict, "006", "015"),
		cat(crime.ColWard, "8", ""), cat(crime.ColCommunityArea, "44", "25"),
		table.NewBool(crime.ColDomestic, []int8{1, 0}),
		table.NewNumeric(crime.ColX, []float64{1180398, 1138000}), table.NewNumeric(crime.ColY, []float64{1874151, 1900000}),
	}
	tb, err := table.New(cols...)
	if err != nil {
		t.Fatal(err)
	}
	rd, err := NewRawReader(tb)
	if err != nil {
		t.Fatal(err)
	}
	var r Raw
	rd.Read(0, &r)
	if r.Date != at || r.IUCR != "0486" || r.Description != "DOMESTIC BATTERY SIMPLE" || r.Location != "STREET" || r.FBICode != "08B" ||
		r.Beat != "0631" || r.District != "006" || r.Ward != "8" || r.CommunityArea != "44" || !r.Domestic || r.X != 1180398 ||
		r.Y != 1874151 || !math.IsNaN(r.Lat) || !math.IsNaN(r.Lon) || r.PrimaryType != "BATTERY" {
		t.Errorf("row 0: %+v", r)
	}
	rd.Read(1, &r)
	if r.Description != "" || r.Ward != "" || r.Domestic || r.Date != at+60 {
		t.Errorf("row 1: %+v", r)
	}
	if n := testing.AllocsPerRun(100, func() { rd.Read(0, &r) }); n != 0 {
		t.Errorf("Read allocates %v times", n)
	}
	tb.Drop(crime.ColDescription) // the seed's split drops it: optional
	if _, err := NewRawReader(tb); err != nil {
		t.Error(err)
	}
	tb.Drop(crime.ColBeat)
	if _, err := NewRawReader(tb); err == nil || !strings.Contains(err.Error(), crime.ColBeat) {
		t.Errorf("no beat column: %v", err)
	}
}
