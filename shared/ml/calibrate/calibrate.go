// Package calibrate maps a classifier's scores to probabilities fitted on
// held-out rows — isotonic regression or Platt scaling, as scikit-learn's
// CalibratedClassifierCV does on a decision function — chooses between them
// (and none) by cross-validated log loss, and picks a decision threshold
// (the one that maximises Matthews' correlation, MCC).
//
// Isotonic reproduces scikit-learn 1.2's IsotonicRegression (merging of
// equal scores, pool-adjacent-violators in its pooling order, numpy.interp's
// interpolation, clipping); Platt minimises scikit-learn's
// _sigmoid_calibration objective (Platt's smoothed targets) by Newton's
// method. Both are checked against scikit-learn in golden files
// (internal/testdata/calibrate, written by
// bench/reference/golden_target_calibrate.py). A fitted Calibrator is plain
// JSON and Apply does not allocate, so serving replays training.
package calibrate

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/arrestcast/arrestcast/shared/ml/metrics"
	"github.com/arrestcast/arrestcast/shared/ml/nprand"
)

// Method names a calibration.
type Method string

// Methods.
const (
	None      Method = "none"     // the score's sigmoid: the model's own probability
	Isotone   Method = "isotonic" // IsotonicRegression on the score
	Sigmoidal Method = "platt"    // Platt scaling of the score
)

// Calibrator maps a model's score (a log-odds margin) to a probability.
type Calibrator struct {
	Method   Method    `json:"method"`
	Isotonic *Isotonic `json:"isotonic,omitempty"`
	Platt    *Platt    `json:"platt,omitempty"`
}

