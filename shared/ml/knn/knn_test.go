package knn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

// randomMatrix returns d columns of n uniform values.
func randomMatrix(rng *rand.Rand, n, d int) [][]float64 {
	X := make([][]float64, d)
	for j := range X {
		X[j] = make([]float64, n)
		for i := range X[j] {
			X[j][i] = rng.Float64()
		}
	}
	return X
}

// duplicateMatrix draws every value from a few levels and repeats whole rows,
// so there are exact duplicates and many equal distances.
func duplicateMatrix(rng *rand.Rand, n, d, levels int) [][]float64 {
	X := make([][]float64, d)
	for j := range X {
		X[j] = make([]float64, n)
	}
	for i := 0; i < n; i++ {
		src := i
		if i > 0 && rng.IntN(3) == 0 {
			src = rng.IntN(i) // copy an earlier row
		}
		for j := range X {
			if src == i {
				X[j][i] = float64(rng.IntN(levels)) / 2
			} else {
				X[j][i] = X[j][src]
			}
		}
	}
	return X
}

// mixedMatrix looks like an encoded crime table: a few clustered continuous
// columns, several binary columns and several columns with few levels.
func mixedMatrix(rng *rand.Rand, n, d int) [][]float64 {
	X := make([][]float64, d)
	for j := range X {
		X[j] = make([]float64, n)
	}
	for i := 0; i < n; i++ {
		cx, cy := rng.NormFloat64(), rng.NormFloat64()
		for j := range X {
			switch {
			case j < 3:
				X[j][i] = cx*float64(j+1) + 0.1*rng.NormFloat64() + cy
			case j%2 == 0:
				X[j][i] = float64(rng.IntN(2))
			default:
				X[j][i] = float64(rng.IntN(20)) / 100
			}
		}
	}
	return X
}

func TestAllNeighborsMatchesBrute(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cases := []struct {
		name string
		X    [][]float64
		k    int
	}{
		{"uniform-1d", randomMatrix(rng, 700, 1), 5},
		{"uniform-2d", randomMatrix(rng, 1500, 2), 5},
		{"uniform-8d", randomMatrix(rng, 1200, 8), 5},
		{"uniform-20d", randomMatrix(rng, 800, 20), 7},
		{"mixed-21d", mixedMatrix(rng, 2000, 21), 5},
		{"duplicates-3d-2levels", duplicateMatrix(rng, 1500, 3, 2), 5},
		{"duplicates-5d-3levels", duplicateMatrix(rng, 2000, 5, 3), 5},
		{"duplicates-12d-2levels", duplicateMatrix(rng, 1000, 12, 2), 6},
		{"all-identical", duplicateMatrix(rng, 300, 4, 1), 5},
		{"tiny", randomMatrix(rng, 6, 3), 5},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tree, err := Build(c.X)
			if err != nil {
				t.Fatal(err)
			}
			want, err := Brute(c.X, c.k)
			if err != nil {
				t.Fatal(err)
			}
			for _, workers := range []int{1, 3} {
				got, err := tree.AllNeighbors(c.k, workers)
				if err != nil {
					t.Fatal(err)
				}
				if i := firstDiff(got, want); i >= 0 {
					p := i / c.k
					t.Fatalf("workers=%d point %d: tree %v, brute %v", workers, p, got[p*c.k:p*c.k+c.k], want[p*c.k:p*c.k+c.k])
				}
			}
		})
	}
}

