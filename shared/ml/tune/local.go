package tune

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/arrestcast/arrestcast/shared/ml/gbt"
)

// Move changes parameters one way; ok false when it does not apply (a bound
// is reached).
type Move struct {
	Name  string
	Apply func(p gbt.Params) (q gbt.Params, ok bool)
}

// DefaultMoves are the neighbours Local tries, the likeliest gains first:
// leaf count, learning rate, child weight, L2 penalty and features per tree,
// each up and down.
func DefaultMoves() []Move {
	scale := func(name string, get func(*gbt.Params) *float64, f, lo, hi float64) Move {
		return Move{Name: name, Apply: func(p gbt.Params) (gbt.Params, bool) {
			v := get(&p)
			n := *v * f
			if n < lo || n > hi {
				return p, false
			}
			*v = n
			return p, true
		}}
	}
	leaves := func(name string, f float64) Move {
		return Move{Name: name, Apply: func(p gbt.Params) (gbt.Params, bool) {
			n := int(float64(p.MaxLeaves)*f + 0.5)
			if p.MaxLeaves == 0 || n < 7 || n > 1023 || n == p.MaxLeaves {
				return p, false
			}
			p.MaxLeaves = n
			return p, true
		}}
	}
	return []Move{
		leaves("leaves×2", 2), leaves("leaves÷2", 0.5),
		scale("learning_rate×1.6", func(p *gbt.Params) *float64 { return &p.LearningRate }, 1.6, 0.005, 0.5),
		scale("min_child_weight×2", func(p *gbt.Params) *float64 { return &p.MinChildWeight }, 2, 0, 1000),
		scale("min_child_weight÷2", func(p *gbt.Params) *float64 { return &p.MinChildWeight }, 0.5, 0.5, 1000),
		scale("lambda×4", func(p *gbt.Params) *float64 { return &p.Lambda }, 4, 0, 1000),
		scale("colsample×1.4", func(p *gbt.Params) *float64 { return &p.ColsampleTree }, 1.4, 0.1, 1),
		scale("colsample÷1.4", func(p *gbt.Params) *float64 { return &p.ColsampleTree }, 1/1.4, 0.1, 1),
		scale("learning_rate÷1.6", func(p *gbt.Params) *float64 { return &p.LearningRate }, 1/1.6, 0.005, 0.5),
	}
}

// LocalConfig configures Local; the zero value but Start and Budget takes
// the defaults.
type LocalConfig struct {
	Start    gbt.Params // where the search starts (the champion's parameters, or the defaults)
	Defaults gbt.Params // what the gain is measured against (recorded; evaluated when it differs from Start)
	Moves    []Move     // nil: DefaultMoves()
	MinGain  float64    // a trial must lower the best loss by more than this (0: 0.0005)
	// Patience is the trials in a row without gain that end the search (0:
	// 2, or WarmPatience when Start differs from Defaults).
	Patience int
	// FirstMove is where the round of neighbours begins (mod the moves):
	// a monthly retrain passes the month, so that the months whose search
	// finds nothing still try different neighbours of the champion's
	// parameters, not the same first few every time.
	FirstMove int
	Budget    time.Duration // wall time for the trials (the evaluation of Start included)
}

// Eval fits parameters and returns their validation loss (lower is
// better) and the trees early stopping kept. An error wrapping ErrCut says
// the fit was stopped by its time limit before early stopping: its loss is
// not comparable, and the search ends there.
type Eval func(ctx context.Context, p gbt.Params) (loss float64, trees int, err error)

// ErrCut is what an Eval's error wraps when its fit ran out of time.
var ErrCut = errors.New("trial cut by its time limit")

// LocalTrial is one evaluation of Local.
type LocalTrial struct {
	Move    string     `json:"move"` // "start", "defaults", or the move from the best so far
	Params  gbt.Params `json:"params"`
	Loss    float64    `json:"loss"`
	Trees   int        `json:"trees"`
	Seconds float64    `json:"seconds"`
	Kept    bool       `json:"kept"`          // it became the best
	Cut     bool       `json:"cut,omitempty"` // stopped by its time limit: not scored
}

// LocalResult is Local's outcome.
type LocalResult struct {
	Best         gbt.Params    `json:"best"`
	BestLoss     float64       `json:"best_loss"`
	DefaultsLoss float64       `json:"defaults_loss"` // the loss of Defaults (Start's when they are the same)
	Trials       []LocalTrial  `json:"trials"`
	Seconds      float64       `json:"seconds"`
	Budget       time.Duration `json:"-"` // the budget it had
	// StoppedBy says why the search ended: "no gain" (Patience trials in
	// a row), "budget" (no time for another trial, or one was cut), or
	// "moves" (every neighbour of the best tried).
	StoppedBy string `json:"stopped_by"`
}

// Gain is how much lower the best loss is than the defaults'.
func (r LocalResult) Gain() float64 { return r.DefaultsLoss - r.BestLoss }

