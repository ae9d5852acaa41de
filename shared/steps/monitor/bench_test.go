package monitor_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/internal/filesource"
	"github.com/arrestcast/arrestcast/internal/repo"
	"github.com/arrestcast/arrestcast/internal/steps"
	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/data/crime"
	"github.com/arrestcast/arrestcast/shared/data/table"
	"github.com/arrestcast/arrestcast/shared/model"
	"github.com/arrestcast/arrestcast/shared/model/profile"
	"github.com/arrestcast/arrestcast/shared/platform/store"
	"github.com/arrestcast/arrestcast/shared/runner"
	"github.com/arrestcast/arrestcast/shared/steps/monitor"
	"github.com/arrestcast/arrestcast/shared/steps/train"
)

var bench struct {
	once sync.Once
	t    *table.Table
	pred *model.Predictor
	prof *profile.Profile
	err  error
}

// benchInputs runs the chain in-process on the whole 2017 year (2017-12-01,
// train without its search), then download for 2018-01-01: December, the
// month the model never saw, its artifact and its profile.
func benchInputs(b *testing.B) {
	bench.once.Do(func() {
		dir, err := os.MkdirTemp("", "monitor-bench-")
		if err != nil {
			bench.err = err
			return
		}
		defer os.RemoveAll(dir)
		st, err := store.NewDir(dir)
		if err != nil {
			bench.err = err
			return
		}
		ctx := context.Background()
		for _, bk := range []string{chain.DataBucket, chain.ModelsBucket} {
			if bench.err = st.EnsureBucket(ctx, bk); bench.err != nil {
				return
			}
		}
		env := &runner.Env{Store: st, Buckets: chain.DefaultBuckets}
		all := steps.All(steps.Options{Source: &filesource.Source{CrimesPath: repo.Path(repo.Crimes2017), StationsPath: repo.Path(repo.Stations)},
			Train: train.Options{NoSearch: true, Seed: 1}})
		d1, d2 := time.Date(2017, 12, 1, 0, 0, 0, 0, time.UTC), time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC)
		if bench.err = runner.RunAll(ctx, env, all, d1, "", chain.Train, nil, nil); bench.err != nil {
			return
		}
		if bench.err = runner.RunAll(ctx, env, all, d2, chain.Download, chain.Download, nil, nil); bench.err != nil {
			return
		}
		read := func(bucket, key string) []byte {
			b, err := os.ReadFile(filepath.Join(dir, bucket, filepath.FromSlash(key)))
			if err != nil && bench.err == nil {
				bench.err = err
			}
			return b
		}
		art, prof, month := read(chain.ModelsBucket, chain.ArtifactKey(d1)), read(chain.ModelsBucket, chain.ProfileKey(d1)),
			read(chain.DataBucket, chain.MonthCrimesKey(chain.MonthOf(d1)))
		if bench.err != nil {
			return
		}
		if bench.pred, bench.err = model.Load(art); bench.err != nil {
			return
		}
		var p profile.Profile
		if bench.err = json.Unmarshal(prof, &p); bench.err != nil {
			return
		}
		bench.prof = &p
		res, err := crime.ReadCSV(ctx, bytes.NewReader(month))
		if err != nil {
			bench.err = err
			return
		}
		bench.t = res.Table
	})
	if bench.err != nil {
		b.Fatal(bench.err)
	}
}

// BenchmarkMonth is the monitor's work on December 2017 (20,996 records)
// once its inputs are read: every record through predict's parser and the
// artifact, realized metrics, drift of every profiled field, the verdict.
//
//	go test -run '^$' -bench BenchmarkMonth -benchmem ./shared/steps/monitor/
func BenchmarkMonth(b *testing.B) {
	if _, err := os.Stat(repo.Path(repo.Crimes2017)); err != nil {
		b.Skipf("the real data is absent: %v", err)
	}
	benchInputs(b)
	ctx := context.Background()
	var rep *monitor.Report
	for b.Loop() {
		var err error
		if rep, err = monitor.Evaluate(ctx, bench.t, bench.pred, bench.prof); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(bench.t.Len())*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.Logf("%d records, %d scored, verdict %s, ROC-AUC %.4f, %d fields", bench.t.Len(), rep.Scored, rep.Verdict, *rep.Realized.ROCAUC, len(rep.Fields))
}
