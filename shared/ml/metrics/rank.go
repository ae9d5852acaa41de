package metrics

import (
	"fmt"
	"iter"
	"math"

	"github.com/arrestcast/arrestcast/shared/ml/internal/radix"

	"github.com/arrestcast/arrestcast/shared/ml/internal/pairwise"
)

// ranking is the result of the one sort every ranking metric shares:
// scikit-learn's _binary_clf_curve. Group k (k = 0 … m−1) is the k-th
// distinct score from the top; key[k] encodes that score and cnt[k] packs
// the number of positives (high 32 bits) and negatives (low 32 bits) scoring
// at least that much. Both slices live in the sort's own buffers.
type ranking struct {
	key, cnt []uint64
	pos, neg int
}

func (r *ranking) len() int          { return len(r.key) }
func (r *ranking) thr(k int) float64 { return decodeKey(r.key[k]) }
func (r *ranking) tp(k int) int      { return int(r.cnt[k] >> 32) }
func (r *ranking) fp(k int) int      { return int(r.cnt[k] & math.MaxUint32) }
func (r *ranking) tpf(k int) float64 { return float64(r.tp(k)) }
func (r *ranking) fpf(k int) float64 { return float64(r.fp(k)) }

// maxRows is the most rows a ranking can count (32-bit counters).
const maxRows = math.MaxUint32

// rank sorts once and groups tied scores. It assumes check passed.
func rank(y []uint8, s []float64) (*ranking, error) {
	if uint64(len(s)) > maxRows {
		return nil, fmt.Errorf("%d rows: at most %d can be ranked", len(s), maxRows)
	}
	keys, labs, spare := sortDesc(y, s)
	tp, fp, m := 0, 0, 0
	for i, k := range keys {
		if labs[i] == 1 {
			tp++
		} else {
			fp++
		}
		if i+1 == len(keys) || keys[i+1] != k {
			keys[m] = k // m <= i: the group's key overwrites a key already read
			spare[m] = uint64(tp)<<32 | uint64(fp)
			m++
		}
	}
	return &ranking{key: keys[:m], cnt: spare[:m], pos: tp, neg: fp}, nil
}

// Keys order float64 scores: key(a) < key(b) iff a > b (descending), with
// -0 and +0 the same key (sklearn groups them as ties: np.diff is 0).
func encodeKey(v float64) uint64 {
	if v == 0 {
		v = 0 // -0 → +0
	}
	b := math.Float64bits(v)
	if b>>63 == 1 {
		b = ^b
	} else {
		b |= 1 << 63
	}
	return ^b
}

func decodeKey(k uint64) float64 {
	b := ^k
	if b>>63 == 1 {
		b &^= 1 << 63
	} else {
		b = ^b
	}
	return math.Float64frombits(b)
}

// sortDesc returns the score keys sorted ascending (scores descending) with
// their labels, and a spare buffer of len(s) keys (shared/ml/internal/radix:
// stable and deterministic; ties are grouped afterwards anyway). One
// allocation for keys, one for labels.
func sortDesc(y []uint8, s []float64) (keys []uint64, labs []uint8, spare []uint64) {
	n := len(s)
	kbuf := make([]uint64, 2*n)
	lbuf := make([]uint8, 2*n)
	a, la := kbuf[:n:n], lbuf[:n:n]
	for i, v := range s {
		a[i], la[i] = encodeKey(v), y[i]
	}
	keys, labs, spare, _ = radix.Sort(a, la, kbuf[n:], lbuf[n:])
	return keys, labs, spare
}

// point is one point of a curve: sklearn's threshold and the two coordinates.
type point struct{ thr, x, y float64 }

// rocPoints yields sklearn 1.2's roc_curve(drop_intermediate=True): the start
// (threshold max+1, 0, 0), then each group that is not collinear with its
// neighbours (the second differences of fps or tps are non-zero), as
// (threshold, fpr, tpr).
func (r *ranking) rocPoints() iter.Seq[point] {
	return func(yield func(point) bool) {
		m := r.len()
		if !yield(point{r.thr(0) + 1, 0, 0}) {
			return
		}
		P, N := float64(r.pos), float64(r.neg)
		for j := range m {
			if m > 2 && j > 0 && j < m-1 &&
				r.fp(j+1)-r.fp(j) == r.fp(j)-r.fp(j-1) &&
				r.tp(j+1)-r.tp(j) == r.tp(j)-r.tp(j-1) {
				continue
			}
			if !yield(point{r.thr(j), r.fpf(j) / N, r.tpf(j) / P}) {
				return
			}
		}
	}
}

// prPoints yields sklearn 1.2's precision_recall_curve in its order
// (increasing threshold) as (threshold, recall, precision), then the final
// point (recall 0, precision 1), which has no threshold (NaN here).
func (r *ranking) prPoints() iter.Seq[point] {
	return func(yield func(point) bool) {
		P := float64(r.pos)
		for k := r.len() - 1; k >= 0; k-- {
			tp := r.tpf(k)
			if !yield(point{r.thr(k), tp / P, tp / (tp + r.fpf(k))}) {
				return
			}
		}
		yield(point{math.NaN(), 0, 1})
	}
}

