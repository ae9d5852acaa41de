package radix

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

// Sort orders like a stable sort of the keys, moving each label with its
// key, and wherever the result lands; Ascending keeps float order.
func TestSortMatchesStableSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 2, 17, 1000, 65537} {
		vals := make([]float64, n)
		for i := range vals {
			switch rng.IntN(6) {
			case 0:
				vals[i] = -rng.ExpFloat64()
			case 1:
				vals[i] = float64(rng.IntN(4)) // ties
			case 2:
				vals[i] = math.Inf(1 - 2*rng.IntN(2))
			default:
				vals[i] = rng.Float64()
			}
		}
		keys, lab := make([]uint64, n), make([]uint8, n)
		type kv struct {
			v float64
			l uint8
		}
		want := make([]kv, n)
		for i, v := range vals {
			keys[i], lab[i] = Ascending(v), uint8(i)
			want[i] = kv{v, uint8(i)}
		}
		sort.SliceStable(want, func(a, b int) bool { return want[a].v < want[b].v })
		sk, sl, _, _ := Sort(slices.Clone(keys), slices.Clone(lab), make([]uint64, n), make([]uint8, n))
		SortInPlace(keys, lab, make([]uint64, n), make([]uint8, n))
		for i := range want {
			if FromAscending(sk[i]) != want[i].v || sl[i] != want[i].l || keys[i] != sk[i] || lab[i] != sl[i] {
				t.Fatalf("n=%d: position %d holds %v/%d (in place %v/%d), want %v/%d", n, i,
					FromAscending(sk[i]), sl[i], FromAscending(keys[i]), lab[i], want[i].v, want[i].l)
			}
		}
	}
	if !(Ascending(math.Copysign(0, -1)) < Ascending(0) && Ascending(-1) < Ascending(math.Copysign(0, -1))) {
		t.Error("Ascending does not order -1 < -0 < +0")
	}
}
