package geo

import (
	"math"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/quadtree"
)

// The three nearest-station searches on every 2017 crime location, in file
// order: the grid Index (kept), a plain scan of the 23 stations, and orb's
// quadtree. ns/op is per query.
func BenchmarkNearestGrid(b *testing.B) {
	ix, pts := benchSetup(b)
	i := 0
	for b.Loop() {
		p := pts[i%len(pts)]
		ix.Nearest(p.x, p.y)
		i++
	}
}

func BenchmarkNearestScan(b *testing.B) {
	ix, pts := benchSetup(b)
	i := 0
	for b.Loop() {
		p := pts[i%len(pts)]
		ix.scan(orb.Point{p.x, p.y})
		i++
	}
}

func BenchmarkNearestQuadtree(b *testing.B) {
	ix, pts := benchSetup(b)
	qt := quadtree.New(ChicagoXY.Pad(200000))
	for _, p := range ix.pts {
		if err := qt.Add(p); err != nil {
			b.Fatal(err)
		}
	}
	i := 0
	for b.Loop() {
		p := pts[i%len(pts)]
		q := qt.Find(orb.Point{p.x, p.y}).Point()
		_ = math.Hypot(q[0]-p.x, q[1]-p.y)
		i++
	}
}

func BenchmarkToStatePlane(b *testing.B) {
	_, pts := benchSetup(b)
	i := 0
	for b.Loop() {
		p := pts[i%len(pts)]
		ToStatePlane(p.lat, p.lon)
		i++
	}
}

func benchSetup(b *testing.B) (*Index, []point) {
	ix, err := NewIndex(loadStations(b))
	if err != nil {
		b.Fatal(err)
	}
	pts := realPoints(b)
	b.ReportAllocs()
	b.ResetTimer()
	return ix, pts
}
