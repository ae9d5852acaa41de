package metrics

import (
	"fmt"
	"math"

	"github.com/arrestcast/arrestcast/shared/ml/internal/pairwise"
)

// LogLossEpsilon is scikit-learn 1.2's default clipping for log_loss
// (eps="auto" = float64 machine epsilon, 2⁻⁵²). Releases before 1.2 clipped at
// 1e-15; pass that to LogLossEps to reproduce them.
const LogLossEpsilon = 0x1p-52

// LogLoss is sklearn 1.2's log_loss(y, p) with its default eps: p is clipped
// to [eps, 1−eps], the pair (1−p, p) renormalised by its sum, and the mean
// of −log(probability of the true class) taken. A single class in y is
// accepted (sklearn asks for labels=[0, 1] then; the value is the same).
// Probabilities must lie in [0, 1].
func LogLoss(y []uint8, p []float64) (float64, error) {
	return LogLossEps(y, p, LogLossEpsilon)
}

// LogLossEps is LogLoss with an explicit clipping eps in (0, 0.5).
func LogLossEps(y []uint8, p []float64, eps float64) (float64, error) {
	if !(eps > 0 && eps < 0.5) {
		return 0, fmt.Errorf("log loss: eps %v outside (0, 0.5)", eps)
	}
	if _, err := check(y, p, true); err != nil {
		return 0, errf("log loss", err)
	}
	return logLoss(y, p, eps, nil), nil
}

func logLoss(y []uint8, p []float64, eps float64, scratch []float64) float64 {
	t := grow(scratch, len(p))
	hi := 1 - eps
	for i, v := range p {
		t[i] = logLossTerm(y[i], v, eps, hi)
	}
	return pairwise.Sum(t) / float64(len(p))
}

func logLossTerm(y uint8, v, eps, hi float64) float64 {
	v = math.Min(math.Max(v, eps), hi)
	q := 1 - v
	sum := q + v
	if y == 1 {
		return -math.Log(v / sum)
	}
	return -math.Log(q / sum)
}

// Brier is sklearn's brier_score_loss: the mean of (y − p)².
func Brier(y []uint8, p []float64) (float64, error) {
	if _, err := check(y, p, true); err != nil {
		return 0, errf("brier", err)
	}
	return brier(y, p, nil), nil
}

func brier(y []uint8, p []float64, scratch []float64) float64 {
	t := grow(scratch, len(p))
	for i, v := range p {
		d := float64(y[i]) - v
		t[i] = d * d
	}
	return pairwise.Sum(t) / float64(len(p))
}

// Calibration is sklearn's calibration_curve(y, p, n_bins, strategy="uniform")
// plus what it leaves out: the bin edges, and for each non-empty bin its
// index and row count. Bin b holds edges[b] < p <= edges[b+1] (the first bin
// also holds 0), as np.searchsorted(edges[1:-1], p) assigns them; the edges
// are np.linspace(0, 1, bins+1).
type Calibration struct {
	Edges    []float64 `json:"edges"`
	Bin      []int     `json:"bin"`       // index of each non-empty bin
	Count    []int     `json:"count"`     // rows in it
	ProbTrue []float64 `json:"prob_true"` // share of positives
	ProbPred []float64 `json:"prob_pred"` // mean probability
}

// DefaultBins is the number of calibration bins Report uses.
const DefaultBins = 10

// CalibrationCurve bins probabilities into bins equal-width bins.
func CalibrationCurve(y []uint8, p []float64, bins int) (*Calibration, error) {
	if bins < 1 {
		return nil, fmt.Errorf("calibration: %d bins", bins)
	}
	if _, err := check(y, p, true); err != nil {
		return nil, errf("calibration", err)
	}
	return calibration(y, p, bins), nil
}

func calibration(y []uint8, p []float64, bins int) *Calibration {
	edges := make([]float64, bins+1)
	step := 1.0 / float64(bins)
	for i := range edges {
		edges[i] = float64(i)*step + 0
	}
	edges[bins] = 1
	sums := make([]float64, bins)
	trues := make([]float64, bins)
	counts := make([]int, bins)
	for i, v := range p {
		// searchsorted(inner, v, side="left"): the number of inner edges < v,
		// from a guess that is off by at most one.
		b := min(int(v*float64(bins)), bins-1)
		for b > 0 && edges[b] >= v {
			b--
		}
		for b < bins-1 && edges[b+1] < v {
			b++
		}
		sums[b] += v // sequential in row order, as np.bincount
		trues[b] += float64(y[i])
		counts[b]++
	}
	c := &Calibration{Edges: edges}
	for b, k := range counts {
		if k == 0 {
			continue
		}
		c.Bin = append(c.Bin, b)
		c.Count = append(c.Count, k)
		c.ProbTrue = append(c.ProbTrue, trues[b]/float64(k))
		c.ProbPred = append(c.ProbPred, sums[b]/float64(k))
	}
	return c
}
