package gbt

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"unsafe"
)

// The tests' independent cover: replaying the training rows through the
// finished trees, which Fit's recorded covers must agree with.

// SetCover computes every node's cover by replaying the rows the model was trained on (column-major, as Fit
// takes them) and keeps it with the model. The sum is the same to the bit for any GOMAXPROCS.
func (m *Model) SetCover(X [][]float64) error {
	if len(X) != m.numFeatures {
		return fmt.Errorf("gbt cover: %d feature columns, model expects %d", len(X), m.numFeatures)
	}
	n := len(X[0])
	for j := range X {
		if len(X[j]) != n {
			return fmt.Errorf("gbt cover: column %d has %d rows, column 0 has %d", j, len(X[j]), n)
		}
	}
	if n == 0 {
		return errors.New("gbt cover: no rows")
	}
	// Fixed chunks merged in order: the sum depends on the data only.
	const chunks = 8
	parts := make([][]float64, chunks)
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for c := range chunks {
		lo, hi := n*c/chunks, n*(c+1)/chunks
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			parts[c] = m.leafHessians(X, lo, hi)
		}()
	}
	wg.Wait()
	cover := parts[0]
	for _, p := range parts[1:] {
		for i, v := range p {
			cover[i] += v
		}
	}
	return m.setCover(cover)
}

// leafHessians sums, per leaf, the hessians of rows [lo, hi) that reach it. Rows go through the
// trees four at a time, tree after tree (a row's hessian in tree t needs its margin from the trees
// before), so four independent walks overlap their latencies.
func (m *Model) leafHessians(X [][]float64, lo, hi int) []float64 {
	h := make([]float64, len(m.nodes))
	nf := len(X)
	rows := make([]float64, 4*nf)
	np := unsafe.Pointer(unsafe.SliceData(m.nodes))
	for i := lo; i < hi; i += 4 {
		n := min(4, hi-i)
		for r := range 4 {
			src := i + min(r, n-1) // a short last block repeats its last row, counted once
			for j, col := range X {
				rows[r*nf+j] = col[src]
			}
		}
		rp := unsafe.Pointer(unsafe.SliceData(rows))
		r0, r1, r2, r3 := rp, unsafe.Add(rp, nf*8), unsafe.Add(rp, 2*nf*8), unsafe.Add(rp, 3*nf*8)
		z := [4]float64{m.baseScore, m.baseScore, m.baseScore, m.baseScore}
		for _, root := range m.roots {
			b := int(root)
			i0, i1, i2, i3 := b, b, b, b
			for {
				// A leaf steps to itself (see node): walk until all four stand on theirs.
				n0, n1, n2, n3 := stepNaN(np, r0, b, i0), stepNaN(np, r1, b, i1), stepNaN(np, r2, b, i2), stepNaN(np, r3, b, i3)
				if n0 == i0 && n1 == i1 && n2 == i2 && n3 == i3 {
					break
				}
				i0, i1, i2, i3 = n0, n1, n2, n3
			}
			leaves := [4]int{i0, i1, i2, i3}
			for r, leaf := range leaves[:n] {
				p := sigmoidFast(z[r]) // as training's gradients
				h[leaf] += p * (1 - p)
				z[r] += m.vals[leaf]
			}
		}
	}
	return h
}
