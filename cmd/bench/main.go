// Command bench measures ArrestCast against the Python system it replaces and
// writes bench/results.md, bench/results.json and bench/scale.png. `make bench`
// runs it; every part can be run alone.
//
//	go run ./cmd/bench                       # everything (about an hour on 2 cores)
//	go run ./cmd/bench -quick                # 1 run, 1× and 4× only, short load tests
//	go run ./cmd/bench -only chain,predict   # some parts; the others keep their last results
//
// Parts: micro (go test -bench over shared/), chain (cmd/pipeline against
// bench/reference/seed_recipe.py, interleaved), predict (our predict function
// against the seed-shaped FastAPI server under load), scale (the Go chain on
// 1×, 4×, 16× the 2017 year).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/arrestcast/arrestcast/internal/stackfile"
)

var allParts = []string{"micro", "chain", "predict", "scale"}

type config struct {
	Root            string
	Crimes          string
	Stations        string
	AsOf            string
	Out             string // results.md, results.json, scale.png
	Work            string // scratch: binaries, runs, scaled data, logs
	Parts           []string
	Runs            int
	Quick           bool
	ScaleRuns       int
	Scales          []int
	Conns           []int
	PredictDuration time.Duration
	PredictWarmup   time.Duration
	Bodies          int
	Benchtime       string
	MicroPkgs       []string
	Python          string
	Install         bool
	Wrk             bool
	FastAPIInput    string
	PipelineArgs    []string
	PipelineEnv     []string // stack.yml's Go runtime settings for the pipeline functions
	RunTimeout      time.Duration
	RenderOnly      bool
}

