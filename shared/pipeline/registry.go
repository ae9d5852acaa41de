package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/arrestcast/arrestcast/shared/registry"
	"github.com/arrestcast/arrestcast/shared/store"
	"github.com/arrestcast/arrestcast/shared/table"
)

// ModelRegistry registers train's models in PostgreSQL and applies the
// champion/challenger rule: the challenger and the current champion are both
// scored on the new run's raw test records (each through its own artifact),
// and the challenger takes over unless its ROC-AUC is lower (ties: average
// precision). The switch happens in one transaction, and only if the
// champion is still the one compared with.
type ModelRegistry struct {
	Reg    *registry.Registry
	Store  store.Store
	Models string
}

// Registered reports the model already registered for a run date.
func (m ModelRegistry) Registered(ctx context.Context, d time.Time) (int, bool, error) {
	mod, err := m.Reg.ByRunDate(ctx, d)
	if errors.Is(err, registry.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	return mod.Version, true, nil
}

// Record registers out and decides its role.
func (m ModelRegistry) Record(ctx context.Context, r *Run, out *TrainOutcome, art Ref, rawTest *table.Table) error {
	c := out.Chosen
	params, err := json.Marshal(c.Params)
	if err != nil {
		return fmt.Errorf("encode params: %w", err)
	}
	lineage := []registry.Ref{}
	for _, in := range r.m.Inputs {
		lineage = append(lineage, registry.Ref{Bucket: in.Bucket, Key: in.Key, ETag: in.ETag})
	}
	mod := &registry.Model{
		RunDate: r.Date, Algorithm: c.Algorithm, Params: params,
		TrainRows: int64(out.TrainRows), TestRows: int64(out.TestRows), Metrics: c.Report,
		FeatureImportance: c.Importance, Features: out.Artifact.Recipe.Features, Lineage: lineage,
		Artifact: registry.Ref{Bucket: art.Bucket, Key: art.Key, ETag: art.ETag},
		Duration: time.Since(r.started), CodeVersion: r.Env.Version,
	}
	for attempt := 0; ; attempt++ {
		champVersion, champScores, err := m.scoreChampion(ctx, rawTest)
		if err != nil {
			return err
		}
		challenger := registry.Scores{ROCAUC: c.Report.ROCAUC, AveragePrecision: c.Report.AveragePrecision}
		d := registry.Judge(challenger, champVersion, champScores)
		d.TestSet = TestKey("outliers", r.Date)
		mod.Decision = &d
		version, _, err := m.Reg.Register(ctx, mod)
		if err != nil {
			if errors.Is(err, registry.ErrConflict) || errors.Is(err, registry.ErrInvalid) {
				return &Permanent{err}
			}
			return err
		}
		out.Version, out.Decision = version, d.Reason
		if err := m.Reg.SetDecision(ctx, version, d); err != nil {
			return err
		}
		if !d.Promote {
			return nil
		}
		err = m.Reg.PromoteIfChampion(ctx, version, champVersion, d.Reason, registry.ActorTrain)
		if errors.Is(err, registry.ErrChampionChanged) && attempt < 3 {
			continue // another train promoted meanwhile: compare with the new champion
		}
		if err != nil {
			return err
		}
		out.Champion = true
		return nil
	}
}

// scoreChampion scores the current champion on the run's raw test records.
func (m ModelRegistry) scoreChampion(ctx context.Context, rawTest *table.Table) (int, registry.Scores, error) {
	champ, err := m.Reg.Champion(ctx)
	if errors.Is(err, registry.ErrNoChampion) {
		return 0, registry.NoChampion, nil
	}
	if err != nil {
		return 0, registry.NoChampion, err
	}
	bucket := champ.Artifact.Bucket
	if bucket == "" {
		bucket = m.Models
	}
	p, err := loadArtifact(ctx, m.Store, bucket, champ.Artifact.Key)
	if err != nil {
		if store.IsTransient(err) {
			return 0, registry.NoChampion, err
		}
		// An unreadable champion is not scored: Judge keeps it.
		return champ.Version, registry.NoChampion, nil
	}
	rep, err := ScoreTable(p, rawTest)
	if err != nil {
		return champ.Version, registry.NoChampion, nil
	}
	return champ.Version, registry.Scores{ROCAUC: rep.ROCAUC, AveragePrecision: rep.AveragePrecision}, nil
}
