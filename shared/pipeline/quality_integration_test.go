//go:build integration

package pipeline_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/pipeline"
	"github.com/arrestcast/arrestcast/shared/store"
)

// TestModelQuality2017 runs the whole chain in-process on the real 2017
// year, as cmd/pipeline does, and holds the trees to ROC-AUC ≥ 0.89 on the
// 20 % test split (the ML-math bar; scikit-learn's HistGradientBoosting gets
// 0.885) and average precision ≥ 0.77 as a regression gate. The seed's
// XGBoost figures (0.892 / 0.776) are logged: measured 0.8922–0.8927 and
// 0.7757–0.7769 depending on what the time-bounded search finds, so they are
// reported, not gated, until the margin is wider than that spread.
func TestModelQuality2017(t *testing.T) {
	root := "../.."
	crimes := filepath.Join(root, "data/chicago/crimes_2017.csv.gz")
	stations := filepath.Join(root, "data/chicago/police_stations.csv")
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
	env := &pipeline.Env{Store: st, Data: chain.DataBucket, Models: chain.ModelsBucket,
		Source:  &pipeline.FileSource{CrimesPath: crimes, StationsPath: stations},
		Options: pipeline.Options{TrainBudget: 2 * time.Second}}
	date, _ := chain.ParseRunDate("2018-01-01")
	var train *pipeline.Manifest
	err = pipeline.RunAll(ctx, env, date, "", nil, func(step string, res pipeline.Result, took time.Duration) {
		if m := res.Manifest; m != nil {
			t.Logf("%-9s rows %7d -> %7d  %.2fs", step, m.RowsIn, m.RowsOut, took.Seconds())
			train = m
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(st.Root(), chain.ModelsBucket, pipeline.ArtifactKey(date)))
	if err != nil {
		t.Fatal(err)
	}
	var a struct {
		Metrics map[string]float64 `json:"metrics"`
	}
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatal(err)
	}
	t.Logf("test split: ROC-AUC %.4f  AP %.4f  (%v)", a.Metrics["roc_auc"], a.Metrics["average_precision"], train.Notes["algorithm"])
	if a.Metrics["roc_auc"] < 0.89 || a.Metrics["average_precision"] < 0.77 {
		t.Errorf("ROC-AUC %.4f (want ≥ 0.89), AP %.4f (want ≥ 0.77)", a.Metrics["roc_auc"], a.Metrics["average_precision"])
	}
	t.Logf("against the seed's XGBoost (0.892 / 0.776): ROC-AUC %+.4f, AP %+.4f", a.Metrics["roc_auc"]-0.892, a.Metrics["average_precision"]-0.776)
	if e, _ := train.Notes["max_replay_error"].(float64); e > 1e-9 {
		t.Errorf("artifact replays the preprocessing with error %g", e)
	}
}
