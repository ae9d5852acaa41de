package train

import (
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/shared/data/table"
)

func TestUnseenRows(t *testing.T) {
	since := time.Date(2017, 12, 1, 0, 0, 0, 0, time.UTC)
	n := 2000
	dates := make([]int64, n)
	y := make([]uint8, n)
	for i := range dates {
		dates[i] = table.WallSeconds(since.Add(time.Duration(i-1000) * time.Hour))
		y[i] = uint8(i % 5 / 4)
	}
	tb, err := table.New(table.NewTime("date", dates))
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := UnseenRows(tb, y, since)
	if len(rows) != 1000 || rows[0] != 1000 {
		t.Fatalf("got %d rows from %d, want the 1000 dated from the champion's run date", len(rows), rows[0])
	}
	// Too few unseen rows: compare on all of them.
	rows, what := UnseenRows(tb, y, since.Add(900*time.Hour))
	if len(rows) != n {
		t.Fatalf("%d rows (%s), want all %d", len(rows), what, n)
	}
}
