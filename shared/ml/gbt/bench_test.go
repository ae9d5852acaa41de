package gbt

import (
	"context"
	"fmt"
	"os"
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