// Fit fits one method on scores and labels.
func Fit(m Method, score []float64, y []uint8) (*Calibrator, error) {
	c := &Calibrator{Method: m}
	var err error
	switch m {
	case None:
	case Isotone:
		c.Isotonic, err = FitIsotonic(score, y)
	case Sigmoidal:
		c.Platt, err = FitPlatt(score, y)
	default:
		err = fmt.Errorf("calibrate: unknown method %q", m)
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Validate checks a loaded calibrator.
func (c *Calibrator) Validate() error {
	switch {
	case c.Method == None && c.Isotonic == nil && c.Platt == nil:
		return nil
	case c.Method == Isotone && c.Isotonic != nil && c.Platt == nil:
		return c.Isotonic.Validate()
	case c.Method == Sigmoidal && c.Platt != nil && c.Isotonic == nil:
		return c.Platt.Validate()
	}
	return fmt.Errorf("calibrate: method %q with isotonic %v, platt %v", c.Method, c.Isotonic != nil, c.Platt != nil)
}

// Apply maps a score (log-odds margin) to a probability. It does not allocate.
func (c *Calibrator) Apply(score float64) float64 {
	switch c.Method {
	case Isotone:
		return c.Isotonic.Apply(score)
	case Sigmoidal:
		return c.Platt.Apply(score)
	}
	return Sigmoid(score)
}

// Choice is how Choose decided: each method's mean log loss over the folds
// of the held-out rows, and the chosen method.
type Choice struct {
	Folds   int                `json:"folds"`
	LogLoss map[Method]float64 `json:"log_loss"`
	Brier   map[Method]float64 `json:"brier"`
	Chosen  Method             `json:"chosen"`
}

// Methods are the candidates Choose tries, in order of preference on ties.
var Methods = []Method{None, Sigmoidal, Isotone}

// Choose picks the calibration of held-out rows' scores: each method is
// fitted on k−1 folds of them and scored (log loss) on the k-th (folds as
// scikit-learn's KFold(k, shuffle=True, random_state=seed)); the method with
// the lowest mean log loss is chosen — a calibration only when it beats
// the model's own probabilities by at least minGain — and fitted on all
// rows.
func Choose(score []float64, y []uint8, k int, seed uint32, minGain float64) (*Calibrator, *Choice, error) {
	if len(score) != len(y) {
		return nil, nil, fmt.Errorf("calibrate: %d scores, %d labels", len(score), len(y))
	}
	if k < 2 || len(y) < 2*k {
		return nil, nil, fmt.Errorf("calibrate: %d rows for %d folds", len(y), k)
	}
	perm := nprand.New(seed).Permutation(len(y))
	ch := &Choice{Folds: k, LogLoss: map[Method]float64{}, Brier: map[Method]float64{}}
	for _, m := range Methods {
		var ll, br float64
		at := 0
		for f := range k {
			size := len(y) / k
			if f < len(y)%k {
				size++
			}
			held := perm[at : at+size]
			at += size
			fitS, fitY, testS, testY := split(score, y, held)
			c, err := Fit(m, fitS, fitY)
			if err != nil {
				return nil, nil, fmt.Errorf("calibrate: %s on fold %d: %w", m, f, err)
			}
			p := make([]float64, len(testS))
			for i, s := range testS {
				p[i] = c.Apply(s)
			}
			l, err := metrics.LogLoss(testY, p)
			if err != nil {
				return nil, nil, fmt.Errorf("calibrate: %s on fold %d: %w", m, f, err)
			}
			b, err := metrics.Brier(testY, p)
			if err != nil {
				return nil, nil, fmt.Errorf("calibrate: %s on fold %d: %w", m, f, err)
			}
			ll += l / float64(k)
			br += b / float64(k)
		}
		ch.LogLoss[m], ch.Brier[m] = ll, br
	}
	ch.Chosen = None
	best := ch.LogLoss[None] - minGain
	for _, m := range Methods[1:] {
		if ch.LogLoss[m] < best {
			ch.Chosen, best = m, ch.LogLoss[m]
		}
	}
	c, err := Fit(ch.Chosen, score, y)
	if err != nil {
		return nil, nil, err
	}
	return c, ch, nil
}

// split returns the rows not in held, then those in held.
func split(score []float64, y []uint8, held []int) (fs []float64, fy []uint8, ts []float64, ty []uint8) {
	in := make([]bool, len(y))
	for _, i := range held {
		in[i] = true
	}
	for i := range y {
		if in[i] {
			ts, ty = append(ts, score[i]), append(ty, y[i])
		} else {
			fs, fy = append(fs, score[i]), append(fy, y[i])
		}
	}
	return fs, fy, ts, ty
}

// MCCThreshold returns the threshold t that maximises the MCC of calling
// p >= t positive, among the distinct probabilities, and that MCC; ties go
// to the higher threshold.
func MCCThreshold(y []uint8, p []float64) (threshold, mcc float64, err error) {
	if len(y) != len(p) || len(y) == 0 {
		return 0, 0, fmt.Errorf("mcc threshold: %d labels, %d probabilities", len(y), len(p))
	}
	pos := 0
	for i, v := range p {
		if math.IsNaN(v) {
			return 0, 0, fmt.Errorf("mcc threshold: probability NaN at row %d", i)
		}
		if y[i] > 1 {
			return 0, 0, fmt.Errorf("mcc threshold: label %d at row %d is not 0/1", y[i], i)
		}
		pos += int(y[i])
	}
	if pos == 0 || pos == len(y) {
		return 0, 0, errors.New("mcc threshold: needs both classes")
	}
	order := make([]int, len(p))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(p[b], p[a]) })
	neg := len(y) - pos
	best, bestT := math.Inf(-1), math.Inf(1)
	tp, fp := 0, 0
	for k := 0; k < len(order); {
		t := p[order[k]]
		for ; k < len(order) && p[order[k]] == t; k++ {
			tp += int(y[order[k]])
			fp += 1 - int(y[order[k]])
		}
		c := metrics.Confusion{TP: tp, FP: fp, FN: pos - tp, TN: neg - fp}
		if m := c.MCC(); m > best {
			best, bestT = m, t
		}
	}
	return bestT, best, nil
}
