package enrich

import (
	"errors"
	"fmt"
	"math"

	"github.com/arrestcast/arrestcast/shared/data/geo"
	"github.com/arrestcast/arrestcast/shared/data/table"
)

// Reasons a record cannot be enriched (also the Reject reasons of Table).
var (
	ErrNoCoordinates = errors.New("no coordinates")
	ErrNoDate        = errors.New("no date")
)

// Input is what enrichment needs of one raw crime. Missing numbers are NaN,
// a missing date is table.NoTime.
type Input struct {
	Date     int64 // table.Time value
	X, Y     float64
	Lat, Lon float64
}

// Features are the enriched values of one crime.
type Features struct {
	Station  int     // index of the nearest station in Stations()
	District string  // its district ("1" … "25", "Headquarters")
	Name     string  // its district name
	Distance float64 // planar distance to it, feet
	X, Y     float64 // the crime's X/Y (projected from lat/lon when it had none)
	// Projected reports that X/Y were projected from latitude/longitude.
	Projected bool
	TimeFeatures
}

// Enricher enriches crimes against a set of police stations. It is safe for
// concurrent use.
type Enricher struct {
	ix *geo.Index
}

// New returns an Enricher for the stations.
func New(stations []geo.Station) (*Enricher, error) {
	ix, err := geo.NewIndex(stations)
	if err != nil {
		return nil, fmt.Errorf("enrich: %w", err)
	}
	return &Enricher{ix: ix}, nil
}

// Stations returns the stations, in the order of Features.Station.
func (e *Enricher) Stations() []geo.Station { return e.ix.Stations() }

// Record enriches one crime. It fails with ErrNoDate or ErrNoCoordinates
// (neither X/Y nor latitude/longitude). It does not allocate.
func (e *Enricher) Record(in Input) (Features, error) {
	if in.Date == table.NoTime {
		return Features{}, ErrNoDate
	}
	f := Features{X: in.X, Y: in.Y, Station: -1}
	if math.IsNaN(in.X) || math.IsNaN(in.Y) {
		if math.IsNaN(in.Lat) || math.IsNaN(in.Lon) {
			return Features{}, ErrNoCoordinates
		}
		f.X, f.Y = geo.ToStatePlane(in.Lat, in.Lon)
		f.Projected = true
	}
	f.Station, f.Distance = e.ix.Nearest(f.X, f.Y)
	if f.Station < 0 { // infinite coordinates
		return Features{}, ErrNoCoordinates
	}
	s := &e.ix.Stations()[f.Station]
	f.District, f.Name = s.District, s.Name
	f.TimeFeatures = TimeOf(in.Date)
	return f, nil
}
