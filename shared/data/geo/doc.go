// Package geo holds what the pipeline knows about places: the police
// stations, the nearest station to a crime, the projection of latitude and
// longitude to the coordinates the data uses, and the city's extent.
//
// Coordinates are Illinois State Plane East, NAD83 (EPSG:3435), in US survey
// feet, as the portal's X/Y columns; distances are planar in those feet, as
// the seed computed them. Points are orb.Point{X, Y}; lat/lon points are
// orb.Point{lon, lat} (orb's order).
//
//	ReadStationsCSV / ReadStationsJSON   the stations dataset (z8bn-74gv)
//	NewIndex(stations).Nearest(x, y)     nearest station and its distance
//	ToStatePlane(lat, lon)               EPSG:4269/4326 degrees to EPSG:3435 feet
//	InChicagoXY / InChicagoLatLon        generous city bounding boxes
//
// Nearest and ToStatePlane do not allocate: predict calls them per request.
package geo
