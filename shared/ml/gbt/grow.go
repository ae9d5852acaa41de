package gbt

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"slices"
	"unsafe"
)

// While the model trains, every training row is a fixed-size record: word 0 holds its gradient and
// hessian (float32 bits, as XGBoost stores gradient pairs; histograms sum in float64), bytes 8-11 its
// margin (float32, as XGBoost keeps predictions), byte 12 its label and bytes 13.. its bins, padded to
// whole 8-byte words (24 bytes for up to 11 features). Splitting a node
// partitions its records in place, left child first, so every node's rows are one contiguous run:
// histograms stream memory instead of gathering gradients and bins row by row (LightGBM's "ordered
// gradients", carried further by moving the bins, margin and label too). Buffer 1 holds the in-bag
// records of a tree when rows are subsampled. When a tree is done, one parallel pass adds the leaf values
// to the margins of the leaves' records, refreshes their gradients and writes them back to buffer 0,
// which thus holds every row, ready for the next tree.
const (
	recMargin = 8
	recLabel  = 12
	recHeader = 13
)

// hbin is one histogram slot: gradient and hessian sums.
type hbin struct{ g, h float64 }

// hist holds one histogram per feature.
type hist [][histWidth]hbin

// Work on one node is cut in chunks whose count depends on its rows only (see chunkCount), so results
// do not depend on the thread count; nodes too small to cut are spread over the threads node by node.
const (
	minHistChunk   = 4096
	minPartChunk   = 16384
	maxChunks      = 8
	finishPieceLen = 8192
)

// splitInfo is the best split found for a leaf.
type splitInfo struct {
	gain    float64
	feat    int
	bin     int // rows with bin <= this go left, missing ones by defLeft
	defLeft bool
	gl, hl  float64
	gr, hr  float64
}

// tnode is a node of a tree under construction (bin thresholds, not raw ones).
type tnode struct {
	feat    int32
	bin     int32
	defLeft bool
	left    int32 // -1 for a leaf; right = left+1
	value   float64
	gain    float64
	cover   float64 // the hessians' sum of the node's rows (what Tree SHAP weighs paths by)
}

// candidate is a leaf of the growing tree.
type candidate struct {
	node       int32
	buf        int // buffer holding its records
	start, end int // its records: buf[start:end]
	depth      int
	g, h       float64
	hist       hist // nil when the leaf will not be split
	split      splitInfo
	lut        [histWidth]uint8 // split decision per bin value: 1 = left
	kids       [2]*candidate
}

func (c *candidate) rows() int { return c.end - c.start }

// finishTask is a final leaf's run of records (or both leaves of a final split, told apart by lut).
type finishTask struct {
	buf, lo, hi int
	lut         *[histWidth]uint8 // nil: every record gets vals[0]
	off         int               // record byte the lut reads
	vals        [2]float64        // value for lut result 0 (right) and 1 (left)
}

type trainer struct {
	p       Params
	threads int
	rng     *rand.Rand

	bins *binned // row-major training bins (dropped once the records are built)
	nb   []int   // regular bins per feature; the missing bin is nb[j]
	f    int
	y    []uint8
	base float64 // initial margin

	w    int // words per record
	buf  [2][]uint64
	bufB [2][]byte // byte views of buf

	bag    []uint8 // per-position in-bag draw (Subsample < 1)
	feats  []int   // features drawn for the current tree
	finish []finishTask

	pool     []hist
	partials []hist
}

func byteView(w []uint64) []byte {
	if len(w) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(w))), len(w)*8)
}