// WarmPatience is Local's default patience when it starts from parameters
// an earlier search chose (Start is not Defaults): their neighbours were
// tried before, FirstMove rotates which one leads, and one that does not
// gain ends the search, so that a month that finds nothing costs Start's
// and Defaults' evaluations and one trial.
const WarmPatience = 1

// Local is a search that earns its time: it evaluates Start (and Defaults,
// when they differ), then tries the neighbours of the best parameters so far
// one move at a time, keeping a neighbour that lowers the best loss by more
// than MinGain and starting again from it, until Patience trials in a row
// gained nothing, every neighbour of the best was tried, or the budget ran
// out (a trial is only begun when, at the pace of the trials so far, it
// would end inside the budget; a trial cut by its time limit ends the
// search unscored). When nothing beats Start the search has cost Start's
// (and Defaults') evaluation and Patience trials. Warm-started from last
// month's best parameters, a monthly retrain keeps what earlier searches
// found.
func Local(ctx context.Context, cfg LocalConfig, eval Eval) (LocalResult, error) {
	if eval == nil {
		return LocalResult{}, errors.New("local search: no evaluation")
	}
	moves := cfg.Moves
	if moves == nil {
		moves = DefaultMoves()
	}
	minGain := cfg.MinGain
	if minGain == 0 {
		minGain = 0.0005
	}
	warm := cfg.Defaults != (gbt.Params{}) && cfg.Defaults != cfg.Start
	patience := cfg.Patience
	switch {
	case patience == 0 && warm:
		patience = WarmPatience
	case patience == 0:
		patience = 2
	}
	offset := 0
	if len(moves) > 0 {
		offset = (cfg.FirstMove%len(moves) + len(moves)) % len(moves)
	}
	start := time.Now()
	res := LocalResult{Budget: cfg.Budget}
	// run evaluates p; a cut trial is logged, and ends the search.
	run := func(move string, p gbt.Params) (LocalTrial, error) {
		t0 := time.Now()
		loss, trees, err := eval(ctx, p)
		tr := LocalTrial{Move: move, Params: p, Loss: loss, Trees: trees, Seconds: time.Since(t0).Seconds()}
		if errors.Is(err, ErrCut) {
			tr.Loss, tr.Cut = 0, true
			res.Trials = append(res.Trials, tr)
			res.StoppedBy = "budget"
		} else if err != nil {
			return LocalTrial{}, fmt.Errorf("local search: %s: %w", move, err)
		}
		return tr, nil
	}
	done := func() LocalResult {
		res.Seconds = time.Since(start).Seconds()
		return res
	}
	res.Best = cfg.Start
	first, err := run("start", cfg.Start)
	if err != nil || first.Cut {
		return done(), err // nothing to compare with: Start it is
	}
	first.Kept = true
	res.Trials = append(res.Trials, first)
	res.BestLoss, res.DefaultsLoss = first.Loss, first.Loss
	if warm && affordable(start, cfg.Budget, res.Trials) {
		d, err := run("defaults", cfg.Defaults)
		if err != nil || d.Cut {
			return done(), err
		}
		res.DefaultsLoss = d.Loss
		if d.Loss < res.BestLoss-minGain {
			d.Kept = true
			res.Best, res.BestLoss = cfg.Defaults, d.Loss
		}
		res.Trials = append(res.Trials, d)
	}
	idle, next := 0, 0
	tried := map[gbt.Params]bool{res.Best: true}
	for {
		if err := ctx.Err(); err != nil {
			return done(), err
		}
		if idle >= patience {
			res.StoppedBy = "no gain"
			break
		}
		if !affordable(start, cfg.Budget, res.Trials) {
			res.StoppedBy = "budget"
			break
		}
		var cand gbt.Params
		var name string
		for ; next < len(moves); next++ {
			mv := moves[(offset+next)%len(moves)]
			q, ok := mv.Apply(res.Best)
			if ok && !tried[q] && q.Validate() == nil {
				cand, name = q, mv.Name
				next++
				break
			}
		}
		if name == "" {
			res.StoppedBy = "moves"
			break
		}
		tried[cand] = true
		tr, err := run(name, cand)
		if err != nil || tr.Cut {
			return done(), err
		}
		if tr.Loss < res.BestLoss-minGain {
			tr.Kept = true
			res.Best, res.BestLoss, idle, next = cand, tr.Loss, 0, 0
		} else {
			idle++
		}
		res.Trials = append(res.Trials, tr)
	}
	return done(), nil
}

// affordable reports whether one more trial, as long as the trials so far
// took on average, ends inside the budget.
func affordable(start time.Time, budget time.Duration, trials []LocalTrial) bool {
	if budget <= 0 || len(trials) == 0 {
		return budget > 0
	}
	mean := time.Since(start) / time.Duration(len(trials))
	return time.Since(start)+mean <= budget
}
