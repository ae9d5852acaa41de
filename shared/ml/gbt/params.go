package gbt

import (
	"errors"
	"fmt"
	"runtime"
)

// Growth is the order in which a tree's leaves are split.
type Growth string

const (
	// DepthWise splits every splittable leaf of a level before going deeper (XGBoost's default).
	DepthWise Growth = "depthwise"
	// LeafWise always splits the leaf with the largest gain next (LightGBM's policy); bound it with MaxLeaves.
	LeafWise Growth = "leafwise"
)

// Params configures training. The zero value is not valid; start from DefaultParams.
type Params struct {
	NumTrees     int     `json:"num_trees"`     // boosting rounds (upper bound when early stopping is on)
	LearningRate float64 `json:"learning_rate"` // shrinkage applied to every leaf value
	// MaxDepth bounds the depth of every tree (root = depth 0); 0 = unbounded (LeafWise only).
	MaxDepth int `json:"max_depth"`
	// MaxLeaves bounds the leaves of every tree; 0 = unbounded (then MaxDepth must be set).
	MaxLeaves      int     `json:"max_leaves"`
	Growth         Growth  `json:"growth"`
	MinChildWeight float64 `json:"min_child_weight"` // minimum hessian sum in each child
	Lambda         float64 `json:"lambda"`           // L2 penalty on leaf weights
	Gamma          float64 `json:"gamma"`            // minimum loss reduction to keep a split
	Subsample      float64 `json:"subsample"`        // share of rows drawn (Bernoulli) for each tree
	ColsampleTree  float64 `json:"colsample_bytree"` // share of features drawn for each tree
	MaxBins        int     `json:"max_bins"`         // regular bins per feature, at most 255 (missing has its own)
	// BinSampleRows caps the rows sampled to place bin edges (quantiles); 0 = all rows.
	BinSampleRows int `json:"bin_sample_rows"`
	// ValidationFraction > 0 holds out a stratified share of the training rows to watch log loss on
	// (or Options.Validation names the rows); with EarlyStoppingRounds > 0 training stops after that
	// many rounds without improvement and the model keeps the trees up to the best round. Early
	// stopping needs one of the two.
	ValidationFraction  float64 `json:"validation_fraction"`
	EarlyStoppingRounds int     `json:"early_stopping_rounds"`
	// BaseProba is the probability every prediction starts from; 0 = the training rows' positive share
	// (XGBoost 1.x starts from 0.5).
	BaseProba float64 `json:"base_proba"`
	// Threads used for histograms, gradients and batch prediction; 0 = GOMAXPROCS. Results do not depend on it.
	Threads int    `json:"-"`
	Seed    uint64 `json:"seed"`
}

// DefaultParams are leaf-wise trees of at most 255 leaves, learning rate 0.05, 250 rounds, min child
// weight 3, lambda 1, each tree on half the features, bin edges from all rows: chosen on the seed's
// prepared 2017 Chicago data (how, and the figures behind it: bench/notes/gbt-params.md).
func DefaultParams() Params {
	return Params{
		NumTrees:       250,
		LearningRate:   0.05,
		MaxDepth:       0,
		MaxLeaves:      255,
		Growth:         LeafWise,
		MinChildWeight: 3,
		Lambda:         1,
		Gamma:          0,
		Subsample:      1,
		ColsampleTree:  0.5,
		MaxBins:        255,
		BinSampleRows:  0,
		Seed:           1,
	}
}

// Validate reports the first parameter that cannot be used.
func (p Params) Validate() error {
	switch {
	case p.NumTrees < 1:
		return fmt.Errorf("num_trees %d: must be >= 1", p.NumTrees)
	case !(p.LearningRate > 0):
		return fmt.Errorf("learning_rate %v: must be > 0", p.LearningRate)
	case p.MaxDepth < 0 || p.MaxDepth > 30:
		return fmt.Errorf("max_depth %d: must be in [0, 30]", p.MaxDepth)
	case p.MaxLeaves < 0 || p.MaxLeaves == 1:
		return fmt.Errorf("max_leaves %d: must be 0 or >= 2", p.MaxLeaves)
	case p.MaxDepth == 0 && p.MaxLeaves == 0:
		return errors.New("max_depth and max_leaves are both 0: trees would be unbounded")
	case p.Growth != DepthWise && p.Growth != LeafWise:
		return fmt.Errorf("growth %q: must be %q or %q", p.Growth, DepthWise, LeafWise)
	case p.Growth == DepthWise && p.MaxDepth == 0:
		return errors.New("depthwise growth needs max_depth > 0")
	case p.MinChildWeight < 0:
		return fmt.Errorf("min_child_weight %v: must be >= 0", p.MinChildWeight)
	case p.Lambda < 0:
		return fmt.Errorf("lambda %v: must be >= 0", p.Lambda)
	case p.Gamma < 0:
		return fmt.Errorf("gamma %v: must be >= 0", p.Gamma)
	case !(p.Subsample > 0 && p.Subsample <= 1):
		return fmt.Errorf("subsample %v: must be in (0, 1]", p.Subsample)
	case !(p.ColsampleTree > 0 && p.ColsampleTree <= 1):
		return fmt.Errorf("colsample_bytree %v: must be in (0, 1]", p.ColsampleTree)
	case p.MaxBins < 2 || p.MaxBins > maxRegularBins:
		return fmt.Errorf("max_bins %d: must be in [2, %d]", p.MaxBins, maxRegularBins)
	case p.BinSampleRows < 0:
		return fmt.Errorf("bin_sample_rows %d: must be >= 0", p.BinSampleRows)
	case p.ValidationFraction < 0 || p.ValidationFraction >= 1:
		return fmt.Errorf("validation_fraction %v: must be in [0, 1)", p.ValidationFraction)
	case p.EarlyStoppingRounds < 0:
		return fmt.Errorf("early_stopping_rounds %d: must be >= 0", p.EarlyStoppingRounds)
	case p.BaseProba < 0 || p.BaseProba >= 1:
		return fmt.Errorf("base_proba %v: must be in [0, 1)", p.BaseProba)
	case p.Threads < 0:
		return fmt.Errorf("threads %d: must be >= 0", p.Threads)
	}
	return nil
}

func (p Params) threads() int {
	if p.Threads > 0 {
		return p.Threads
	}
	return runtime.GOMAXPROCS(0)
}
