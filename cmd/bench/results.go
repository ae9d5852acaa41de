package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/arrestcast/arrestcast/internal/loadgen"
)

// Results is everything one `make bench` measured; bench/results.json holds
// it and bench/results.md renders it. A run of some parts (-only) keeps the
// other parts of the previous results.json, each with its own date.
type Results struct {
	Schema  int          `json:"schema"`
	Machine Machine      `json:"machine"`
	Command string       `json:"command"`
	Seed    SeedNumbers  `json:"seed_reference"`
	Micro   *MicroPart   `json:"micro,omitempty"`
	Chain   *ChainPart   `json:"chain,omitempty"`
	Predict *PredictPart `json:"predict,omitempty"`
	Scale   *ScalePart   `json:"scale,omitempty"`
	Notes   []string     `json:"notes,omitempty"`
}

const resultsSchema = 1

// SeedNumbers are the Python system's numbers measured on this machine kind
// (/work/shared/reference/seed-pipeline.md), shown next to ours.
type SeedNumbers struct {
	ComputeSeconds float64 `json:"compute_seconds"`
	WallSeconds    float64 `json:"wall_seconds"`
	PeakMB         float64 `json:"peak_mb"`
	RPS1           float64 `json:"fastapi_rps_1_connection"`
	RPS16          float64 `json:"fastapi_rps_16_connections"`
	P99ms1         float64 `json:"fastapi_p99_ms_1_connection"`
	P99ms16        float64 `json:"fastapi_p99_ms_16_connections"`
}

var seedNumbers = SeedNumbers{ComputeSeconds: 30.5, WallSeconds: 41, PeakMB: 814, RPS1: 607, RPS16: 737, P99ms1: 3.8, P99ms16: 67}

// Machine is where the numbers were taken.
type Machine struct {
	Date        time.Time         `json:"date"`
	Host        string            `json:"host"`
	CPU         string            `json:"cpu"`
	Cores       int               `json:"cores"`
	MemoryMB    int               `json:"memory_mb"`
	OS          string            `json:"os"`
	Kernel      string            `json:"kernel"`
	Go          string            `json:"go"`
	Python      string            `json:"python,omitempty"`
	Libraries   map[string]string `json:"libraries,omitempty"` // Python libraries (and wrk) → version
	LoadAverage string            `json:"load_average"`        // at the start: a busy machine skews everything
	Commit      string            `json:"commit,omitempty"`
}

// Proc is what the kernel says about one finished process.
type Proc struct {
	WallSeconds float64 `json:"wall_seconds"`
	UserSeconds float64 `json:"user_seconds"`
	SysSeconds  float64 `json:"sys_seconds"`
	MaxRSSMB    float64 `json:"max_rss_mb"`
}

// MicroPart holds the Go micro-benchmarks.
type MicroPart struct {
	MeasuredAt time.Time     `json:"measured_at"`
	Benchtime  string        `json:"benchtime,omitempty"`
	Results    []MicroResult `json:"results"`
	Failed     []string      `json:"failed,omitempty"` // packages whose benchmarks failed, with why
	Skipped    string        `json:"skipped,omitempty"`
}

// MicroResult is one line of `go test -bench` output.
type MicroResult struct {
	Package     string             `json:"package"`
	Name        string             `json:"name"`
	Procs       int                `json:"procs"`
	Iterations  int64              `json:"iterations"`
	NsPerOp     float64            `json:"ns_per_op"`
	BytesPerOp  float64            `json:"bytes_per_op"`
	AllocsPerOp float64            `json:"allocs_per_op"`
	Extra       map[string]float64 `json:"extra,omitempty"` // custom metrics by unit (MB/s, rows/s, ...)
}

// GoStep is one step of cmd/pipeline's -json output.
type GoStep struct {
	Step      string  `json:"step"`
	Seconds   float64 `json:"seconds"`
	RowsIn    int64   `json:"rows_in"`
	RowsOut   int64   `json:"rows_out"`
	PeakRSSMB float64 `json:"peak_rss_mb"`
}

// GoRun is one run of cmd/pipeline -json.
type GoRun struct {
	AsOf         string             `json:"as_of"`
	Rows         int64              `json:"rows"`
	Steps        []GoStep           `json:"steps"`
	TotalSeconds float64            `json:"total_seconds"`
	Metrics      map[string]float64 `json:"metrics"`
	Features     []string           `json:"features,omitempty"` // kept by the features step
	Artifact     string             `json:"artifact"`
	Proc         Proc               `json:"process"`
	// Trees kept by train's fit; StoppedAtTimeLimit: fewer than asked, to
	// finish within the step's time limit (-step-timeout).
	Trees              int  `json:"trees,omitempty"`
	StoppedAtTimeLimit bool `json:"stopped_at_time_limit,omitempty"`
}

