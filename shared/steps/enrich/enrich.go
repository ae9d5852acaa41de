// Package enrich is the chain's enrich step: the nearest police station and
// its distance (planar, on the state-plane X/Y, projecting latitude and
// longitude when X/Y are missing) and the time features; records with no
// coordinates at all are kept as rejects.
package enrich

import (
	"bytes"
	"context"

	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/data/enrich"
	"github.com/arrestcast/arrestcast/shared/data/geo"
	"github.com/arrestcast/arrestcast/shared/runner"
	"github.com/arrestcast/arrestcast/shared/steps/internal/fit"
)

// Step is the enrich step.
var Step = runner.Step{Name: chain.Enrich, Run: Run}

// Run enriches the run's window.
func Run(ctx context.Context, r *runner.Run) error {
	t, err := fit.ReadTable(ctx, r, chain.RoleWindow)
	if err != nil {
		return err
	}
	ref, err := r.Input(chain.RoleStations)
	if err != nil {
		return err
	}
	raw, err := r.Get(ctx, ref)
	if err != nil {
		return err
	}
	stations, err := geo.ReadStationsCSV(ctx, bytes.NewReader(raw))
	if err != nil {
		return runner.Permanentf("stations: %w", err)
	}
	e, err := enrich.New(stations)
	if err != nil {
		return &runner.Permanent{Err: err}
	}
	n := t.Len()
	res, err := e.Table(ctx, t) // t is consumed: the result reuses its columns
	if err != nil {
		return runner.Permanentf("enrich: %w", err)
	}
	r.Count(int64(n), int64(res.Table.Len()), int64(len(res.Rejects)))
	if res.Table.Len() == 0 {
		return runner.Permanentf("no crime has coordinates")
	}
	if _, err := r.PutTable(ctx, chain.RoleEnriched, chain.EnrichedKey(r.Date), res.Table); err != nil {
		return err
	}
	if err := r.PutRejects(ctx, chain.RoleUnplaced, chain.EnrichedRejectsKey(r.Date), res.Rejects); err != nil {
		return err
	}
	_, err = r.PutJSON(ctx, chain.RoleStationsUsed, chain.EnrichedStationsKey(r.Date), e.Stations())
	return err
}
