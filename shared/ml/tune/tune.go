// Package tune holds seeded stratified k-fold cross-validation and a hyperparameter search for the
// gradient-boosted trees of shared/ml/gbt: successive halving over data rows, bounded by the context's deadline.
//
// Determinism and the time budget: every random choice (candidate parameters, nested row subsets, folds)
// comes from Config.Seed, the trials run one after the other in a fixed order, and each trial is itself
// deterministic (gbt.Fit is, whatever its thread count). The deadline only decides how many trials of that
// fixed sequence complete: two searches with the same data, Config and seed produce the same trial log up
// to where the shorter one stopped, and the same Result when the same trials completed. A trial cut by
// the deadline is logged as such and never scored. The base parameters are always evaluated on all rows
// first, ignoring the deadline, so a Result always holds at least them.
package tune

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"time"

	"github.com/arrestcast/arrestcast/shared/ml/gbt"
)

// Score rates predicted probabilities against labels, higher is better (ROC-AUC, average precision, ...).
type Score func(y []uint8, p []float64) float64

// Fold is one cross-validation split, as row indices.
type Fold struct {
	Train, Test []int
}

// StratifiedKFold cuts rows 0..len(y)-1 into k folds whose class shares match the whole (within one row),
// shuffled by seed. Every row is in exactly one Test set.
func StratifiedKFold(y []uint8, k int, seed uint64) ([]Fold, error) {
	if k < 2 {
		return nil, fmt.Errorf("stratified k-fold: k = %d, need >= 2", k)
	}
	var byClass [2][]int
	for i, v := range y {
		if v > 1 {
			return nil, fmt.Errorf("stratified k-fold: label %d at row %d is not 0/1", v, i)
		}
		byClass[v] = append(byClass[v], i)
	}
	if len(y) < k {
		return nil, fmt.Errorf("stratified k-fold: %d rows for %d folds", len(y), k)
	}
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	fold := make([]int, len(y))
	next := 0 // deal both classes round-robin, continuing where the previous class stopped, to even the sizes
	for _, rows := range byClass {
		rng.Shuffle(len(rows), func(a, b int) { rows[a], rows[b] = rows[b], rows[a] })
		for _, r := range rows {
			fold[r] = next
			next = (next + 1) % k
		}
	}
	folds := make([]Fold, k)
	for i, f := range fold {
		for g := range folds {
			if g == f {
				folds[g].Test = append(folds[g].Test, i)
			} else {
				folds[g].Train = append(folds[g].Train, i)
			}
		}
	}
	return folds, nil
}

// CrossValidate trains p on every fold's training rows and scores its test rows; it returns the per-fold
// scores (their mean is the CV score).
func CrossValidate(ctx context.Context, X [][]float64, y []uint8, folds []Fold, p gbt.Params, score Score) ([]float64, error) {
	if score == nil {
		return nil, errors.New("cross-validate: no score function")
	}
	out := make([]float64, 0, len(folds))
	for k, f := range folds {
		m, err := gbt.Fit(ctx, subset(X, f.Train), pick(y, f.Train), p)
		if err != nil {
			return nil, fmt.Errorf("cross-validate fold %d: %w", k, err)
		}
		pr, err := m.PredictProbaBatch(subset(X, f.Test))
		if err != nil {
			return nil, fmt.Errorf("cross-validate fold %d: %w", k, err)
		}
		s := score(pick(y, f.Test), pr)
		if math.IsNaN(s) {
			return nil, fmt.Errorf("cross-validate fold %d: score is NaN", k)
		}
		out = append(out, s)
	}
	return out, nil
}

func subset(X [][]float64, rows []int) [][]float64 {
	out := make([][]float64, len(X))
	for j, col := range X {
		c := make([]float64, len(rows))
		for k, r := range rows {
			c[k] = col[r]
		}
		out[j] = c
	}
	return out
}

func pick(y []uint8, rows []int) []uint8 {
	out := make([]uint8, len(rows))
	for k, r := range rows {
		out[k] = y[r]
	}
	return out
}

// Range is a search interval for a float parameter; the zero Range leaves the base value alone.
type Range struct {
	Min, Max float64
	Log      bool // draw log-uniformly
}

