package tune

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/shared/ml/gbt"
)

// auc is the Mann-Whitney ROC-AUC (ties half), the score the tests pass in.
func auc(y []uint8, p []float64) float64 {
	idx := make([]int, len(p))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return p[idx[a]] < p[idx[b]] })
	var rankSum float64
	pos := 0
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && p[idx[j]] == p[idx[i]] {
			j++
		}
		for k := i; k < j; k++ {
			if y[idx[k]] == 1 {
				rankSum += float64(i+j+1) / 2
				pos++
			}
		}
		i = j
	}
	neg := len(y) - pos
	if pos == 0 || neg == 0 {
		return math.NaN()
	}
	return (rankSum - float64(pos)*float64(pos+1)/2) / (float64(pos) * float64(neg))
}

// xorData: the label is the sign of x0·x1 (10 % flipped), which stumps cannot see and depth-2 trees can;
// three more features are noise.
func xorData(n int, seed uint64) ([][]float64, []uint8) {
	rng := rand.New(rand.NewPCG(seed, 3))
	X := make([][]float64, 5)
	for j := range X {
		X[j] = make([]float64, n)
	}
	y := make([]uint8, n)
	for i := 0; i < n; i++ {
		for j := range X {
			X[j][i] = rng.NormFloat64()
		}
		if (X[0][i]*X[1][i] > 0) != (rng.Float64() < 0.1) {
			y[i] = 1
		}
	}
	return X, y
}

func TestStratifiedKFold(t *testing.T) {
	y := make([]uint8, 1003)
	for i := range y {
		if i%5 == 0 {
			y[i] = 1
		}
	}
	folds, err := StratifiedKFold(y, 4, 11)
	if err != nil {
		t.Fatal(err)
	}
	seen := make([]int, len(y))
	for k, f := range folds {
		if len(f.Train)+len(f.Test) != len(y) {
			t.Fatalf("fold %d: %d train + %d test rows", k, len(f.Train), len(f.Test))
		}
		pos := 0
		for _, r := range f.Test {
			seen[r]++
			pos += int(y[r])
		}
		// 201 positives over 4 folds: 50 or 51 each; sizes within one row of each other.
		if pos < 50 || pos > 51 || len(f.Test) < 250 || len(f.Test) > 251 {
			t.Fatalf("fold %d: %d rows, %d positives", k, len(f.Test), pos)
		}
		if !slices.IsSorted(f.Test) || !slices.IsSorted(f.Train) {
			t.Fatalf("fold %d: indices not sorted", k)
		}
	}
	for i, c := range seen {
		if c != 1 {
			t.Fatalf("row %d is in %d test sets", i, c)
		}
	}
	again, _ := StratifiedKFold(y, 4, 11)
	other, _ := StratifiedKFold(y, 4, 12)
	if !reflect.DeepEqual(folds, again) || reflect.DeepEqual(folds, other) {
		t.Fatal("folds are not a function of the seed")
	}
	if _, err := StratifiedKFold(y, 1, 0); err == nil {
		t.Fatal("k = 1 accepted")
	}
}

func xorConfig() Config {
	base := gbt.DefaultParams()
	base.NumTrees, base.MaxDepth, base.LearningRate = 30, 1, 0.1
	return Config{
		Base: base,
		Space: Space{
			LearningRate: Range{0.05, 0.5, true},
			MaxDepth:     IntRange{1, 6},
			Growth:       []gbt.Growth{gbt.DepthWise},
		},
		Score:      auc,
		Folds:      3,
		Seed:       42,
		Candidates: 9,
		MinRows:    500,
	}
}

