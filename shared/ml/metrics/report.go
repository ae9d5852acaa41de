package metrics

import (
	"fmt"
	"iter"
	"math"

	"github.com/arrestcast/arrestcast/shared/ml/internal/pairwise"
)

// MaxCurvePoints bounds the ROC and PR curves a Report stores.
const MaxCurvePoints = 200

// Report is every metric of a probabilistic binary classifier on one
// labelled set, computed from a single sort of the scores; it is what the
// model registry stores (JSON). AUC and AP come from the full curves; the
// stored ROC and PR curves are downsampled to at most MaxCurvePoints points
// (see Downsample), their full sizes kept in ROCPoints and PRPoints.
type Report struct {
	N         int `json:"n"`
	Positives int `json:"positives"`

	ROCAUC           float64 `json:"roc_auc"`
	AveragePrecision float64 `json:"average_precision"`
	LogLoss          float64 `json:"log_loss"`
	Brier            float64 `json:"brier"`

	Threshold float64   `json:"threshold"` // predicted positive: p >= Threshold
	Confusion Confusion `json:"confusion"`
	Accuracy  float64   `json:"accuracy"`
	Precision float64   `json:"precision"`
	Recall    float64   `json:"recall"`
	F1        float64   `json:"f1"`
	MCC       float64   `json:"mcc"`

	ROC         *ROCCurve    `json:"roc"`
	ROCPoints   int          `json:"roc_points"`
	PR          *PRCurve     `json:"pr"`
	PRPoints    int          `json:"pr_points"`
	Calibration *Calibration `json:"calibration"` // DefaultBins uniform bins
}

// NewReport computes the Report of probabilities p against labels y, the
// threshold-based metrics at threshold. Both classes must be present and
// every p must be a probability in [0, 1].
func NewReport(y []uint8, p []float64, threshold float64) (*Report, error) {
	pos, err := check(y, p, true)
	if err == nil {
		err = bothClasses(pos, len(y))
	}
	if err == nil && (math.IsNaN(threshold) || math.IsInf(threshold, 0)) {
		err = fmt.Errorf("%w: threshold %v", ErrNonFinite, threshold)
	}
	if err != nil {
		return nil, errf("report", err)
	}
	rk, err := rank(y, p)
	if err != nil {
		return nil, errf("report", err)
	}
	scratch := make([]float64, len(p)+1)
	r := &Report{N: len(y), Positives: pos, Threshold: threshold}
	r.LogLoss = logLoss(y, p, LogLossEpsilon, scratch)
	r.Brier = brier(y, p, scratch)
	r.Confusion = confusion(y, p, threshold)
	r.Accuracy = r.Confusion.Accuracy()
	r.Precision = r.Confusion.Precision()
	r.Recall = r.Confusion.Recall()
	r.F1 = r.Confusion.F1()
	r.MCC = r.Confusion.MCC()
	r.Calibration = calibration(y, p, DefaultBins)

	rocN, rocLen, terms := walk(rk.rocPoints(), scratch, aucTerm)
	r.ROCAUC = pairwise.Sum(terms)
	r.ROCPoints = rocN
	r.ROC = newROC(min(rocN, MaxCurvePoints))
	pick(rk.rocPoints(), rocN, rocLen, MaxCurvePoints, func(_ int, q point) { r.ROC.add(q) })

	prN, prLen, terms := walk(rk.prPoints(), scratch, apTerm)
	r.AveragePrecision = -pairwise.Sum(terms)
	r.PRPoints = prN
	r.PR = newPR(min(prN, MaxCurvePoints))
	pick(rk.prPoints(), prN, prLen, MaxCurvePoints, func(_ int, q point) { r.PR.add(q) })
	return r, nil
}

// Downsample picks at most limit (>= 2) of the points (x[i], y[i]) of a curve
// for storage and returns their indices, increasing. It keeps the first and
// the last point and, walking along the curve, the first point at or past
// each of limit−2 marks spaced evenly along its length, measured as
// Σ(|Δx|+|Δy|). Points are dense where the curve moves and a long straight
// stretch costs nothing; a single step that passes several marks keeps one
// point, so a jagged curve (the high-threshold end of a PR curve) can end up
// with fewer than limit points (about 175 of 200 on the test set). A curve
// of at most limit points is kept whole. Deterministic; only the curve's
// own points are kept, never interpolated ones.
func Downsample(x, y []float64, limit int) []int {
	points := func(yield func(point) bool) {
		for i := range x {
			if !yield(point{0, x[i], y[i]}) {
				return
			}
		}
	}
	n, length, _ := walk(points, nil, nil)
	keep := make([]int, 0, min(n, max(limit, 2)))
	pick(points, n, length, limit, func(i int, _ point) { keep = append(keep, i) })
	return keep
}

// pick is Downsample's second pass over a curve of n points and the given
// length: keep is called with each chosen point and its index.
func pick(points iter.Seq[point], n int, length float64, limit int, keep func(int, point)) {
	limit = max(limit, 2)
	step := length / float64(limit-1)
	i, cum, mark := 0, 0.0, 1 // the next mark is at mark·step
	var prev point
	for p := range points {
		switch {
		case n <= limit || i == 0 || i == n-1:
			keep(i, p)
		default:
			cum += math.Abs(p.x-prev.x) + math.Abs(p.y-prev.y)
			if mark <= limit-2 && cum >= float64(mark)*step {
				keep(i, p)
				for mark <= limit-2 && cum >= float64(mark)*step {
					mark++
				}
			}
		}
		prev = p
		i++
	}
}

func errf(what string, err error) error { return fmt.Errorf("%s: %w", what, err) }
