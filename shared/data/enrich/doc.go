// Package enrich adds the features of the pipeline's enrich step (seed step
// 4) to crimes: the nearest police station (district, name, planar distance
// in feet), the season, the day of the week and the time of day.
//
// The per-record API is what predict uses on a single raw record; the table
// API is a loop over the very same Record, so training and serving cannot
// drift apart:
//
//	e, _ := enrich.New(stations)
//	f, err := e.Record(enrich.Input{Date: d, X: x, Y: y, Lat: lat, Lon: lon}) // no allocation
//	res, err := e.Table(ctx, crimes) // res.Table, res.Rejects
//
// Dates are table.Time values: the Chicago wall clock as the portal gives
// it, never converted between zones. A record without X/Y but with
// latitude/longitude is projected to X/Y (the seed dropped those); a record
// with neither, or without a date, is not guessed: Table returns it as a
// crime.Reject (reason "no coordinates" or "no date").
package enrich