func main() {
	slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stderr, nil)))
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, strings.Join(os.Args[1:], " ")); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (config, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var c config
	only := fs.String("only", strings.Join(allParts, ","), "parts to run: "+strings.Join(allParts, ","))
	fs.StringVar(&c.Crimes, "crimes", "data/chicago/crimes_2017.csv.gz", "crimes (portal CSV export)")
	fs.StringVar(&c.Stations, "stations", "data/chicago/police_stations.csv", "police stations CSV")
	fs.StringVar(&c.AsOf, "as-of", "2018-01-01", "run date of the pipeline (its 365-day window ends the day before)")
	fs.StringVar(&c.Out, "out", "bench", "where results.md, results.json and scale.png go")
	fs.StringVar(&c.Work, "work", filepath.Join(os.TempDir(), "arrestcast-bench"), "scratch directory (binaries, runs, scaled data, logs)")
	fs.IntVar(&c.Runs, "runs", 3, "interleaved runs of each chain (Go, Python, Go, Python, ...)")
	fs.BoolVar(&c.Quick, "quick", false, "for iteration: 1 run, scale 1× and 4×, 5 s load levels, micro benchmarks once")
	scales := fs.String("scales", "1,4,16", "scale factors of the 2017 year")
	fs.IntVar(&c.ScaleRuns, "scale-runs", 3, "runs of each scale size below the limit factor (medians per step); the limit factor runs once")
	conns := fs.String("conns", "1,16", "connection counts of the predict load test")
	fs.DurationVar(&c.PredictDuration, "predict-duration", 15*time.Second, "measured time of each load level")
	fs.DurationVar(&c.PredictWarmup, "predict-warmup", 2*time.Second, "warm-up before each load level")
	fs.IntVar(&c.Bodies, "bodies", 1000, "distinct request bodies (real 2017 rows), cycled")
	fs.StringVar(&c.Benchtime, "benchtime", "", "go test -benchtime for the micro benchmarks (default: go's 1s)")
	pkgs := fs.String("micro-pkgs", "", "comma-separated packages for the micro benchmarks (default: every shared/ package with a Benchmark)")
	fs.StringVar(&c.Python, "python", "/usr/bin/python3", "Python interpreter (Debian's, with its packages)")
	fs.BoolVar(&c.Install, "install", true, "install missing Debian packages with apt-get when run as root")
	fs.BoolVar(&c.Wrk, "wrk", true, "cross-check the load test with wrk when it is installed")
	fs.StringVar(&c.FastAPIInput, "fastapi-input", "dataframe", "FastAPI per-request path: dataframe (the seed's) or numpy")
	// Like for like: the Python reference fits one XGBoost with fixed parameters.
	pargs := fs.String("pipeline-args", "-no-search", "extra arguments for cmd/pipeline, space-separated")
	fs.DurationVar(&c.RunTimeout, "run-timeout", 30*time.Minute, "limit of one pipeline or reference run")
	fs.BoolVar(&c.RenderOnly, "render-only", false, "measure nothing: write results.md and scale.png again from results.json")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	for _, p := range splitList(*only) {
		if !slices.Contains(allParts, p) {
			return c, fmt.Errorf("-only: unknown part %q (want %s)", p, strings.Join(allParts, ","))
		}
		c.Parts = append(c.Parts, p)
	}
	var err error
	if c.Scales, err = intList(*scales); err != nil {
		return c, fmt.Errorf("-scales: %w", err)
	}
	if c.Conns, err = intList(*conns); err != nil {
		return c, fmt.Errorf("-conns: %w", err)
	}
	c.MicroPkgs = splitList(*pkgs)
	c.PipelineArgs = strings.Fields(*pargs)
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if c.Quick {
		if !set["runs"] {
			c.Runs = 1
		}
		if !set["scales"] {
			c.Scales = []int{1, 4}
		}
		if !set["scale-runs"] {
			c.ScaleRuns = 1
		}
		if !set["predict-duration"] {
			c.PredictDuration = 5 * time.Second
		}
		if !set["predict-warmup"] {
			c.PredictWarmup = time.Second
		}
		if !set["benchtime"] {
			c.Benchtime = "1x"
		}
	}
	if c.Runs < 1 {
		return c, fmt.Errorf("-runs %d: want at least 1", c.Runs)
	}
	if c.FastAPIInput != "dataframe" && c.FastAPIInput != "numpy" {
		return c, fmt.Errorf("-fastapi-input %q: want dataframe or numpy", c.FastAPIInput)
	}
	for _, k := range c.Scales {
		if k < 1 || k > 64 {
			return c, fmt.Errorf("-scales: factor %d outside 1..64", k)
		}
	}
	slices.Sort(c.Scales)
	c.Scales = slices.Compact(c.Scales)
	return c, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func intList(s string) ([]int, error) {
	var out []int
	for _, p := range splitList(s) {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive integer", p)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, errors.New("empty list")
	}
	return out, nil
}

// bench is one invocation's state.
type bench struct {
	cfg     config
	work    string
	missing []string // why some parts cannot run (missing tools)
	goOK    bool     // cmd/pipeline built
	pyOK    bool     // the Python reference can run
	// chainRuns are the chain part's Go runs: the scale part's 1× size,
	// so the same run on the same file is not made twice.
	chainRuns []GoRun
}

func run(ctx context.Context, cfg config, cmdline string) error {
	root, err := findRoot()
	if err != nil {
		return err
	}
	cfg.Root = root
	abs := func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(root, p)
	}
	cfg.Crimes, cfg.Stations, cfg.Out, cfg.Work = abs(cfg.Crimes), abs(cfg.Stations), abs(cfg.Out), abs(cfg.Work)
	// The chain runs with the pipeline functions' deployed settings (train's,
	// which the other 1 GiB steps share): its time limit, for train to keep
	// to, and the Go runtime's settings (GOMEMLIMIT).
	sf, err := stackfile.Load(filepath.Join(root, "stack.yml"), nil)
	if err != nil {
		return err
	}
	fnEnv, err := sf.Env("train")
	if err != nil {
		return err
	}
	if v := fnEnv["exec_timeout"]; v != "" && !slices.Contains(cfg.PipelineArgs, "-step-timeout") {
		cfg.PipelineArgs = append(cfg.PipelineArgs, "-step-timeout", v)
	}
	for _, k := range []string{"GOMEMLIMIT", "GOGC"} {
		if v, ok := fnEnv[k]; ok && os.Getenv(k) == "" {
			cfg.PipelineEnv = append(cfg.PipelineEnv, k+"="+v)
		}
	}
	for _, f := range []string{cfg.Crimes, cfg.Stations} {
		if !fileExists(f) {
			return fmt.Errorf("input %s does not exist", f)
		}
	}
	for _, d := range []string{cfg.Out, cfg.Work, filepath.Join(cfg.Work, "bin"), filepath.Join(cfg.Work, "logs"), filepath.Join(cfg.Work, "runs")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("create %s: %w", d, err)
		}
	}
	b := &bench{cfg: cfg, work: cfg.Work}
	if cfg.RenderOnly {
		return b.rerender()
	}
	slog.Info("bench", "parts", cfg.Parts, "runs", cfg.Runs, "quick", cfg.Quick, "work", cfg.Work)

	res := loadResults(filepath.Join(cfg.Out, "results.json"))
	if res == nil || slices.Equal(cfg.Parts, allParts) {
		res = &Results{}
	}
	res.Schema = resultsSchema
	res.Seed = seedNumbers
	res.Command = strings.TrimSpace("go run ./cmd/bench " + cmdline)
	res.Notes = nil

	needPy := b.wants("chain") || b.wants("predict")
	if needPy {
		b.ensurePython(ctx)
	}
	if b.wants("predict") && cfg.Wrk {
		b.ensureWrk(ctx)
	}
	if b.wants("chain") || b.wants("predict") || b.wants("scale") {
		b.buildGo(ctx)
	}
	res.Machine = b.machine(ctx)
	if la := loadAverage(); la > 0.5*float64(res.Machine.Cores) {
		res.Notes = append(res.Notes, fmt.Sprintf("The machine was busy when the bench started (load average %.1f on %d cores): timings are slower than on an idle machine.", la, res.Machine.Cores))
	}

	if b.wants("micro") {
		res.Micro = b.micro(ctx)
		b.save(res)
	}
	if b.wants("chain") {
		res.Chain = b.chain(ctx)
		b.save(res)
	}
	if b.wants("predict") {
		res.Predict = b.predict(ctx)
		b.save(res)
	}
	if b.wants("scale") {
		res.Scale = b.scale(ctx)
		b.save(res)
	}
	res.Notes = append(res.Notes, b.missing...)
	if err := b.save(res); err != nil {
		return err
	}
	slog.Info("bench done", "results", filepath.Join(cfg.Out, "results.md"))
	return ctx.Err()
}

