package metrics

import "math"

// Confusion counts the predictions at a threshold: a row is predicted
// positive when its score >= threshold (the ROC curve's convention, and
// `(p >= 0.5)` of the seed's reference; sklearn's predict() differs only at
// a score exactly equal to 0.5).
type Confusion struct {
	TN int `json:"tn"`
	FP int `json:"fp"`
	FN int `json:"fn"`
	TP int `json:"tp"`
}

// ConfusionAt counts the confusion matrix of y against score >= threshold.
// A single class in y is fine here.
func ConfusionAt(y []uint8, s []float64, threshold float64) (Confusion, error) {
	if _, err := check(y, s, false); err != nil {
		return Confusion{}, errf("confusion", err)
	}
	if math.IsNaN(threshold) {
		return Confusion{}, errf("confusion", ErrNonFinite)
	}
	return confusion(y, s, threshold), nil
}

func confusion(y []uint8, s []float64, threshold float64) Confusion {
	var c [2][2]int
	for i, v := range s {
		pred := 0
		if v >= threshold {
			pred = 1
		}
		c[y[i]][pred]++
	}
	return Confusion{TN: c[0][0], FP: c[0][1], FN: c[1][0], TP: c[1][1]}
}

// Matrix is sklearn's confusion_matrix layout: rows true 0/1, columns
// predicted 0/1, [[TN FP] [FN TP]].
func (c Confusion) Matrix() [2][2]int { return [2][2]int{{c.TN, c.FP}, {c.FN, c.TP}} }

// N is the number of rows.
func (c Confusion) N() int { return c.TN + c.FP + c.FN + c.TP }

// Accuracy is sklearn's accuracy_score: (TP+TN)/n.
func (c Confusion) Accuracy() float64 {
	return float64(c.TP+c.TN) / float64(c.N())
}

// Precision is TP/(TP+FP), 0 when nothing is predicted positive (sklearn's
// zero_division default).
func (c Confusion) Precision() float64 { return ratio(c.TP, c.TP+c.FP) }

// Recall is TP/(TP+FN), 0 when there are no positives.
func (c Confusion) Recall() float64 { return ratio(c.TP, c.TP+c.FN) }

// F1 is sklearn's f1_score: 2·P·R/(P+R) from the rounded precision and
// recall, 0 when both are 0.
func (c Confusion) F1() float64 {
	p, r := c.Precision(), c.Recall()
	den := p + r
	if den == 0 {
		den = 1
	}
	return 2 * p * r / den
}

// MCC is sklearn's matthews_corrcoef, with its float64 arithmetic; 0 when a
// row or column of the matrix is empty.
func (c Confusion) MCC() float64 {
	t0, t1 := float64(c.TN+c.FP), float64(c.FN+c.TP) // true sums
	p0, p1 := float64(c.TN+c.FN), float64(c.FP+c.TP) // predicted sums
	correct := float64(c.TN + c.TP)
	n := p0 + p1
	covYtYp := correct*n - (t0*p0 + t1*p1)
	covYpYp := n*n - (p0*p0 + p1*p1)
	covYtYt := n*n - (t0*t0 + t1*t1)
	if covYpYp*covYtYt == 0 {
		return 0
	}
	return covYtYp / math.Sqrt(covYtYt*covYpYp)
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
