// Command pipeline runs every step of ArrestCast's chain in-process, from
// the portal's CSV export to a trained model, over a local folder laid out
// like the buckets (DIR/data/..., DIR/models/...), with the very code the
// functions run (shared/runner.Execute over shared/steps). It prints per-step seconds, rows
// and peak memory, and the model's test metrics.
//
//	go run ./cmd/pipeline -crimes data/chicago/crimes_2017.csv.gz \
//	    -stations data/chicago/police_stations.csv -as-of 2018-01-01 -out /tmp/ac [-json]
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"strings"
	"time"

	"github.com/arrestcast/arrestcast/internal/filesource"
	"github.com/arrestcast/arrestcast/internal/procstat"
	"github.com/arrestcast/arrestcast/internal/stackfile"
	"github.com/arrestcast/arrestcast/internal/steps"
	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/config"
	"github.com/arrestcast/arrestcast/shared/model"
	"github.com/arrestcast/arrestcast/shared/platform/hugeheap"
	"github.com/arrestcast/arrestcast/shared/platform/store"
	"github.com/arrestcast/arrestcast/shared/runner"
	"github.com/arrestcast/arrestcast/shared/steps/train"
)

type stepResult struct {
	Step    string  `json:"step"`
	Outcome string  `json:"outcome"`
	Seconds float64 `json:"seconds"`
	RowsIn  int64   `json:"rows_in"`
	RowsOut int64   `json:"rows_out"`
	Rejects int64   `json:"rejects"`
	PeakMB  float64 `json:"peak_rss_mb"`
}

type summary struct {
	AsOf     string             `json:"as_of"`
	Rows     int64              `json:"rows"`
	Steps    []stepResult       `json:"steps"`
	Total    float64            `json:"total_seconds"`
	Metrics  map[string]float64 `json:"metrics,omitempty"`
	Features []string           `json:"features,omitempty"`
	Artifact string             `json:"artifact,omitempty"`
	Recipe   string             `json:"recipe,omitempty"` // the chosen model's
	// Trees is how many trees the fit kept; StoppedAtTimeLimit says the fit
	// stopped early to finish within -step-timeout.
	Trees              int  `json:"trees,omitempty"`
	StoppedAtTimeLimit bool `json:"stopped_at_time_limit,omitempty"`
}

func main() {
	crimes := flag.String("crimes", "data/chicago/crimes_2017.csv.gz", "crimes, as the portal's CSV export (plain or .gz)")
	stations := flag.String("stations", "data/chicago/police_stations.csv", "police stations CSV")
	asOf := flag.String("as-of", "2018-01-01", "run date YYYY-MM-DD: the model learns from the 365 days before it")
	out := flag.String("out", "", "output folder, laid out like the buckets (required)")
	asJSON := flag.Bool("json", false, "print one JSON summary instead of a table")
	budget := flag.Duration("train-budget", train.DefaultBudget, "train's hyperparameter search budget")
	noSearch := flag.Bool("no-search", false, "train fits the default parameters once, without the search (like the Python reference's fixed fit)")
	recipes := flag.String("recipes", "all", "which recipes train fits: all (the seed's and v2, the best kept) or seed (the Python reference's alone)")
	threshold := flag.String("threshold", "0.5", "v2's decision threshold: 0.5, or mcc (the probability that maximises MCC on its validation month)")
	stepTimeout := flag.Duration("step-timeout", 0, "a step's time limit, as the function's exec_timeout: train stops boosting in time to finish within it (0: none)")
	from := flag.String("from", "", "first step to run (earlier steps' outputs must be in -out)")
	to := flag.String("to", "", "last step to run (default: train)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
	memprofile := flag.String("memprofile", "", "write an allocation profile of the run to this file (with -from/-to: one step's)")
	traceOut := flag.String("trace", "", "write an execution trace of the run to this file (go tool trace: where the cores sat idle)")
	stack := flag.String("stack", "stack.yml", "stack.yml whose functions' GOGC each step runs with, as deployed (unless GOGC is set)")
	flag.Parse()
	hugeheap.Enable() // as every function process does: see shared/platform/hugeheap
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "pipeline:", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "pipeline:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if *traceOut != "" {
		f, err := os.Create(*traceOut)
		if err == nil {
			err = trace.Start(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "pipeline:", err)
			os.Exit(1)
		}
		defer trace.Stop()
	}
	if *out == "" {
		flag.Usage()
		os.Exit(2)
	}
	if (*recipes != "all" && *recipes != "seed") || (*threshold != "0.5" && *threshold != "mcc") {
		fmt.Fprintln(os.Stderr, "pipeline: -recipes is all or seed, -threshold 0.5 or mcc")
		os.Exit(2)
	}
	date, err := chain.ParseRunDate(*asOf)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pipeline:", err)
		os.Exit(2)
	}
	lvl := slog.LevelInfo
	if *asJSON {
		lvl = slog.LevelWarn
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	gc, err := gcPercents(*stack)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pipeline:", err)
		os.Exit(2)
	}
	s, err := run(ctx, log, *crimes, *stations, *out, *from, *to, date, gc, train.Options{Budget: *budget, NoSearch: *noSearch, Limit: *stepTimeout,
		SeedOnly: *recipes == "seed", ThresholdMCC: *threshold == "mcc"})
	if err != nil {
		fmt.Fprintln(os.Stderr, "pipeline:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
	if *memprofile != "" {
		if err := writeAllocs(*memprofile); err != nil {
			fmt.Fprintln(os.Stderr, "pipeline:", err)
			os.Exit(1)
		}
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", " ")
		_ = enc.Encode(s)
		return
	}
	fmt.Printf("%-9s %8s %10s %10s %8s %9s\n", "step", "seconds", "rows in", "rows out", "rejects", "peak MB")
	for _, st := range s.Steps {
		fmt.Printf("%-9s %8.2f %10d %10d %8d %9.0f\n", st.Step, st.Seconds, st.RowsIn, st.RowsOut, st.Rejects, st.PeakMB)
	}
	fmt.Printf("%-9s %8.2f\n", "total", s.Total)
	if len(s.Metrics) > 0 {
		fmt.Printf("\nmodel (test set): ROC-AUC %.4f  AP %.4f  log loss %.4f  F1 %.4f  MCC %.4f  accuracy %.4f\n",
			s.Metrics["roc_auc"], s.Metrics["average_precision"], s.Metrics["log_loss"], s.Metrics["f1"], s.Metrics["mcc"], s.Metrics["accuracy"])
		fmt.Printf("features: %s\nartifact: %s\n", strings.Join(s.Features, ", "), s.Artifact)
		if s.StoppedAtTimeLimit {
			fmt.Printf("trees: %d (boosting stopped to finish within -step-timeout)\n", s.Trees)
		}
	}
}

// gcPercents is each function's GOGC in the stack file (none when the file
// is absent or GOGC is set here: the runtime then has the user's).
func gcPercents(path string) (map[string]int, error) {
	gc := map[string]int{}
	if os.Getenv("GOGC") != "" {
		return gc, nil
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return gc, nil
	}
	sf, err := stackfile.Load(path, nil)
	if err != nil {
		return nil, err
	}
	for _, step := range chain.Steps {
		env, err := sf.Env(step.Name)
		if err != nil {
			continue // not a function of this stack
		}
		if v, ok := env["GOGC"]; ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				return nil, fmt.Errorf("%s: function %s: GOGC %q", path, step.Name, v)
			}
			gc[step.Name] = n
		}
	}
	return gc, nil
}

