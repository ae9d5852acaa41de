package tune

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/shared/ml/gbt"
)

// A loss that is lowest at 63 leaves and learning rate 0.08.
func bowl(_ context.Context, p gbt.Params) (float64, int, error) {
	return math.Abs(math.Log2(float64(p.MaxLeaves)/63)) + 10*math.Abs(p.LearningRate-0.08), 100, nil
}

func TestLocalFindsTheBowlAndStops(t *testing.T) {
	start := gbt.DefaultParams() // 255 leaves, rate 0.05
	res, err := Local(context.Background(), LocalConfig{Start: start, Defaults: start, Budget: time.Minute}, bowl)
	if err != nil {
		t.Fatal(err)
	}
	if res.Best.MaxLeaves != 64 || math.Abs(res.Best.LearningRate-0.08) > 1e-12 || res.StoppedBy != "no gain" || res.Gain() <= 0 {
		t.Fatalf("best %d leaves, rate %v, stopped by %s, gain %v; trials %+v", res.Best.MaxLeaves, res.Best.LearningRate, res.StoppedBy, res.Gain(), res.Trials)
	}
	kept := 0
	for _, tr := range res.Trials {
		if tr.Kept {
			kept++
		}
	}
	if kept < 3 || res.Trials[0].Move != "start" {
		t.Errorf("trials %+v", res.Trials)
	}
}

// When the start is already the best, the search costs its evaluation and
// Patience trials, no more.
func TestLocalCheapWhenNothingIsBetter(t *testing.T) {
	start := gbt.DefaultParams()
	start.MaxLeaves, start.LearningRate = 63, 0.08
	res, err := Local(context.Background(), LocalConfig{Start: start, Patience: 2, Budget: time.Minute}, bowl)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Trials) != 3 || res.Best != start || res.Gain() != 0 || res.StoppedBy != "no gain" {
		t.Fatalf("%d trials (%+v), best %+v, stopped by %s", len(res.Trials), res.Trials, res.Best, res.StoppedBy)
	}
}

// A trial is only begun when it would end inside the budget.
func TestLocalKeepsToItsBudget(t *testing.T) {
	slow := func(ctx context.Context, p gbt.Params) (float64, int, error) {
		time.Sleep(40 * time.Millisecond)
		return bowl(ctx, p)
	}
	res, err := Local(context.Background(), LocalConfig{Start: gbt.DefaultParams(), Budget: 130 * time.Millisecond}, slow)
	if err != nil {
		t.Fatal(err)
	}
	if res.StoppedBy != "budget" || len(res.Trials) > 3 {
		t.Fatalf("stopped by %s after %d trials, %.3f s", res.StoppedBy, len(res.Trials), res.Seconds)
	}
}

// FirstMove rotates the round of neighbours: with nothing better, the
// months try different ones.
func TestLocalFirstMoveRotates(t *testing.T) {
	start := gbt.DefaultParams()
	start.MaxLeaves, start.LearningRate = 63, 0.08
	moves := DefaultMoves()
	seen := map[string]bool{}
	for month := range len(moves) {
		res, err := Local(context.Background(), LocalConfig{Start: start, Budget: time.Minute, FirstMove: month}, bowl)
		if err != nil {
			t.Fatal(err)
		}
		if res.Trials[1].Move != moves[month].Name && res.Trials[1].Move != moves[(month+1)%len(moves)].Name {
			t.Fatalf("month %d began with %s", month, res.Trials[1].Move)
		}
		for _, tr := range res.Trials[1:] {
			seen[tr.Move] = true
		}
	}
	if len(seen) != len(moves) {
		t.Fatalf("%d of %d neighbours tried over the months: %v", len(seen), len(moves), seen)
	}
}

// Warm-started from parameters an earlier search chose, a month whose
// first neighbour gains nothing costs the start's and the defaults'
// evaluations and that one trial.
func TestLocalWarmStartStopsAfterOneIdleTrial(t *testing.T) {
	start := gbt.DefaultParams()
	start.MaxLeaves, start.LearningRate = 63, 0.08
	res, err := Local(context.Background(), LocalConfig{Start: start, Defaults: gbt.DefaultParams(), Budget: time.Minute}, bowl)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Trials) != 3 || res.Trials[1].Move != "defaults" || res.Best != start || res.StoppedBy != "no gain" || res.Gain() <= 0 {
		t.Fatalf("%d trials (%+v), best %+v, stopped by %s, gain %v", len(res.Trials), res.Trials, res.Best, res.StoppedBy, res.Gain())
	}
}

// A warm start whose first neighbour gains keeps going: the gain case is
// searched as before.
func TestLocalWarmStartKeepsGaining(t *testing.T) {
	start := gbt.DefaultParams()
	start.MaxLeaves, start.LearningRate = 255, 0.08
	res, err := Local(context.Background(), LocalConfig{Start: start, Defaults: gbt.DefaultParams(), Budget: time.Minute, FirstMove: 1}, bowl)
	if err != nil {
		t.Fatal(err)
	}
	if res.Best.MaxLeaves != 64 || res.StoppedBy != "no gain" {
		t.Fatalf("best %d leaves, stopped by %s; trials %+v", res.Best.MaxLeaves, res.StoppedBy, res.Trials)
	}
}

// A trial cut by its time limit is logged, not scored, and ends the
// search with the best so far; a cut start leaves the start.
func TestLocalCutTrialEndsTheSearch(t *testing.T) {
	start := gbt.DefaultParams() // 255 leaves: halving them gains
	calls := 0
	cutThird := func(ctx context.Context, p gbt.Params) (float64, int, error) {
		calls++
		if calls == 3 {
			return 0.01, 3, fmt.Errorf("boosting stopped at 3 trees: %w", ErrCut)
		}
		return bowl(ctx, p)
	}
	res, err := Local(context.Background(), LocalConfig{Start: start, Budget: time.Minute, FirstMove: 1}, cutThird)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Trials) != 3 || !res.Trials[2].Cut || res.Trials[2].Kept || res.StoppedBy != "budget" || res.Best != res.Trials[1].Params || !res.Trials[1].Kept {
		t.Fatalf("stopped by %s, best %+v, trials %+v", res.StoppedBy, res.Best, res.Trials)
	}
	cutAll := func(context.Context, gbt.Params) (float64, int, error) { return 0, 1, ErrCut }
	res, err = Local(context.Background(), LocalConfig{Start: start, Budget: time.Minute}, cutAll)
	if err != nil || res.Best != start || len(res.Trials) != 1 || res.Gain() != 0 || res.StoppedBy != "budget" {
		t.Fatalf("err %v, best %+v, trials %+v", err, res.Best, res.Trials)
	}
}
