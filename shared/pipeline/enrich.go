package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/arrestcast/arrestcast/shared/data/enrich"
	"github.com/arrestcast/arrestcast/shared/data/geo"
)

func init() { Register("enrich", Enrich) }

// EnrichedStationsKey keeps the stations enrich used: the model artifact
// carries them so predict finds the same nearest station.
func EnrichedStationsKey(d time.Time) string {
	return "1-enriched-data/stations_" + day(d) + ".json"
}

// EnrichedRejectsKey holds the rows enrich could not place (no coordinates).
func EnrichedRejectsKey(d time.Time) string {
	return "1-enriched-data/crimes_enriched_" + day(d) + ".rejects.csv"
}

// Enrich adds the nearest police station and its distance (planar, on the
// state-plane X/Y, projecting latitude/longitude when X/Y are missing) and
// the time features; rows with no coordinates at all are kept as rejects.
func Enrich(ctx context.Context, r *Run) error {
	key, err := r.prevOutput(RollingKey(r.Date))
	if err != nil {
		return err
	}
	stationsKey, _ := r.Prev.Notes["stations"].(string)
	if !strings.HasSuffix(stationsKey, "police_stations.csv") {
		return Permanentf("merge's manifest names no stations file")
	}
	t, err := r.GetTable(ctx, key)
	if err != nil {
		return err
	}
	raw, err := r.Get(ctx, stationsKey)
	if err != nil {
		return err
	}
	stations, err := geo.ReadStationsCSV(ctx, bytes.NewReader(raw))
	if err != nil {
		return &Permanent{fmt.Errorf("stations: %w", err)}
	}
	e, err := enrich.New(stations)
	if err != nil {
		return &Permanent{err}
	}
	n := t.Len()
	res, err := e.Table(ctx, t) // t is consumed: the result reuses its columns
	if err != nil {
		return &Permanent{fmt.Errorf("enrich: %w", err)}
	}
	r.Count(int64(n), int64(res.Table.Len()), int64(len(res.Rejects)))
	if res.Table.Len() == 0 {
		return Permanentf("no crime has coordinates")
	}
	if _, err := r.PutTable(ctx, EnrichedKey(r.Date), res.Table); err != nil {
		return err
	}
	if err := r.PutRejects(ctx, EnrichedRejectsKey(r.Date), res.Rejects); err != nil {
		return err
	}
	_, err = r.PutJSON(ctx, "", EnrichedStationsKey(r.Date), e.Stations())
	return err
}
