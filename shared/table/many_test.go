package table

import (
	"strconv"
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
