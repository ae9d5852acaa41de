package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/data/table"
	"github.com/arrestcast/arrestcast/shared/ml/gbt"
	"github.com/arrestcast/arrestcast/shared/model"
	"github.com/arrestcast/arrestcast/shared/platform/registry"
	"github.com/arrestcast/arrestcast/shared/platform/store"
	"github.com/arrestcast/arrestcast/shared/runner"
)

// Registrar registers train's models and decides whether each becomes the
// champion.
type Registrar interface {
	// Registered reports a model already registered for the run date in
	// generation (a retried train whose manifest was lost): it is not
	// trained again. A model of an older generation does not count.
	Registered(ctx context.Context, d time.Time, generation string) (version int, ok bool, err error)
	// ChampionParams are the current champion's recipe and, when it is
	// gradient-boosted trees, their parameters (ok false: no champion, or
	// another algorithm).
	ChampionParams(ctx context.Context) (recipe string, p gbt.Params, ok bool, err error)
	// Record registers out's model, whose artifact is at art, judging it
	// against the champion on the run's raw test records.
	Record(ctx context.Context, r *runner.Run, out *Outcome, art runner.Ref, records *table.Table) error
}

// Champions is the Registrar over the model registry: the challenger and
// the current champion are both scored on the new run's raw test records
// (each through its own artifact), and the challenger takes over unless its
// ROC-AUC is lower (ties: average precision). The switch happens in one
// transaction, and only if the champion is still the one compared with.
type Champions struct {
	Reg   *registry.Registry
	Store store.Store
}

