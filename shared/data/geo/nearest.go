package geo

import (
	"fmt"
	"math"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
)

// Index finds the nearest station to a point. It is a uniform grid over the
// city: each cell lists only the stations that can be nearest to some point
// of the cell (usually 1–3 of the 23), so a query is a cell lookup and a few
// distances; points outside the grid scan all stations. Benchmarked against
// a plain scan and orb's quadtree in nearest_test.go; the grid is the
// fastest. Results are exactly those of a scan (ties to the lower index).
type Index struct {
	stations []Station
	pts      []orb.Point

	minX, minY float64
	inv        float64 // 1 / cell size
	nx, ny     int
	start      []int32 // candidates of cell c: cand[start[c]:start[c+1]]
	cand       []uint8
}

const cellFeet = 2500

// NewIndex indexes the stations (at least one, at most 255, with X/Y).
func NewIndex(stations []Station) (*Index, error) {
	if len(stations) == 0 || len(stations) > 255 {
		return nil, fmt.Errorf("station index: %d stations, want 1 to 255", len(stations))
	}
	ix := &Index{stations: stations}
	for _, s := range stations {
		if math.IsNaN(s.X) || math.IsNaN(s.Y) || math.IsInf(s.X, 0) || math.IsInf(s.Y, 0) {
			return nil, fmt.Errorf("station index: district %s has no X/Y", s.District)
		}
		ix.pts = append(ix.pts, orb.Point{s.X, s.Y})
	}
	b := ChicagoXY
	for _, p := range ix.pts {
		b = b.Extend(p)
	}
	ix.minX, ix.minY, ix.inv = b.Min[0], b.Min[1], 1.0/cellFeet
	ix.nx = int(math.Ceil((b.Max[0]-b.Min[0])/cellFeet)) + 1
	ix.ny = int(math.Ceil((b.Max[1]-b.Min[1])/cellFeet)) + 1
	ix.start = make([]int32, 0, ix.nx*ix.ny+1)
	for cy := range ix.ny {
		for cx := range ix.nx {
			ix.start = append(ix.start, int32(len(ix.cand)))
			ix.cand = ix.candidates(ix.cand, cx, cy)
		}
	}
	ix.start = append(ix.start, int32(len(ix.cand)))
	return ix, nil
}

// candidates appends the stations that can be nearest to a point of cell
// (cx, cy): those whose distance to the cell is at most the smallest
// farthest-corner distance of any station (plus a foot against rounding).
func (ix *Index) candidates(dst []uint8, cx, cy int) []uint8 {
	x0, y0 := ix.minX+float64(cx)*cellFeet, ix.minY+float64(cy)*cellFeet
	cell := orb.Bound{Min: orb.Point{x0, y0}, Max: orb.Point{x0 + cellFeet, y0 + cellFeet}}
	bound := math.Inf(1)
	for _, p := range ix.pts {
		far := math.Hypot(math.Max(p[0]-cell.Min[0], cell.Max[0]-p[0]), math.Max(p[1]-cell.Min[1], cell.Max[1]-p[1]))
		bound = math.Min(bound, far)
	}
	for i, p := range ix.pts {
		dx := math.Max(0, math.Max(cell.Min[0]-p[0], p[0]-cell.Max[0]))
		dy := math.Max(0, math.Max(cell.Min[1]-p[1], p[1]-cell.Max[1]))
		if math.Hypot(dx, dy) <= bound+1 {
			dst = append(dst, uint8(i))
		}
	}
	return dst
}

// Stations returns the indexed stations (do not modify).
func (ix *Index) Stations() []Station { return ix.stations }

// Nearest returns the index of the station nearest to (x, y) in EPSG:3435
// feet and the planar distance to it in feet; (-1, NaN) if x or y is NaN
// or infinite.
func (ix *Index) Nearest(x, y float64) (int, float64) {
	if math.IsNaN(x-x) || math.IsNaN(y-y) { // NaN or ±Inf
		return -1, math.NaN()
	}
	p := orb.Point{x, y}
	fx, fy := (x-ix.minX)*ix.inv, (y-ix.minY)*ix.inv
	if fx < 0 || fy < 0 || fx >= float64(ix.nx) || fy >= float64(ix.ny) {
		return ix.scan(p)
	}
	c := int(fy)*ix.nx + int(fx)
	best, bestD := -1, math.Inf(1)
	for _, i := range ix.cand[ix.start[c]:ix.start[c+1]] {
		if d := planar.DistanceSquared(p, ix.pts[i]); d < bestD {
			best, bestD = int(i), d
		}
	}
	return best, math.Sqrt(bestD)
}

// scan is the plain search over every station.
func (ix *Index) scan(p orb.Point) (int, float64) {
	best, bestD := -1, math.Inf(1)
	for i, q := range ix.pts {
		if d := planar.DistanceSquared(p, q); d < bestD {
			best, bestD = i, d
		}
	}
	return best, math.Sqrt(bestD)
}