// initRecords writes every training row's record into buffer 0 (margin = base score) and allocates buffer 1.
func (t *trainer) initRecords() {
	f, n := t.bins.f, t.bins.n
	t.f = f
	t.w = (recHeader + f + 7) / 8
	for k := range t.buf {
		t.buf[k] = make([]uint64, n*t.w)
		t.bufB[k] = byteView(t.buf[k])
	}
	w, rb := t.w, t.w*8
	words, bytes := t.buf[0], t.bufB[0]
	parallelChunks(n, 8192, t.threads, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			rec := bytes[i*rb : i*rb+rb]
			rec[recLabel] = t.y[i]
			copy(rec[recHeader:], t.bins.row(i))
			z := float32(t.base)
			binary.LittleEndian.PutUint32(rec[recMargin:], math.Float32bits(z))
			words[i*w] = gradWord(float64(z), t.y[i])
		}
	})
	t.bins = nil
}

// gradWord packs the log-loss gradient p - y and hessian p(1-p) at margin z.
func gradWord(z float64, y uint8) uint64 {
	p := sigmoidFast(z)
	h := p * (1 - p)
	if h < 1e-16 { // keep saturated rows' hessian positive: an empty-looking bin must really be empty
		h = 1e-16
	}
	g := p - float64(y)
	return uint64(math.Float32bits(float32(g))) | uint64(math.Float32bits(float32(h)))<<32
}

// growTree fits one tree to the gradients in buffer 0, adds it to every row's margin and refreshes the
// gradients, leaving buffer 0 ready for the next tree.
func (t *trainer) growTree() []tnode {
	p := t.p
	n := len(t.buf[0]) / t.w

	// Rows for this tree: a Bernoulli draw per record position, in-bag records moved to the front of buffer 1.
	root := &candidate{node: 0, buf: 0, start: 0, end: n}
	if p.Subsample < 1 {
		if t.bag == nil {
			t.bag = make([]uint8, n)
		}
		thr := uint64(p.Subsample * (1 << 53))
		in := 0
		for i := range t.bag {
			t.bag[i] = 0
			if t.rng.Uint64()>>11 < thr {
				t.bag[i] = 1
				in++
			}
		}
		if in == 0 { // degenerate draw on tiny data: keep one row
			t.bag[0] = 1
		}
		root.end = t.partitionBag(n)
		root.buf = 1
	}

	// Features for this tree.
	t.feats = t.feats[:0]
	if p.ColsampleTree < 1 {
		k := max(1, int(math.Round(p.ColsampleTree*float64(t.f))))
		perm := t.rng.Perm(t.f)[:k]
		slices.Sort(perm)
		t.feats = append(t.feats, perm...)
	} else {
		for j := 0; j < t.f; j++ {
			t.feats = append(t.feats, j)
		}
	}

	nodes := []tnode{{left: -1}}
	t.finish = t.finish[:0]
	root.hist = t.getHist()
	t.buildHist(root.hist, root, t.threads)
	for _, b := range root.hist[t.feats[0]] {
		root.g += b.g
		root.h += b.h
	}
	nodes[0].value, nodes[0].cover = t.leafValue(root.g, root.h), root.h

	var frontier []*candidate
	if t.canSplit(root) {
		root.split = t.bestSplit(root)
	}
	if root.split.gain > 0 {
		frontier = append(frontier, root)
	} else {
		t.finishLeaf(root, nodes[0].value)
	}
	numLeaves := 1
	for len(frontier) > 0 {
		// Depth-wise splits a whole level at once; leaf-wise the leaf with the best gain.
		var batch []*candidate
		if p.Growth == LeafWise {
			k := 0
			for i, c := range frontier {
				if c.split.gain > frontier[k].split.gain {
					k = i
				}
			}
			batch = []*candidate{frontier[k]}
			frontier = slices.Delete(frontier, k, k+1)
		} else {
			batch, frontier = frontier, nil
		}
		if p.MaxLeaves > 0 {
			budget := p.MaxLeaves - numLeaves
			if budget <= 0 {
				frontier = append(frontier, batch...)
				break
			}
			if len(batch) > budget {
				frontier = append(frontier, batch[budget:]...)
				batch = batch[:budget]
			}
		}
		numLeaves += len(batch)
		frontier = append(frontier, t.expand(batch, &nodes)...)
	}
	for _, c := range frontier { // leaf budget reached
		t.finishLeaf(c, nodes[c.node].value)
	}
	t.runFinish(nodes, root)
	return nodes
}

