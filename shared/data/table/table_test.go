package table

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

func sample(t *testing.T) *Table {
	t.Helper()
	b := NewCatBuilder()
	for _, s := range []string{"a", "b", "", "a"} {
		b.Add(s)
	}
	tb, err := New(
		NewNumeric("x", []float64{1, math.NaN(), 3, 4}),
		b.Column("c"),
		NewBool("ok", []int8{1, 0, Missing, 1}),
		NewTime("at", []int64{0, 86400, NoTime, WallClock(2017, 1, 2, 15, 4, 5)}),
	)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

func TestNewRejectsBadColumns(t *testing.T) {
	if _, err := New(NewNumeric("x", []float64{1}), NewNumeric("x", []float64{2})); err == nil {
		t.Error("duplicate name accepted")
	}
	if _, err := New(NewNumeric("x", []float64{1}), NewNumeric("y", []float64{1, 2})); err == nil {
		t.Error("unequal lengths accepted")
	}
	if _, err := New(NewCategorical("c", []int32{2}, []string{"a"})); err == nil {
		t.Error("code outside dictionary accepted")
	}
}

func TestCatBuilder(t *testing.T) {
	b := NewCatBuilder("Winter", "Spring", "Winter", "")
	b.Add("Spring")
	b.AddBytes([]byte("Autumn"))
	b.AddBytes(nil)
	b.Add("Winter")
	c := b.Column("season")
	if !slices.Equal(c.Dict, []string{"Winter", "Spring", "Autumn"}) {
		t.Fatalf("dict %q", c.Dict)
	}
	if !slices.Equal(c.Codes, []int32{1, 2, Missing, 0}) {
		t.Fatalf("codes %v", c.Codes)
	}
	if c.Str(1) != "Autumn" || c.Str(2) != "" || !c.IsMissing(2) {
		t.Fatal("Str/IsMissing")
	}
}

func TestCodeBytesDoesNotAllocateForKnownString(t *testing.T) {
	b := NewCatBuilder("THEFT")
	key := []byte("THEFT")
	if n := testing.AllocsPerRun(100, func() { b.CodeBytes(key) }); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}

func TestSelectFilterKeep(t *testing.T) {
	tb := sample(t)
	s := tb.Select([]int{3, 0, 0})
	if s.Len() != 3 || s.Col("x").Nums[0] != 4 || s.Col("c").Str(1) != "a" || s.Col("ok").Bools[0] != 1 {
		t.Fatalf("select wrong: %v", s.Col("x").Nums)
	}
	if &s.Col("c").Dict[0] != &tb.Col("c").Dict[0] {
		t.Error("select must share the dictionary")
	}
	f := tb.Filter(func(i int) bool { return !tb.Col("x").IsMissing(i) })
	if !slices.Equal(f.Col("x").Nums, []float64{1, 3, 4}) || f.Col("at").Times[1] != NoTime {
		t.Fatalf("filter wrong: %v", f.Col("x").Nums)
	}
	k, err := tb.Keep("ok", "x")
	if err != nil || !slices.Equal(k.Names(), []string{"ok", "x"}) || k.Len() != 4 {
		t.Fatalf("keep: %v %v", k, err)
	}
	if _, err := tb.Keep("nope"); err == nil {
		t.Error("keep of an absent column accepted")
	}
}

func TestSetDropRenameLookup(t *testing.T) {
	tb := sample(t)
	other, _ := tb.Keep("x")
	if err := tb.Rename("x", "y"); err != nil {
		t.Fatal(err)
	}
	if other.Col("x") == nil {
		t.Error("rename leaked into a table sharing the column")
	}
	if err := tb.Rename("y", "c"); err == nil {
		t.Error("rename onto an existing name accepted")
	}
	if err := tb.Set(NewNumeric("z", []float64{1})); err == nil {
		t.Error("set with wrong length accepted")
	}
	if err := tb.Set(NewNumeric("c", []float64{9, 9, 9, 9})); err != nil {
		t.Fatal(err)
	}
	if _, err := tb.Lookup("c", Numeric); err != nil {
		t.Fatal(err)
	}
	if _, err := tb.Lookup("c", Categorical); err == nil || !strings.Contains(err.Error(), "is numeric") {
		t.Errorf("lookup kind error: %v", err)
	}
	tb.Drop("c", "absent")
	if !slices.Equal(tb.Names(), []string{"y", "ok", "at"}) {
		t.Fatalf("names %v", tb.Names())
	}
}

func TestConcatMergesDictionaries(t *testing.T) {
	a := sample(t)
	b2 := NewCatBuilder()
	for _, s := range []string{"z", "a", ""} {
		b2.Add(s)
	}
	b, err := New(
		NewNumeric("x", []float64{5, 6, 7}),
		b2.Column("c"),
		NewBool("ok", []int8{0, 0, 1}),
		NewTime("at", []int64{1, 2, 3}),
	)
	if err != nil {
		t.Fatal(err)
	}
	sub := a.Select([]int{1}) // shares a's dictionary: fast path
	c, err := Concat(a, b, sub)
	if err != nil {
		t.Fatal(err)
	}
	col := c.Col("c")
	if !slices.Equal(col.Dict, []string{"a", "b", "z"}) {
		t.Fatalf("dict %q", col.Dict)
	}
	var got []string
	for i := range c.Len() {
		got = append(got, col.Str(i))
	}
	if !slices.Equal(got, []string{"a", "b", "", "a", "z", "a", "", "b"}) {
		t.Fatalf("values %q", got)
	}
	if len(a.Col("c").Dict) != 2 {
		t.Error("concat modified the input dictionary")
	}
	if _, err := Concat(a, b.Select(nil), mustKeep(t, b, "c", "x", "ok", "at")); err == nil {
		t.Error("concat of a different column order accepted")
	}
}

func mustKeep(t *testing.T, tb *Table, names ...string) *Table {
	k, err := tb.Keep(names...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestEqual(t *testing.T) {
	a, b := sample(t), sample(t)
	if err := Equal(a, b); err != nil {
		t.Fatal(err)
	}
	b.Col("at").Times[1]++
	if err := Equal(a, b); err == nil || !strings.Contains(err.Error(), `"at" row 1`) {
		t.Fatalf("got %v", err)
	}
}

func TestWallClock(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2017, 1, 2, 15, 4, 5, 0, time.UTC),
		time.Date(2016, 2, 29, 23, 59, 59, 0, time.UTC),
		time.Date(2000, 3, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1900, 12, 31, 12, 0, 0, 0, time.UTC),
		time.Date(2100, 7, 4, 1, 2, 3, 0, time.UTC),
	} {
		s := WallClock(tm.Year(), int(tm.Month()), tm.Day(), tm.Hour(), tm.Minute(), tm.Second())
		if s != tm.Unix() || !Wall(s).Equal(tm) {
			t.Errorf("%v: %d want %d", tm, s, tm.Unix())
		}
	}
	chicago := time.FixedZone("CST", -6*3600)
	if s := WallSeconds(time.Date(2017, 1, 2, 15, 4, 5, 0, chicago)); Wall(s).Hour() != 15 {
		t.Errorf("WallSeconds must keep the wall clock, got %v", Wall(s))
	}
}

func TestTextColumn(t *testing.T) {
	a, err := New(NewText("case", []string{"JA1", "", "JA3"}), NewNumeric("n", []float64{1, 2, 3}))
	if err != nil {
		t.Fatal(err)
	}
	c := a.Col("case")
	if c.Kind != Text || c.Len() != 3 || c.Str(0) != "JA1" || !c.IsMissing(1) || c.IsMissing(2) {
		t.Fatal("text column basics")
	}
	s := a.Select([]int{2, 0})
	if s.Col("case").Str(0) != "JA3" || s.Col("case").Str(1) != "JA1" {
		t.Fatal("select")
	}
	cc, err := Concat(a, s)
	if err != nil || cc.Len() != 5 || cc.Col("case").Str(3) != "JA3" {
		t.Fatal("concat", err)
	}
	if err := Equal(a, cc); err == nil {
		t.Fatal("different tables equal")
	}
	b, _ := New(NewText("case", []string{"JA1", "", "JA4"}), NewNumeric("n", []float64{1, 2, 3}))
	if err := Equal(a, b); err == nil || !strings.Contains(err.Error(), `"JA3" vs "JA4"`) {
		t.Fatalf("equal: %v", err)
	}
}

// withText is sample plus a text column: every kind.
func withText(t *testing.T) *Table {
	t.Helper()
	tb := sample(t)
	if err := tb.Set(NewText("case", []string{"JA1", "", "JA3", "JA4"})); err != nil {
		t.Fatal(err)
	}
	return tb
}

func TestCompactIsSelectInPlace(t *testing.T) {
	for _, rows := range [][]int{{0, 1, 2, 3}, {1, 3}, {0}, {3}, {}, {0, 2, 3}} {
		want := withText(t).Select(rows)
		tb := withText(t)
		x := tb.Col("x").Nums
		if err := tb.Compact(rows); err != nil {
			t.Fatal(rows, err)
		}
		if err := Equal(want, tb); err != nil {
			t.Errorf("compact %v: %v", rows, err)
		}
		if tb.Len() != len(rows) || (len(rows) > 0 && &tb.Col("x").Nums[0] != &x[0]) {
			t.Errorf("compact %v copied or miscounted", rows)
		}
	}
	for _, bad := range [][]int{{1, 1}, {2, 1}, {-1}, {4}} {
		tb := withText(t)
		if err := tb.Compact(bad); err == nil {
			t.Errorf("rows %v accepted", bad)
		}
		if err := Equal(withText(t), tb); err != nil {
			t.Errorf("refused rows %v changed the table: %v", bad, err)
		}
	}
}

func TestSliceSharesAndIsolatesAppends(t *testing.T) {
	tb := withText(t)
	s := tb.Slice(1, 3)
	if err := Equal(tb.Select([]int{1, 2}), s); err != nil {
		t.Fatal(err)
	}
	if &s.Col("x").Nums[0] != &tb.Col("x").Nums[1] {
		t.Error("slice copied")
	}
	// An append to the slice's column must not write row 3 of the parent.
	_ = append(s.Col("x").Nums, 99)
	if tb.Col("x").Nums[3] != 4 {
		t.Error("append through a slice wrote into the parent")
	}
	if tb.Slice(4, 4).Len() != 0 {
		t.Error("empty slice")
	}
	defer func() {
		if recover() == nil {
			t.Error("slice out of range did not panic")
		}
	}()
	tb.Slice(2, 5)
}

func TestCloneSharesNoData(t *testing.T) {
	tb := withText(t)
	c := tb.Clone()
	if err := Equal(tb, c); err != nil {
		t.Fatal(err)
	}
	c.Col("x").Nums[0], c.Col("c").Codes[0], c.Col("ok").Bools[0], c.Col("at").Times[0], c.Col("case").Strs[0] = 9, 1, 0, 1, "x"
	if err := Equal(withText(t), tb); err != nil {
		t.Errorf("writing the clone changed the original: %v", err)
	}
}

func TestReorderIsSelectInPlace(t *testing.T) {
	for _, rows := range [][]int{{0, 1, 2, 3}, {3, 2, 1, 0}, {2, 0}, {1}, {}, {3, 0, 2}, {1, 2, 3, 0}} {
		want := withText(t).Select(rows)
		tb := withText(t)
		if err := tb.Reorder(rows); err != nil {
			t.Fatal(rows, err)
		}
		if err := Equal(want, tb); err != nil {
			t.Errorf("reorder %v: %v", rows, err)
		}
	}
	// A bigger random case: every cycle shape.
	n := 1000
	x := make([]float64, n)
	for i := range x {
		x[i] = float64(i)
	}
	big, _ := New(NewNumeric("x", x))
	rows := rand.Perm(n)[:700]
	want := big.Select(rows)
	if err := big.Reorder(rows); err != nil || Equal(want, big) != nil {
		t.Fatalf("random reorder: %v", err)
	}
	for _, bad := range [][]int{{1, 1}, {-1}, {4}} {
		tb := withText(t)
		if err := tb.Reorder(bad); err == nil {
			t.Errorf("rows %v accepted", bad)
		}
		if err := Equal(withText(t), tb); err != nil {
			t.Errorf("refused rows %v changed the table: %v", bad, err)
		}
	}
}
