package gbt

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
)

// node is one tree node in the flat prediction layout (16 bytes, four to a cache line).
// Inner node: go to left when x[feature] <= thr, to left+1 when x[feature] > thr, and by the default bit
// when x[feature] is NaN. Leaf: left < 0 and thr holds the leaf value (learning rate applied).
type node struct {
	thr  float64
	left int32
	feat uint32 // feature index | defaultLeftBit
}

const defaultLeftBit = 1 << 31

// Model is a trained ensemble. Its methods are safe for concurrent use.
type Model struct {
	numFeatures int
	baseScore   float64 // raw margin every prediction starts from
	nodes       []node
	roots       []int32
	// Kept for inspection, re-binning and importance; prediction needs only nodes/roots.
	upperBounds      [][]float64
	importanceGain   []float64
	importanceSplits []int
	params           Params
	bestIteration    int
	validationLoss   []float64
}

// NumFeatures is the row length the model expects.
func (m *Model) NumFeatures() int { return m.numFeatures }

// NumTrees is the number of trees kept (after early stopping).
func (m *Model) NumTrees() int { return len(m.roots) }

// NumNodes is the total node count over all trees.
func (m *Model) NumNodes() int { return len(m.nodes) }

// BaseScore is the raw margin (log-odds) every prediction starts from.
func (m *Model) BaseScore() float64 { return m.baseScore }

// Params returns the parameters the model was trained with.
func (m *Model) Params() Params { return m.params }

// BestIteration is the 0-based round with the lowest validation log loss (the last round without validation).
func (m *Model) BestIteration() int { return m.bestIteration }

// ValidationLoss is the validation log loss after every round trained (nil without validation).
func (m *Model) ValidationLoss() []float64 { return append([]float64(nil), m.validationLoss...) }

// BinUpperBounds returns the bin upper bounds per feature learned from the training data.
func (m *Model) BinUpperBounds() [][]float64 {
	out := make([][]float64, len(m.upperBounds))
	for j, u := range m.upperBounds {
		out[j] = append([]float64(nil), u...)
	}
	return out
}

// Importance is a feature's contribution summed over the kept trees.
type Importance struct {
	Gain   []float64 // total loss reduction of the splits on each feature
	Splits []int     // number of splits on each feature
}

// FeatureImportance returns total gain and split counts per feature.
func (m *Model) FeatureImportance() Importance {
	return Importance{
		Gain:   append([]float64(nil), m.importanceGain...),
		Splits: append([]int(nil), m.importanceSplits...),
	}
}

// PredictRaw returns the margin (log-odds) for one row. It does not allocate.
func (m *Model) PredictRaw(row []float64) float64 {
	nodes := m.nodes
	s := m.baseScore
	for _, r := range m.roots {
		i := r
		for {
			n := &nodes[i]
			if n.left < 0 {
				s += n.thr
				break
			}
			v := row[n.feat&^defaultLeftBit]
			i = n.left
			if !(v <= n.thr) && (v == v || n.feat&defaultLeftBit == 0) {
				i++
			}
		}
	}
	return s
}

// PredictProba returns P(arrest = 1) for one row (len(row) == NumFeatures()). It does not allocate.
func (m *Model) PredictProba(row []float64) float64 {
	return sigmoid(m.PredictRaw(row))
}

// PredictProbaBatch scores every row of the column-major matrix X, in parallel over row blocks. Within a
// block it walks tree by tree, so a tree stays in cache while it scores many rows.
func (m *Model) PredictProbaBatch(X [][]float64) ([]float64, error) {
	return m.PredictProbaBatchThreads(X, 0)
}

// PredictProbaBatchThreads is PredictProbaBatch with an explicit thread count (0 = GOMAXPROCS).
func (m *Model) PredictProbaBatchThreads(X [][]float64, threads int) ([]float64, error) {
	if len(X) != m.numFeatures {
		return nil, fmt.Errorf("predict: %d feature columns, model expects %d", len(X), m.numFeatures)
	}
	n := 0
	if len(X) > 0 {
		n = len(X[0])
	}
	for j := range X {
		if len(X[j]) != n {
			return nil, fmt.Errorf("predict: column %d has %d rows, column 0 has %d", j, len(X[j]), n)
		}
	}
	out := make([]float64, n)
	if threads <= 0 {
		threads = Params{}.threads()
	}
	const block = 256
	parallelChunks(n, block, threads, func(_, lo, hi int) {
		s := out[lo:hi]
		for k := range s {
			s[k] = m.baseScore
		}
		nodes := m.nodes
		for _, r := range m.roots {
			for k := range s {
				i := r
				row := lo + k
				for {
					nd := &nodes[i]
					if nd.left < 0 {
						s[k] += nd.thr
						break
					}
					v := X[nd.feat&^defaultLeftBit][row]
					i = nd.left
					if !(v <= nd.thr) && (v == v || nd.feat&defaultLeftBit == 0) {
						i++
					}
				}
			}
		}
		for k := range s {
			s[k] = sigmoid(s[k])
		}
	})
	return out, nil
}

