package geo

import (
	"math"

	"github.com/paulmach/orb"
)

// City of Chicago bounding boxes, generous by about a kilometre. The city
// spans 41.6445–42.0230°N and 87.5240–87.9401°W (O'Hare at the west end);
// 2017 crimes span 41.6446–42.0227°N, 87.5245–87.9289°W, X 1094231–1205119,
// Y 1813909–1951535. The X/Y box is the lat/lon box projected (the bounding
// box of its projected edges, rounded outwards). Both admit some suburbs and
// lake: they catch wrong or swapped coordinates, not borders.
var (
	ChicagoLatLon = orb.Bound{Min: orb.Point{-87.955, 41.635}, Max: orb.Point{-87.51, 42.035}}
	ChicagoXY     = orb.Bound{Min: orb.Point{1087000, 1809500}, Max: orb.Point{1209500, 1956500}}
)

// InChicagoLatLon reports whether a latitude/longitude is inside
// ChicagoLatLon (false for NaN).
func InChicagoLatLon(lat, lon float64) bool {
	return !math.IsNaN(lat) && !math.IsNaN(lon) && ChicagoLatLon.Contains(orb.Point{lon, lat})
}

// InChicagoXY reports whether an EPSG:3435 X/Y is inside ChicagoXY (false
// for NaN).
func InChicagoXY(x, y float64) bool {
	return !math.IsNaN(x) && !math.IsNaN(y) && ChicagoXY.Contains(orb.Point{x, y})
}
