package gbt

import (
	"errors"
	"fmt"
	"math"
	"sync"
)

// Explanations: exact path-dependent Tree SHAP (Lundberg, Erion & Lee 2018, "Consistent individualized
// feature attribution for tree ensembles", Algorithm 2). A feature's contribution is its Shapley value
// for the margin, with E[f(x) | x_S] taken down the trees: a node splitting on a feature outside S
// averages its children weighted by their training cover. Contributions live in margin (log-odds)
// space and add up with the expected value to PredictMargin exactly (to rounding).
//
// Cover is the training rows' hessian sum per node (XGBoost's cover: the rows the tree was grown
// on), which Fit records as it grows each tree; it travels in the model's JSON. A child's share of its parent is cover(child)/cover(parent); a node without cover splits
// evenly, so any cover defines the same, consistent expectation in ContributionsInto and in the tests'
// brute force.

// shapState is what Contributions needs beyond the prediction layout, derived from the cover once.
type shapState struct {
	expected float64 // baseScore + Σ trees' cover-weighted mean leaf value
	maxDepth int
	paths    sync.Pool // *[]pathElem, (maxDepth+2)(maxDepth+3)/2 long
}

type pathElem struct {
	feature   int // -1 for the root's element
	zero, one float64
	weight    float64
}

// HasCover reports whether the model carries node covers (Fit's, or a model JSON holding them):
// Contributions needs them.
func (m *Model) HasCover() bool { return m.shap != nil }

// setCover takes per-node covers (leaves' at least; inner nodes are set to their children's sum, so
// the shares of every split add up to one) and derives what Contributions needs. nil clears them.
func (m *Model) setCover(cover []float64) error {
	if cover == nil {
		m.cover, m.shap = nil, nil
		return nil
	}
	if len(cover) != len(m.nodes) {
		return fmt.Errorf("gbt cover: %d values for %d nodes", len(cover), len(m.nodes))
	}
	for i, v := range cover {
		if !(v >= 0) || math.IsInf(v, 0) {
			return fmt.Errorf("gbt cover: node %d cover %v", i, v)
		}
	}
	s := &shapState{expected: m.baseScore}
	for t := range m.roots {
		b := int(m.roots[t])
		end := len(m.nodes)
		if t+1 < len(m.roots) {
			end = int(m.roots[t+1])
		}
		// Children follow their parents: reverse index order visits children first.
		ev := make([]float64, end-b)
		for i := end - 1; i >= b; i-- {
			l := b + int(m.nodes[i].bits&offMask)
			if l == i {
				ev[i-b] = m.vals[i]
				continue
			}
			cover[i] = cover[l] + cover[l+1]
			fl, fr := m.shares(cover, i, l)
			ev[i-b] = fl*ev[l-b] + fr*ev[l+1-b]
		}
		s.expected += ev[0]
		s.maxDepth = max(s.maxDepth, int(m.depths[t]))
	}
	size := (s.maxDepth + 2) * (s.maxDepth + 3) / 2
	s.paths.New = func() any { p := make([]pathElem, size); return &p }
	m.cover, m.shap = cover, s
	return nil
}

// shares are the left and right children's shares of inner node i (left child l).
func (m *Model) shares(cover []float64, i, l int) (float64, float64) {
	c := cover[i]
	if c == 0 {
		return 0.5, 0.5
	}
	return cover[l] / c, cover[l+1] / c
}

// ExpectedValue is the margin's expectation under the covers: the bias that Contributions' values add
// to. It panics without covers.
func (m *Model) ExpectedValue() float64 {
	if m.shap == nil {
		panic("gbt: ExpectedValue without node covers")
	}
	return m.shap.expected
}

// ErrNoCover is Contributions' error for a model without node covers.
var ErrNoCover = errors.New("gbt: the model carries no node covers (trained before explanations)")

