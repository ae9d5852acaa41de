package gbt

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"
)

// benchData is the training matrix of the benchmarks: the ml-ready train.csv of
// bench/reference/seed_recipe.py when ARRESTCAST_MLREADY names its directory (189,159×9 for 2017), else a
// synthetic 200,000×9 matrix of the same shape (see synthData).
var benchData = sync.OnceValues(func() ([][]float64, []uint8) {
	if dir := os.Getenv("ARRESTCAST_MLREADY"); dir != "" {
		X, y, _, err := readLabelledCSV(dir+"/train.csv", "arrest")
		if err != nil {
			panic(err)
		}
		return X, y
	}
	return synthData(200_000, 11, false)
})

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkFit trains the default model (200 trees) on benchData with 1 and 2 threads; cpu-s/op is the
// process CPU time per fit (wall time is unreliable on a shared machine).
func BenchmarkFit(b *testing.B) {
	X, y := benchData()
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("%dx%d/threads=%d", len(y), len(X), threads), func(b *testing.B) {
			p := DefaultParams()
			p.Threads = threads
			c0 := cpuTime()
			for i := 0; i < b.N; i++ {
				if _, err := Fit(context.Background(), X, y, p); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric((cpuTime()-c0).Seconds()/float64(b.N), "cpu-s/op")
		})
	}
}

// BenchmarkFitVsXGBoost times, in one run and interleaved (one fit of each per op), gbt.Fit with
// DefaultParams and XGBoost hist with the same parameters (bench/reference/xgb_equal_params.py, given
// json.Marshal(DefaultParams())) on the ML-ready rows named by ARRESTCAST_MLREADY, both on 2 threads.
// It reports the median wall seconds of each, their ratio, the ratio of median CPU seconds and both
// test AUCs. Run it with -benchtime Nx
// (N >= 3): the machine is shared, only the ratio of interleaved medians means anything.
func BenchmarkFitVsXGBoost(b *testing.B) {
	Xtr, ytr, Xte, yte := mlReady(b)
	if err := exec.Command("/usr/bin/python3", "-c", "import xgboost").Run(); err != nil {
		b.Skip("/usr/bin/python3 with xgboost is not installed (apt-get install python3-xgboost)")
	}
	p := DefaultParams()
	p.Threads = 2
	pj, err := json.Marshal(p)
	if err != nil {
		b.Fatal(err)
	}
	dir := os.Getenv("ARRESTCAST_MLREADY")
	var goS, xgS, goCPU, xgCPU []float64
	var goAUC, xgAUC float64
	for i := 0; i < b.N; i++ {
		t0, c0 := time.Now(), cpuTime()
		m, err := Fit(context.Background(), Xtr, ytr, p)
		if err != nil {
			b.Fatal(err)
		}
		goS = append(goS, time.Since(t0).Seconds())
		goCPU = append(goCPU, (cpuTime() - c0).Seconds())
		pr, err := m.PredictProbaBatch(Xte)
		if err != nil {
			b.Fatal(err)
		}
		goAUC = rocAUC(yte, pr)

		var out, errb bytes.Buffer
		cmd := exec.Command("/usr/bin/python3", "../../../bench/reference/xgb_equal_params.py", "--data", dir,
			"--params", string(pj), "--threads", "2")
		cmd.Stdout, cmd.Stderr = &out, &errb
		if os.Getenv("OMP_WAIT_POLICY") == "" {
			// Spinning OpenMP barriers on a shared machine cost XGBoost 10-20× its time: give it the
			// better of the two policies.
			cmd.Env = append(os.Environ(), "OMP_WAIT_POLICY=PASSIVE")
		}
		if err := cmd.Run(); err != nil {
			b.Fatalf("xgb_equal_params.py: %v: %s", err, errb.String())
		}
		var r struct {
			Seconds    float64 `json:"seconds"`
			CPUSeconds float64 `json:"cpu_seconds"`
			TestAUC    float64 `json:"test_auc"`
		}
		if err := json.Unmarshal(out.Bytes(), &r); err != nil {
			b.Fatalf("xgb_equal_params.py output %q: %v", out.String(), err)
		}
		xgS = append(xgS, r.Seconds)
		xgCPU = append(xgCPU, r.CPUSeconds)
		xgAUC = r.TestAUC
	}
	med := func(v []float64) float64 {
		s := slices.Clone(v)
		slices.Sort(s)
		if len(s)%2 == 1 {
			return s[len(s)/2]
		}
		return (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	b.Logf("wall seconds go %.2f, xgboost %.2f; cpu seconds go %.2f, xgboost %.2f", goS, xgS, goCPU, xgCPU)
	b.ReportMetric(med(goS), "go-s")
	b.ReportMetric(med(xgS), "xgb-s")
	b.ReportMetric(med(goS)/med(xgS), "go/xgb")
	b.ReportMetric(med(goCPU)/med(xgCPU), "go/xgb-cpu")
	b.ReportMetric(goAUC, "go-auc")
	b.ReportMetric(xgAUC, "xgb-auc")
}

// predictModel is a 200-tree depth-8 model: depth-wise with XGBoost's default regularisation
// (min child weight 1, lambda 1), the shape of the seed's model and larger than this package's default.
var predictModel = sync.OnceValues(func() (*Model, [][]float64) {
	X, y := benchData()
	p := DefaultParams()
	p.Growth, p.MaxDepth, p.MaxLeaves, p.NumTrees = DepthWise, 8, 0, 200
	p.MinChildWeight, p.Lambda = 1, 1
	m, err := Fit(context.Background(), X, y, p)
	if err != nil {
		panic(err)
	}
	return m, X
})

// BenchmarkPredictProba scores one record at a time (ns/op = per record; cpu-ns/op is the process CPU
// time per record, less sensitive to a busy machine).
func BenchmarkPredictProba(b *testing.B) {
	m, X := predictModel()
	n := len(X[0])
	rows := make([][]float64, 4096)
	for k := range rows {
		rows[k] = rowOf(X, (k*7919)%n, make([]float64, len(X)))
	}
	b.ResetTimer()
	c0 := cpuTime()
	s := 0.0
	for i := 0; i < b.N; i++ {
		s += m.PredictProba(rows[i&4095])
	}
	if s < 0 {
		b.Fatal(s)
	}
	b.ReportMetric(float64((cpuTime()-c0).Nanoseconds())/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(m.NumNodes()), "nodes")
}

// BenchmarkPredictProbaBatch scores 50,000 records per op (column-major, all threads); per-record time
// is reported as ns/record.
func BenchmarkPredictProbaBatch(b *testing.B) {
	m, X := predictModel()
	const n = 50_000
	Xs := make([][]float64, len(X))
	for j := range X {
		Xs[j] = X[j][:n]
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := m.PredictProbaBatch(Xs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
}
