//go:build integration

package pipeline_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/pipeline"
	"github.com/arrestcast/arrestcast/shared/store"
	"github.com/arrestcast/arrestcast/shared/testenv"
)

// BenchmarkStepsMinIO runs every step on the real 2017 year against a real
// MinIO, each step reading its input from and writing its output to it, and
// reports each step's seconds (the limit: ≤ 2 s each, download to
// features ≤ 6 s together):
//
//	go test -tags integration -run '^$' -bench StepsMinIO -benchtime 1x ./shared/pipeline/
func BenchmarkStepsMinIO(b *testing.B) {
	srv := testenv.MinIO(b)
	root := testenv.RepoRoot()
	ctx := context.Background()
	st, err := store.NewMinIO(store.MinIOConfig{Endpoint: srv.Endpoint, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey})
	if err != nil {
		b.Fatal(err)
	}
	date, _ := chain.ParseRunDate("2018-01-01")
	for i := 0; i < b.N; i++ {
		data, models := srv.NewBucket(b), srv.NewBucket(b)
		env := &pipeline.Env{Store: st, Data: data, Models: models,
			Source: &pipeline.FileSource{
				CrimesPath:   filepath.Join(root, "data/chicago/crimes_2017.csv.gz"),
				StationsPath: filepath.Join(root, "data/chicago/police_stations.csv"),
			},
			Options: pipeline.Options{TrainBudget: 2 * time.Second}}
		toFeatures := 0.0
		err := pipeline.RunAll(ctx, env, date, "", nil, func(step string, res pipeline.Result, took time.Duration) {
			b.ReportMetric(took.Seconds(), step+"-s")
			if step != "train" {
				toFeatures += took.Seconds()
			}
		})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(toFeatures, "download-to-features-s")
	}
}
