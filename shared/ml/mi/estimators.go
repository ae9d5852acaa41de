package mi

import (
	"math"

	"github.com/arrestcast/arrestcast/shared/ml/internal/radix"
)

// scratch is one worker's reusable buffers for continuousMI.
type scratch struct {
	keys, tmpKeys []uint64
	lab, tmpLab   []uint8
	sorted        []float64 // all kept values, ascending
	byClass       []float64 // the same values grouped by class, ascending within
	at            []int32   // position in sorted of each byClass value
}

func newScratch(n int) *scratch {
	return &scratch{
		keys: make([]uint64, n), tmpKeys: make([]uint64, n),
		lab: make([]uint8, n), tmpLab: make([]uint8, n),
		sorted: make([]float64, n), byClass: make([]float64, n), at: make([]int32, n),
	}
}

// continuousMI is sklearn's _compute_mi_cd for one scaled (and noisy) column.
// psi holds ψ at 0..len(x).
func (s *scratch) continuousMI(x []float64, l *labels, K int, psi []float64) float64 {
	// Single-sample classes are dropped entirely.
	n := 0
	for i, c := range l.y {
		if l.counts[c] > 1 {
			s.keys[n], s.lab[n] = radix.Ascending(x[i]), c
			n++
		}
	}
	if n == 0 {
		return 0
	}
	keys, lab := s.keys[:n], s.lab[:n]
	radix.SortInPlace(keys, lab, s.tmpKeys[:n], s.tmpLab[:n])
	sorted := s.sorted[:n]
	for i, k := range keys {
		sorted[i] = radix.FromAscending(k)
	}
	// Group by class with a counting pass: each class's values stay ascending
	// and remember where they sit in sorted.
	var start [257]int
	for c, cnt := range l.counts {
		start[c+1] = start[c]
		if cnt > 1 {
			start[c+1] += cnt
		}
	}
	next := start
	for i, c := range lab {
		p := next[c]
		s.byClass[p], s.at[p] = sorted[i], int32(i)
		next[c]++
	}

	var sumK, sumN, sumM float64
	for c, cnt := range l.counts {
		if cnt <= 1 {
			continue
		}
		a := s.byClass[start[c]:start[c+1]]
		at := s.at[start[c]:start[c+1]]
		k := min(K, cnt-1)
		sumK += float64(cnt) * psi[k]
		sumN += float64(cnt) * psi[cnt]
		for p, v := range a {
			r := math.Nextafter(kthDistance(a, p, k), 0)
			g := int(at[p])
			lo := firstWithin(sorted, g, v, r)
			hi := lastWithin(sorted, g, v, r)
			sumM += psi[hi-lo+1]
		}
	}
	N := float64(n)
	mi := psi[n] + sumK/N - sumN/N - sumM/N
	return max(0, mi)
}

// kthDistance is the distance from a[p] to its k-th nearest other value in
// the sorted slice a (duplicates count, at distance 0), with 1 <= k < len(a).
// The k nearest others and a[p] fill a window a[s..s+k] around p, so the
// answer is the smallest window reach max(v-a[s], a[s+k]-v).
func kthDistance(a []float64, p, k int) float64 {
	v := a[p]
	best := math.Inf(1)
	for s := max(0, p-k); s <= p && s+k < len(a); s++ {
		best = min(best, max(v-a[s], a[s+k]-v))
	}
	return best
}

// firstWithin returns the smallest i <= g with v - all[i] <= r, given that it
// holds at g. Counts are usually a handful, so it steps a few values first,
// then gallops: O(log count) even for long runs of ties.
func firstWithin(all []float64, g int, v, r float64) int {
	for range 8 {
		if g == 0 || v-all[g-1] > r {
			return g
		}
		g--
	}
	step := 1
	for g-step >= 0 && v-all[g-step] <= r {
		step *= 2
	}
	lo, hi := max(g-step, -1), g-step/2 // lo fails (or is -1), hi holds
	for hi-lo > 1 {
		mid := int(uint(lo+hi) >> 1)
		if v-all[mid] <= r {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
}

// lastWithin returns the largest i >= g with all[i] - v <= r, given that it
// holds at g.
func lastWithin(all []float64, g int, v, r float64) int {
	for range 8 {
		if g == len(all)-1 || all[g+1]-v > r {
			return g
		}
		g++
	}
	step := 1
	for g+step < len(all) && all[g+step]-v <= r {
		step *= 2
	}
	lo, hi := g+step/2, min(g+step, len(all)) // lo holds, hi fails (or is len)
	for hi-lo > 1 {
		mid := int(uint(lo+hi) >> 1)
		if all[mid]-v <= r {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}

// discreteMI is sklearn's mutual_info_score between the distinct values of x
// and the labels: the plug-in MI of their contingency table, with terms below
// machine epsilon zeroed and the sum clipped at 0, as sklearn computes it.
func discreteMI(x []float64, l *labels) float64 {
	var classes []int // label values present, ascending
	col := make([]int, 256)
	for c, cnt := range l.counts {
		if cnt > 0 {
			col[c] = len(classes)
			classes = append(classes, c)
		}
	}
	nc := len(classes)
	row := make(map[float64]int)
	var table []int // row-major: distinct value × class
	for i, v := range x {
		r, ok := row[v]
		if !ok {
			r = len(row)
			row[v] = r
			table = append(table, make([]int, nc)...)
		}
		table[r*nc+col[l.y[i]]]++
	}
	nr := len(row)
	if nr == 1 || nc == 1 {
		return 0
	}
	pi := make([]int, nr)
	pj := make([]int, nc)
	for r := 0; r < nr; r++ {
		for c := 0; c < nc; c++ {
			pi[r] += table[r*nc+c]
			pj[c] += table[r*nc+c]
		}
	}
	total := float64(len(x))
	logTotal := math.Log(total)
	// log(pi.sum()) + log(pj.sum()), both sums being the row count.
	logSums := 2 * logTotal
	var mi float64
	for r := 0; r < nr; r++ {
		for c := 0; c < nc; c++ {
			nij := table[r*nc+c]
			if nij == 0 {
				continue
			}
			p := float64(nij) / total
			outer := float64(int64(pi[r]) * int64(pj[c]))
			term := p*(math.Log(float64(nij))-logTotal) + p*(-math.Log(outer)+logSums)
			if math.Abs(term) < 0x1p-52 {
				term = 0
			}
			mi += term
		}
	}
	return max(0, mi)
}
