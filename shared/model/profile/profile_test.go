package profile

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/arrestcast/arrestcast/shared/data/crime"
	"github.com/arrestcast/arrestcast/shared/data/table"
	"github.com/arrestcast/arrestcast/shared/ml/drift"
	"github.com/arrestcast/arrestcast/shared/model/recipe"
)

// records is a small crime table: n rows, every third NARCOTICS (arrest),
// x from 1 to n, ward "UNKNOWN" (split's fill) on every fifth, in two months.
func records(t *testing.T, n int, withX bool) *table.Table {
	t.Helper()
	types, wards := table.NewCatBuilder(), table.NewCatBuilder()
	x := make([]float64, n)
	arrest := make([]int8, n)
	dates := make([]int64, n)
	for i := range n {
		if i%3 == 0 {
			types.Add("NARCOTICS")
			arrest[i] = 1
		} else {
			types.Add("THEFT")
		}
		if i%5 == 0 {
			wards.Add(recipe.Unknown)
		} else {
			wards.Add("12")
		}
		x[i] = float64(i + 1)
		dates[i] = table.WallClock(2017, 1+i%2, 3, 10, 0, 0)
	}
	cols := []*table.Column{types.Column(crime.ColPrimaryType), wards.Column(crime.ColWard),
		table.NewBool(crime.ColArrest, arrest), table.NewTime(crime.ColDate, dates)}
	if withX {
		cols = append(cols, table.NewNumeric(crime.ColX, x))
	}
	tb, err := table.New(cols...)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

func sample(t *testing.T, tb *table.Table, season string) *Sample {
	rows := make([]int, tb.Len())
	for i := range rows {
		rows[i] = i
	}
	s := NewSample(tb, rows, []string{"f"})
	for i := range rows {
		r := recipe.Record{StationName: "Central", Season: season, DayTime: "Morning", DayOfWeek: i % 7, Distance: float64(i % 10)}
		s.Add(&r, []float64{float64(i % 4)}, float64(i%10)/10)
	}
	return s
}

func TestFitAndCompare(t *testing.T) {
	ref := sample(t, records(t, 600, true), "Winter")
	p := Fit(ref, "2018-01-01", "etag-1", drift.Options{})
	if p.Format != Format || p.Rows != 600 || math.Abs(p.ArrestRate-1.0/3) > 1e-12 || len(p.Months) != 2 || p.Months[0].Month != "2017-01" || p.Months[0].Rows != 300 {
		t.Fatalf("profile header %+v", p)
	}
	byName := map[string]Field{}
	for _, f := range p.Fields {
		byName[f.Name] = f
	}
	if _, ok := byName[crime.ColLatitude]; ok {
		t.Error("latitude, absent from the table, was profiled")
	}
	if w := byName[crime.ColWard]; w.Cat == nil || math.Abs(w.Cat.Missing-0.2) > 1e-12 {
		t.Errorf("ward: split's UNKNOWN is missing: %+v", w.Cat)
	}
	if f := byName["f"]; f.Input != Model || f.Num == nil || len(f.Num.Edges) != 4 {
		t.Errorf("model input f: %+v", f)
	}
	if !byName[crime.ColSeason].Calendar || byName[crime.ColDayTime].Calendar {
		t.Error("only the season is a calendar field")
	}
	// The profile survives JSON (it is stored as such).
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var back Profile
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	// The same records compare equal; a month without x has x all missing.
	for _, c := range back.Compare(sample(t, records(t, 600, true), "Summer"), 1.5, 0.01) {
		if c.Name != crime.ColSeason && c.PSI > 1e-12 {
			t.Errorf("%s: PSI %v on the same data", c.Name, c.PSI)
		}
	}
	for _, c := range back.Compare(sample(t, records(t, 300, false), "Winter"), 1.5, 0.01) {
		if c.Name == crime.ColX && (c.Missing != 1 || !math.IsNaN(c.PSI) || c.RefMissing != 0) {
			t.Errorf("x gone: %+v", c)
		}
	}
}