// IntRange is a search interval for an integer parameter; the zero IntRange leaves the base value alone.
type IntRange struct{ Min, Max int }

// Space says which parameters the search varies and over what.
type Space struct {
	LearningRate   Range
	MinChildWeight Range
	Lambda         Range
	Gamma          Range
	Subsample      Range
	ColsampleTree  Range
	MaxDepth       IntRange // depth-wise candidates
	MaxLeaves      IntRange // leaf-wise candidates (drawn log-uniformly)
	Growth         []gbt.Growth
}

// DefaultSpace is a broad space around the package defaults.
func DefaultSpace() Space {
	return Space{
		LearningRate:   Range{0.03, 0.3, true},
		MinChildWeight: Range{0.5, 50, true},
		Lambda:         Range{0.1, 30, true},
		Gamma:          Range{0, 1, false},
		Subsample:      Range{0.6, 1, false},
		ColsampleTree:  Range{0.6, 1, false},
		MaxDepth:       IntRange{4, 10},
		MaxLeaves:      IntRange{15, 255},
		Growth:         []gbt.Growth{gbt.DepthWise, gbt.LeafWise},
	}
}

func (r Range) draw(rng *rand.Rand, base float64) float64 {
	u := rng.Float64()
	switch {
	case r.Min == 0 && r.Max == 0:
		return base
	case r.Log:
		return math.Exp(math.Log(r.Min) + u*(math.Log(r.Max)-math.Log(r.Min)))
	default:
		return r.Min + u*(r.Max-r.Min)
	}
}

func (r Range) check(name string) error {
	if r.Min == 0 && r.Max == 0 {
		return nil
	}
	if !(r.Min <= r.Max) || (r.Log && !(r.Min > 0)) {
		return fmt.Errorf("space %s: bad range [%v, %v] (log %v)", name, r.Min, r.Max, r.Log)
	}
	return nil
}

// sample draws one candidate. Every field draws from rng whether searched or not, so the sequence of
// candidates does not shift when a range is switched off.
func (s Space) sample(rng *rand.Rand, base gbt.Params) gbt.Params {
	p := base
	p.LearningRate = s.LearningRate.draw(rng, base.LearningRate)
	p.MinChildWeight = s.MinChildWeight.draw(rng, base.MinChildWeight)
	p.Lambda = s.Lambda.draw(rng, base.Lambda)
	p.Gamma = s.Gamma.draw(rng, base.Gamma)
	p.Subsample = s.Subsample.draw(rng, base.Subsample)
	p.ColsampleTree = s.ColsampleTree.draw(rng, base.ColsampleTree)
	g := rng.Float64()
	depth := rng.Float64()
	leaves := rng.Float64()
	if len(s.Growth) > 0 {
		p.Growth = s.Growth[int(g*float64(len(s.Growth)))]
	}
	switch p.Growth {
	case gbt.DepthWise:
		if s.MaxDepth != (IntRange{}) {
			p.MaxDepth = s.MaxDepth.Min + int(depth*float64(s.MaxDepth.Max-s.MaxDepth.Min+1))
		}
		if p.MaxDepth == 0 {
			p.MaxDepth = gbt.DefaultParams().MaxDepth
		}
		p.MaxLeaves = 0
	case gbt.LeafWise:
		if s.MaxLeaves != (IntRange{}) {
			lo, hi := math.Log(float64(s.MaxLeaves.Min)), math.Log(float64(s.MaxLeaves.Max)+1)
			p.MaxLeaves = min(s.MaxLeaves.Max, int(math.Exp(lo+leaves*(hi-lo))))
		}
		if p.MaxLeaves < 2 {
			p.MaxLeaves = 31
		}
		p.MaxDepth = 0
	}
	return p
}

