package enrich

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"math"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/internal/repo"

	"github.com/arrestcast/arrestcast/shared/data/crime"
	"github.com/arrestcast/arrestcast/shared/data/geo"
	"github.com/arrestcast/arrestcast/shared/data/table"
)

var (
	crimesFile   = repo.Path(repo.Crimes2017)
	stationsFile = repo.Path(repo.Stations)
)

func open(t testing.TB, name string) *os.File {
	t.Helper()
	f, err := os.Open(name)
	if os.IsNotExist(err) {
		t.Skipf("real data %s absent", name)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func enricher(t testing.TB) *Enricher {
	t.Helper()
	st, err := geo.ReadStationsCSV(context.Background(), open(t, stationsFile))
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(st)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

var (
	yearOnce sync.Once
	year     *table.Table
	yearErr  error
)

func crimes2017(t testing.TB) *table.Table {
	t.Helper()
	f := open(t, crimesFile)
	yearOnce.Do(func() {
		z, err := gzip.NewReader(f)
		if err != nil {
			yearErr = err
			return
		}
		res, err := crime.ReadPortalCSV(context.Background(), z)
		if err == nil && len(res.Rejects) > 0 {
			err = errors.New("rejects in the real file")
		}
		if res != nil {
			year = res.Table
		}
		yearErr = err
	})
	if yearErr != nil {
		t.Fatal(yearErr)
	}
	return year
}

func TestRecord(t *testing.T) {
	e := enricher(t)
	at := wall(2017, 7, 14, 19, 30, 0) // a Friday evening
	nan := math.NaN()

	f, err := e.Record(Input{Date: at, X: 1176569.052 + 300, Y: 1891771.704 - 400, Lat: nan, Lon: nan})
	if err != nil {
		t.Fatal(err)
	}
	want := Features{Station: 0, District: "1", Name: "Central", Distance: 500, X: 1176869.052, Y: 1891371.704,
		TimeFeatures: TimeFeatures{Season: Summer, DayOfWeek: 4, DayTime: Night, Hour: 19}}
	if math.Abs(f.Distance-500) > 1e-6 {
		t.Fatalf("distance %v", f.Distance)
	}
	f.Distance = 500
	if f != want {
		t.Errorf("got %+v\nwant %+v", f, want)
	}

	// Only lat/lon: projected (station 2's own lat/lon lands on station 2).
	f, err = e.Record(Input{Date: at, X: nan, Y: nan, Lat: 41.80181109, Lon: -87.63056018})
	if err != nil || !f.Projected || f.District != "2" || f.Distance > 0.1 {
		t.Errorf("projected: %+v %v", f, err)
	}
	// X/Y win over lat/lon when both are there.
	f, _ = e.Record(Input{Date: at, X: 1176569.052, Y: 1891771.704, Lat: 41.80181109, Lon: -87.63056018})
	if f.Projected || f.District != "1" {
		t.Errorf("X/Y not used first: %+v", f)
	}
	if _, err := e.Record(Input{Date: at, X: nan, Y: 1891771.704, Lat: nan, Lon: -87.6}); !errors.Is(err, ErrNoCoordinates) {
		t.Errorf("half coordinates: %v", err)
	}
	if _, err := e.Record(Input{Date: table.NoTime, X: 1, Y: 1}); !errors.Is(err, ErrNoDate) {
		t.Errorf("no date: %v", err)
	}
	in := Input{Date: at, X: nan, Y: nan, Lat: 41.8, Lon: -87.7}
	if n := testing.AllocsPerRun(100, func() { _, _ = e.Record(in) }); n != 0 {
		t.Errorf("Record allocates %v times", n)
	}
}

// TestTableOn2017 enriches the whole year and checks every row against an
// independent computation: a scan of the stations with math.Hypot and the
// time package.
func TestTableOn2017(t *testing.T) {
	e := enricher(t)
	in := crimes2017(t)
	res, err := e.Table(context.Background(), in.Clone())
	if err != nil {
		t.Fatal(err)
	}
	out := res.Table
	if strings.Join(out.Names(), ",") != strings.Join(Kept, ",") {
		t.Fatalf("columns %v", out.Names())
	}
	for _, c := range out.Columns() {
		if c.Kind != crime.Kinds[c.Name] {
			t.Errorf("%s is %s", c.Name, c.Kind)
		}
	}
	// 2,797 rows have neither X/Y nor lat/lon (data README).
	if out.Len() != 264995 || len(res.Rejects) != 2797 {
		t.Fatalf("%d rows, %d rejects", out.Len(), len(res.Rejects))
	}
	for _, r := range res.Rejects {
		if r.Reason != "no coordinates" || !in.Col(crime.ColX).IsMissing(r.Line-1) {
			t.Fatalf("reject %+v", r)
		}
	}
	if r := res.Rejects[0]; r.Line != 1 || !strings.HasPrefix(r.Raw, "11227508,JB146365,2017-01-01T00:01:00,") {
		t.Errorf("first reject %+v", r)
	}

	st := e.Stations()
	xs, ys := out.Col(crime.ColX).Nums, out.Col(crime.ColY).Nums
	dates := out.Col(crime.ColDate).Times
	sd, sn := out.Col(crime.ColStationDistrict), out.Col(crime.ColStationName)
	dist, dow := out.Col(crime.ColDistance).Nums, out.Col(crime.ColDayOfWeek).Nums
	season, daytime := out.Col(crime.ColSeason), out.Col(crime.ColDayTime)
	seasons := map[time.Month]string{12: "Winter", 1: "Winter", 2: "Winter", 3: "Spring", 4: "Spring", 5: "Spring",
		6: "Summer", 7: "Summer", 8: "Summer", 9: "Autumn", 10: "Autumn", 11: "Autumn"}
	for i := range out.Len() {
		best, bestD := -1, math.Inf(1)
		for j, s := range st {
			if d := math.Hypot(xs[i]-s.X, ys[i]-s.Y); d < bestD {
				best, bestD = j, d
			}
		}
		if sd.Str(i) != st[best].District || sn.Str(i) != st[best].Name || math.Abs(dist[i]-bestD) > 1e-6 {
			t.Fatalf("row %d: %s %s %v, want %s %s %v", i, sd.Str(i), sn.Str(i), dist[i], st[best].District, st[best].Name, bestD)
		}
		tm := table.Wall(dates[i])
		dayTime := []string{"Early Morning", "Morning", "Afternoon", "Night"}[tm.Hour()/6]
		if season.Str(i) != seasons[tm.Month()] || int(dow[i]) != (int(tm.Weekday())+6)%7 || daytime.Str(i) != dayTime {
			t.Fatalf("row %d (%s): %s %v %s", i, tm, season.Str(i), dow[i], daytime.Str(i))
		}
	}
	// Passed-through columns are the input's kept rows.
	keptIn := in.Filter(func(i int) bool { return !in.Col(crime.ColX).IsMissing(i) })
	for _, name := range Kept[:14] {
		a, _ := keptIn.Keep(name)
		b, _ := out.Keep(name)
		if err := table.Equal(a, b); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	// The enriched table survives the project CSV.
	var buf bytes.Buffer
	if err := crime.WriteCSV(context.Background(), &buf, out); err != nil {
		t.Fatal(err)
	}
	back, err := crime.ReadCSV(context.Background(), &buf)
	if err != nil || len(back.Rejects) != 0 {
		t.Fatal(err, back.Rejects)
	}
	if err := table.Equal(out, back.Table); err != nil {
		t.Fatal(err)
	}
	if got := back.Table.Col(crime.ColSeason).Dict; strings.Join(got, ",") != "Winter,Spring,Summer,Autumn" {
		t.Errorf("season dictionary read back as %q", got)
	}
}

func TestTableProjectsLatLonOnlyRows(t *testing.T) {
	e := enricher(t)
	nan := math.NaN()
	at := wall(2017, 1, 2, 3, 4, 5)
	cat := func(name string, vals ...string) *table.Column {
		b := table.NewCatBuilder()
		for _, v := range vals {
			b.Add(v)
		}
		return b.Column(name)
	}
	cols := []*table.Column{table.NewTime(crime.ColDate, []int64{at, at, table.NoTime})}
	for _, name := range Kept[1:12] {
		switch crime.Kinds[name] {
		case table.Bool:
			cols = append(cols, table.NewBool(name, []int8{1, 0, 0}))
		default:
			cols = append(cols, cat(name, "a", "b", "c"))
		}
	}
	cols = append(cols,
		table.NewNumeric(crime.ColX, []float64{nan, nan, 1176569}),
		table.NewNumeric(crime.ColY, []float64{nan, nan, 1891771}),
		table.NewNumeric(crime.ColLatitude, []float64{41.85837259, nan, 41.8}),
		table.NewNumeric(crime.ColLongitude, []float64{-87.62735617, nan, -87.6}))
	in, err := table.New(cols...)
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Table(context.Background(), in.Clone())
	if err != nil {
		t.Fatal(err)
	}
	if res.Table.Len() != 1 || len(res.Rejects) != 2 {
		t.Fatalf("%d rows, rejects %+v", res.Table.Len(), res.Rejects)
	}
	if x := res.Table.Col(crime.ColX).Nums[0]; math.Abs(x-1176569.052) > 0.01 || res.Table.Col(crime.ColStationDistrict).Str(0) != "1" {
		t.Errorf("projected x %v", x)
	}
	if r := res.Rejects; r[0].Line != 2 || r[0].Reason != "no coordinates" || r[1].Line != 3 || r[1].Reason != "no date" {
		t.Errorf("rejects %+v", r)
	}
	// Without latitude/longitude columns at all, such rows are rejects too.
	in.Drop(crime.ColLatitude, crime.ColLongitude)
	if res, err := e.Table(context.Background(), in.Clone()); err != nil || res.Table.Len() != 0 || len(res.Rejects) != 3 {
		t.Errorf("no lat/lon columns: %v", err)
	}
	in.Drop(crime.ColBeat)
	if _, err := e.Table(context.Background(), in); err == nil {
		t.Error("missing column accepted")
	}
}

// BenchmarkTable enriches the whole 2017 year (one op = 267,792 rows; the
// input's copy, which Table consumes, is made outside the timer).
func BenchmarkTable(b *testing.B) {
	e := enricher(b)
	in := crimes2017(b)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		t := in.Clone()
		b.StartTimer()
		if _, err := e.Table(context.Background(), t); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRecord is one record, as predict calls it.
func BenchmarkRecord(b *testing.B) {
	e := enricher(b)
	in := Input{Date: wall(2017, 7, 14, 19, 30, 0), X: 1180398, Y: 1874151, Lat: math.NaN(), Lon: math.NaN()}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Record(in); err != nil {
			b.Fatal(err)
		}
	}
}
