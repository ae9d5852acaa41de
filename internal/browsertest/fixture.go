// Package browsertest drives the dashboard and predict's docs page in a
// real headless Chromium (Debian's /usr/bin/chromium through playwright-core,
// see run.mjs), over a real PostgreSQL filled by a real run of the chain:
// `make test-browser`. It also holds the fixtures that fill that database.
package browsertest

import (
	"bufio"
	"compress/gzip"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/arrestcast/arrestcast/internal/filesource"
	"github.com/arrestcast/arrestcast/internal/steps"
	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/platform/pg"
	"github.com/arrestcast/arrestcast/shared/platform/registry"
	"github.com/arrestcast/arrestcast/shared/platform/runs"
	"github.com/arrestcast/arrestcast/shared/platform/store"
	"github.com/arrestcast/arrestcast/shared/runner"
	"github.com/arrestcast/arrestcast/shared/steps/monitor"
	"github.com/arrestcast/arrestcast/shared/steps/train"
)

// Chain is what a run of the chain leaves: run tracking and the registry in
// the database, the objects under Buckets.
type Chain struct {
	Buckets string   // a store.Dir root: <Buckets>/<bucket>/<key>
	Dates   []string // the run dates run, in order
	Errors  []error  // per date: nil, or why the run stopped
}

// RunChain runs the whole chain for each run date, in order, into the
// database at databaseURL and a folder store under dir, reading crimes from
// the portal export crimesCSV and stations from stationsCSV. A run that
// stops (a step fails) is recorded and the next date still runs.
//
// runner.RunAll runs a date's steps in-process, with the run tracker and
// the model registry and the monitor's history of the deployed functions.
func RunChain(ctx context.Context, databaseURL, dir, crimesCSV, stationsCSV string, dates ...string) (*Chain, error) {
	pool, err := pg.Open(ctx, databaseURL, pg.Options{})
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	defer pool.Close()
	st, err := store.NewDir(filepath.Join(dir, "buckets"))
	if err != nil {
		return nil, err
	}
	for _, b := range []string{chain.DataBucket, chain.ModelsBucket} {
		if err := st.EnsureBucket(ctx, b); err != nil {
			return nil, err
		}
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	tr := runs.New(pool, runs.Options{CodeVersion: "browsertest", Logger: log})
	if err := tr.Migrate(ctx); err != nil {
		return nil, err
	}
	reg, err := registry.Open(ctx, pool)
	if err != nil {
		return nil, err
	}
	reports, err := monitor.OpenReports(ctx, pool)
	if err != nil {
		return nil, err
	}
	out := &Chain{Buckets: filepath.Join(dir, "buckets"), Dates: dates}
	for _, s := range dates {
		d, err := chain.ParseRunDate(s)
		if err != nil {
			return nil, err
		}
		env := &runner.Env{Store: st, Buckets: chain.DefaultBuckets, Tracker: tr, Log: log, Version: "browsertest"}
		all := steps.All(steps.Options{Source: &filesource.Source{CrimesPath: crimesCSV, StationsPath: stationsCSV},
			Train:   train.Options{Budget: time.Second, Registrar: train.Champions{Reg: reg, Store: st}},
			Monitor: monitor.Options{Champions: reg, Reports: reports}})
		out.Errors = append(out.Errors, runner.RunAll(ctx, env, all, d, "", "", nil, nil))
	}
	return out, nil
}

// Thin writes the header and every k-th record of a (gzipped) portal CSV
// export: a small real year for a quick chain.
func Thin(src, dst string, k int) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	w, err := os.Create(dst)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for i := 0; sc.Scan(); i++ {
		if i == 0 || i%k == 0 {
			bw.WriteString(sc.Text())
			bw.WriteByte('\n')
		}
	}
	if err := sc.Err(); err != nil {
		w.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}