// Config configures Search.
type Config struct {
	Base  gbt.Params // evaluated first on all rows; candidates are drawn around it
	Space Space
	Score Score // required, higher is better
	Folds int   // cross-validation folds (default 3)
	Seed  uint64
	// Candidates drawn for the first rung (default 27). With halving factor Eta the schedule has
	// 1+floor(log_Eta(Candidates)) rungs; rung r scores the best 1/Eta^r of them on 1/Eta^(R-1-r) of the
	// rows, the last rung on all rows.
	Candidates int
	Eta        int // halving factor (default 3)
	// MinRows is the least number of rows a rung may use (default 2,000); rungs that would use fewer start
	// from MinRows instead.
	MinRows int
	// MinGain is how much a candidate's full-data CV score must exceed the best so far to replace it
	// (0: any gain). Differences of a few 1e-4 in CV ROC-AUC are noise that can trade a tuned base for a
	// candidate that is worse on new data.
	MinGain float64
}

// Trial is one cross-validated evaluation in the search.
type Trial struct {
	Candidate  int        `json:"candidate"` // 0 = the base params
	Rung       int        `json:"rung"`      // -1 for the base params' full-data evaluation
	Rows       int        `json:"rows"`
	Params     gbt.Params `json:"params"`
	Score      float64    `json:"score"` // mean over folds; 0 when not completed (no NaN: the log marshals to JSON)
	FoldScores []float64  `json:"fold_scores"`
	Seconds    float64    `json:"seconds"`
	Completed  bool       `json:"completed"` // false: cut by the deadline
}

// Result is the outcome of a search.
type Result struct {
	Best      gbt.Params `json:"best"`
	BestScore float64    `json:"best_score"` // CV score on all rows
	// BestFrom is the candidate number of Best (0 = the base params).
	BestFrom int     `json:"best_from"`
	Base     Trial   `json:"base"`
	Trials   []Trial `json:"trials"`
	// Finished is true when the whole schedule ran before the deadline.
	Finished bool `json:"finished"`
}

