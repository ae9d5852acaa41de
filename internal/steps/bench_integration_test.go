//go:build integration

package steps_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"syscall"
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/internal/chaintest"
	"github.com/arrestcast/arrestcast/internal/repo"
	"github.com/arrestcast/arrestcast/internal/stackfile"

	"github.com/arrestcast/arrestcast/internal/procstat"
	"github.com/arrestcast/arrestcast/internal/standin"
	"github.com/arrestcast/arrestcast/internal/steps"
	"github.com/arrestcast/arrestcast/internal/testenv"
	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/config"
	"github.com/arrestcast/arrestcast/shared/faas"
	"github.com/arrestcast/arrestcast/shared/platform/hugeheap"
	"github.com/arrestcast/arrestcast/shared/platform/store"
	"github.com/arrestcast/arrestcast/shared/runner"
	"github.com/arrestcast/arrestcast/shared/steps/download"
)

// BenchmarkStepsMinIO runs download..features on the real 2017 year the way
// the functions do: each step in a fresh process of its own, reading its
// input from and writing its output to a real MinIO, download paging through
// the Socrata stand-in. It reports each step's seconds and peak resident
// memory (the limits: ≤ 2 s and ≤ 200 MB each, download to features
// ≤ 6 s together):
//
//	go test -tags integration -run '^$' -bench StepsMinIO -benchtime 1x ./internal/steps/
//
// A fresh process is the honest measure: a function's heap has long been
// returned to the system when next month's event comes, and on this VM
// first-touched memory costs ~3 ms per MB (see shared/platform/hugeheap;
// ARRESTCAST_HUGEPAGES=off measures without it). ARRESTCAST_BENCH_PROFILE=DIR
// leaves a CPU profile of each step in DIR.
func BenchmarkStepsMinIO(b *testing.B) {
	srv := testenv.MinIO(b)
	root := repo.Root()
	data, err := standin.Load(filepath.Join(root, "data/chicago/crimes_2017.csv.gz"), filepath.Join(root, "data/chicago/police_stations.csv"))
	if err != nil {
		b.Fatal(err)
	}
	sodaSrv, err := standin.New(data, standin.Options{})
	if err != nil {
		b.Fatal(err)
	}
	portal := httptest.NewServer(sodaSrv)
	b.Cleanup(portal.Close)
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		job := stepJob{Date: "2018-01-01", Endpoint: srv.Endpoint, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey,
			Data: srv.NewBucket(b), Models: srv.NewBucket(b), Portal: portal.URL}
		toFeatures := 0.0
		for _, step := range chaintest.RunSteps() {
			if step == chain.Train {
				break // its budget is #6's; cmd/pipeline and make bench time it
			}
			job.Step = step
			rep, err := runStepChild(exe, job, b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(rep.Seconds, step+"-s")
			b.ReportMetric(rep.PeakMB, step+"-MB")
			b.ReportMetric(rep.CPU, step+"-cpu-s")
			toFeatures += rep.Seconds
		}
		b.ReportMetric(toFeatures, "download-to-features-s")
	}
}

// stepProcessEnv carries a stepJob to a child process of this test binary
// (see TestMain): then it runs that one step instead of the tests.
const stepProcessEnv = "ARRESTCAST_BENCH_STEP"

type stepJob struct {
	Step, Date                     string
	Endpoint, AccessKey, SecretKey string
	Data, Models, Portal           string
	Report                         string // file the child writes its stepReport to
	Profile                        string // CPU profile file, when ARRESTCAST_BENCH_PROFILE names a folder
}

type stepReport struct {
	Seconds float64 `json:"seconds"`
	CPU     float64 `json:"cpu_seconds"` // user + system, this process only (MinIO's is its own)
	PeakMB  float64 `json:"peak_mb"`
	Outcome string  `json:"outcome"`
	Reason  string  `json:"reason"`
}

func runStepChild(exe string, job stepJob, dir string) (stepReport, error) {
	job.Report = filepath.Join(dir, job.Step+".json")
	if d := os.Getenv("ARRESTCAST_BENCH_PROFILE"); d != "" {
		job.Profile = filepath.Join(d, job.Step+".prof")
	}
	spec, _ := json.Marshal(job)
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), stepProcessEnv+"="+string(spec))
	// The Go runtime's settings the function is deployed with, as faasd sets them.
	sf, err := stackfile.Load(filepath.Join(repo.Root(), "stack.yml"), nil)
	if err != nil {
		return stepReport{}, err
	}
	fnEnv, err := sf.Env(job.Step)
	if err != nil {
		return stepReport{}, err
	}
	for _, k := range []string{"GOGC", "GOMEMLIMIT"} {
		if v, ok := fnEnv[k]; ok && os.Getenv(k) == "" {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return stepReport{}, fmt.Errorf("step %s process: %w", job.Step, err)
	}
	var rep stepReport
	b, err := os.ReadFile(job.Report)
	if err != nil {
		return rep, err
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		return rep, err
	}
	if rep.Outcome != "done" {
		return rep, fmt.Errorf("step %s: %s: %s", job.Step, rep.Outcome, rep.Reason)
	}
	return rep, nil
}

// runStepProcess is the child's whole life: connect, run one step as its
// function would on a manual trigger, report.
func runStepProcess(spec string) int {
	fail := func(err error) int { fmt.Fprintln(os.Stderr, "step process:", err); return 1 }
	var job stepJob
	if err := json.Unmarshal([]byte(spec), &job); err != nil {
		return fail(err)
	}
	st, err := store.NewMinIO(store.MinIOConfig{Endpoint: job.Endpoint, AccessKey: job.AccessKey, SecretKey: job.SecretKey})
	if err != nil {
		return fail(err)
	}
	// The deployed constructor, so the format and paging are the function's.
	os.Setenv("SOCRATA_BASE_URL", job.Portal)
	cfg, err := config.Load(config.Environment())
	if err != nil {
		return fail(err)
	}
	src, err := download.NewPortalSource(cfg.Socrata, slog.New(slog.DiscardHandler))
	if err != nil {
		return fail(err)
	}
	date, err := chain.ParseRunDate(job.Date)
	if err != nil {
		return fail(err)
	}
	env := &runner.Env{Store: st, Buckets: chain.Buckets{Data: job.Data, Models: job.Models}}
	step, ok := steps.Find(steps.All(steps.Options{Source: src}), job.Step)
	if !ok {
		return fail(fmt.Errorf("no step %s", job.Step))
	}
	if job.Profile != "" {
		f, err := os.Create(job.Profile)
		if err != nil {
			return fail(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fail(err)
		}
		defer pprof.StopCPUProfile()
	}
	hugeheap.Enable() // as runner.Serve does in a function process
	procstat.ResetPeak()
	cpu0 := cpuSeconds()
	start := time.Now()
	res := runner.Execute(context.Background(), env, step, runner.Invocation{Kind: faas.Manual, Date: date})
	rep := stepReport{Seconds: time.Since(start).Seconds(), CPU: cpuSeconds() - cpu0, PeakMB: procstat.PeakMB(), Outcome: res.Outcome, Reason: res.Reason}
	b, _ := json.Marshal(rep)
	if err := os.WriteFile(job.Report, b, 0o644); err != nil {
		return fail(err)
	}
	return 0
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
