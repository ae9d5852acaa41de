package table

import (
	"strconv"
	"strings"
	"testing"
)

func TestManyCodes(t *testing.T) {
	b := NewCatBuilder()
	for i := range 100000 {
		b.Add(strconv.Itoa(i % 50000))
	}
	c := b.Column("x")
	if len(c.Dict) != 50000 {
		t.Fatal(len(c.Dict))
	}
	for i, k := range c.Codes {
		if c.Dict[k] != strconv.Itoa(i%50000) {
			t.Fatal(i)
		}
	}
}

// Strings that differ only in length, trailing NUL bytes, or past the 7
// bytes kept in a slot must get different codes; equal ones the same.
func TestCodesOfLookalikeStrings(t *testing.T) {
	var vals []string
	for n := 1; n <= 20; n++ {
		vals = append(vals, strings.Repeat("a", n), strings.Repeat("a", n-1)+"\x00", strings.Repeat("\x00", n),
			strings.Repeat("a", n-1)+"b", "b"+strings.Repeat("a", n-1))
	}
	b := NewCatBuilder()
	want := map[string]int32{}
	for round := range 3 {
		for _, v := range vals {
			k := b.Code(v)
			if w, ok := want[v]; ok && w != k {
				t.Fatalf("round %d: %q got code %d, had %d", round, v, k, w)
			}
			want[v] = k
			if b.Dict()[k] != v {
				t.Fatalf("%q has code %d for %q", v, k, b.Dict()[k])
			}
		}
	}
	if len(b.Dict()) != len(want) {
		t.Fatalf("%d dictionary entries for %d strings", len(b.Dict()), len(want))
	}
}
