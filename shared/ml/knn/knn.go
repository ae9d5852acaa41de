// Package knn finds exact Euclidean k-nearest neighbours with a KD-tree.
//
// The tree is built once over n points of d dimensions (column-major input,
// X[j][i] = coordinate j of point i) and stored in flat arrays: the points are
// copied row-major in tree order and the nodes live in one pre-order slice.
// Searches allocate one small state per goroutine, nothing per node or point.
//
// Each node splits at the median of its dimension of largest variance, moving
// all points equal to the median to one side, so repeated values (one-hot and
// other discrete columns) never straddle a split; it records the gap between
// the two sides. A search keeps the query's per-dimension distance to the
// current cell and prunes a cell only when a rigorous lower bound of every
// distance inside exceeds the k-th best, so the result is exact. The build
// runs its subtrees in parallel; all-points queries run in parallel in tree
// order (GOMAXPROCS goroutines by default).
//
// Tie rule: neighbours are ordered by (squared distance, original index), both
// ascending, so among equidistant points the one with the smaller index wins.
// Squared distances are summed over the dimensions in order 0..d-1, the same
// arithmetic as Brute, so the tree and the brute force agree index for index,
// duplicates included. AllNeighbors excludes a point from its own list by
// index, not by distance: exact duplicates of a point are valid neighbours at
// distance 0.
package knn

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// leafSize is the largest number of points a leaf holds unless they are all
// identical. On the 2017 minority class (41k rows × 21 features) leaves of
// 8 to 24 points query equally fast; 16 keeps the tree small and quick to build.
const leafSize = 16

type node struct {
	lo, hi int32 // point range [lo, hi) in tree order
	right  int32 // index of the right child, -1 for a leaf; the left child is the next node
	minIdx int32 // smallest original index in the subtree (for the tie rule)
	dim    int32 // split dimension
	same   bool  // leaf whose points are all identical
	// The split leaves a gap: left points have coordinate dim <= leftMax,
	// right points >= rightMin (rightMin > leftMax unless values repeat).
	leftMax, rightMin float64
}

// Tree is an immutable KD-tree; it is safe for concurrent queries.
type Tree struct {
	n, d   int
	pts    []float64 // row-major, tree order: pts[p*d+j]
	idx    []int32   // original index of tree position p
	nodes  []node
	shrink float64 // 1 - 4·d·2⁻⁵³: makes re-associated sums safe lower bounds
}

// Neighbor is one query result: the original index of the point and its
// squared Euclidean distance to the query.
type Neighbor struct {
	Index int32
	Dist2 float64
}

// Build makes a tree over the columns of X (X[j][i] = coordinate j of point i).
// All columns must have the same length, at most 2^31-1 points, and finite values.
func Build(X [][]float64) (*Tree, error) {
	d := len(X)
	if d == 0 {
		return nil, errors.New("knn: no dimensions")
	}
	n := len(X[0])
	for j, col := range X {
		if len(col) != n {
			return nil, fmt.Errorf("knn: column %d has %d values, column 0 has %d", j, len(col), n)
		}
		for i, v := range col {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("knn: value X[%d][%d] = %v is not finite", j, i, v)
			}
		}
	}
	if n > math.MaxInt32 {
		return nil, fmt.Errorf("knn: %d points exceed the int32 index range", n)
	}
	t := &Tree{n: n, d: d, idx: make([]int32, n), shrink: 1 - float64(4*d)*0x1p-53}
	for i := range t.idx {
		t.idx[i] = int32(i)
	}
	// Row-major copy in input order: the split choice reads whole rows, one
	// cache line or three per point instead of one per column.
	rows := make([]float64, n*d)
	for j, col := range X {
		for i, v := range col {
			rows[i*d+j] = v
		}
	}
	if n > 0 {
		t.nodes = buildParallel(t, X, rows, runtime.GOMAXPROCS(0))
	}
	permuteRows(rows, t.idx, d)
	t.pts = rows
	return t, nil
}

// permuteRows puts row idx[p] of the row-major rows (d values each) at p, in
// place: each cycle of the permutation is followed with one row set aside,
// so the points are not held twice. idx is left as it was.
func permuteRows(rows []float64, idx []int32, d int) {
	done := make([]bool, len(idx))
	tmp := make([]float64, d)
	for start := range idx {
		if done[start] || int(idx[start]) == start {
			continue
		}
		copy(tmp, rows[start*d:start*d+d])
		p := start
		for {
			done[p] = true
			src := int(idx[p])
			if src == start {
				copy(rows[p*d:p*d+d], tmp)
				break
			}
			copy(rows[p*d:p*d+d], rows[src*d:src*d+d])
			p = src
		}
	}
}