// PyStep is one step of seed_recipe.py --json.
type PyStep struct {
	Step         string  `json:"step"`
	Seconds      float64 `json:"seconds"`
	RSSMB        Num     `json:"rss_mb"`
	PeakRSSMB    float64 `json:"peak_rss_mb"`
	PeakGrowthMB float64 `json:"peak_growth_mb"`
}

// PyRun is one run of seed_recipe.py --json.
type PyRun struct {
	Rows             map[string]float64 `json:"rows"`
	Steps            []PyStep           `json:"steps"`
	TotalStepSeconds float64            `json:"total_step_seconds"`
	WallSeconds      float64            `json:"wall_seconds"`
	PeakRSSMB        float64            `json:"peak_rss_mb"`
	KeptFeatures     []string           `json:"kept_features"`
	TestMetrics      map[string]float64 `json:"test_metrics"`
	Versions         map[string]string  `json:"versions"`
	Proc             Proc               `json:"process"`
}

// StepStat is one step's median over runs.
type StepStat struct {
	Step       string  `json:"step"`
	Seconds    float64 `json:"seconds"` // median
	MinSeconds float64 `json:"min_seconds"`
	MaxSeconds float64 `json:"max_seconds"`
	PeakRSSMB  float64 `json:"peak_rss_mb"` // median
	RowsIn     int64   `json:"rows_in,omitempty"`
	RowsOut    int64   `json:"rows_out,omitempty"`
}

// GroupCompare puts Go steps next to the Python steps that do the same work.
type GroupCompare struct {
	Name      string   `json:"name"`
	GoSteps   []string `json:"go_steps"`
	PySteps   []string `json:"python_steps"`
	GoSeconds Num      `json:"go_seconds"`
	PySeconds Num      `json:"python_seconds"`
	Speedup   Num      `json:"speedup"` // Python seconds / Go seconds
	GoPeakMB  Num      `json:"go_peak_mb"`
	PyPeakMB  Num      `json:"python_peak_mb"`
}

// Totals compares whole runs.
type Totals struct {
	GoStepSeconds Num `json:"go_step_seconds"`
	PyStepSeconds Num `json:"python_step_seconds"`
	StepSpeedup   Num `json:"step_speedup"`
	GoWallSeconds Num `json:"go_wall_seconds"` // the process, start-up included
	PyWallSeconds Num `json:"python_wall_seconds"`
	WallSpeedup   Num `json:"wall_speedup"`
	GoCPUSeconds  Num `json:"go_cpu_seconds"`
	PyCPUSeconds  Num `json:"python_cpu_seconds"`
	GoMaxRSSMB    Num `json:"go_max_rss_mb"` // the kernel's peak RSS of the process
	PyMaxRSSMB    Num `json:"python_max_rss_mb"`
	MemoryRatio   Num `json:"memory_ratio"` // Python MB / Go MB
}

// ChainPart is the whole chain, Go against the Python reference.
type ChainPart struct {
	MeasuredAt     time.Time          `json:"measured_at"`
	Runs           int                `json:"runs"`
	Crimes         string             `json:"crimes"`
	GoCommand      string             `json:"go_command"`
	PyCommand      string             `json:"python_command"`
	GoRuns         []GoRun            `json:"go_runs"`
	PyRuns         []PyRun            `json:"python_runs"`
	Groups         []GroupCompare     `json:"groups"`
	GoSteps        []StepStat         `json:"go_steps"`
	PySteps        []StepStat         `json:"python_steps"`
	Totals         Totals             `json:"totals"`
	GoMetrics      map[string]float64 `json:"go_metrics,omitempty"`
	PyMetrics      map[string]float64 `json:"python_metrics,omitempty"`
	GoFeatures     []string           `json:"go_features,omitempty"`
	PyKeptFeatures []string           `json:"python_kept_features,omitempty"`
	Errors         []string           `json:"errors,omitempty"`
	Skipped        string             `json:"skipped,omitempty"`
}

// WrkResult is what wrk printed, as a cross-check of loadgen.
type WrkResult struct {
	Threads     int     `json:"threads"`
	Connections int     `json:"connections"`
	Requests    int64   `json:"requests"`
	RPS         float64 `json:"requests_per_second"`
	P50ms       float64 `json:"p50_ms"`
	P90ms       float64 `json:"p90_ms"`
	P99ms       float64 `json:"p99_ms"`
	Non2xx      int64   `json:"non_2xx"`
	SocketErrs  int64   `json:"socket_errors"`
}