// expand splits every candidate of batch and returns the children worth splitting further.
func (t *trainer) expand(batch []*candidate, nodes *[]tnode) []*candidate {
	var work []*candidate // parents whose children need histograms
	for _, c := range batch {
		s := c.split
		li := int32(len(*nodes))
		nd := &(*nodes)[c.node]
		nd.feat, nd.bin, nd.defLeft, nd.left, nd.gain = int32(s.feat), int32(s.bin), s.defLeft, li, s.gain
		vl, vr := t.leafValue(s.gl, s.hl), t.leafValue(s.gr, s.hr)
		*nodes = append(*nodes, tnode{left: -1, value: vl, cover: s.hl}, tnode{left: -1, value: vr, cover: s.hr})
		c.lut = t.goesLeft(s)
		l := &candidate{node: li, depth: c.depth + 1, g: s.gl, h: s.hl}
		r := &candidate{node: li + 1, depth: c.depth + 1, g: s.gr, h: s.hr}
		if !t.canSplit(l) && !t.canSplit(r) {
			// Both children are final: their rows are finished together, no need to move them apart.
			t.putHist(c.hist)
			c.hist = nil
			t.finish = append(t.finish, finishTask{buf: c.buf, lo: c.start, hi: c.end, lut: &c.lut,
				off: recHeader + s.feat, vals: [2]float64{vr, vl}})
			continue
		}
		c.kids = [2]*candidate{l, r}
		work = append(work, c)
	}
	if len(work) == 0 {
		return nil
	}

	t.forNodes(work, 2*minPartChunk, func(c *candidate, threads int) {
		mid, buf := t.partition(c, threads)
		l, r := c.kids[0], c.kids[1]
		l.buf, l.start, l.end = buf, c.start, mid
		r.buf, r.start, r.end = buf, mid, c.end
	})

	// Build the smaller child's histogram; the larger one's is the parent's minus it.
	small := make([]*candidate, len(work))
	for i, c := range work {
		s, g := c.kids[0], c.kids[1]
		if g.rows() < s.rows() {
			s, g = g, s
		}
		s.hist = t.getHist()
		g.hist = c.hist
		c.hist = nil
		small[i] = s
	}
	t.forNodes(small, 2*minHistChunk, func(c *candidate, threads int) { t.buildHist(c.hist, c, threads) })

	kids := make([]*candidate, 0, 2*len(work))
	for _, c := range work {
		kids = append(kids, c.kids[0], c.kids[1])
	}
	for i, c := range work {
		large := c.kids[0]
		if large == small[i] {
			large = c.kids[1]
		}
		t.subtract(large.hist, small[i].hist)
	}
	// A split search is a few microseconds: hand it to another thread only when there are many
	// (a depth-wise level), not for the two children of a leaf-wise step.
	threads := t.threads
	if len(kids) < 8 {
		threads = 1
	}
	runChunks(len(kids), threads, func(i int) {
		if ch := kids[i]; t.canSplit(ch) {
			ch.split = t.bestSplit(ch)
		}
	})
	var next []*candidate
	for _, ch := range kids {
		if ch.split.gain > 0 {
			next = append(next, ch)
		} else {
			t.finishLeaf(ch, (*nodes)[ch.node].value)
		}
	}
	return next
}

// forNodes runs fn on every candidate: those with at least big rows one after the other, each using all
// threads inside; the others spread over the threads, one goroutine per candidate.
func (t *trainer) forNodes(cs []*candidate, big int, fn func(c *candidate, threads int)) {
	var small []*candidate
	for _, c := range cs {
		if c.rows() >= big {
			fn(c, t.threads)
		} else {
			small = append(small, c)
		}
	}
	runChunks(len(small), t.threads, func(i int) { fn(small[i], 1) })
}