// buildParallel builds the top levels of the tree on one goroutine, leaving
// placeholders for the subtrees below parDepth, builds those concurrently
// (their point ranges are disjoint), and splices everything into one slice in
// pre-order. The tree is the same as a serial build's.
func buildParallel(t *Tree, X [][]float64, rows []float64, workers int) []node {
	parDepth := 0
	for 1<<parDepth < 4*workers && parDepth < 8 {
		parDepth++
	}
	if workers <= 1 {
		parDepth = -1 // no placeholders
	}
	top := newBuilder(t, X, rows, parDepth)
	top.build(0, t.n, 0)
	subs := make([][]node, len(top.pending))
	parallelFor(len(top.pending), workers, func(i int) {
		sb := newBuilder(t, X, rows, -1)
		p := top.nodes[top.pending[i]]
		sb.build(int(p.lo), int(p.hi), 0)
		subs[i] = sb.nodes
	})
	if len(subs) == 0 {
		return top.nodes
	}
	task := make(map[int32]int, len(top.pending))
	for i, ni := range top.pending {
		task[ni] = i
	}
	size := len(top.nodes)
	for _, sub := range subs {
		size += len(sub)
	}
	out := make([]node, 0, size)
	var emit func(ni int32) int32
	emit = func(ni int32) int32 {
		nd := top.nodes[ni]
		self := int32(len(out))
		if nd.right == placeholder {
			for _, sn := range subs[task[ni]] {
				if sn.right >= 0 {
					sn.right += self
				}
				out = append(out, sn)
			}
			return self
		}
		out = append(out, nd)
		if nd.right < 0 {
			return self
		}
		l := emit(ni + 1)
		r := emit(nd.right)
		out[self].right = r
		out[self].minIdx = min(out[l].minIdx, out[r].minIdx)
		return self
	}
	emit(0)
	return out
}

// placeholder marks, during a parallel build, a subtree built separately.
const placeholder = -2

type builder struct {
	t        *Tree
	X        [][]float64
	rows     []float64 // row-major, input order
	nodes    []node    // pre-order; the left child of node i is node i+1
	parDepth int       // depth at which subtrees are left to other goroutines; -1: none
	pending  []int32   // placeholder nodes
	sum      []float64 // scratch for splitDim
	sq       []float64
	varies   []bool
}

func newBuilder(t *Tree, X [][]float64, rows []float64, parDepth int) *builder {
	d := t.d
	return &builder{t: t, X: X, rows: rows, parDepth: parDepth,
		sum: make([]float64, d), sq: make([]float64, d), varies: make([]bool, d)}
}

// build appends the subtree over tree positions [lo, hi) and returns its node index.
func (b *builder) build(lo, hi, depth int) int32 {
	t := b.t
	self := int32(len(b.nodes))
	b.nodes = append(b.nodes, node{lo: int32(lo), hi: int32(hi), right: -1})
	ids := t.idx[lo:hi]

	if hi-lo <= leafSize {
		return b.leaf(self, b.identical(ids))
	}
	if depth == b.parDepth {
		b.nodes[self].right = placeholder
		b.pending = append(b.pending, self)
		return self
	}
	dim, ok := b.splitDim(ids, 1)
	if !ok && len(ids) > sampleRows {
		dim, ok = b.splitDim(ids, len(ids)) // the sample was constant, look at all
	}
	if !ok {
		return b.leaf(self, true)
	}
	col := b.X[dim]
	half := (hi - lo) / 2
	selectNth(ids, half, col)
	cut := cleanSplit(ids, half, col[ids[half]], col)
	leftMax, rightMin := math.Inf(-1), math.Inf(1)
	for _, i := range ids[:cut] {
		leftMax = max(leftMax, col[i])
	}
	for _, i := range ids[cut:] {
		rightMin = min(rightMin, col[i])
	}
	mid := lo + cut
	l := b.build(lo, mid, depth+1)
	r := b.build(mid, hi, depth+1)
	nd := &b.nodes[self]
	nd.right, nd.dim, nd.leftMax, nd.rightMin = r, int32(dim), leftMax, rightMin
	nd.minIdx = min(b.nodes[l].minIdx, b.nodes[r].minIdx) // placeholders: fixed when spliced
	return self
}