// Search evaluates cfg.Base on all rows (k-fold CV, whatever the deadline), then runs successive halving
// over cfg.Candidates random candidates until the schedule ends or ctx is done, and returns the params
// with the best CV score on all rows. Only a cancelled ctx before the base evaluation is an error.
func Search(ctx context.Context, X [][]float64, y []uint8, cfg Config) (Result, error) {
	if cfg.Score == nil {
		return Result{}, errors.New("tune search: no score function")
	}
	if err := cfg.Base.Validate(); err != nil {
		return Result{}, fmt.Errorf("tune search: base params: %w", err)
	}
	for name, r := range map[string]Range{"learning_rate": cfg.Space.LearningRate, "min_child_weight": cfg.Space.MinChildWeight,
		"lambda": cfg.Space.Lambda, "gamma": cfg.Space.Gamma, "subsample": cfg.Space.Subsample, "colsample": cfg.Space.ColsampleTree} {
		if err := r.check(name); err != nil {
			return Result{}, fmt.Errorf("tune search: %w", err)
		}
	}
	if !(cfg.MinGain >= 0) {
		return Result{}, fmt.Errorf("tune search: min gain %v must be >= 0", cfg.MinGain)
	}
	if cfg.Folds == 0 {
		cfg.Folds = 3
	}
	if cfg.Candidates == 0 {
		cfg.Candidates = 27
	}
	if cfg.Eta == 0 {
		cfg.Eta = 3
	}
	if cfg.MinRows == 0 {
		cfg.MinRows = 2000
	}
	if cfg.Eta < 2 || cfg.Candidates < 1 || cfg.Folds < 2 {
		return Result{}, fmt.Errorf("tune search: eta %d, candidates %d, folds %d", cfg.Eta, cfg.Candidates, cfg.Folds)
	}
	if err := ctx.Err(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return Result{}, fmt.Errorf("tune search: %w", err)
	}
	n := len(y)
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x7a11))

	// The whole plan is drawn before anything runs: nested stratified row subsets (a seeded order per
	// class; a rung takes a prefix of each) and the candidates.
	order := classOrder(y, rng)
	cands := make([]gbt.Params, cfg.Candidates+1)
	cands[0] = cfg.Base
	for c := 1; c <= cfg.Candidates; c++ {
		cands[c] = cfg.Space.sample(rng, cfg.Base)
		if err := cands[c].Validate(); err != nil {
			return Result{}, fmt.Errorf("tune search: candidate %d: %w", c, err)
		}
	}
	rungs := 1
	for k := cfg.Eta; k <= cfg.Candidates; k *= cfg.Eta {
		rungs++
	}
	rowsAt := func(r int) []int {
		frac := math.Pow(float64(cfg.Eta), float64(r-(rungs-1)))
		k := max(cfg.MinRows, int(math.Round(frac*float64(n))))
		return order.prefix(min(k, n))
	}

	res := Result{}
	evaluate := func(ctx context.Context, cand, rung int, rows []int) (Trial, error) {
		tr := Trial{Candidate: cand, Rung: rung, Rows: len(rows), Params: cands[cand]}
		t0 := time.Now()
		Xr, yr := X, y
		if len(rows) < n {
			Xr, yr = subset(X, rows), pick(y, rows)
		}
		folds, err := StratifiedKFold(yr, cfg.Folds, cfg.Seed) // on all rows: the base's folds exactly
		if err != nil {
			return tr, err
		}
		scores, err := CrossValidate(ctx, Xr, yr, folds, cands[cand], cfg.Score)
		tr.Seconds = time.Since(t0).Seconds()
		if err != nil {
			if ctx.Err() != nil {
				return tr, nil // cut by the deadline: logged, not scored
			}
			return tr, err
		}
		tr.FoldScores = scores
		tr.Score = mean(scores)
		tr.Completed = true
		return tr, nil
	}

	// The base params on all rows, whatever the deadline.
	all := order.prefix(n)
	base, err := evaluate(context.WithoutCancel(ctx), 0, -1, all)
	if err != nil {
		return Result{}, fmt.Errorf("tune search: base params: %w", err)
	}
	res.Base = base
	res.Trials = append(res.Trials, base)
	res.Best, res.BestScore, res.BestFrom = base.Params, base.Score, 0

	alive := make([]int, cfg.Candidates)
	for i := range alive {
		alive[i] = i + 1
	}
	for r := 0; r < rungs; r++ {
		rows := rowsAt(r)
		type scored struct {
			cand  int
			score float64
		}
		var done []scored
		for _, c := range alive {
			if ctx.Err() != nil {
				return res, nil
			}
			tr, err := evaluate(ctx, c, r, rows)
			if err != nil {
				return res, fmt.Errorf("tune search: candidate %d rung %d: %w", c, r, err)
			}
			res.Trials = append(res.Trials, tr)
			if !tr.Completed {
				return res, nil
			}
			done = append(done, scored{c, tr.Score})
			if len(rows) == n && tr.Score > res.BestScore+cfg.MinGain {
				res.Best, res.BestScore, res.BestFrom = tr.Params, tr.Score, c
			}
		}
		// Promote the best 1/Eta (ties: lower candidate number).
		sort.SliceStable(done, func(a, b int) bool { return done[a].score > done[b].score })
		keep := max(1, len(done)/cfg.Eta)
		alive = alive[:0]
		for _, d := range done[:keep] {
			alive = append(alive, d.cand)
		}
		slices.Sort(alive)
		if len(rows) == n { // a rung on all rows is final
			break
		}
	}
	res.Finished = true
	return res, nil
}

func mean(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// classOrder is a seeded shuffle of each class's rows; prefix(k) takes the first rows of both in
// proportion, so smaller subsets are nested in larger ones and keep the class shares.
type classOrderT struct{ cls [2][]int }

func classOrder(y []uint8, rng *rand.Rand) classOrderT {
	var o classOrderT
	for i, v := range y {
		o.cls[v] = append(o.cls[v], i)
	}
	for _, rows := range o.cls {
		rng.Shuffle(len(rows), func(a, b int) { rows[a], rows[b] = rows[b], rows[a] })
	}
	return o
}

func (o classOrderT) prefix(k int) []int {
	n := len(o.cls[0]) + len(o.cls[1])
	k1 := int(math.Round(float64(k) * float64(len(o.cls[1])) / float64(n)))
	k1 = min(k1, len(o.cls[1]))
	k0 := min(k-k1, len(o.cls[0]))
	out := append(append([]int(nil), o.cls[0][:k0]...), o.cls[1][:k1]...)
	slices.Sort(out)
	return out
}