// save writes results.json and results.md (after every part, so an
// interrupted bench keeps what it measured).
func (b *bench) save(res *Results) error {
	if err := writeJSON(filepath.Join(b.cfg.Out, "results.json"), res); err != nil {
		return err
	}
	md := renderMarkdown(res)
	if err := os.WriteFile(filepath.Join(b.cfg.Out, "results.md"), []byte(md), 0o644); err != nil {
		return fmt.Errorf("write results.md: %w", err)
	}
	return nil
}

// rerender writes results.md and scale.png from results.json, for work on
// the report without measuring again.
func (b *bench) rerender() error {
	path := filepath.Join(b.cfg.Out, "results.json")
	res := loadResults(path)
	if res == nil {
		return fmt.Errorf("no readable %s (schema %d) to render", path, resultsSchema)
	}
	if res.Scale != nil && len(res.Scale.Steps) > 0 {
		if err := plotScale(res.Scale, filepath.Join(b.cfg.Out, "scale.png")); err != nil {
			return err
		}
	}
	return b.save(res)
}

func (b *bench) wants(part string) bool { return slices.Contains(b.cfg.Parts, part) }

func (b *bench) bin(name string) string { return filepath.Join(b.work, "bin", name) }

func (b *bench) seedRecipe() string {
	return filepath.Join(b.cfg.Root, "bench", "reference", "seed_recipe.py")
}

func (b *bench) artifactPath() string { return filepath.Join(b.work, "predict", "model.json") }

func (b *bench) mlReadyDir() string { return filepath.Join(b.work, "predict", "python-ml-ready") }

func (b *bench) haveGoPipeline() bool { return b.goOK }

func (b *bench) havePython() bool { return b.pyOK }

func (b *bench) whyNot() string {
	if len(b.missing) == 0 {
		return "see the log"
	}
	return strings.Join(b.missing, "; ")
}

// rel shows a path relative to the repository when it is inside it.
func (b *bench) rel(p string) string {
	if r, err := filepath.Rel(b.cfg.Root, p); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return p
}

// findRoot walks up from the working directory to the module's go.mod.
func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(b), "module github.com/arrestcast/arrestcast") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run from inside the arrestcast repository (no go.mod of github.com/arrestcast/arrestcast above here)")
		}
		dir = parent
	}
}

// buildGo builds cmd/pipeline and cmd/scaledata once, so no run pays for
// compiling.
func (b *bench) buildGo(ctx context.Context) {
	if fileExists(filepath.Join(b.cfg.Root, "cmd", "pipeline")) {
		if _, _, err := b.run(ctx, "build-pipeline", "go", []string{"build", "-o", b.bin("pipeline"), "./cmd/pipeline"}, nil, 10*time.Minute); err != nil {
			b.missing = append(b.missing, "cmd/pipeline does not build: "+err.Error())
		} else {
			b.goOK = true
		}
	} else {
		b.missing = append(b.missing, "cmd/pipeline does not exist yet")
	}
	if b.wants("scale") {
		if _, _, err := b.run(ctx, "build-scaledata", "go", []string{"build", "-o", b.bin("scaledata"), "./cmd/scaledata"}, nil, 10*time.Minute); err != nil {
			b.missing = append(b.missing, "cmd/scaledata does not build: "+err.Error())
		}
	}
}