// sampleRows bounds the rows a large node looks at to pick its split dimension.
const sampleRows = 256

// splitDim returns the dimension of largest variance among those not constant,
// estimated on at most sampleRows evenly spaced rows (all rows when minRows
// asks for at least that many); ok is false when every dimension is constant.
func (b *builder) splitDim(ids []int32, minRows int) (dim int, ok bool) {
	d := b.t.d
	stride := max(1, len(ids)/max(sampleRows, minRows))
	first := b.rows[int(ids[0])*d : int(ids[0])*d+d]
	sum, sq, varies := b.sum, b.sq, b.varies
	clear(sum)
	clear(sq)
	clear(varies)
	cnt := 0
	for p := 0; p < len(ids); p += stride {
		row := b.rows[int(ids[p])*d : int(ids[p])*d+d]
		for j, v := range row {
			x := v - first[j] // shifted: keeps the one-pass variance accurate
			sum[j] += x
			sq[j] += x * x
			varies[j] = varies[j] || x != 0
		}
		cnt++
	}
	best := -1.0
	for j := range sum {
		if v := sq[j] - sum[j]*sum[j]/float64(cnt); varies[j] && v > best {
			dim, best, ok = j, v, true
		}
	}
	return dim, ok
}

// identical reports whether all points of ids are equal.
func (b *builder) identical(ids []int32) bool {
	d := b.t.d
	first := b.rows[int(ids[0])*d : int(ids[0])*d+d]
	for _, i := range ids[1:] {
		if !slices.Equal(first, b.rows[int(i)*d:int(i)*d+d]) {
			return false
		}
	}
	return true
}

// leaf finishes node self as a leaf over its range.
func (b *builder) leaf(self int32, same bool) int32 {
	nd := &b.nodes[self]
	ids := b.t.idx[nd.lo:nd.hi]
	// Index order inside a leaf lets a leaf of identical points stop early.
	slices.Sort(ids)
	nd.minIdx = ids[0]
	nd.same = same
	return self
}

// cleanSplit moves the keys equal to the median (at ids[half]) next to each
// other and returns a split position with all of them on one side, the side
// that balances the halves better. Repeated values (binary and other discrete
// columns) then never straddle a split, so the children's cells are apart in
// that dimension and prune better.
func cleanSplit(ids []int32, half int, m float64, col []float64) int {
	// [0, half) holds keys <= m: move the ones == m to its end.
	a := half
	for i := half - 1; i >= 0; i-- {
		if col[ids[i]] == m {
			a--
			ids[i], ids[a] = ids[a], ids[i]
		}
	}
	// [half, n) holds keys >= m: move the ones == m to its front.
	b := half
	for i := half; i < len(ids); i++ {
		if col[ids[i]] == m {
			ids[i], ids[b] = ids[b], ids[i]
			b++
		}
	}
	// Keys == m now fill [a, b). Cut at a or b, whichever is nearer the middle
	// and leaves both sides non-empty (the spread is positive, so one does).
	if a == 0 || (b < len(ids) && b-half < half-a) {
		return b
	}
	return a
}

// selectNth reorders ids so that ids[k] holds the element of rank k by key
// col[id], with keys <= it before and keys >= it after (Hoare partition,
// median-of-three pivot; equal keys split evenly, so duplicates stay O(n log n)).
func selectNth(ids []int32, k int, col []float64) {
	lo, hi := 0, len(ids)-1
	for hi > lo {
		m := lo + (hi-lo)/2
		// median of three into ids[m]
		if col[ids[m]] < col[ids[lo]] {
			ids[m], ids[lo] = ids[lo], ids[m]
		}
		if col[ids[hi]] < col[ids[lo]] {
			ids[hi], ids[lo] = ids[lo], ids[hi]
		}
		if col[ids[hi]] < col[ids[m]] {
			ids[hi], ids[m] = ids[m], ids[hi]
		}
		pivot := col[ids[m]]
		i, j := lo, hi
		for i <= j {
			for col[ids[i]] < pivot {
				i++
			}
			for col[ids[j]] > pivot {
				j--
			}
			if i <= j {
				ids[i], ids[j] = ids[j], ids[i]
				i++
				j--
			}
		}
		// Now [lo, j] <= pivot, [i, hi] >= pivot, and (j, i) == pivot.
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return
		}
	}
}

