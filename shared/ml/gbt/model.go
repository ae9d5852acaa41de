package gbt

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"unsafe"
)

// node is one tree node in the flat prediction layout: 8 bytes, eight to a cache line, so a 200-tree
// depth-8 model (~100k nodes) stays in a core's L2 cache. An inner node sends x to the right child when
// x[feature] > thr (compared in float64; thresholds are float32-exact by construction, see binEdges),
// to the left child otherwise, and a NaN by its default bit. Children are adjacent (right = left+1) and
// addressed relative to the tree's root. A leaf points to itself with thr = +Inf, so a walk of the
// tree's full depth ends on the leaf whatever the row: the walk has no data-dependent branch, and
// eight trees are walked side by side to overlap their latencies. Leaf values live in Model.vals.
type node struct {
	thr  float32
	bits uint32 // child offset (21 bits) | feature << 21 (10 bits) | default-right << 31
}

const (
	offBits      = 21
	offMask      = 1<<offBits - 1
	featShift    = offBits
	featMask     = 1<<10 - 1
	maxFeatures  = featMask + 1
	maxTreeNodes = offMask + 1
	defRightBit  = 1 << 31
)

// Model is a trained ensemble. Its methods are safe for concurrent use.
type Model struct {
	numFeatures int
	baseScore   float64 // raw margin every prediction starts from
	nodes       []node
	vals        []float64 // leaf value (learning rate applied) per node; 0 for inner nodes
	roots       []int32
	depths      []int32 // per tree: steps from the root to its deepest leaf
	// Kept for inspection, re-binning and importance; prediction needs only nodes/vals/roots/depths.
	upperBounds      [][]float64
	importanceGain   []float64
	importanceSplits []int
	params           Params
	bestIteration    int
	validationLoss   []float64
	cover            []float64  // per node, for explanations (shap.go): Fit records it; nil in a model from before
	shap             *shapState // derived from cover
	// stoppedAtDeadline: the deadline of FitWith ended boosting (not kept in
	// the model's JSON: it describes the fit, not the model).
	stoppedAtDeadline bool
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

// BestIteration is the 0-based round with the lowest validation log loss (the last round without early stopping).
func (m *Model) BestIteration() int { return m.bestIteration }

// StoppedAtDeadline reports that the deadline of FitWith ended boosting before
// Params().NumTrees rounds (or early stopping) did.
func (m *Model) StoppedAtDeadline() bool { return m.stoppedAtDeadline }

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

// step moves one level down from node i of the tree rooted at base. It reads through unsafe pointers:
// the checks are done once, not per step — node indices never leave their tree (children are validated
// to lie inside it, leaves point to themselves) and PredictMargin checks the row holds every feature the
// nodes can name.
func step(np, rp unsafe.Pointer, base, i int) int {
	n := *(*node)(unsafe.Add(np, uintptr(i)*8))
	v := *(*float64)(unsafe.Add(rp, uintptr(n.bits>>featShift&featMask)*8))
	var r uint32
	if v > float64(n.thr) { // compiled to a flag set, not a branch
		r = 1
	}
	return base + int(n.bits&offMask+r)
}

// stepNaN is step for rows holding a NaN: a NaN takes its node's default side.
func stepNaN(np, rp unsafe.Pointer, base, i int) int {
	n := *(*node)(unsafe.Add(np, uintptr(i)*8))
	v := *(*float64)(unsafe.Add(rp, uintptr(n.bits>>featShift&featMask)*8))
	var r uint32
	if v > float64(n.thr) {
		r = 1
	}
	if v != v {
		r = n.bits >> 31
	}
	return base + int(n.bits&offMask+r)
}

// PredictMargin returns the margin (log-odds) for one row. It panics when len(row) < NumFeatures().
// It does not allocate.
func (m *Model) PredictMargin(row []float64) float64 {
	if len(row) < m.numFeatures {
		panic(fmt.Sprintf("gbt: row of %d values, model needs %d", len(row), m.numFeatures))
	}
	if len(m.nodes) == 0 {
		return m.baseScore
	}
	for _, v := range row[:m.numFeatures] {
		if v != v {
			return m.walkNaN(row)
		}
	}
	return m.walk(row)
}

// walk sums the leaf values the trees send row to, eight trees side by side.
func (m *Model) walk(row []float64) float64 {
	np, rp := unsafe.Pointer(unsafe.SliceData(m.nodes)), unsafe.Pointer(unsafe.SliceData(row))
	vals, roots, depths := m.vals, m.roots, m.depths
	s := m.baseScore
	t := 0
	for ; t+8 <= len(roots); t += 8 {
		r := roots[t : t+8 : t+8]
		b0, b1, b2, b3, b4, b5, b6, b7 := int(r[0]), int(r[1]), int(r[2]), int(r[3]), int(r[4]), int(r[5]), int(r[6]), int(r[7])
		i0, i1, i2, i3, i4, i5, i6, i7 := b0, b1, b2, b3, b4, b5, b6, b7
		dd := depths[t : t+8 : t+8]
		d := max(dd[0], dd[1], dd[2], dd[3], dd[4], dd[5], dd[6], dd[7])
		for k := int32(0); k < d; k++ {
			i0 = step(np, rp, b0, i0)
			i1 = step(np, rp, b1, i1)
			i2 = step(np, rp, b2, i2)
			i3 = step(np, rp, b3, i3)
			i4 = step(np, rp, b4, i4)
			i5 = step(np, rp, b5, i5)
			i6 = step(np, rp, b6, i6)
			i7 = step(np, rp, b7, i7)
		}
		s += vals[i0]
		s += vals[i1]
		s += vals[i2]
		s += vals[i3]
		s += vals[i4]
		s += vals[i5]
		s += vals[i6]
		s += vals[i7]
	}
	for ; t < len(roots); t++ {
		b := int(roots[t])
		i := b
		for k := int32(0); k < depths[t]; k++ {
			i = step(np, rp, b, i)
		}
		s += vals[i]
	}
	return s
}

// walkNaN is walk for rows holding a NaN (kept apart so the common case skips the NaN test; the
// duplication is the price of having both inlined).
func (m *Model) walkNaN(row []float64) float64 {
	np, rp := unsafe.Pointer(unsafe.SliceData(m.nodes)), unsafe.Pointer(unsafe.SliceData(row))
	vals, roots, depths := m.vals, m.roots, m.depths
	s := m.baseScore
	t := 0
	for ; t+8 <= len(roots); t += 8 {
		r := roots[t : t+8 : t+8]
		b0, b1, b2, b3, b4, b5, b6, b7 := int(r[0]), int(r[1]), int(r[2]), int(r[3]), int(r[4]), int(r[5]), int(r[6]), int(r[7])
		i0, i1, i2, i3, i4, i5, i6, i7 := b0, b1, b2, b3, b4, b5, b6, b7
		dd := depths[t : t+8 : t+8]
		d := max(dd[0], dd[1], dd[2], dd[3], dd[4], dd[5], dd[6], dd[7])
		for k := int32(0); k < d; k++ {
			i0 = stepNaN(np, rp, b0, i0)
			i1 = stepNaN(np, rp, b1, i1)
			i2 = stepNaN(np, rp, b2, i2)
			i3 = stepNaN(np, rp, b3, i3)
			i4 = stepNaN(np, rp, b4, i4)
			i5 = stepNaN(np, rp, b5, i5)
			i6 = stepNaN(np, rp, b6, i6)
			i7 = stepNaN(np, rp, b7, i7)
		}
		s += vals[i0]
		s += vals[i1]
		s += vals[i2]
		s += vals[i3]
		s += vals[i4]
		s += vals[i5]
		s += vals[i6]
		s += vals[i7]
	}
	for ; t < len(roots); t++ {
		b := int(roots[t])
		i := b
		for k := int32(0); k < depths[t]; k++ {
			i = stepNaN(np, rp, b, i)
		}
		s += vals[i]
	}
	return s
}

// PredictProba returns P(y = 1) for one row; len(row) must be at least NumFeatures(). It does not allocate.
func (m *Model) PredictProba(row []float64) float64 {
	return sigmoid(m.PredictMargin(row))
}

// PredictProbaBatch scores every row of the column-major matrix X in parallel (GOMAXPROCS goroutines);
// each result is bit-identical to PredictProba on that row.
func (m *Model) PredictProbaBatch(X [][]float64) ([]float64, error) {
	return m.PredictProbaBatchThreads(X, 0)
}

// PredictProbaBatchThreads is PredictProbaBatch with an explicit thread count (0 = GOMAXPROCS).
func (m *Model) PredictProbaBatchThreads(X [][]float64, threads int) ([]float64, error) {
	if len(X) != m.numFeatures {
		return nil, fmt.Errorf("predict: %d feature columns, model expects %d", len(X), m.numFeatures)
	}
	n := len(X[0])
	for j := range X {
		if len(X[j]) != n {
			return nil, fmt.Errorf("predict: column %d has %d rows, column 0 has %d", j, len(X[j]), n)
		}
	}
	out := make([]float64, n)
	if threads <= 0 {
		threads = Params{}.threads()
	}
	parallelChunks(n, 4096, threads, func(_, lo, hi int) {
		row := make([]float64, len(X))
		for i := lo; i < hi; i++ {
			for j, col := range X {
				row[j] = col[i]
			}
			out[i] = sigmoid(m.PredictMargin(row))
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

// nodeView is a decoded node, for tests and serialisation.
type nodeView struct {
	leaf        bool
	feature     int
	threshold   float64
	left        int // absolute index of the left child
	defaultLeft bool
	value       float64
}

func (m *Model) view(tree, i int) nodeView {
	n := m.nodes[i]
	base := int(m.roots[tree])
	off := int(n.bits & offMask)
	if base+off == i {
		return nodeView{leaf: true, value: m.vals[i], left: -1}
	}
	return nodeView{
		feature:     int(n.bits >> featShift & featMask),
		threshold:   float64(n.thr),
		left:        base + off,
		defaultLeft: n.bits&defRightBit == 0,
	}
}

// treeOf returns the tree holding node i.
func (m *Model) treeOf(i int) int {
	t := 0
	for t+1 < len(m.roots) && int(m.roots[t+1]) <= i {
		t++
	}
	return t
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
	Threshold        []float64   `json:"threshold"` // go right when x > threshold (float32 values; +Inf as MaxFloat64)
	Left             []int32     `json:"left"`      // absolute index of the left child, right = left+1; -1 for leaves
	DefaultLeft      []uint8     `json:"default_left"`
	Value            []float64   `json:"value"` // leaf values (learning rate applied); 0 for inner nodes
	UpperBounds      [][]float64 `json:"bin_upper_bounds"`
	ImportanceGain   []float64   `json:"importance_gain"`
	ImportanceSplits []int       `json:"importance_splits"`
	ValidationLoss   []float64   `json:"validation_loss,omitempty"`
	Cover            []float64   `json:"cover,omitempty"` // per node (shap.go)
}

const modelFormat = "arrestcast-gbt/2"

// MarshalJSON writes the model.
func (m *Model) MarshalJSON() ([]byte, error) {
	n := len(m.nodes)
	j := modelJSON{
		Format:           modelFormat,
		NumFeatures:      m.numFeatures,
		BaseScore:        m.baseScore,
		Params:           m.params,
		BestIteration:    m.bestIteration,
		Roots:            m.roots,
		Feature:          make([]int32, n),
		Threshold:        make([]float64, n),
		Left:             make([]int32, n),
		DefaultLeft:      make([]uint8, n),
		Value:            m.vals,
		UpperBounds:      m.upperBounds,
		ImportanceGain:   m.importanceGain,
		ImportanceSplits: m.importanceSplits,
		ValidationLoss:   m.validationLoss,
		Cover:            m.cover,
	}
	t := 0
	for i := range m.nodes {
		for t+1 < len(m.roots) && int(m.roots[t+1]) <= i {
			t++
		}
		v := m.view(t, i)
		if v.leaf {
			j.Feature[i], j.Left[i] = -1, -1
			continue
		}
		j.Feature[i], j.Left[i] = int32(v.feature), int32(v.left)
		j.Threshold[i] = v.threshold
		if math.IsInf(v.threshold, 1) {
			j.Threshold[i] = math.MaxFloat64 // JSON has no infinity; decoded back to +Inf
		}
		if v.defaultLeft {
			j.DefaultLeft[i] = 1
		}
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads a model written by MarshalJSON and checks its structure, so that prediction can
// never index out of range or loop.
func (m *Model) UnmarshalJSON(b []byte) error {
	var j modelJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("decode gbt model: %w", err)
	}
	if j.Format != modelFormat {
		return fmt.Errorf("decode gbt model: format %q, want %q", j.Format, modelFormat)
	}
	n := len(j.Feature)
	if len(j.Threshold) != n || len(j.Left) != n || len(j.DefaultLeft) != n || len(j.Value) != n {
		return errors.New("decode gbt model: node arrays differ in length")
	}
	if j.NumFeatures < 1 || j.NumFeatures > maxFeatures {
		return fmt.Errorf("decode gbt model: num_features %d", j.NumFeatures)
	}
	if len(j.Roots) == 0 || j.Roots[0] != 0 {
		return errors.New("decode gbt model: roots must start at node 0")
	}
	trees := make([]tree, len(j.Roots))
	for t, r := range j.Roots {
		end := n
		if t+1 < len(j.Roots) {
			end = int(j.Roots[t+1])
		}
		if int(r) >= end || end > n {
			return fmt.Errorf("decode gbt model: tree %d spans nodes %d..%d of %d", t, r, end, n)
		}
		tr := tree{nodes: make([]flatNode, end-int(r))}
		for k := range tr.nodes {
			i := int(r) + k
			if j.Left[i] < 0 {
				if j.Feature[i] != -1 {
					return fmt.Errorf("decode gbt model: leaf %d has feature %d", i, j.Feature[i])
				}
				tr.nodes[k] = flatNode{leaf: true, value: j.Value[i]}
				continue
			}
			// Children come after their parent and inside the tree: no cycles, no escape.
			if int(j.Left[i]) <= i || int(j.Left[i])+1 >= end {
				return fmt.Errorf("decode gbt model: node %d children %d out of its tree", i, j.Left[i])
			}
			if j.Feature[i] < 0 || int(j.Feature[i]) >= j.NumFeatures {
				return fmt.Errorf("decode gbt model: node %d feature %d out of range", i, j.Feature[i])
			}
			thr := j.Threshold[i]
			if thr == math.MaxFloat64 {
				thr = math.Inf(1)
			}
			if float64(float32(thr)) != thr {
				return fmt.Errorf("decode gbt model: node %d threshold %v is not a float32", i, thr)
			}
			tr.nodes[k] = flatNode{feature: int(j.Feature[i]), threshold: float32(thr),
				left: int(j.Left[i]) - int(r), defaultLeft: j.DefaultLeft[i] != 0}
		}
		trees[t] = tr
	}
	out := &Model{
		numFeatures:      j.NumFeatures,
		baseScore:        j.BaseScore,
		upperBounds:      j.UpperBounds,
		importanceGain:   j.ImportanceGain,
		importanceSplits: j.ImportanceSplits,
		params:           j.Params,
		bestIteration:    j.BestIteration,
		validationLoss:   j.ValidationLoss,
	}
	if err := out.setTrees(trees); err != nil {
		return fmt.Errorf("decode gbt model: %w", err)
	}
	if err := out.setCover(j.Cover); err != nil {
		return fmt.Errorf("decode gbt model: %w", err)
	}
	*m = *out
	return nil
}

// flatNode and tree are the layout-independent form trees are built from (training or JSON).
type flatNode struct {
	leaf        bool
	feature     int
	threshold   float32
	left        int // relative to the tree's root; right = left+1
	defaultLeft bool
	value       float64
}

type tree struct{ nodes []flatNode }

// setTrees lays the trees out for prediction.
func (m *Model) setTrees(trees []tree) error {
	total := 0
	for _, t := range trees {
		total += len(t.nodes)
	}
	m.nodes = make([]node, 0, total)
	m.vals = make([]float64, 0, total)
	m.roots = make([]int32, 0, len(trees))
	m.depths = make([]int32, 0, len(trees))
	for ti, t := range trees {
		if len(t.nodes) > maxTreeNodes {
			return fmt.Errorf("tree %d has %d nodes, at most %d fit the layout", ti, len(t.nodes), maxTreeNodes)
		}
		base := len(m.nodes)
		m.roots = append(m.roots, int32(base))
		depth := make([]int32, len(t.nodes))
		maxDepth := int32(0)
		for k, fn := range t.nodes {
			if fn.leaf {
				m.nodes = append(m.nodes, node{thr: float32(math.Inf(1)), bits: uint32(k)})
				m.vals = append(m.vals, fn.value)
				maxDepth = max(maxDepth, depth[k])
				continue
			}
			if fn.feature < 0 || fn.feature >= maxFeatures {
				return fmt.Errorf("tree %d node %d: feature %d beyond the layout's %d", ti, k, fn.feature, maxFeatures)
			}
			if fn.left <= k || fn.left+1 >= len(t.nodes) {
				return fmt.Errorf("tree %d node %d: children %d out of the tree", ti, k, fn.left)
			}
			bits := uint32(fn.left) | uint32(fn.feature)<<featShift
			if !fn.defaultLeft {
				bits |= defRightBit
			}
			m.nodes = append(m.nodes, node{thr: fn.threshold, bits: bits})
			m.vals = append(m.vals, 0)
			// Longest path: parents come before children, so index order is a topological order.
			depth[fn.left] = max(depth[fn.left], depth[k]+1)
			depth[fn.left+1] = max(depth[fn.left+1], depth[k]+1)
		}
		m.depths = append(m.depths, maxDepth)
	}
	return nil
}
