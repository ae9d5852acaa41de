package devstack

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/internal/repo"
	"github.com/arrestcast/arrestcast/shared/chain"
)

func TestPlanDemo(t *testing.T) {
	p, err := PlanDemo(repo.Path(repo.Crimes2017))
	if err != nil {
		t.Fatal(err)
	}
	if p.Month.String() != "2017-12" || chain.Day(p.First) != DemoFirstRun || chain.Day(p.Second) != DemoSecondRun || p.Rows < 260000 {
		t.Errorf("bundled year: %+v", p)
	}
	// Any years, plain or gzipped; an export that stops mid-month leaves that month out.
	dir := t.TempDir()
	csv := "ID,Case Number,Date,Arrest\n1,A,06/30/2016 11:00:00 PM,true\n2,B,01/15/2018 08:00:00 AM,false\n3,C,03/10/2018 01:00:00 PM,false\n"
	plain := filepath.Join(dir, "export.csv")
	if err := os.WriteFile(plain, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(csv))
	zw.Close()
	zipped := filepath.Join(dir, "export.csv.gz")
	if err := os.WriteFile(zipped, gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{plain, zipped} {
		p, err := PlanDemo(path)
		if err != nil || p.Month.String() != "2018-02" || chain.Day(p.First) != "2018-02-01" || chain.Day(p.Second) != "2018-03-01" || p.Rows != 3 {
			t.Errorf("%s: %+v %v", filepath.Base(path), p, err)
		}
	}
	one := filepath.Join(dir, "one.csv")
	os.WriteFile(one, []byte("ID,Date\n1,03/31/2018 01:00:00 PM\n"), 0o644)
	if _, err := PlanDemo(one); err == nil || !strings.Contains(err.Error(), "needs a month before") {
		t.Errorf("one month: %v", err)
	}
	nodate := filepath.Join(dir, "nodate.csv")
	os.WriteFile(nodate, []byte("ID,When\n1,x\n"), 0o644)
	if _, err := PlanDemo(nodate); err == nil || !strings.Contains(err.Error(), "no Date column") {
		t.Errorf("no date column: %v", err)
	}
}

// The demo waits for the monitor's report while it is not there yet, then
// prints its verdict; a monitor that is not deployed is only noted.
func TestWaitMonitor(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/function/monitor" || r.URL.Query().Get("month") != "2017-12" {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		if calls.Add(1) < 2 {
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"error":"no report on 2017-12","field":"month"}`))
			return
		}
		w.Write([]byte(`{"step":"monitor","report":{"month":"2017-12","verdict":"alert","volume":20996,"model":{"version":1},
			"test_roc_auc":0.912,"realized":{"roc_auc":0.897},"drifted_share":0.1,"worst_field":"primary_type",
			"alerts":[{"kind":"drift","message":"1 of 22 fields drifted: primary_type"}]}}`))
	}))
	defer srv.Close()
	cl := &Client{Gateway: srv.URL, Token: "tok", HTTP: &http.Client{Timeout: 5 * time.Second}}
	var out bytes.Buffer
	m, _ := chain.ParseMonth("2017-12")
	rep := waitMonitor(t.Context(), cl, DemoOptions{MonitorWait: 10 * time.Second}, &out, m)
	if rep == nil || !strings.Contains(out.String(), "monitor 2017-12: ALERT (model v1, 20996 records, ROC-AUC 0.8970 on the month vs 0.9120 on its test set") ||
		!strings.Contains(out.String(), "drift: 1 of 22 fields drifted") {
		t.Errorf("output:\n%s", out.String())
	}
	out.Reset()
	m2, _ := chain.ParseMonth("2016-01")
	if rep := waitMonitor(t.Context(), cl, DemoOptions{MonitorWait: 10 * time.Second}, &out, m2); rep != nil || !strings.Contains(out.String(), "monitor answered 404") {
		t.Errorf("monitor not deployed: %s", out.String())
	}
}