// finishLeaf queues a final leaf's rows for the end-of-tree pass.
func (t *trainer) finishLeaf(c *candidate, v float64) {
	t.putHist(c.hist)
	c.hist = nil
	t.finish = append(t.finish, finishTask{buf: c.buf, lo: c.start, hi: c.end, vals: [2]float64{v, v}})
}

// runFinish adds the tree to every record's margin, refreshes the gradients and gathers all records in
// buffer 0: leaves by their value, out-of-bag records (behind the in-bag ones in buffer 1) by walking the
// tree. Tasks are cut in pieces and spread over the threads; each record is written once.
func (t *trainer) runFinish(nodes []tnode, root *candidate) {
	n := len(t.buf[0]) / t.w
	type piece struct {
		task int
		lo   int
		hi   int
	}
	var pieces []piece
	for k, ft := range t.finish {
		for lo := ft.lo; lo < ft.hi; lo += finishPieceLen {
			pieces = append(pieces, piece{k, lo, min(lo+finishPieceLen, ft.hi)})
		}
	}
	oob := -1
	if root.buf == 1 && root.end < n {
		oob = len(t.finish)
		for lo := root.end; lo < n; lo += finishPieceLen {
			pieces = append(pieces, piece{oob, lo, min(lo+finishPieceLen, n)})
		}
	}
	runChunks(len(pieces), t.threads, func(i int) {
		pc := pieces[i]
		if pc.task == oob {
			t.finishRecords(1, pc.lo, pc.hi, nil, 0, [2]float64{}, nodes)
			return
		}
		ft := &t.finish[pc.task]
		t.finishRecords(ft.buf, pc.lo, pc.hi, ft.lut, ft.off, ft.vals, nil)
	})
}

// finishRecords adds a value to the margins of records lo..hi of a buffer, recomputes their gradients and
// stores them in buffer 0 at the same positions. The value is vals[lut[record byte off]], vals[0] when lut
// is nil, or the tree's value for the record's bins when tree is not nil.
func (t *trainer) finishRecords(buf, lo, hi int, lut *[histWidth]uint8, off int, vals [2]float64, tree []tnode) {
	w, rb := t.w, t.w*8
	src, srcB, dst, dstB := t.buf[buf], t.bufB[buf], t.buf[0], t.bufB[0]
	if buf != 0 {
		copy(dst[lo*w:hi*w], src[lo*w:hi*w])
	}
	for i := lo; i < hi; i++ {
		rec := srcB[i*rb : i*rb+rb]
		v := vals[0]
		if tree != nil {
			v = treeValueBinned(tree, rec[recHeader:], t.nb)
		} else if lut != nil {
			v = vals[lut[rec[off]]]
		}
		z := float32(float64(math.Float32frombits(binary.LittleEndian.Uint32(rec[recMargin:]))) + v)
		binary.LittleEndian.PutUint32(dstB[i*rb+recMargin:], math.Float32bits(z))
		dst[i*w] = gradWord(float64(z), rec[recLabel])
	}
}

func (t *trainer) leafValue(g, h float64) float64 {
	return -g / (h + t.p.Lambda) * t.p.LearningRate
}

// canSplit says whether a leaf may be split: depth budget and enough hessian for two children (a
// single row cannot be split either: all its weight lands in one bin).
func (t *trainer) canSplit(c *candidate) bool {
	if t.p.MaxDepth > 0 && c.depth >= t.p.MaxDepth {
		return false
	}
	return c.h >= 2*t.p.MinChildWeight && c.h > 0
}

func (t *trainer) getHist() hist {
	if k := len(t.pool); k > 0 {
		h := t.pool[k-1]
		t.pool = t.pool[:k-1]
		return h
	}
	return make(hist, t.f)
}

func (t *trainer) putHist(h hist) {
	if h != nil {
		t.pool = append(t.pool, h)
	}
}