// N is the number of points in the tree.
func (t *Tree) N() int { return t.n }

// Dims is the number of dimensions.
func (t *Tree) Dims() int { return t.d }

// Query returns the k nearest points to q (len(q) == Dims()), nearest first,
// reusing dst's storage. Fewer than k come back when the tree holds fewer points.
func (t *Tree) Query(q []float64, k int, dst []Neighbor) []Neighbor {
	if len(q) != t.d {
		panic(fmt.Sprintf("knn: query has %d dimensions, tree has %d", len(q), t.d))
	}
	k = min(k, t.n)
	if k <= 0 {
		return dst[:0]
	}
	s := newSearcher(t, k)
	s.run(q, -1)
	dst = dst[:0]
	for i := 0; i < s.count; i++ {
		dst = append(dst, Neighbor{Index: s.ids[i], Dist2: s.dist[i]})
	}
	return dst
}

// AllNeighbors returns, for every point i, its k nearest other points as
// nb[i*k : i*k+k], nearest first (tie rule in the package comment). Queries
// run in parallel on up to workers goroutines (GOMAXPROCS when workers <= 0);
// the result does not depend on workers.
func (t *Tree) AllNeighbors(k, workers int) ([]int32, error) {
	if k < 1 {
		return nil, fmt.Errorf("knn: k = %d, want >= 1", k)
	}
	if k > t.n-1 {
		return nil, fmt.Errorf("knn: k = %d neighbours need at least %d points, have %d", k, k+1, t.n)
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	nb := make([]int32, t.n*k)
	// Queries go in tree order so consecutive ones touch the same leaves.
	const chunk = 512
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := newSearcher(t, k)
			for {
				start := int(next.Add(chunk)) - chunk
				if start >= t.n {
					return
				}
				for p := start; p < min(start+chunk, t.n); p++ {
					self := t.idx[p]
					s.run(t.pts[p*t.d:p*t.d+t.d], self)
					copy(nb[int(self)*k:int(self)*k+k], s.ids[:k])
				}
			}
		}()
	}
	wg.Wait()
	return nb, nil
}

// parallelFor runs f(0..n-1) on up to workers goroutines.
func parallelFor(n, workers int, f func(int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				f(i)
			}
		}()
	}
	wg.Wait()
}

// searcher holds one goroutine's query state: the current best k, sorted by
// (distance, index).
type searcher struct {
	t     *Tree
	k     int
	count int
	dist  []float64
	ids   []int32
	q     []float64
	off   []float64 // per dimension, the query's distance to the current cell
	self  int32     // original index to skip, or -1
}

func newSearcher(t *Tree, k int) *searcher {
	return &searcher{t: t, k: k, dist: make([]float64, k), ids: make([]int32, k), off: make([]float64, t.d)}
}

func (s *searcher) run(q []float64, self int32) {
	s.count, s.q, s.self = 0, q, self
	clear(s.off)
	if s.k > 0 && len(s.t.nodes) > 0 {
		s.search(0, 0)
	}
}

// better reports whether (d2, id) ranks before the current k-th neighbour.
func (s *searcher) better(d2 float64, id int32) bool {
	if s.count < s.k {
		return true
	}
	w := s.dist[s.k-1]
	return d2 < w || (d2 == w && id < s.ids[s.k-1])
}

func (s *searcher) insert(d2 float64, id int32) {
	i := s.count
	if i == s.k {
		i--
	} else {
		s.count++
	}
	for i > 0 && (s.dist[i-1] > d2 || (s.dist[i-1] == d2 && s.ids[i-1] > id)) {
		s.dist[i], s.ids[i] = s.dist[i-1], s.ids[i-1]
		i--
	}
	s.dist[i], s.ids[i] = d2, id
}

// search visits node ni, whose cell is at squared distance at least rd from
// the query. s.off holds, per dimension, the query's distance to the cell.
func (s *searcher) search(ni int32, rd float64) {
	t := s.t
	nd := &t.nodes[ni]
	if nd.right < 0 {
		s.scanLeaf(nd)
		return
	}
	dim := nd.dim
	old := s.off[dim]
	qd := s.q[dim]
	// Distance to each child's cell along dim; a cell only grows farther.
	offA, offB := max(old, qd-nd.leftMax), max(old, nd.rightMin-qd)
	rdA, rdB := rd, rd
	if offA != old {
		s.off[dim] = offA
		rdA = s.offDist()
	}
	if offB != old {
		s.off[dim] = offB
		rdB = s.offDist()
	}
	a, b := ni+1, nd.right
	if rdB < rdA {
		a, b, rdA, rdB, offA, offB = b, a, rdB, rdA, offB, offA
	}
	if s.better(rdA, t.nodes[a].minIdx) {
		s.off[dim] = offA
		s.search(a, rdA)
	}
	if s.better(rdB, t.nodes[b].minIdx) {
		s.off[dim] = offB
		s.search(b, rdB)
	}
	s.off[dim] = old
}

