package recipev2_test

import (
	"context"
	"math"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/shared/data/table"
	"github.com/arrestcast/arrestcast/shared/model"
	"github.com/arrestcast/arrestcast/shared/model/recipev2"
)

// year2017Split is the quality test's split: Jan–Sep, Oct, Nov–Dec (and
// Jan–Oct, before).
func year2017Split(b testing.TB) (train, valid, test, before *table.Table) {
	year, _ := enriched2017(b)
	before, test, _ = byDate(b, year, table.WallClock(2017, 11, 1, 0, 0, 0), math.MaxInt64)
	train, valid, _ = byDate(b, before, table.WallClock(2017, 10, 1, 0, 0, 0), math.MaxInt64)
	return train, valid, test, before
}

// cpuTime is the process's CPU time (user + system): on a shared machine
// the steadier figure.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkFit2017 fits v2 on the 2017 year (201,144 training rows,
// 22,486 validation rows) on 2 threads; one op is one Fit, cpu-s/op its
// CPU time.
//
//	go test -run '^$' -bench Fit2017 -benchtime 1x ./shared/model/recipev2/
func BenchmarkFit2017(b *testing.B) {
	train, valid, _, _ := year2017Split(b)
	var f *recipev2.Fitted
	cpu := cpuTime()
	for b.Loop() {
		var err error
		if f, err = recipev2.Fit(context.Background(), train, valid, recipev2.Options{Seed: 1, Threads: 2}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric((cpuTime()-cpu).Seconds()/float64(b.N), "cpu-s/op")
	b.ReportMetric(f.Seconds.Encode, "s-encode/op")
	b.ReportMetric(f.Seconds.Boost, "s-boost/op")
	b.ReportMetric(float64(f.Trees), "trees")
	b.ReportMetric(float64(f.Rounds), "rounds")
}

var (
	benchOnce sync.Once
	benchV2   *model.Predictor
	benchSeed *model.Predictor
)

// predictors are v2's and the seed's artifacts fitted on the quality split.
func predictors(b *testing.B) (v2, seed *model.Predictor, test *table.Table) {
	train, valid, test, before := year2017Split(b)
	_, stations := enriched2017(b)
	benchOnce.Do(func() {
		f, err := recipev2.Fit(context.Background(), train, valid, recipev2.Options{Seed: 1})
		if err != nil {
			b.Fatal(err)
		}
		a := model.FromV2(f)
		a.Stations = stations
		if benchV2, err = model.New(a); err != nil {
			b.Fatal(err)
		}
		benchSeed, _, _, _ = seedOnSplit(b, before, test, stations)
	})
	return benchV2, benchSeed, test
}

// benchPredictRaw predicts the Nov–Dec raw records one at a time, as
// predict does for each record of a request (enrichment included), on one
// goroutine; cpu-ns/op is the process's CPU time per record.
func benchPredictRaw(b *testing.B, p *model.Predictor, test *table.Table) {
	rd, err := model.NewRawReader(test)
	if err != nil {
		b.Fatal(err)
	}
	raws := make([]model.Raw, test.Len())
	for i := range raws {
		rd.Read(i, &raws[i])
	}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	cpu := cpuTime()
	for b.Loop() {
		if _, err := p.PredictRaw(&raws[i]); err != nil {
			b.Fatal(err)
		}
		if i++; i == len(raws) {
			i = 0
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu).Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// BenchmarkPredictRawV2 is one v2 prediction from a raw record.
//
//	go test -run '^$' -bench PredictRaw ./shared/model/recipev2/
func BenchmarkPredictRawV2(b *testing.B) {
	v2, _, test := predictors(b)
	benchPredictRaw(b, v2, test)
}

// BenchmarkPredictRawSeed is the seed recipe's, trained on the same rows.
func BenchmarkPredictRawSeed(b *testing.B) {
	_, seed, test := predictors(b)
	benchPredictRaw(b, seed, test)
}