// buildHist fills h (for the tree's features) from c's records. Large nodes are cut in fixed row chunks
// whose partial histograms are merged in chunk order (the same bits whatever the thread count).
func (t *trainer) buildHist(h hist, c *candidate, threads int) {
	n := c.rows()
	nc := chunkCount(n, minHistChunk, maxChunks)
	if nc == 1 {
		clearHist(h, t.feats)
		t.accumulate(h, c.buf, c.start, c.end)
		return
	}
	for len(t.partials) < nc {
		t.partials = append(t.partials, make(hist, t.f))
	}
	size := (n + nc - 1) / nc
	runChunks(nc, threads, func(k int) {
		lo := min(c.start+k*size, c.end)
		hi := min(lo+size, c.end)
		ph := t.partials[k]
		clearHist(ph, t.feats)
		t.accumulate(ph, c.buf, lo, hi)
	})
	clearHist(h, t.feats)
	for k := 0; k < nc; k++ {
		ph := t.partials[k]
		for _, j := range t.feats {
			dst, src := &h[j], &ph[j]
			for b := 0; b <= t.nb[j]; b++ {
				dst[b].g += src[b].g
				dst[b].h += src[b].h
			}
		}
	}
}

func clearHist(h hist, feats []int) {
	for _, j := range feats {
		h[j] = [histWidth]hbin{}
	}
}

// accumulate adds records lo..hi of a buffer into h: one streaming pass, all features of a row at once.
// It reads and writes through unsafe pointers (about a quarter faster than indexed slices here): k stays
// in [lo, hi) inside the buffer, j below t.f = len(h) and a bin value below histWidth.
func (t *trainer) accumulate(h hist, buf, lo, hi int) {
	f := t.f
	if len(h) < f || hi > len(t.buf[buf])/t.w || lo < 0 {
		panic("gbt: accumulate out of range")
	}
	rb := uintptr(t.w * 8)
	hp := unsafe.Pointer(unsafe.SliceData(h))
	base := unsafe.Pointer(unsafe.SliceData(t.buf[buf]))
	const slot = unsafe.Sizeof(hbin{})
	const featBytes = histWidth * slot
	if len(t.feats) == f {
		for k := lo; k < hi; k++ {
			rp := unsafe.Add(base, uintptr(k)*rb)
			gw := *(*uint64)(rp)
			g := float64(math.Float32frombits(uint32(gw)))
			hh := float64(math.Float32frombits(uint32(gw >> 32)))
			bp := unsafe.Add(rp, recHeader)
			for j := 0; j < f; j++ {
				e := (*hbin)(unsafe.Add(hp, uintptr(j)*featBytes+uintptr(*(*uint8)(unsafe.Add(bp, j)))*slot))
				e.g += g
				e.h += hh
			}
		}
		return
	}
	for k := lo; k < hi; k++ {
		rp := unsafe.Add(base, uintptr(k)*rb)
		gw := *(*uint64)(rp)
		g := float64(math.Float32frombits(uint32(gw)))
		hh := float64(math.Float32frombits(uint32(gw >> 32)))
		bp := unsafe.Add(rp, recHeader)
		for _, j := range t.feats {
			e := (*hbin)(unsafe.Add(hp, uintptr(j)*featBytes+uintptr(*(*uint8)(unsafe.Add(bp, j)))*slot))
			e.g += g
			e.h += hh
		}
	}
}

// subtract sets parent -= child for the tree's features, giving the sibling's histogram.
func (t *trainer) subtract(parent, child hist) {
	for _, j := range t.feats {
		p, c := &parent[j], &child[j]
		for b := 0; b <= t.nb[j]; b++ {
			p[b].g -= c[b].g
			p[b].h -= c[b].h
		}
	}
}