// Contributions fills phi (NumFeatures values) with each feature's SHAP value for row's margin and
// returns the expected value: bias + Σ phi = PredictMargin(row). Missing values (NaN) go the way
// prediction sends them. It does not allocate.
func (m *Model) Contributions(row, phi []float64) (float64, error) {
	if m.shap == nil {
		return 0, ErrNoCover
	}
	if len(row) < m.numFeatures || len(phi) < m.numFeatures {
		return 0, fmt.Errorf("gbt: row of %d and phi of %d values, model needs %d", len(row), len(phi), m.numFeatures)
	}
	clear(phi[:m.numFeatures])
	pp := m.shap.paths.Get().(*[]pathElem)
	for t := range m.roots {
		m.treeShap(int(m.roots[t]), row, phi, int(m.roots[t]), 0, *pp, 1, 1, -1)
	}
	m.shap.paths.Put(pp)
	return m.shap.expected, nil
}

// treeShap is Algorithm 2's RECURSE at node i of the tree rooted at base. parent holds the path so
// far (depth+1 elements); this call's path is written right after it.
func (m *Model) treeShap(base int, row, phi []float64, i, depth int, parent []pathElem, pz, po float64, pfeat int) {
	path := parent[depth+1:]
	copy(path, parent[:depth+1])
	extendPath(path, depth, pz, po, pfeat)
	n := m.nodes[i]
	l := base + int(n.bits&offMask)
	if l == i {
		v := m.vals[i]
		for k := 1; k <= depth; k++ {
			w := unwoundPathSum(path, depth, k)
			e := path[k]
			phi[e.feature] += w * (e.one - e.zero) * v
		}
		return
	}
	feat := int(n.bits >> featShift & featMask)
	x := row[feat]
	hot, cold := l, l+1
	if x > float64(n.thr) || (x != x && n.bits&defRightBit != 0) {
		hot, cold = l+1, l
	}
	fl, fr := m.shares(m.cover, i, l)
	hz, cz := fl, fr
	if hot != l {
		hz, cz = fr, fl
	}
	iz, io := 1.0, 1.0
	k := 0
	for ; k <= depth; k++ {
		if path[k].feature == feat {
			break
		}
	}
	if k <= depth {
		// Split on this feature above already: undo that split, redo it here.
		iz, io = path[k].zero, path[k].one
		unwindPath(path, depth, k)
		depth--
	}
	// A branch no training cover reaches and x does not take weighs nothing: skipping it keeps the
	// zero fractions out of the divisions.
	if hz*iz != 0 || io != 0 {
		m.treeShap(base, row, phi, hot, depth+1, path, hz*iz, io, feat)
	}
	if cz*iz != 0 {
		m.treeShap(base, row, phi, cold, depth+1, path, cz*iz, 0, feat)
	}
}

func extendPath(p []pathElem, d int, zero, one float64, feat int) {
	w := 0.0
	if d == 0 {
		w = 1
	}
	p[d] = pathElem{feature: feat, zero: zero, one: one, weight: w}
	for i := d - 1; i >= 0; i-- {
		p[i+1].weight += one * p[i].weight * float64(i+1) / float64(d+1)
		p[i].weight = zero * p[i].weight * float64(d-i) / float64(d+1)
	}
}

func unwindPath(p []pathElem, d, k int) {
	one, zero := p[k].one, p[k].zero
	next := p[d].weight
	for i := d - 1; i >= 0; i-- {
		if one != 0 {
			tmp := p[i].weight
			p[i].weight = next * float64(d+1) / (float64(i+1) * one)
			next = tmp - p[i].weight*zero*float64(d-i)/float64(d+1)
		} else {
			p[i].weight = p[i].weight * float64(d+1) / (zero * float64(d-i))
		}
	}
	for i := k; i < d; i++ {
		p[i].feature, p[i].zero, p[i].one = p[i+1].feature, p[i+1].zero, p[i+1].one
	}
}

func unwoundPathSum(p []pathElem, d, k int) float64 {
	one, zero := p[k].one, p[k].zero
	next := p[d].weight
	total := 0.0
	if one != 0 {
		for i := d - 1; i >= 0; i-- {
			tmp := next / (float64(i+1) * one)
			total += tmp
			next = p[i].weight - tmp*zero*float64(d-i)
		}
	} else {
		for i := d - 1; i >= 0; i-- {
			total += p[i].weight / (zero * float64(d-i))
		}
	}
	return total * float64(d+1)
}
