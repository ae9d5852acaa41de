// Package steptest builds what the step packages' unit tests share: an Env
// over an in-memory store, portal CSV rows, tables put where a step reads
// them.
package steptest

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/internal/storetest"
	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/data/crime"
	"github.com/arrestcast/arrestcast/shared/data/table"
	"github.com/arrestcast/arrestcast/shared/platform/store"
	"github.com/arrestcast/arrestcast/shared/runner"
)

// Date is a run date.
func Date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// MemEnv is an Env over a fresh in-memory store with both buckets, holding
// an (empty) window file for each of windows.
func MemEnv(t testing.TB, windows ...time.Time) (*runner.Env, *storetest.Mem) {
	t.Helper()
	mem := storetest.NewMem(chain.DataBucket, chain.ModelsBucket)
	for _, d := range windows {
		if _, err := store.PutBytes(context.Background(), mem, chain.DataBucket, chain.WindowKey(d), []byte("id\n"), "text/csv"); err != nil {
			t.Fatal(err)
		}
	}
	return &runner.Env{Store: mem, Buckets: chain.DefaultBuckets}, mem
}

// PortalHeader is the portal export's header line.
const PortalHeader = "ID,Case Number,Date,Block,IUCR,Primary Type,Description,Location Description,Arrest,Domestic,Beat,District,Ward,Community Area,FBI Code,X Coordinate,Y Coordinate,Updated On,Latitude,Longitude\n"

// CrimeRow is one portal export record (a theft on State Street).
func CrimeRow(id int, date, updated string, arrest bool) string {
	return strings.Join([]string{
		strconv.Itoa(id), "JA" + strconv.Itoa(id), date, "001XX N STATE ST", "0820", "THEFT", "$500 AND UNDER", "STREET",
		strconv.FormatBool(arrest), "false", "0111", "001", "42", "32", "06", "1176000", "1900000", updated, "41.88", "-87.63",
	}, ",") + "\n"
}

// ReadPortal reads portal export rows (no header) into a table; a reject
// fails the test.
func ReadPortal(t testing.TB, rows string) *table.Table {
	t.Helper()
	res, err := crime.ReadPortalCSV(context.Background(), strings.NewReader(PortalHeader+rows))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rejects) > 0 {
		t.Fatalf("rejects: %+v", res.Rejects)
	}
	return res.Table
}

// PutTable writes tb as the project's CSV under key of the data bucket and
// returns it as an object of role.
func PutTable(t testing.TB, st store.Store, role, key string, tb *table.Table) runner.Ref {
	t.Helper()
	var buf bytes.Buffer
	if err := crime.WriteCSV(context.Background(), &buf, tb); err != nil {
		t.Fatal(err)
	}
	return Put(t, st, role, key, buf.Bytes())
}

// Put writes data under key of the data bucket and returns it as an object
// of role.
func Put(t testing.TB, st store.Store, role, key string, data []byte) runner.Ref {
	t.Helper()
	obj, err := store.PutBytes(context.Background(), st, chain.DataBucket, key, data, "application/octet-stream")
	if err != nil {
		t.Fatal(err)
	}
	return runner.Ref{Role: role, Ref: obj.Ref()}
}