// bestSplit scans every drawn feature's histogram for the split with the largest loss reduction
// (XGBoost's gain: GL²/(HL+λ) + GR²/(HR+λ) − G²/(H+λ)), trying missing values on either side.
// A split must beat Gamma and leave at least MinChildWeight hessian on both sides.
func (t *trainer) bestSplit(c *candidate) splitInfo {
	lambda, mcw := t.p.Lambda, t.p.MinChildWeight
	G, H := c.g, c.h
	parent := G * G / (H + lambda)
	best := splitInfo{}
	minGain := max(t.p.Gamma, 1e-10)
	for _, j := range t.feats {
		hj := &c.hist[j]
		nb := t.nb[j]
		miss := hj[nb]
		var gl, hl float64
		for b := 0; b < nb; b++ {
			e := hj[b]
			if e.h == 0 && b > 0 {
				continue // empty bin: same partition as the previous bin
			}
			gl += e.g
			hl += e.h
			// After the last regular bin only a split of the missing values from the rest remains.
			if b == nb-1 && miss.h == 0 {
				break
			}
			// Missing values right.
			if gr, hr := G-gl, H-hl; hl >= mcw && hr >= mcw && hl > 0 && hr > 0 {
				gain := gl*gl/(hl+lambda) + gr*gr/(hr+lambda) - parent
				if gain > minGain && gain > best.gain {
					best = splitInfo{gain: gain, feat: j, bin: b, gl: gl, hl: hl, gr: gr, hr: hr}
				}
			}
			if miss.h == 0 || b == nb-1 {
				continue
			}
			// Missing values left.
			gL, hL := gl+miss.g, hl+miss.h
			if gr, hr := G-gL, H-hL; hL >= mcw && hr >= mcw && hr > 0 {
				gain := gL*gL/(hL+lambda) + gr*gr/(hr+lambda) - parent
				if gain > minGain && gain > best.gain {
					best = splitInfo{gain: gain, feat: j, bin: b, defLeft: true, gl: gL, hl: hL, gr: gr, hr: hr}
				}
			}
		}
	}
	if best.gain > 0 && c.hist[best.feat][t.nb[best.feat]].h == 0 {
		// No missing values reached this node: send future ones to the heavier child.
		best.defLeft = best.hl >= best.hr
	}
	return best
}

// goesLeft tabulates a split's decision for every bin value.
func (t *trainer) goesLeft(s splitInfo) [histWidth]uint8 {
	var lut [histWidth]uint8
	for b := 0; b <= s.bin; b++ {
		lut[b] = 1
	}
	if s.defLeft {
		lut[t.nb[s.feat]] = 1
	}
	return lut
}

// partition splits c's records in place, left child first, and returns the first right position and the
// buffer holding both children (c's). The order inside a child does not matter, so no record is copied
// to the other buffer: Hoare's partition moves only records on the wrong side, two at a time (few when
// the split is lopsided, as many are). Large nodes are cut in fixed chunks partitioned in parallel, then
// the rights left of the final boundary trade places with the lefts right of it, each moving once.
func (t *trainer) partition(c *candidate, threads int) (int, int) {
	lut := &c.lut
	off := recHeader + c.split.feat
	words, bytes := t.buf[c.buf], t.bufB[c.buf]
	switch t.w {
	case 3:
		return partitionChunks[[3]uint64](words, bytes, lut, off, c.start, c.end, threads), c.buf
	case 4:
		return partitionChunks[[4]uint64](words, bytes, lut, off, c.start, c.end, threads), c.buf
	}
	rb := t.w * 8
	return t.partitionBy(c.buf, c.start, c.end, threads, func(i int) uint8 { return lut[bytes[i*rb+off]] }, lut, off), 1 - c.buf
}

