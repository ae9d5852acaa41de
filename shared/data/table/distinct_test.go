package table

import (
	"math"
	"reflect"
	"testing"
)

// DistinctRows is pandas' drop_duplicates(keep="first") over every column:
// NaN equals NaN, -0 equals +0, and a difference in any column, text
// included, makes rows distinct.
func TestDistinctRows(t *testing.T) {
	nan := math.NaN()
	tb, err := New(
		NewNumeric("n", []float64{1, 1, nan, nan, 0, math.Copysign(0, -1), 1, 1}),
		NewCategorical("c", []int32{0, 0, Missing, Missing, 1, 1, 0, 0}, []string{"a", "b"}),
		NewBool("b", []int8{1, 1, Missing, Missing, 0, 0, 1, 1}),
		NewTime("t", []int64{5, 5, NoTime, NoTime, 7, 7, 5, 5}),
		NewText("s", []string{"x", "x", "", "", "y", "y", "z", "x"}),
	)
	if err != nil {
		t.Fatal(err)
	}
	got := tb.DistinctRows()
	if want := []int{0, 2, 4, 6}; !reflect.DeepEqual(got, want) {
		t.Errorf("distinct rows %v, want %v", got, want)
	}
	// Rows whose hashes collide are still told apart by their values.
	if got := tb.distinct(func(int) uint64 { return 42 }); !reflect.DeepEqual(got, []int{0, 2, 4, 6}) {
		t.Errorf("with every hash colliding: %v", got)
	}
}
