package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/arrestcast/arrestcast/shared/data/table"
	"github.com/arrestcast/arrestcast/shared/ml/metrics"
	"github.com/arrestcast/arrestcast/shared/model/recipe"
	"github.com/arrestcast/arrestcast/shared/platform/registry"
	"github.com/arrestcast/arrestcast/shared/platform/store"
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

// Registered reports the model already registered for a run date: an
// earlier train attempt registered it and failed before its manifest. If
// that attempt also failed before applying its decision to promote (the
// model never was champion), the promotion is made now, unless the champion
// it was compared with has been replaced since.
func (m ModelRegistry) Registered(ctx context.Context, d time.Time) (int, bool, error) {
	mod, err := m.Reg.ByRunDate(ctx, d)
	if errors.Is(err, registry.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	if dec := mod.Decision; dec != nil && dec.Promote && mod.Role == registry.Challenger && mod.PromotedAt.IsZero() {
		err := m.Reg.PromoteIfChampion(ctx, mod.Version, dec.ChampionVersion, dec.Reason, registry.ActorTrain)
		if err != nil && !errors.Is(err, registry.ErrChampionChanged) {
			return 0, false, err
		}
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
		champVersion, champScores, challenger, rows, err := m.compare(ctx, rawTest, c.Proba)
		if err != nil {
			return err
		}
		d := registry.Judge(challenger, champVersion, champScores)
		d.TestSet = fmt.Sprintf("%s (%s)", TestKey("outliers", r.Date), rows)
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

// MinFairRows is the least number of unseen test rows (with both classes)
// the comparison needs; with fewer, both models are scored on the whole test set.
const MinFairRows = 500

// compare scores the current champion and the challenger on the same rows
// of the new run's raw test set: those dated on or after the champion's run
// date, which the champion never trained on (most older rows were in its
// training window, which would bias the comparison towards it). proba are
// the challenger's probabilities on every raw test row, in order.
func (m ModelRegistry) compare(ctx context.Context, rawTest *table.Table, proba []float64) (int, registry.Scores, registry.Scores, string, error) {
	y, err := recipe.Labels(rawTest)
	if err != nil {
		return 0, registry.NoChampion, registry.NoChampion, "", &Permanent{err}
	}
	scores := func(rows []int, p []float64) (registry.Scores, error) {
		ys := make([]uint8, len(rows))
		for k, i := range rows {
			ys[k] = y[i]
		}
		auc, err := metrics.ROCAUC(ys, p)
		if err != nil {
			return registry.NoChampion, err
		}
		ap, err := metrics.AveragePrecision(ys, p)
		return registry.Scores{ROCAUC: auc, AveragePrecision: ap}, err
	}
	all := make([]int, len(y))
	for i := range all {
		all[i] = i
	}
	champ, err := m.Reg.Champion(ctx)
	if errors.Is(err, registry.ErrNoChampion) {
		s, err := scores(all, proba)
		return 0, registry.NoChampion, s, fmt.Sprintf("all %d rows", len(all)), err
	}
	if err != nil {
		return 0, registry.NoChampion, registry.NoChampion, "", err
	}
	rows, what := unseenRows(rawTest, y, champ.RunDate)
	sub := make([]float64, len(rows))
	for k, i := range rows {
		sub[k] = proba[i]
	}
	challenger, err := scores(rows, sub)
	if err != nil {
		return 0, registry.NoChampion, registry.NoChampion, "", &Permanent{fmt.Errorf("score challenger: %w", err)}
	}
	bucket := champ.Artifact.Bucket
	if bucket == "" {
		bucket = m.Models
	}
	p, err := loadArtifact(ctx, m.Store, bucket, champ.Artifact.Key)
	if err != nil {
		if store.IsTransient(err) {
			return 0, registry.NoChampion, registry.NoChampion, "", err
		}
		// An unreadable champion is not scored: Judge keeps it.
		return champ.Version, registry.NoChampion, challenger, what, nil
	}
	cp, err := predictTable(p, rawTest.Select(rows))
	if err != nil {
		return champ.Version, registry.NoChampion, challenger, what, nil
	}
	cs, err := scores(rows, cp)
	if err != nil {
		return champ.Version, registry.NoChampion, challenger, what, nil
	}
	return champ.Version, cs, challenger, what, nil
}

// unseenRows returns the rows dated on or after since, or every row when
// they are too few (or of one class) to compare on.
func unseenRows(t *table.Table, y []uint8, since time.Time) ([]int, string) {
	all := make([]int, len(y))
	for i := range all {
		all[i] = i
	}
	dates := t.Col(recipe.ColDate)
	if dates == nil || dates.Kind != table.Time {
		return all, fmt.Sprintf("all %d rows: no dates", len(all))
	}
	from := table.WallSeconds(since)
	var rows []int
	var pos int
	for i, d := range dates.Times {
		if d != table.NoTime && d >= from {
			rows = append(rows, i)
			pos += int(y[i])
		}
	}
	if len(rows) < MinFairRows || pos == 0 || pos == len(rows) {
		return all, fmt.Sprintf("all %d rows: only %d dated from %s", len(all), len(rows), day(since))
	}
	return rows, fmt.Sprintf("%d rows dated from %s, unseen by the champion", len(rows), day(since))
}