// partitionChunks is partitionInPlace over lo..hi cut in chunkCount chunks (the result depends on the
// rows only, never on threads).
func partitionChunks[R [3]uint64 | [4]uint64](words []uint64, bytes []byte, lut *[histWidth]uint8, off, lo, hi, threads int) int {
	n := hi - lo
	nc := chunkCount(n, minPartChunk, maxChunks)
	if nc == 1 {
		return partitionInPlace[R](words, bytes, lut, off, lo, hi)
	}
	size := (n + nc - 1) / nc
	var mids [maxChunks]int
	runChunks(nc, threads, func(k int) {
		a := min(lo+k*size, hi)
		mids[k] = partitionInPlace[R](words, bytes, lut, off, a, min(a+size, hi))
	})
	// Chunk k holds lefts [a_k, mids[k]) then rights [mids[k], b_k); the final boundary is lo + all lefts.
	mid := lo
	for k := 0; k < nc; k++ {
		mid += mids[k] - min(lo+k*size, hi)
	}
	// Misplaced: rights in [lo, mid) and lefts in [mid, hi), as many of each; pair them in order.
	type seg struct{ a, b int }
	var wrongR, wrongL [maxChunks]seg
	nr, nl := 0, 0
	for k := 0; k < nc; k++ {
		a := min(lo+k*size, hi)
		b := min(a+size, hi)
		if r0, r1 := mids[k], min(b, mid); r0 < r1 {
			wrongR[nr] = seg{r0, r1}
			nr++
		}
		if l0, l1 := max(a, mid), mids[k]; l0 < l1 {
			wrongL[nl] = seg{l0, l1}
			nl++
		}
	}
	type swap struct{ x, y, n int }
	var swaps []swap
	i, j := 0, 0
	for i < nr && j < nl {
		r, l := &wrongR[i], &wrongL[j]
		m := min(r.b-r.a, l.b-l.a)
		for p := 0; p < m; p += minPartChunk { // pieces small enough to spread over the threads
			swaps = append(swaps, swap{r.a + p, l.a + p, min(minPartChunk, m-p)})
		}
		r.a += m
		l.a += m
		if r.a == r.b {
			i++
		}
		if l.a == l.b {
			j++
		}
	}
	var zero R
	w := int(unsafe.Sizeof(zero) / 8)
	s := unsafe.Slice((*R)(unsafe.Pointer(unsafe.SliceData(words))), len(words)/w)
	runChunks(len(swaps), threads, func(k int) {
		sw := swaps[k]
		x, y := s[sw.x:sw.x+sw.n], s[sw.y:sw.y+sw.n]
		for q := range x {
			x[q], y[q] = y[q], x[q]
		}
	})
	return mid
}

// partitionBag moves the in-bag records of buffer 0 to the front of buffer 1 and returns their count.
func (t *trainer) partitionBag(n int) int {
	return t.partitionBy(0, 0, n, t.threads, func(i int) uint8 { return t.bag[i] }, nil, 0)
}

// partitionInPlace is Hoare's partition of records lo..hi by lut[record byte off] (1 = left), scanned in
// blocks without branches on the data (BlockQuicksort, Edelkamp & Weiss 2016): the side of a record is
// unpredictable, and a mispredicted branch per record cost more than the scan itself. Each block of the
// left end lists the offsets of its records that go right, each block of the right end those that go
// left, and the lists are swapped pairwise; the last few records go through the plain loop.
func partitionInPlace[R [3]uint64 | [4]uint64](words []uint64, bytes []byte, lut *[histWidth]uint8, off, lo, hi int) int {
	var zero R
	w := int(unsafe.Sizeof(zero) / 8)
	rb := w * 8
	s := unsafe.Slice((*R)(unsafe.Pointer(unsafe.SliceData(words))), len(words)/w)
	bytes = bytes[:len(s)*rb]
	const block = 128
	var offL, offR [block]uint8
	left, right := lo, hi // [lo, left) go left, [right, hi) go right
	numL, numR, startL, startR := 0, 0, 0, 0
	for right-left >= 2*block {
		if numL == 0 {
			startL = 0
			p := bytes[left*rb+off:]
			for k := 0; k < block; k++ {
				offL[numL] = uint8(k)
				numL += int(1 - lut[p[k*rb]])
			}
		}
		if numR == 0 {
			startR = 0
			p := bytes[(right-block)*rb+off:]
			for k := 0; k < block; k++ {
				offR[numR] = uint8(k)
				numR += int(lut[p[(block-1-k)*rb]])
			}
		}
		m := min(numL, numR)
		for k := 0; k < m; k++ {
			x, y := left+int(offL[startL+k]), right-1-int(offR[startR+k])
			s[x], s[y] = s[y], s[x]
		}
		numL -= m
		numR -= m
		startL += m
		startR += m
		if numL == 0 {
			left += block
		}
		if numR == 0 {
			right -= block
		}
	}
	i, j := left, right-1
	for {
		for i <= j && lut[bytes[i*rb+off]] == 1 {
			i++
		}
		for i <= j && lut[bytes[j*rb+off]] == 0 {
			j--
		}
		if i >= j {
			return i
		}
		s[i], s[j] = s[j], s[i]
		i++
		j--
	}
}

