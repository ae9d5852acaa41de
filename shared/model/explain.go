package model

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/arrestcast/arrestcast/shared/model/recipe"
	"github.com/arrestcast/arrestcast/shared/model/recipev2"
)

// ExplainSpace is the scale of every contribution: the model's margin, before any calibration.
const ExplainSpace = "log_odds"

// DefaultExplainTop is how many contributions an explanation lists when not told.
const DefaultExplainTop = 5

// Contribution is one model input's share of a prediction's margin.
type Contribution struct {
	Feature      string  // the model's input name (Artifact.Features)
	Value        float64 // the input's value for this record (NaN: missing, routed as prediction does)
	Contribution float64 // in ExplainSpace
}

// Explanation is one prediction taken apart: Bias + Σ Top + Other = Margin, to rounding.
// Contributions are exact Shapley values of the margin: path-dependent Tree SHAP for trees (the
// expectation over the training covers), w·(x − mean) for the logistic baseline (against the
// training means).
type Explanation struct {
	Probability float64        // what predict answers: calibrated when Calibrated
	Calibrated  bool           // the probability went through a calibrator (v2); else it is σ(Margin)
	Margin      float64        // the model's log-odds, before calibration
	Bias        float64        // the expected margin: the prediction with nothing known
	Top         []Contribution // the largest |contribution| first (ties by input order)
	Other       float64        // the sum of the contributions not in Top
	OtherCount  int            // how many inputs Other sums
}

// ErrCannotExplain wraps why a model cannot explain (trained before explanations).
var ErrCannotExplain = errors.New("model cannot explain")

// CanExplain is nil when Explain works for this artifact's model.
func (p *Predictor) CanExplain() error {
	switch {
	case p.A.GBT != nil && (p.v2 != nil || p.A.Algorithm == GBT):
		if !p.A.GBT.HasCover() {
			return fmt.Errorf("%w: its trees carry no node covers; retrain to explain", ErrCannotExplain)
		}
	case p.A.LogReg != nil && p.A.Algorithm == LogReg:
		if len(p.A.LogReg.Means) != len(p.A.LogReg.Coef) {
			return fmt.Errorf("%w: the logistic model carries no training means; retrain to explain", ErrCannotExplain)
		}
	default:
		return fmt.Errorf("%w: algorithm %q", ErrCannotExplain, p.A.Algorithm)
	}
	return nil
}

// Explain predicts one raw crime as PredictRaw does and takes the margin apart: the k inputs of
// largest |contribution| (1 ≤ k ≤ len(Features())), the rest summed.
func (p *Predictor) Explain(raw *Raw, k int) (*Explanation, error) {
	names := p.A.Features()
	if k < 1 || k > len(names) {
		return nil, fmt.Errorf("explain: top %d of %d inputs", k, len(names))
	}
	if err := p.CanExplain(); err != nil {
		return nil, err
	}
	x, phi := make([]float64, len(names)), make([]float64, len(names))
	e := &Explanation{}
	var err error
	if p.v2 != nil {
		var r recipev2.Record
		if err := p.EnrichV2(raw, &r); err != nil {
			return nil, err
		}
		e.Probability, e.Calibrated = p.v2.ProbaInputs(&r, x), true
		e.Margin = p.A.GBT.PredictMargin(x)
		e.Bias, err = p.A.GBT.Contributions(x, phi)
	} else {
		var rec recipe.Record
		if e.Probability, err = p.Score(raw, &rec, x); err != nil {
			return nil, err
		}
		if p.A.Algorithm == GBT {
			e.Margin = p.A.GBT.PredictMargin(x)
			e.Bias, err = p.A.GBT.Contributions(x, phi)
		} else {
			e.Margin = p.A.LogReg.Margin(x)
			e.Bias, err = p.A.LogReg.Contributions(x, phi)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("explain: %w", err)
	}
	order := make([]int, len(phi))
	for j := range order {
		order[j] = j
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(math.Abs(phi[b]), math.Abs(phi[a])) })
	e.Top = make([]Contribution, k)
	for i, j := range order[:k] {
		e.Top[i] = Contribution{Feature: names[j], Value: x[j], Contribution: phi[j]}
	}
	for _, j := range order[k:] {
		e.Other += phi[j]
	}
	e.OtherCount = len(order) - k
	return e, nil
}
