package filesource

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/internal/steptest"
	"github.com/arrestcast/arrestcast/shared/data/table"
)

func TestReadPortalFilePlainAndGzip(t *testing.T) {
	csv := steptest.PortalHeader + steptest.CrimeRow(1, "01/05/2017 10:00:00 AM", "", true) + steptest.CrimeRow(2, "01/06/2017 10:00:00 AM", "", false)
	dir := t.TempDir()
	plain, gz := dir+"/c.csv", dir+"/c.csv.gz"
	if err := os.WriteFile(plain, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(csv))
	zw.Close()
	if err := os.WriteFile(gz, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := readPortalFile(context.Background(), plain)
	if err != nil {
		t.Fatal(err)
	}
	b, err := readPortalFile(context.Background(), gz)
	if err != nil {
		t.Fatal(err)
	}
	if a.Table.Len() != 2 || len(a.Rejects) != 0 {
		t.Fatalf("plain: %d rows, rejects %v", a.Table.Len(), a.Rejects)
	}
	if err := table.Equal(a.Table, b.Table); err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(gz)
	defer f.Close()
	if got := gzipSize(f, int64(buf.Len())); got != int64(len(csv)) {
		t.Errorf("gzip size %d, want %d", got, len(csv))
	}
	if got := gzipSize(f, 10); got != 0 {
		t.Errorf("size of a 10-byte file: %d", got)
	}
}

// Source gives each month exactly its rows, whether the export holds a
// month in one run of rows (shared with the loaded table) or scattered.
func TestFileSourceMonths(t *testing.T) {
	head := "ID,Case Number,Date,Block,IUCR,Primary Type,Description,Location Description,Arrest,Domestic,Beat,District,Ward,Community Area,FBI Code,X Coordinate,Y Coordinate,Updated On,Latitude,Longitude\n"
	row := func(id int, date string) string {
		return fmt.Sprintf("%d,JA%d,%s,001XX N STATE ST,0486,BATTERY,DOMESTIC BATTERY SIMPLE,STREET,false,true,0111,001,42,32,08B,1176000,1900000,02/10/2018 03:50:01 PM,41.88,-87.63\n", id, id, date)
	}
	jan, feb := "01/15/2017 10:00:00 AM", "02/15/2017 10:00:00 AM"
	for name, dates := range map[string][]string{
		"sorted":    {jan, jan, feb, feb, feb},
		"scattered": {feb, jan, feb, jan, feb},
	} {
		path := filepath.Join(t.TempDir(), "crimes.csv")
		body := head
		for i, d := range dates {
			body += row(i+1, d)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		src := &Source{CrimesPath: path}
		ctx := context.Background()
		for _, m := range []struct {
			from time.Time
			want []float64
		}{
			{time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC), nil},
			{time.Date(2017, 2, 1, 0, 0, 0, 0, time.UTC), nil},
			{time.Date(2017, 3, 1, 0, 0, 0, 0, time.UTC), nil},
		} {
			for i, d := range dates {
				if d[:2] == fmt.Sprintf("%02d", m.from.Month()) {
					m.want = append(m.want, float64(i+1))
				}
			}
			res, err := src.Crimes(ctx, m.from, m.from.AddDate(0, 1, 0))
			if err != nil {
				t.Fatal(name, err)
			}
			ids := res.Table.Col("id").Nums
			if len(ids) != len(m.want) || (len(ids) > 0 && !slices.Equal(ids, m.want)) {
				t.Errorf("%s, %s: ids %v, want %v", name, m.from.Format("2006-01"), ids, m.want)
			}
			if err := res.Table.Set(table.NewNumeric("id", append(ids, 0)[:len(ids)])); err != nil {
				t.Fatal(err)
			}
		}
		// The appends above must not have reached the loaded table.
		if got := src.loaded.Table.Col("id").Nums; !slices.Equal(got, []float64{1, 2, 3, 4, 5}) {
			t.Errorf("%s: loaded ids changed to %v", name, got)
		}
	}
}