// offDist is a lower bound of the squared distance from the query to any point
// of the current cell, as computed by dist2. Each term is at most the point's
// term (rounding is monotone); four partial sums break the add chain, and the
// shrink factor covers the re-association, so pruning on it is exact.
func (s *searcher) offDist() float64 {
	off := s.off
	var r0, r1, r2, r3 float64
	j := 0
	for ; j+4 <= len(off); j += 4 {
		r0 += off[j] * off[j]
		r1 += off[j+1] * off[j+1]
		r2 += off[j+2] * off[j+2]
		r3 += off[j+3] * off[j+3]
	}
	for ; j < len(off); j++ {
		r0 += off[j] * off[j]
	}
	return (r0 + r1 + r2 + r3) * s.t.shrink
}

// dist2 is the squared distance summed in dimension order: the one definition
// of distance that Query, AllNeighbors and Brute share (ties depend on it).
func dist2(q, row []float64) float64 {
	row = row[:len(q)]
	var d2 float64
	for j, v := range q {
		x := v - row[j]
		d2 += x * x
	}
	return d2
}

// fastDist2 is dist2 re-associated into four partial sums; times the tree's
// shrink factor it never exceeds dist2.
func fastDist2(q, row []float64) float64 {
	row = row[:len(q)]
	var r0, r1, r2, r3 float64
	j := 0
	for ; j+4 <= len(q); j += 4 {
		x0 := q[j] - row[j]
		x1 := q[j+1] - row[j+1]
		x2 := q[j+2] - row[j+2]
		x3 := q[j+3] - row[j+3]
		r0 += x0 * x0
		r1 += x1 * x1
		r2 += x2 * x2
		r3 += x3 * x3
	}
	for ; j < len(q); j++ {
		x := q[j] - row[j]
		r0 += x * x
	}
	return r0 + r1 + r2 + r3
}

func (s *searcher) scanLeaf(nd *node) {
	t := s.t
	d := t.d
	q := s.q[:d]
	for p := nd.lo; p < nd.hi; p++ {
		id := t.idx[p]
		if id == s.self {
			continue
		}
		row := t.pts[int(p)*d : int(p)*d+d]
		if s.count == s.k && fastDist2(q, row)*t.shrink > s.dist[s.k-1] {
			if nd.same {
				return // every point here is as far
			}
			continue
		}
		d2 := dist2(q, row)
		if s.better(d2, id) {
			s.insert(d2, id)
		} else if nd.same {
			// All points here share d2 and come in index order: none later can win.
			return
		}
	}
}

// Brute returns the same result as Build(X) followed by AllNeighbors(k, 1),
// by comparing every pair: O(n²·d), a reference for tests and small inputs.
func Brute(X [][]float64, k int) ([]int32, error) {
	if len(X) == 0 {
		return nil, errors.New("knn: no dimensions")
	}
	n := len(X[0])
	if k < 1 || k > n-1 {
		return nil, fmt.Errorf("knn: k = %d with %d points", k, n)
	}
	nb := make([]int32, 0, n*k)
	cand := make([]Neighbor, 0, n)
	for i := 0; i < n; i++ {
		cand = cand[:0]
		for j := 0; j < n; j++ {
			if j == i {
				continue
			}
			var d2 float64 // as dist2: query minus point, dimension order
			for _, col := range X {
				x := col[i] - col[j]
				d2 += x * x
			}
			cand = append(cand, Neighbor{Index: int32(j), Dist2: d2})
		}
		slices.SortFunc(cand, func(a, b Neighbor) int {
			if a.Dist2 != b.Dist2 {
				if a.Dist2 < b.Dist2 {
					return -1
				}
				return 1
			}
			return int(a.Index - b.Index)
		})
		for _, c := range cand[:k] {
			nb = append(nb, c.Index)
		}
	}
	return nb, nil
}
