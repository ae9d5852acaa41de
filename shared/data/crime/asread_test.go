package crime

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/arrestcast/arrestcast/shared/data/table"
)

// TestAsReadIsWhatACSVReadGives compares AsRead with formatting the table
// and parsing the text back, column by column, codes and dictionaries
// included: dictionaries out of order, with unused and empty entries,
// booleans outside 0/1, missing values of every kind, known and unknown
// columns.
func TestAsReadIsWhatACSVReadGives(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	kindOf := func(string) table.Kind { return table.Numeric }
	for trial := range 40 {
		n := 1 + rng.IntN(3000)
		dict := []string{"z", "", "a,b", "unused", `q"uote`, "m"}
		rng.Shuffle(len(dict), func(i, j int) { dict[i], dict[j] = dict[j], dict[i] })
		// A fixed vocabulary's column: a read seeds its dictionary, so
		// "Night" met first is still code 3 and unmet entries stay.
		times_of_day := []string{"Night", "Morning", "odd"}
		codes, nums, bools, times, strs := make([]int32, n), make([]float64, n), make([]int8, n), make([]int64, n), make([]string, n)
		dayTime := make([]int32, n)
		for i := range n {
			dayTime[i] = int32(rng.IntN(len(times_of_day)))
			if codes[i] = int32(rng.IntN(len(dict)+1)) - 1; codes[i] >= 0 && dict[codes[i]] == "unused" {
				codes[i] = table.Missing
			}
			nums[i] = math.Round((rng.Float64()-0.5)*1e6) / 1e3
			if rng.IntN(7) == 0 {
				nums[i] = math.NaN()
			}
			bools[i] = int8(rng.IntN(4)) - 1 // 2: neither true nor false
			times[i] = table.WallClock(2017, 1+rng.IntN(12), 1+rng.IntN(28), rng.IntN(24), 0, rng.IntN(60))
			if rng.IntN(9) == 0 {
				times[i] = table.NoTime
			}
			strs[i] = []string{"", "JA123", "x,y"}[rng.IntN(3)]
		}
		tb, err := table.New(
			table.NewCategorical(ColPrimaryType, codes, dict), table.NewNumeric(ColLatitude, nums),
			table.NewBool(ColArrest, bools), table.NewTime(ColDate, times), table.NewText(ColCaseNumber, strs),
			table.NewNumeric("unknown_numeric", nums), table.NewCategorical(ColDayTime, dayTime, times_of_day))
		if err != nil {
			t.Fatal(err)
		}
		got, ok := AsRead(tb, kindOf)
		if !ok {
			t.Fatalf("trial %d: AsRead refused a table that reads back", trial)
		}
		var text bytes.Buffer
		if err := WriteCSV(context.Background(), &text, tb); err != nil {
			t.Fatal(err)
		}
		want, err := ReadCSVAs(context.Background(), &text, kindOf)
		if err != nil || len(want.Rejects) > 0 {
			t.Fatalf("read back: %v, %d rejects", err, len(want.Rejects))
		}
		for j, c := range want.Table.Columns() {
			g := got.Columns()[j]
			if !reflect.DeepEqual(c.Dict, g.Dict) || !reflect.DeepEqual(c.Codes, g.Codes) || !reflect.DeepEqual(c.Bools, g.Bools) ||
				!reflect.DeepEqual(c.Times, g.Times) || !reflect.DeepEqual(c.Strs, g.Strs) || c.Kind != g.Kind || c.Name != g.Name {
				t.Fatalf("trial %d: column %q differs from the CSV read", trial, c.Name)
			}
			if err := table.Equal(want.Table, got); err != nil {
				t.Fatalf("trial %d: %v", trial, err)
			}
		}
	}
}

func TestAsReadRefusesWhatDoesNotReadBack(t *testing.T) {
	kindOf := func(string) table.Kind { return table.Numeric }
	for name, c := range map[string]*table.Column{
		"infinity":           table.NewNumeric("v", []float64{1, math.Inf(1)}),
		"negative zero":      table.NewNumeric("v", []float64{math.Copysign(0, -1)}),
		"kind of the reader": table.NewCategorical("v", []int32{0}, []string{"a"}), // the reader makes "v" numeric
		"year 10000":         table.NewTime(ColDate, []int64{table.WallClock(10000, 1, 1, 0, 0, 0)}),
	} {
		tb, err := table.New(c)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := AsRead(tb, kindOf); ok {
			t.Errorf("%s: AsRead accepted it", name)
		}
	}
}

// A column as a parse leaves it is shared, not copied.
func TestAsReadSharesColumnsAlreadyAsRead(t *testing.T) {
	tb, err := table.New(table.NewCategorical(ColPrimaryType, []int32{0, 1, 0, table.Missing}, []string{"THEFT", "BATTERY"}))
	if err != nil {
		t.Fatal(err)
	}
	got, ok := AsRead(tb, nil)
	if !ok || got.Columns()[0] != tb.Columns()[0] {
		t.Fatalf("column copied (ok %v)", ok)
	}
}