func firstDiff(a, b []int32) int {
	if len(a) != len(b) {
		return 0
	}
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

func TestQueryMatchesBrute(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, X := range [][][]float64{randomMatrix(rng, 1000, 6), duplicateMatrix(rng, 1000, 4, 3)} {
		tree, err := Build(X)
		if err != nil {
			t.Fatal(err)
		}
		n, d := len(X[0]), len(X)
		var got []Neighbor
		for trial := 0; trial < 200; trial++ {
			q := make([]float64, d)
			for j := range q {
				if trial%2 == 0 {
					q[j] = X[j][rng.IntN(n)] // lands on data values: ties
				} else {
					q[j] = rng.Float64()
				}
			}
			k := 1 + rng.IntN(10)
			got = tree.Query(q, k, got)
			want := bruteQuery(X, q, k)
			if !slices.Equal(got, want) {
				t.Fatalf("query %v k=%d: tree %v, brute %v", q, k, got, want)
			}
		}
	}
}

func bruteQuery(X [][]float64, q []float64, k int) []Neighbor {
	n := len(X[0])
	all := make([]Neighbor, n)
	for i := range all {
		var d2 float64
		for j, col := range X {
			x := q[j] - col[i]
			d2 += x * x
		}
		all[i] = Neighbor{Index: int32(i), Dist2: d2}
	}
	slices.SortFunc(all, func(a, b Neighbor) int {
		if c := cmpFloat(a.Dist2, b.Dist2); c != 0 {
			return c
		}
		return int(a.Index - b.Index)
	})
	return all[:min(k, n)]
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func TestTieRuleOnDuplicates(t *testing.T) {
	// Points 0..4 identical, 5 far away: point 2's neighbours are the other
	// identical points by index, then the far one.
	X := [][]float64{{1, 1, 1, 1, 1, 9}, {2, 2, 2, 2, 2, 9}}
	tree, err := Build(X)
	if err != nil {
		t.Fatal(err)
	}
	nb, err := tree.AllNeighbors(5, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := nb[2*5:3*5], []int32{0, 1, 3, 4, 5}; !slices.Equal(got, want) {
		t.Fatalf("neighbours of 2 = %v, want %v", got, want)
	}
	if got, want := nb[5*5:6*5], []int32{0, 1, 2, 3, 4}; !slices.Equal(got, want) {
		t.Fatalf("neighbours of 5 = %v, want %v", got, want)
	}
}

// TestParallelBuildIsSerialBuild: the concurrent build splices the same tree
// a single goroutine builds.
func TestParallelBuildIsSerialBuild(t *testing.T) {
	X := mixedMatrix(rand.New(rand.NewPCG(8, 9)), 20_000, 12)
	prev := runtime.GOMAXPROCS(1)
	serial, err := Build(X)
	runtime.GOMAXPROCS(4)
	par, err2 := Build(X)
	runtime.GOMAXPROCS(prev)
	if err != nil || err2 != nil {
		t.Fatal(err, err2)
	}
	if !slices.Equal(serial.nodes, par.nodes) || !slices.Equal(serial.idx, par.idx) || !slices.Equal(serial.pts, par.pts) {
		t.Fatalf("parallel build differs: %d vs %d nodes", len(serial.nodes), len(par.nodes))
	}
}

func TestErrors(t *testing.T) {
	if _, err := Build(nil); err == nil {
		t.Error("Build(nil): no error")
	}
	if _, err := Build([][]float64{{1, 2}, {1}}); err == nil {
		t.Error("ragged columns: no error")
	}
	if _, err := Build([][]float64{{1, math.NaN()}}); err == nil {
		t.Error("NaN: no error")
	}
	tree, err := Build([][]float64{{1, 2, 3}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tree.AllNeighbors(3, 1); err == nil {
		t.Error("k = n: no error")
	}
	if _, err := tree.AllNeighbors(0, 1); err == nil {
		t.Error("k = 0: no error")
	}
	empty, err := Build([][]float64{{}})
	if err != nil {
		t.Fatal(err)
	}
	if got := empty.Query([]float64{0}, 3, nil); len(got) != 0 {
		t.Errorf("query on empty tree = %v", got)
	}
}

// BenchmarkAllNeighbors: build + all-points k=5 query at the size of the 2017
// minority class (~41k rows), on table-like and on uniform data.
func BenchmarkAllNeighbors(b *testing.B) {
	for _, c := range []struct {
		name string
		gen  func(*rand.Rand, int, int) [][]float64
		d    int
	}{
		{"mixed-21d", mixedMatrix, 21},
		{"uniform-5d", randomMatrix, 5},
		{"uniform-10d", randomMatrix, 10},
	} {
		X := c.gen(rand.New(rand.NewPCG(5, 6)), 41_000, c.d)
		b.Run(fmt.Sprintf("%s/n=41000", c.name), func(b *testing.B) {
			for b.Loop() {
				tree, err := Build(X)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := tree.AllNeighbors(5, 0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestPermuteRowsInPlace(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{0, 1, 2, 5, 100} {
		const d = 3
		rows := make([]float64, n*d)
		for i := range rows {
			rows[i] = float64(i)
		}
		idx := make([]int32, n)
		for i := range idx {
			idx[i] = int32(i)
		}
		rng.Shuffle(n, func(a, b int) { idx[a], idx[b] = idx[b], idx[a] })
		want := make([]float64, n*d)
		for p, i := range idx {
			copy(want[p*d:p*d+d], rows[int(i)*d:int(i)*d+d])
		}
		before := slices.Clone(idx)
		permuteRows(rows, idx, d)
		if !slices.Equal(rows, want) || !slices.Equal(idx, before) {
			t.Fatalf("n=%d: rows %v, want %v", n, rows, want)
		}
	}
}