// Level is one load level against one server.
type Level struct {
	Connections int             `json:"connections"`
	Loadgen     *loadgen.Result `json:"loadgen,omitempty"`
	Wrk         *WrkResult      `json:"wrk,omitempty"`
	Error       string          `json:"error,omitempty"`
}

// ServerResult is one server under load.
type ServerResult struct {
	Name           string  `json:"name"`
	Description    string  `json:"description"`
	Command        string  `json:"command"`
	StartupSeconds float64 `json:"startup_seconds"` // until it answered a real request
	MaxRSSMB       float64 `json:"max_rss_mb"`      // the server process's peak, after all load levels
	SampleRequest  string  `json:"sample_request,omitempty"`
	SampleResponse string  `json:"sample_response,omitempty"`
	Levels         []Level `json:"levels"`
	Error          string  `json:"error,omitempty"`
}

// PredictCompare is one connection count, our predict against FastAPI.
type PredictCompare struct {
	Connections int `json:"connections"`
	GoRPS       Num `json:"go_rps"`
	PyRPS       Num `json:"python_rps"`
	Speedup     Num `json:"speedup"` // Go requests/s ÷ Python requests/s
	GoP50ms     Num `json:"go_p50_ms"`
	PyP50ms     Num `json:"python_p50_ms"`
	GoP99ms     Num `json:"go_p99_ms"`
	PyP99ms     Num `json:"python_p99_ms"`
}

// PredictPart is the serving load test.
type PredictPart struct {
	MeasuredAt      time.Time        `json:"measured_at"`
	DurationSeconds float64          `json:"duration_seconds"`
	WarmupSeconds   float64          `json:"warmup_seconds"`
	Bodies          int              `json:"bodies"`
	Servers         []ServerResult   `json:"servers"`
	Compare         []PredictCompare `json:"compare"`
	Skipped         string           `json:"skipped,omitempty"`
}

// ScaleSize is one size of the scale test.
type ScaleSize struct {
	Factor             int      `json:"factor"`
	File               string   `json:"file"`
	Rows               int64    `json:"rows"`
	TotalSeconds       float64  `json:"total_seconds"`
	Steps              []GoStep `json:"steps"`
	Proc               Proc     `json:"process"`
	FromChain          bool     `json:"from_chain,omitempty"` // the chain part's Go runs, not runs of its own
	Runs               int      `json:"runs,omitempty"`       // Steps are the per-step medians of this many runs
	Trees              int      `json:"trees,omitempty"`
	StoppedAtTimeLimit bool     `json:"stopped_at_time_limit,omitempty"`
	Error              string   `json:"error,omitempty"`
}

// ScaleStep is one step's growth over the sizes.
type ScaleStep struct {
	Step        string    `json:"step"`
	Rows        []float64 `json:"rows"`
	Seconds     []float64 `json:"seconds"`
	PeakMB      []float64 `json:"peak_mb"`
	SecondsExp  []Num     `json:"seconds_exponents"` // between consecutive sizes
	MBExp       []Num     `json:"mb_exponents"`
	SecondsFit  Num       `json:"seconds_fit"` // least squares over all sizes
	MBFit       Num       `json:"mb_fit"`
	NLogN       bool      `json:"nlogn_allowed"`
	SecondsRule string    `json:"seconds_growth"` // verdict between the two largest sizes
	MBRule      string    `json:"mb_growth"`
	WithinLimit *bool     `json:"within_limits,omitempty"` // at the limit factor, when measured
}

// ScalePart is the Go chain on growing data.
type ScalePart struct {
	MeasuredAt   time.Time   `json:"measured_at"`
	Factors      []int       `json:"factors"`
	Sizes        []ScaleSize `json:"sizes"`
	Steps        []ScaleStep `json:"steps"`
	LimitFactor  int         `json:"limit_factor"`
	LimitSeconds float64     `json:"limit_seconds"`
	LimitMB      float64     `json:"limit_mb"`
	LimitChecked bool        `json:"limit_checked"` // the limit factor was run
	AllWithin    bool        `json:"all_within_limits"`
	GrowthOK     bool        `json:"growth_ok"`
	Plot         string      `json:"plot,omitempty"`
	Skipped      string      `json:"skipped,omitempty"`
}

// loadResults reads a previous results.json; a missing or unreadable one
// gives nil.
func loadResults(path string) *Results {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var r Results
	if json.Unmarshal(b, &r) != nil || r.Schema != resultsSchema {
		return nil
	}
	return &r
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
