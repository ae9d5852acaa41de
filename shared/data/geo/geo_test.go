package geo

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/arrestcast/arrestcast/internal/repo"
)

var stationsFile = repo.Path(repo.Stations)

func loadStations(t testing.TB) []Station {
	t.Helper()
	f, err := os.Open(stationsFile)
	if os.IsNotExist(err) {
		t.Skipf("real data %s absent", stationsFile)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := ReadStationsCSV(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestReadStationsCSV(t *testing.T) {
	st := loadStations(t)
	if len(st) != 23 {
		t.Fatalf("%d stations, want 23", len(st))
	}
	first, last := st[0], st[22]
	if first.District != "1" || first.Name != "Central" || first.X != 1176569.052 || first.Y != 1891771.704 ||
		first.Lat != 41.85837259 || first.Lon != -87.62735617 || first.Address != "1718 S State St" {
		t.Errorf("first station %+v", first)
	}
	if last.District != "Headquarters" || last.Name != "Headquarters" {
		t.Errorf("last station %+v", last)
	}
	for _, s := range st {
		if s.District == "12" && s.Address != "1412 S Blue Island Ave" {
			t.Errorf("quoted newline address read as %q", s.Address)
		}
	}
}

// TestReadStationsJSON turns the CSV into the API's JSON (snake_case names,
// string values, a location object) and expects the same stations.
func TestReadStationsJSON(t *testing.T) {
	want := loadStations(t)
	raw, _ := os.ReadFile(stationsFile)
	recs, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var objs []map[string]any
	for _, rec := range recs[1:] {
		o := map[string]any{}
		for i, h := range recs[0] {
			if rec[i] != "" && h != "LOCATION" {
				o[strings.ReplaceAll(strings.ToLower(h), " ", "_")] = rec[i]
			}
		}
		o["location"] = map[string]any{"latitude": o["latitude"], "longitude": o["longitude"]}
		objs = append(objs, o)
	}
	js, _ := json.Marshal(objs)
	got, err := ReadStationsJSON(context.Background(), bytes.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d stations", len(got))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("station %d: %+v vs %+v", i, got[i], want[i])
		}
	}
}

func TestReadStationsProjectsOrRefuses(t *testing.T) {
	in := "DISTRICT,DISTRICT NAME,X COORDINATE,Y COORDINATE,LATITUDE,LONGITUDE\n1,Central,,,41.85837259,-87.62735617\n"
	st, err := ReadStationsCSV(context.Background(), strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(st[0].X-1176569.052) > 0.1 || math.Abs(st[0].Y-1891771.704) > 0.1 {
		t.Errorf("projected station at %v, %v", st[0].X, st[0].Y)
	}
	for _, bad := range []string{
		"DISTRICT,DISTRICT NAME,X COORDINATE,Y COORDINATE\n1,Central,,\n",
		"DISTRICT,DISTRICT NAME,X COORDINATE,Y COORDINATE\n1,Central,abc,1\n",
		"DISTRICT,DISTRICT NAME,X COORDINATE,Y COORDINATE\n,Central,1176569,1891771\n",
		"DISTRICT,DISTRICT NAME,X COORDINATE,Y COORDINATE\n1,Central,0,0\n",
	} {
		if _, err := ReadStationsCSV(context.Background(), strings.NewReader(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestNearestHandComputed(t *testing.T) {
	ix, err := NewIndex(loadStations(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		x, y     float64
		district string
		dist     float64
	}{
		// 300 ft east and 400 ft south of station 1: a 3-4-5 triangle.
		{1176569.052 + 300, 1891771.704 - 400, "1", 500},
		// A 2017 crime (046XX S VINCENNES AVE) to station 2 at 1175864.837,
		// 1871153.753: dx 4533.163, dy 2997.247, sqrt(20549566.78 + 8983489.58).
		{1180398, 1874151, "2", 5434.432478518},
		// The 2017 crime farthest south-east, to station 4 at 1193131.299,
		// 1837090.265: dx 11987.701, dy 23181.265.
		{1205119, 1813909, "4", 26097.433250525},
		// Outside the grid (scanned): to station 16 at 1138480.758, 1933660.473.
		{1000000, 1933660.473, "16", 138480.758},
		// Exactly on a station.
		{1182739.183, 1858317.732, "3", 0},
	} {
		i, d := ix.Nearest(c.x, c.y)
		if got := ix.Stations()[i].District; got != c.district || math.Abs(d-c.dist) > 1e-6 {
			t.Errorf("(%v, %v): district %s at %.9f, want %s at %.9f", c.x, c.y, got, d, c.district, c.dist)
		}
	}
	for _, p := range [][2]float64{{math.NaN(), 1}, {1, math.NaN()}, {math.Inf(1), 1880000}} {
		if i, d := ix.Nearest(p[0], p[1]); i != -1 || !math.IsNaN(d) {
			t.Errorf("%v: %d %v", p, i, d)
		}
	}
}

func TestNearestGridEqualsScan(t *testing.T) {
	ix, err := NewIndex(loadStations(t))
	if err != nil {
		t.Fatal(err)
	}
	check := func(x, y float64) {
		i, d := ix.Nearest(x, y)
		j, e := ix.scan([2]float64{x, y})
		if i != j || d != e {
			t.Fatalf("(%v, %v): grid %d %v, scan %d %v", x, y, i, d, j, e)
		}
	}
	// A dense sweep over the box and beyond, every cell edge included.
	for x := ChicagoXY.Min[0] - 5000; x <= ChicagoXY.Max[0]+5000; x += cellFeet / 8 {
		for y := ChicagoXY.Min[1] - 5000; y <= ChicagoXY.Max[1]+5000; y += cellFeet / 8 {
			check(x, y)
		}
	}
	// Midpoints between stations: exact ties go to the lower index.
	for _, a := range ix.pts {
		for _, b := range ix.pts {
			check((a[0]+b[0])/2, (a[1]+b[1])/2)
		}
	}
	for _, p := range realPoints(t) {
		check(p.x, p.y)
	}
}

func TestExtent(t *testing.T) {
	for _, s := range loadStations(t) {
		if !InChicagoXY(s.X, s.Y) || !InChicagoLatLon(s.Lat, s.Lon) {
			t.Errorf("station %s outside the city", s.District)
		}
	}
	for _, p := range realPoints(t) {
		if !InChicagoXY(p.x, p.y) || !InChicagoLatLon(p.lat, p.lon) {
			t.Fatalf("2017 crime outside the city: %+v", p)
		}
	}
	for name, ll := range map[string][2]float64{
		"Evanston north": {42.06, -87.68}, "Gary IN": {41.60, -87.34}, "lake": {41.90, -87.40},
		"Milwaukee": {43.04, -87.91}, "zero": {0, 0}, "swapped": {-87.63, 41.88}, "Hinsdale": {41.80, -87.97},
	} {
		if InChicagoLatLon(ll[0], ll[1]) {
			t.Errorf("%s inside lat/lon box", name)
		}
		if x, y := ToStatePlane(ll[0], ll[1]); InChicagoXY(x, y) {
			t.Errorf("%s inside X/Y box", name)
		}
	}
	if InChicagoXY(math.NaN(), 1900000) || InChicagoLatLon(41.8, math.NaN()) {
		t.Error("NaN inside")
	}
	// The X/Y box holds the projection of the lat/lon box.
	for i := 0; i <= 100; i++ {
		f := float64(i) / 100
		b := ChicagoLatLon
		lat, lon := b.Min[1]+f*(b.Max[1]-b.Min[1]), b.Min[0]+f*(b.Max[0]-b.Min[0])
		for _, ll := range [][2]float64{{lat, b.Min[0]}, {lat, b.Max[0]}, {b.Min[1], lon}, {b.Max[1], lon}} {
			if x, y := ToStatePlane(ll[0], ll[1]); !InChicagoXY(x, y) {
				t.Fatalf("projection of %v outside the X/Y box", ll)
			}
		}
	}
}