func run(ctx context.Context, log *slog.Logger, crimes, stations, out, from, to string, date time.Time, gc map[string]int, opts train.Options) (*summary, error) {
	dir, err := store.NewDir(out)
	if err != nil {
		return nil, err
	}
	for _, b := range []string{chain.DataBucket, chain.ModelsBucket} {
		if err := dir.EnsureBucket(ctx, b); err != nil {
			return nil, err
		}
	}
	env := &runner.Env{Store: dir, Buckets: chain.DefaultBuckets, Log: log, Version: config.Version}
	src := &filesource.Source{CrimesPath: crimes, StationsPath: stations}
	steps := steps.All(steps.Options{Source: src, Train: opts})
	s := &summary{AsOf: date.Format(chain.DateLayout)}
	t0 := time.Now()
	before := func(step string) {
		// Each step's peak memory is its own, as in its own function process,
		// which runs with its function's GOGC.
		if p, ok := gc[step]; ok {
			debug.SetGCPercent(p)
		} else if len(gc) > 0 {
			debug.SetGCPercent(100)
		}
		runtime.GC()
		debug.FreeOSMemory()
		procstat.ResetPeak()
	}
	after := func(step string, res runner.Result, took time.Duration) {
		sr := stepResult{Step: step, Outcome: res.Outcome, Seconds: took.Seconds(), PeakMB: procstat.PeakMB()}
		if m := res.Manifest; m != nil {
			sr.RowsIn, sr.RowsOut, sr.Rejects = m.RowsIn, m.RowsOut, m.Rejects
			if step == chain.Download {
				s.Rows = m.RowsOut
			}
			if key, ok := m.Notes["artifact"].(string); ok && step == chain.Train {
				s.Artifact = filepath.Join(out, chain.ModelsBucket, key)
				switch n := m.Notes["trees"].(type) { // as noted, or read back from JSON
				case int:
					s.Trees = n
				case float64:
					s.Trees = int(n)
				}
				s.StoppedAtTimeLimit, _ = m.Notes["stopped_at_time_limit"].(bool)
			}
		}
		s.Steps = append(s.Steps, sr)
		if step == chain.Download {
			src.Release() // later steps never fetch
		}
	}
	if err := runner.RunAll(ctx, env, steps, date, from, to, before, after); err != nil {
		return s, err
	}
	s.Total = time.Since(t0).Seconds()
	if s.Artifact != "" {
		if err := fillMetrics(s); err != nil {
			return s, err
		}
	}
	return s, nil
}

// fillMetrics reads the test-set metrics and the features from the artifact.
func fillMetrics(s *summary) error {
	b, err := os.ReadFile(s.Artifact)
	if err != nil {
		return err
	}
	var a model.Artifact
	if err := json.Unmarshal(b, &a); err != nil {
		return err
	}
	s.Metrics, s.Features, s.Recipe = a.Metrics, a.Features(), a.Kind()
	return nil
}

// writeAllocs writes the allocation profile (every allocation since start;
// the GC first, as the profile is only complete up to the last one).
func writeAllocs(path string) error {
	runtime.GC()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}