func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

// modelJSON is the serialised form: struct-of-arrays over all nodes of all trees.
// Floats are written in Go's shortest round-trip form, so a reload predicts the same bits.
type modelJSON struct {
	Format           string      `json:"format"`
	NumFeatures      int         `json:"num_features"`
	BaseScore        float64     `json:"base_score"`
	Params           Params      `json:"params"`
	BestIteration    int         `json:"best_iteration"`
	Roots            []int32     `json:"roots"`
	Feature          []int32     `json:"feature"`   // -1 for leaves
	Threshold        []float64   `json:"threshold"` // leaf value for leaves; +Inf written as MaxFloat64
	Left             []int32     `json:"left"`      // right child = left+1; -1 for leaves
	DefaultLeft      []uint8     `json:"default_left"`
	UpperBounds      [][]float64 `json:"bin_upper_bounds"`
	ImportanceGain   []float64   `json:"importance_gain"`
	ImportanceSplits []int       `json:"importance_splits"`
	ValidationLoss   []float64   `json:"validation_loss,omitempty"`
}

const modelFormat = "arrestcast-gbt/1"

// MarshalJSON writes the model.
func (m *Model) MarshalJSON() ([]byte, error) {
	j := modelJSON{
		Format:           modelFormat,
		NumFeatures:      m.numFeatures,
		BaseScore:        m.baseScore,
		Params:           m.params,
		BestIteration:    m.bestIteration,
		Roots:            m.roots,
		Feature:          make([]int32, len(m.nodes)),
		Threshold:        make([]float64, len(m.nodes)),
		Left:             make([]int32, len(m.nodes)),
		DefaultLeft:      make([]uint8, len(m.nodes)),
		UpperBounds:      m.upperBounds,
		ImportanceGain:   m.importanceGain,
		ImportanceSplits: m.importanceSplits,
		ValidationLoss:   m.validationLoss,
	}
	for i, n := range m.nodes {
		j.Left[i] = n.left
		j.Threshold[i] = n.thr
		if n.left < 0 {
			j.Feature[i] = -1
			continue
		}
		j.Feature[i] = int32(n.feat &^ defaultLeftBit)
		if n.feat&defaultLeftBit != 0 {
			j.DefaultLeft[i] = 1
		}
		if math.IsInf(n.thr, 1) {
			j.Threshold[i] = math.MaxFloat64 // JSON has no infinity; decoded back to +Inf
		}
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads a model written by MarshalJSON and checks its structure, so that prediction
// can never index out of range.
func (m *Model) UnmarshalJSON(b []byte) error {
	var j modelJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("decode gbt model: %w", err)
	}
	if j.Format != modelFormat {
		return fmt.Errorf("decode gbt model: format %q, want %q", j.Format, modelFormat)
	}
	n := len(j.Feature)
	if len(j.Threshold) != n || len(j.Left) != n || len(j.DefaultLeft) != n {
		return errors.New("decode gbt model: node arrays differ in length")
	}
	if j.NumFeatures < 1 {
		return fmt.Errorf("decode gbt model: num_features %d", j.NumFeatures)
	}
	nodes := make([]node, n)
	for i := range nodes {
		nd := node{thr: j.Threshold[i], left: j.Left[i]}
		if j.Left[i] < 0 {
			if j.Feature[i] != -1 {
				return fmt.Errorf("decode gbt model: leaf %d has feature %d", i, j.Feature[i])
			}
			nd.left = -1
			nodes[i] = nd
			continue
		}
		if j.Feature[i] < 0 || int(j.Feature[i]) >= j.NumFeatures {
			return fmt.Errorf("decode gbt model: node %d feature %d out of range", i, j.Feature[i])
		}
		// Children must come after their parent: this also rules out cycles.
		if int(j.Left[i]) <= i || int(j.Left[i])+1 >= n {
			return fmt.Errorf("decode gbt model: node %d children %d out of range", i, j.Left[i])
		}
		nd.feat = uint32(j.Feature[i])
		if j.DefaultLeft[i] != 0 {
			nd.feat |= defaultLeftBit
		}
		if nd.thr == math.MaxFloat64 {
			nd.thr = math.Inf(1)
		}
		nodes[i] = nd
	}
	for _, r := range j.Roots {
		if r < 0 || int(r) >= n {
			return fmt.Errorf("decode gbt model: root %d out of range", r)
		}
	}
	*m = Model{
		numFeatures:      j.NumFeatures,
		baseScore:        j.BaseScore,
		nodes:            nodes,
		roots:            j.Roots,
		upperBounds:      j.UpperBounds,
		importanceGain:   j.ImportanceGain,
		importanceSplits: j.ImportanceSplits,
		params:           j.Params,
		bestIteration:    j.BestIteration,
		validationLoss:   j.ValidationLoss,
	}
	return nil
}
