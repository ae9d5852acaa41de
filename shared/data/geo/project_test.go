package geo

import (
	"compress/gzip"
	"context"
	"math"
	"os"
	"slices"
	"sort"
	"sync"
	"testing"

	"github.com/arrestcast/arrestcast/internal/repo"

	"github.com/arrestcast/arrestcast/shared/data/crime"
)

var crimesFile = repo.Path(repo.Crimes2017)

type point struct{ x, y, lat, lon float64 }

var (
	pointsOnce sync.Once
	points     []point
	pointsErr  error
)

// realPoints returns every 2017 crime that has both X/Y and lat/lon.
func realPoints(t testing.TB) []point {
	t.Helper()
	pointsOnce.Do(func() {
		f, err := os.Open(crimesFile)
		if err != nil {
			pointsErr = err
			return
		}
		defer f.Close()
		z, err := gzip.NewReader(f)
		if err != nil {
			pointsErr = err
			return
		}
		res, err := crime.ReadPortalCSV(context.Background(), z)
		if err != nil {
			pointsErr = err
			return
		}
		tb := res.Table
		xs, ys := tb.Col(crime.ColX).Nums, tb.Col(crime.ColY).Nums
		lats, lons := tb.Col(crime.ColLatitude).Nums, tb.Col(crime.ColLongitude).Nums
		for i := range xs {
			if !math.IsNaN(xs[i]) && !math.IsNaN(ys[i]) && !math.IsNaN(lats[i]) && !math.IsNaN(lons[i]) {
				points = append(points, point{xs[i], ys[i], lats[i], lons[i]})
			}
		}
	})
	if os.IsNotExist(pointsErr) {
		t.Skipf("real data %s absent", crimesFile)
	}
	if pointsErr != nil {
		t.Fatal(pointsErr)
	}
	return points
}

// TestProjectionOnEvery2017Row projects each crime's latitude/longitude and
// compares with its own X/Y. The portal's lat/lon are its whole-foot X/Y
// projected back and rounded to 1e-9° (0.00036 ft north-south, 0.00027 ft
// east-west), so a correct projection lands within a thousandth of a foot.
func TestProjectionOnEvery2017Row(t *testing.T) {
	pts := realPoints(t)
	if len(pts) != 264995 {
		t.Fatalf("%d rows with coordinates, want 264995", len(pts))
	}
	errs := make([]float64, len(pts))
	for i, p := range pts {
		x, y := ToStatePlane(p.lat, p.lon)
		errs[i] = math.Hypot(x-p.x, y-p.y)
	}
	slices.Sort(errs)
	p99, worst := errs[len(errs)*99/100], errs[len(errs)-1]
	over := len(errs) - sort.SearchFloat64s(errs, 0.001)
	t.Logf("projection vs portal X/Y on %d rows: max %.5f ft, p99 %.5f ft, median %.5f ft, %d rows beyond 0.001 ft",
		len(pts), worst, p99, errs[len(errs)/2], over)
	if over != 0 {
		t.Errorf("%d rows disagree with their own X/Y by more than 0.001 ft (max %.4f ft)", over, worst)
	}
}

func TestProjectionStations(t *testing.T) {
	// Stations carry X/Y with three decimals: the projection must agree to
	// a few thousandths of a foot, not just the rounding of whole feet.
	for _, s := range loadStations(t) {
		x, y := ToStatePlane(s.Lat, s.Lon)
		if d := math.Hypot(x-s.X, y-s.Y); d > 0.05 {
			t.Errorf("district %s: %.4f ft off", s.District, d)
		}
	}
	// The projection's origin: lat0 on the central meridian is (984250, 0).
	if x, y := ToStatePlane(36+40.0/60, -(88 + 20.0/60)); math.Abs(x-984250) > 1e-6 || math.Abs(y) > 1e-6 {
		t.Errorf("origin at %v, %v", x, y)
	}
}

func TestProjectionDoesNotAllocate(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { ToStatePlane(41.8, -87.6) }); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}