// On the XOR problem the base (stumps) is no better than chance; the search must find deeper trees that
// are clearly better, and its log must follow the halving schedule.
func TestSearchFindsBetterRegion(t *testing.T) {
	X, y := xorData(3000, 1)
	res, err := Search(context.Background(), X, y, xorConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("base AUC %.3f; best AUC %.3f (candidate %d: depth %d, lr %.3f); %d trials", res.Base.Score, res.BestScore, res.BestFrom, res.Best.MaxDepth, res.Best.LearningRate, len(res.Trials))
	if !res.Finished {
		t.Fatal("search without deadline did not finish")
	}
	if res.Base.Score > 0.6 {
		t.Fatalf("base AUC %.3f: stumps should not see the interaction", res.Base.Score)
	}
	if res.BestScore < res.Base.Score+0.2 || res.BestScore < 0.8 || res.Best.MaxDepth < 2 || res.BestFrom == 0 {
		t.Fatalf("best AUC %.3f (depth %d) is not clearly better than the base %.3f", res.BestScore, res.Best.MaxDepth, res.Base.Score)
	}
	// 1 base + 9 + 3 + 1 trials on 500 (min rows), 1000 and 3000 rows.
	wantRows := map[int]int{-1: 3000, 0: 500, 1: 1000, 2: 3000}
	perRung := map[int]int{}
	for _, tr := range res.Trials {
		perRung[tr.Rung]++
		if tr.Rows != wantRows[tr.Rung] || !tr.Completed || len(tr.FoldScores) != 3 {
			t.Fatalf("trial %+v", tr)
		}
	}
	if !reflect.DeepEqual(perRung, map[int]int{-1: 1, 0: 9, 1: 3, 2: 1}) {
		t.Fatalf("trials per rung %v", perRung)
	}
}

// A candidate must beat the base by more than MinGain to replace it.
func TestSearchMinGainKeepsBase(t *testing.T) {
	X, y := xorData(3000, 1)
	cfg := xorConfig()
	cfg.MinGain = 0.5 // the better region gains ~0.3 AUC here
	res, err := Search(context.Background(), X, y, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.BestFrom != 0 || !reflect.DeepEqual(res.Best, cfg.Base) || res.BestScore != res.Base.Score {
		t.Fatalf("best from candidate %d (score %.3f, base %.3f) despite min gain 0.5", res.BestFrom, res.BestScore, res.Base.Score)
	}
	cfg.MinGain = -1
	if _, err := Search(context.Background(), X, y, cfg); err == nil {
		t.Error("negative min gain accepted")
	}
}

// A deadline already passed still returns the base params' full-data result; a short one stops the
// search within about one boosting round of it.
func TestSearchHonoursBudget(t *testing.T) {
	X, y := xorData(3000, 2)
	cfg := xorConfig()
	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	res, err := Search(ctx, X, y, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Trials) != 1 || !res.Base.Completed || res.Finished || !reflect.DeepEqual(res.Best, cfg.Base) || res.BestScore != res.Base.Score || math.IsNaN(res.BestScore) {
		t.Fatalf("expired budget: %+v", res)
	}
	if _, err := json.Marshal(res); err != nil {
		t.Fatalf("result does not marshal: %v", err)
	}

	X, y = xorData(50000, 3)
	cfg.Candidates, cfg.Base.NumTrees = 27, 100
	budget := 600 * time.Millisecond
	t0 := time.Now()
	ctx, cancel = context.WithTimeout(context.Background(), budget)
	defer cancel()
	res, err = Search(ctx, X, y, cfg)
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(t0)
	t.Logf("budget %v: %v elapsed, base took %.2fs, %d trials, finished %v", budget, elapsed, res.Base.Seconds, len(res.Trials), res.Finished)
	if res.Finished {
		t.Fatal("27 candidates on 50,000 rows finished within the budget: make the test bigger")
	}
	// The base evaluation may overrun the budget (it always runs); after it, the search stops at the next
	// boosting round, so the overrun past max(budget, base) stays small.
	limit := max(budget, time.Duration(res.Base.Seconds*float64(time.Second))) + time.Second
	if elapsed > limit {
		t.Fatalf("took %v, limit %v", elapsed, limit)
	}
	for _, tr := range res.Trials[:len(res.Trials)-1] {
		if !tr.Completed {
			t.Fatalf("a trial before the last one is incomplete: %+v", tr)
		}
	}
	if _, err := json.Marshal(res); err != nil { // a cut trial in the log must not make it unmarshalable
		t.Fatalf("result does not marshal: %v", err)
	}
}

// The same seed gives the same search; a search cut by a deadline logs a prefix of the full one.
func TestSearchDeterministic(t *testing.T) {
	X, y := xorData(3000, 4)
	cfg := xorConfig()
	a, err := Search(context.Background(), X, y, cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Search(context.Background(), X, y, cfg)
	if err != nil {
		t.Fatal(err)
	}
	strip := func(ts []Trial) []Trial {
		out := slices.Clone(ts)
		for i := range out {
			out[i].Seconds = 0
		}
		return out
	}
	if !reflect.DeepEqual(strip(a.Trials), strip(b.Trials)) || a.Best != b.Best || a.BestScore != b.BestScore {
		t.Fatal("two searches with the same seed differ")
	}
	// Cut after roughly half the work.
	total := 0.0
	for _, tr := range a.Trials {
		total += tr.Seconds
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(total/2*float64(time.Second)))
	defer cancel()
	c, err := Search(ctx, X, y, cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := 0
	for i, tr := range c.Trials {
		if !tr.Completed {
			continue
		}
		done++
		if !reflect.DeepEqual(strip([]Trial{tr}), strip([]Trial{a.Trials[i]})) {
			t.Fatalf("trial %d differs from the uncut search", i)
		}
	}
	t.Logf("cut search completed %d of %d trials", done, len(a.Trials))
	cfg.Seed++
	d, err := Search(context.Background(), X, y, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if reflect.DeepEqual(strip(a.Trials), strip(d.Trials)) {
		t.Fatal("another seed gave the same search")
	}
}

func TestSearchErrors(t *testing.T) {
	X, y := xorData(600, 5)
	cfg := xorConfig()
	cfg.Score = nil
	if _, err := Search(context.Background(), X, y, cfg); err == nil {
		t.Error("nil score accepted")
	}
	cfg = xorConfig()
	cfg.Space.LearningRate = Range{0.5, 0.1, false}
	if _, err := Search(context.Background(), X, y, cfg); err == nil {
		t.Error("inverted range accepted")
	}
	cfg = xorConfig()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Search(ctx, X, y, cfg); err == nil {
		t.Error("cancelled (not timed out) context accepted")
	}
}
