//go:build integration

package steps_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/internal/filesource"
	"github.com/arrestcast/arrestcast/internal/repo"

	"github.com/arrestcast/arrestcast/internal/steps"
	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/platform/store"
	"github.com/arrestcast/arrestcast/shared/runner"
	"github.com/arrestcast/arrestcast/shared/steps/train"
)

// TestModelQuality2017 runs the whole chain in-process on the real 2017
// year, as cmd/pipeline does, and holds the model to the bar on the
// 20 % test split: the seed's XGBoost figures, ROC-AUC ≥ 0.892 and average
// precision ≥ 0.776. Measured with gbt's defaults: 0.8935–0.8943 and
// 0.7786–0.7793 over seeds 1–3 (shared/ml/gbt DefaultParams).
func TestModelQuality2017(t *testing.T) {
	crimes, stations := repo.Path(repo.Crimes2017), repo.Path(repo.Stations)
	st, err := store.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, b := range []string{chain.DataBucket, chain.ModelsBucket} {
		if err := st.EnsureBucket(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	env := &runner.Env{Store: st, Buckets: chain.DefaultBuckets}
	steps := steps.All(steps.Options{Source: &filesource.Source{CrimesPath: crimes, StationsPath: stations},
		Train: train.Options{Budget: 2 * time.Second}})
	date, _ := chain.ParseRunDate("2018-01-01")
	var trained *runner.Manifest
	err = runner.RunAll(ctx, env, steps, date, "", "", nil, func(step string, res runner.Result, took time.Duration) {
		if m := res.Manifest; m != nil {
			t.Logf("%-9s rows %7d -> %7d  %.2fs", step, m.RowsIn, m.RowsOut, took.Seconds())
			if step == chain.Train {
				trained = m
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(st.Root(), chain.ModelsBucket, chain.ArtifactKey(date)))
	if err != nil {
		t.Fatal(err)
	}
	var a struct {
		Metrics map[string]float64 `json:"metrics"`
	}
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatal(err)
	}
	t.Logf("test split: ROC-AUC %.4f  AP %.4f  (%v)", a.Metrics["roc_auc"], a.Metrics["average_precision"], trained.Notes["algorithm"])
	t.Logf("against the seed's XGBoost (0.892 / 0.776): ROC-AUC %+.4f, AP %+.4f", a.Metrics["roc_auc"]-0.892, a.Metrics["average_precision"]-0.776)
	if a.Metrics["roc_auc"] < 0.892 || a.Metrics["average_precision"] < 0.776 {
		t.Errorf("ROC-AUC %.4f (want ≥ 0.892), AP %.4f (want ≥ 0.776)", a.Metrics["roc_auc"], a.Metrics["average_precision"])
	}
	if e, _ := trained.Notes["max_replay_error"].(float64); e > 1e-9 {
		t.Errorf("artifact replays the preprocessing with error %g", e)
	}
}