// aucTerm is one trapezoid of np.trapz(tpr, fpr), as sklearn's auc: the
// pairwise sum of (x₁−x₀)·(y₁+y₀)/2 over the ROC points is the ROC-AUC.
func aucTerm(a, b point) float64 { return (b.x - a.x) * (b.y + a.y) / 2.0 }

// apTerm is one step of sklearn's average precision over the PR points
// (x = recall, y = precision): AP = −Σ (R[i+1] − R[i])·P[i].
func apTerm(a, b point) float64 { return (b.x - a.x) * a.y }

// walk reads a curve once and returns its number of points, its length
// Σ(|Δx|+|Δy|) (for downsampling) and, when term is not nil, term of every
// pair of consecutive points appended to scratch[:0].
func walk(points iter.Seq[point], scratch []float64, term func(a, b point) float64) (n int, length float64, terms []float64) {
	terms = scratch[:0]
	var prev point
	for p := range points {
		if n > 0 {
			length += math.Abs(p.x-prev.x) + math.Abs(p.y-prev.y)
			if term != nil {
				terms = append(terms, term(prev, p))
			}
		}
		prev = p
		n++
	}
	return n, length, terms
}

// ROCCurve is the receiver operating characteristic as sklearn 1.2's
// roc_curve: FPR and TPR increasing from (0, 0) to (1, 1), Thresholds
// decreasing (score >= threshold is predicted positive); the first
// threshold is max(score)+1, the start point. Collinear intermediate points
// are dropped (drop_intermediate=True).
type ROCCurve struct {
	FPR        []float64 `json:"fpr"`
	TPR        []float64 `json:"tpr"`
	Thresholds []float64 `json:"thresholds"`
}

func (c *ROCCurve) add(p point) {
	c.Thresholds = append(c.Thresholds, p.thr)
	c.FPR = append(c.FPR, p.x)
	c.TPR = append(c.TPR, p.y)
}

// PRCurve is sklearn 1.2's precision_recall_curve: Thresholds increasing
// (the distinct scores), Precision and Recall one longer, ending at the
// point (recall 0, precision 1) that has no threshold.
type PRCurve struct {
	Precision  []float64 `json:"precision"`
	Recall     []float64 `json:"recall"`
	Thresholds []float64 `json:"thresholds"`
}

func (c *PRCurve) add(p point) {
	if !math.IsNaN(p.thr) {
		c.Thresholds = append(c.Thresholds, p.thr)
	}
	c.Recall = append(c.Recall, p.x)
	c.Precision = append(c.Precision, p.y)
}

func newROC(n int) *ROCCurve {
	return &ROCCurve{FPR: make([]float64, 0, n), TPR: make([]float64, 0, n), Thresholds: make([]float64, 0, n)}
}

func newPR(n int) *PRCurve {
	return &PRCurve{Precision: make([]float64, 0, n), Recall: make([]float64, 0, n), Thresholds: make([]float64, 0, n)}
}

// ranked validates the input of a ranking metric and ranks it.
func ranked(what string, y []uint8, s []float64) (*ranking, error) {
	pos, err := check(y, s, false)
	if err == nil {
		err = bothClasses(pos, len(y))
	}
	var r *ranking
	if err == nil {
		r, err = rank(y, s)
	}
	if err != nil {
		return nil, errf(what, err)
	}
	return r, nil
}

// ROCAUC is the area under the ROC curve, sklearn's roc_auc_score: the
// trapezoid rule over roc_curve's points, tied scores forming one segment
// (so a tie between a positive and a negative counts one half).
func ROCAUC(y []uint8, s []float64) (float64, error) {
	r, err := ranked("roc auc", y, s)
	if err != nil {
		return 0, err
	}
	_, _, terms := walk(r.rocPoints(), make([]float64, 0, r.len()+1), aucTerm)
	return pairwise.Sum(terms), nil
}

// ROC returns sklearn's roc_curve (drop_intermediate=True).
func ROC(y []uint8, s []float64) (*ROCCurve, error) {
	r, err := ranked("roc", y, s)
	if err != nil {
		return nil, err
	}
	c := newROC(r.len() + 1)
	for p := range r.rocPoints() {
		c.add(p)
	}
	return c, nil
}

// AveragePrecision is sklearn's average_precision_score: Σ (Rₙ − Rₙ₋₁)·Pₙ
// over the distinct thresholds, not interpolated.
func AveragePrecision(y []uint8, s []float64) (float64, error) {
	r, err := ranked("average precision", y, s)
	if err != nil {
		return 0, err
	}
	_, _, terms := walk(r.prPoints(), make([]float64, 0, r.len()+1), apTerm)
	return -pairwise.Sum(terms), nil
}

// PR returns sklearn's precision_recall_curve.
func PR(y []uint8, s []float64) (*PRCurve, error) {
	r, err := ranked("precision-recall", y, s)
	if err != nil {
		return nil, err
	}
	c := newPR(r.len() + 1)
	for p := range r.prPoints() {
		c.add(p)
	}
	return c, nil
}