// Registered reports the model already registered for a run date. If the
// attempt that registered it failed before applying its decision to promote
// (the model never was champion), the promotion is made now, unless the
// champion it was compared with has been replaced since.
func (c Champions) Registered(ctx context.Context, d time.Time, generation string) (int, bool, error) {
	mod, err := c.Reg.ByRunDate(ctx, d)
	if errors.Is(err, registry.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	if mod.Generation != generation {
		return 0, false, nil // trained from other data: this generation registers its own
	}
	if dec := mod.Decision; dec != nil && dec.Promote && mod.Role == registry.Challenger && mod.PromotedAt.IsZero() {
		err := c.Reg.PromoteIfChampion(ctx, mod.Version, dec.ChampionVersion, dec.Reason, registry.ActorTrain)
		if err != nil && !errors.Is(err, registry.ErrChampionChanged) {
			return 0, false, err
		}
	}
	return mod.Version, true, nil
}

// ChampionParams reads the champion's parameters from the registry.
func (c Champions) ChampionParams(ctx context.Context) (string, gbt.Params, bool, error) {
	champ, err := c.Reg.Champion(ctx)
	if errors.Is(err, registry.ErrNoChampion) {
		return "", gbt.Params{}, false, nil
	}
	if err != nil {
		return "", gbt.Params{}, false, err
	}
	if champ.Algorithm != model.GBT {
		return champ.Recipe, gbt.Params{}, false, nil
	}
	var p gbt.Params
	if err := json.Unmarshal(champ.Params, &p); err != nil || p.Validate() != nil {
		// A champion whose parameters do not read is no start: the defaults are.
		return champ.Recipe, gbt.Params{}, false, nil
	}
	return champ.Recipe, p, true, nil
}

// Record registers out and decides its role.
func (c Champions) Record(ctx context.Context, r *runner.Run, out *Outcome, art runner.Ref, records *table.Table) error {
	ch := out.Chosen
	params, err := json.Marshal(ch.Params)
	if err != nil {
		return fmt.Errorf("encode params: %w", err)
	}
	m := r.Manifest()
	mod := &registry.Model{
		RunDate: r.Date, Algorithm: ch.Algorithm, Params: params,
		TrainRows: int64(out.TrainRows), TestRows: int64(out.TestRows), Metrics: ch.Report,
		FeatureImportance: ch.Importance, Features: out.Artifact.Features(), Lineage: Lineage(&m, r.Prev),
		Artifact: art.Ref, Profile: out.Profile, Duration: time.Since(r.Started()), CodeVersion: r.Env.Version,
		Generation: m.Generation, Recipe: out.Artifact.Kind(),
		// A model of an older generation of this run (a backfill changed its
		// data) is replaced; the same generation's is a replay.
		Replace: true,
	}
	for attempt := 0; ; attempt++ {
		champVersion, champScores, challenger, rows, err := c.compare(ctx, records, out)
		if err != nil {
			return err
		}
		d := registry.Judge(challenger, champVersion, champScores)
		d.TestSet = fmt.Sprintf("%s (%s)", chain.TableKey(chain.Outliers, r.Date, "test"), rows)
		d.Candidates = out.Compared.candidates(out.Candidates, ch)
		mod.Decision = &d
		version, _, err := c.Reg.Register(ctx, mod)
		if err != nil {
			if errors.Is(err, registry.ErrConflict) || errors.Is(err, registry.ErrInvalid) {
				return &runner.Permanent{Err: err}
			}
			return err
		}
		out.Version, out.Decision = version, d.Reason
		if err := c.Reg.SetDecision(ctx, version, d); err != nil {
			return err
		}
		if !d.Promote {
			return nil
		}
		err = c.Reg.PromoteIfChampion(ctx, version, champVersion, d.Reason, registry.ActorTrain)
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

// Lineage is what a model was made from, every object at the version read:
// train's own inputs, and what the steps before it read and handed on
// (the months, the window, the enriched year, the stations), but for the
// temporary intermediates, which expire (they can be made again from these).
// A table read through its binary twin is named with the twin: those are the
// bytes the step read.
func Lineage(m *runner.Manifest, prev *runner.Manifest) []registry.Ref {
	out := []registry.Ref{}
	seen := map[registry.Ref]bool{}
	one := func(ref registry.Ref) {
		if !strings.HasPrefix(ref.Key, chain.TempPrefix) && !seen[ref] {
			seen[ref] = true
			out = append(out, ref)
		}
	}
	add := func(refs []runner.Ref) {
		for _, ref := range refs {
			one(ref.Ref)
			if ref.Twin != nil {
				one(*ref.Twin)
			}
		}
	}
	add(m.Inputs)
	if prev != nil {
		add(prev.Forward)
	}
	return out
}

// compare scores the current champion and the challenger on the same rows
// of the new run's raw test records: the rows the candidates were compared
// on that the champion never trained on (dated on or after its run date;
// most older rows were in its training window, which would bias the
// comparison towards it).
func (c Champions) compare(ctx context.Context, records *table.Table, out *Outcome) (int, registry.Scores, registry.Scores, string, error) {
	cmp := out.Compared
	champ, err := c.Reg.Champion(ctx)
	if errors.Is(err, registry.ErrNoChampion) {
		return 0, registry.NoChampion, cmp.score(out.Chosen).Scores, cmp.What, nil
	}
	if err != nil {
		return 0, registry.NoChampion, registry.NoChampion, "", err
	}
	rows, what := cmp.Rows, cmp.What
	if champ.RunDate.After(cmp.Since) {
		rows, what = UnseenRows(records, cmp.Y, champ.RunDate)
	}
	sub := make([]float64, len(rows))
	for k, i := range rows {
		sub[k] = out.Chosen.Proba[i]
	}
	challenger, err := scoreRows(cmp.Y, rows, sub)
	if err != nil {
		return 0, registry.NoChampion, registry.NoChampion, "", runner.Permanentf("score challenger: %w", err)
	}
	p, err := model.Fetch(ctx, c.Store, champ.Artifact)
	if err != nil {
		if store.IsTransient(err) {
			return 0, registry.NoChampion, registry.NoChampion, "", err
		}
		// An unreadable champion is not scored: Judge keeps it.
		return champ.Version, registry.NoChampion, challenger.Scores, what, nil
	}
	cp, err := p.PredictTable(records.Select(rows))
	if err != nil {
		return champ.Version, registry.NoChampion, challenger.Scores, what, nil
	}
	cs, err := scoreRows(cmp.Y, rows, cp)
	if err != nil {
		return champ.Version, registry.NoChampion, challenger.Scores, what, nil
	}
	return champ.Version, cs.Scores, challenger.Scores, what, nil
}
