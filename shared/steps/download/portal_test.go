package download

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/internal/repo"

	"github.com/arrestcast/arrestcast/internal/standin"
	"github.com/arrestcast/arrestcast/shared/data/table"
	"github.com/arrestcast/arrestcast/shared/platform/socrata"
)

// The portal source reads the API's CSV (the default) and its JSON into the
// same table and the same stations.
func TestPortalSourceCSVIsJSON(t *testing.T) {
	f, err := os.Open(repo.Path(repo.Crimes2017))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var head bytes.Buffer // the first 12,000 lines of the real export
	sc := bufio.NewScanner(zr)
	for n := 0; n < 12_000 && sc.Scan(); n++ {
		head.Write(sc.Bytes())
		head.WriteByte('\n')
	}
	stations, err := os.ReadFile(repo.Path(repo.Stations))
	if err != nil {
		t.Fatal(err)
	}
	data, err := standin.LoadReaders(&head, bytes.NewReader(stations))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := standin.New(data, standin.Options{})
	if err != nil {
		t.Fatal(err)
	}
	portal := httptest.NewServer(srv)
	defer portal.Close()
	ctx := context.Background()
	from, to := time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC)
	get := func(format socrata.Format) (*table.Table, int, int) {
		c, err := socrata.New(socrata.Config{BaseURL: portal.URL, Format: format, PageSize: 5000})
		if err != nil {
			t.Fatal(err)
		}
		src := &PortalSource{Client: c}
		res, err := src.Crimes(ctx, from, to)
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		st, err := src.Stations(ctx)
		if err != nil {
			t.Fatalf("%s stations: %v", format, err)
		}
		return res.Table, len(res.Rejects), len(st)
	}
	csvT, csvRej, csvSt := get(socrata.FormatCSV)
	jsonT, jsonRej, jsonSt := get(socrata.FormatJSON)
	if csvT.Len() < 11_000 {
		t.Fatalf("only %d rows over the API", csvT.Len())
	}
	if err := table.Equal(csvT, jsonT); err != nil {
		t.Fatalf("CSV and JSON differ: %v", err)
	}
	if csvRej != jsonRej || csvSt != jsonSt || csvSt < 20 {
		t.Fatalf("rejects %d/%d, stations %d/%d", csvRej, jsonRej, csvSt, jsonSt)
	}
}

// A portal export reads the same plain or gzipped; gzip's trailer gives the
// uncompressed size.