// partitionBy moves records lo..hi of buffer from into the other buffer, those with goLeft(i) == 1 first,
// each side in its original order, and returns the first right position. The range is cut in fixed
// chunks: a counting pass gives every chunk its destinations, then the chunks scatter in parallel. When
// lut is not nil, goLeft(i) is lut[byte off of record i] and the loops read it inline.
func (t *trainer) partitionBy(from, lo, hi, threads int, goLeft func(i int) uint8, lut *[histWidth]uint8, off int) int {
	n := hi - lo
	nc := chunkCount(n, minPartChunk, maxChunks)
	src, dst, srcB := t.buf[from], t.buf[1-from], t.bufB[from]
	size := (n + nc - 1) / nc
	var counts [maxChunks]int
	runChunks(nc, threads, func(k int) {
		a := min(lo+k*size, hi)
		b := min(a+size, hi)
		cnt := 0
		if lut != nil {
			rb := t.w * 8
			for i := a; i < b; i++ {
				cnt += int(lut[srcB[i*rb+off]])
			}
		} else {
			for i := a; i < b; i++ {
				cnt += int(goLeft(i))
			}
		}
		counts[k] = cnt
	})
	left := 0
	for _, v := range counts[:nc] {
		left += v
	}
	mid := lo + left
	runChunks(nc, threads, func(k int) {
		a := min(lo+k*size, hi)
		b := min(a+size, hi)
		before := 0
		for _, v := range counts[:k] {
			before += v
		}
		wl, wr := lo+before, mid+(a-lo)-before
		switch {
		case lut != nil && t.w == 3:
			scatterLUT[[3]uint64](src, dst, srcB, lut, off, a, b, wl, wr)
		case lut != nil && t.w == 4:
			scatterLUT[[4]uint64](src, dst, srcB, lut, off, a, b, wl, wr)
		default:
			w := t.w
			for i := a; i < b; i++ {
				l := int(goLeft(i))
				d := wr + (wl-wr)*l // destination chosen arithmetically: no unpredictable branch
				copy(dst[d*w:d*w+w], src[i*w:i*w+w])
				wl += l
				wr += 1 - l
			}
		}
	})
	return mid
}

// scatterLUT is partitionBy's per-chunk scatter for records of a fixed word count.
func scatterLUT[R [3]uint64 | [4]uint64](src, dst []uint64, srcB []byte, lut *[histWidth]uint8, off, lo, hi, wl, wr int) {
	var zero R
	w := int(unsafe.Sizeof(zero) / 8)
	rb := w * 8
	s := unsafe.Slice((*R)(unsafe.Pointer(unsafe.SliceData(src))), len(src)/w)
	d := unsafe.Slice((*R)(unsafe.Pointer(unsafe.SliceData(dst))), len(dst)/w)
	for i := lo; i < hi; i++ {
		l := int(lut[srcB[i*rb+off]])
		k := wr + (wl-wr)*l
		d[k] = s[i]
		wl += l
		wr += 1 - l
	}
}
