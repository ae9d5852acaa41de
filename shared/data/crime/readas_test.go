package crime

import (
	"context"
	"strings"
	"testing"

	"github.com/arrestcast/arrestcast/shared/data/table"
)

// Columns named numeric by the caller are parsed as numbers at once; a
// value that is not one is a reject naming the column, not a silent switch
// of the column to categorical.
func TestReadCSVAsNumeric(t *testing.T) {
	in := "x_freq,arrest\n0.25,true\nabc,false\n1e-3,false\n"
	num := func(string) table.Kind { return table.Numeric }
	res, err := ReadCSVAs(context.Background(), strings.NewReader(in), num)
	if err != nil {
		t.Fatal(err)
	}
	c := res.Table.Col("x_freq")
	if c == nil || c.Kind != table.Numeric || res.Table.Len() != 2 || c.Nums[0] != 0.25 || c.Nums[1] != 0.001 {
		t.Fatalf("table %+v", c)
	}
	if len(res.Rejects) != 1 || res.Rejects[0].Line != 3 || !strings.Contains(res.Rejects[0].Reason, "x_freq") {
		t.Fatalf("rejects %+v", res.Rejects)
	}
	// Without the hint the same column is inferred categorical.
	res, err = ReadCSV(context.Background(), strings.NewReader(in))
	if err != nil || res.Table.Col("x_freq").Kind != table.Categorical {
		t.Fatalf("inferred: %v %v", err, res.Table.Col("x_freq").Kind)
	}
}
