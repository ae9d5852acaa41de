package table

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
)

// benchTable is shaped like a loaded year: 267,792 rows, a few numeric,
// categorical, bool and time columns.
func benchTable(b *testing.B) *Table {
	const n = 267792
	r := rand.New(rand.NewPCG(1, 2))
	cols := []*Column{}
	for j := range 4 {
		v := make([]float64, n)
		for i := range v {
			v[i] = r.Float64()
		}
		cols = append(cols, NewNumeric("n"+strconv.Itoa(j), v))
	}
	for j, card := range []int{32, 331, 27823} {
		cb := NewCatBuilder()
		for range n {
			cb.Add(strconv.Itoa(r.IntN(card)))
		}
		cols = append(cols, cb.Column("c"+strconv.Itoa(j)))
	}
	bools, times := make([]int8, n), make([]int64, n)
	for i := range n {
		bools[i], times[i] = int8(r.IntN(2)), int64(1483228800+r.IntN(365*86400))
	}
	cols = append(cols, NewBool("b", bools), NewTime("t", times))
	t, err := New(cols...)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	return t
}

// BenchmarkSelect gathers 80% of the rows of every column (a train split).
func BenchmarkSelect(b *testing.B) {
	t := benchTable(b)
	rows := rand.New(rand.NewPCG(3, 4)).Perm(t.Len())[:t.Len()*8/10]
	for b.Loop() {
		t.Select(rows)
	}
}

// BenchmarkConcat appends two halves with their own dictionaries.
func BenchmarkConcat(b *testing.B) {
	t := benchTable(b)
	half := make([]int, t.Len()/2)
	for i := range half {
		half[i] = i
	}
	x := t.Select(half)
	y := rebuildFrom(t, len(half))
	for b.Loop() {
		if _, err := Concat(x, y); err != nil {
			b.Fatal(err)
		}
	}
}

// rebuildFrom rebuilds the second half with fresh dictionaries (different codes).
func rebuildFrom(t *Table, from int) *Table {
	var cols []*Column
	for _, c := range t.Columns() {
		if c.Kind != Categorical {
			cols = append(cols, c.gather(seq(from, t.Len())))
			continue
		}
		cb := NewCatBuilder()
		for i := from; i < t.Len(); i++ {
			cb.Add(c.Str(i))
		}
		cols = append(cols, cb.Column(c.Name))
	}
	out, _ := New(cols...)
	return out
}

func seq(a, b int) []int {
	s := make([]int, 0, b-a)
	for i := a; i < b; i++ {
		s = append(s, i)
	}
	return s
}

// BenchmarkCatBuilder codes 267,792 values of 331 distinct codes (ns/op is
// per value).
func BenchmarkCatBuilder(b *testing.B) {
	vals := make([][]byte, 267792)
	r := rand.New(rand.NewPCG(5, 6))
	for i := range vals {
		vals[i] = []byte(strconv.Itoa(1000 + r.IntN(331)))
	}
	cb := NewCatBuilder()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		cb.CodeBytes(vals[i%len(vals)])
		i++
	}
}

// BenchmarkReorder is split's train reorder: 80% of the rows, shuffled, of
// a table of 24 columns (numbers, codes, times), at the year's size and at
// 16 times it, where a column is far larger than the caches.
func BenchmarkReorder(b *testing.B) {
	for _, n := range []int{267_792, 16 * 267_792} {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			rows := rng.Perm(n)[:n*4/5]
			for b.Loop() {
				b.StopTimer()
				var cols []*Column
				for j := range 8 {
					cols = append(cols, NewNumeric(fmt.Sprint("n", j), make([]float64, n)),
						NewCategorical(fmt.Sprint("c", j), make([]int32, n), []string{"a"}), NewTime(fmt.Sprint("t", j), make([]int64, n)))
				}
				t, err := New(cols...)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if err := t.Reorder(rows); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDistinctRows is split's duplicate search on a table of the
// year's size: 24 columns (numbers, codes, times) and a case number.
func BenchmarkDistinctRows(b *testing.B) {
	const n = 267_792
	rng := rand.New(rand.NewPCG(3, 4))
	var cols []*Column
	for j := range 8 {
		nums, codes, times := make([]float64, n), make([]int32, n), make([]int64, n)
		for i := range n {
			nums[i], codes[i], times[i] = float64(rng.IntN(1000)), int32(rng.IntN(30)), int64(rng.IntN(1<<30))
		}
		cols = append(cols, NewNumeric(fmt.Sprint("n", j), nums), NewCategorical(fmt.Sprint("c", j), codes, make([]string, 30)), NewTime(fmt.Sprint("t", j), times))
	}
	strs := make([]string, n)
	for i := range strs {
		strs[i] = fmt.Sprintf("JA%06d", rng.IntN(n))
	}
	t, err := New(append(cols, NewText("case_number", strs))...)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		t.DistinctRows()
	}
}
