package devstack

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/internal/repo"

	"github.com/robfig/cron/v3"

	"github.com/arrestcast/arrestcast/internal/stackfile"
)

type received struct {
	method, path string
	header       http.Header
	body         []byte
	contentLen   int64
}

func recorder(t *testing.T) (*httptest.Server, chan received) {
	t.Helper()
	got := make(chan received, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- received{r.Method, r.URL.Path, r.Header.Clone(), b, r.ContentLength}
		w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

func assertCronRequest(t *testing.T, r received, wantPath string) {
	t.Helper()
	if r.method != http.MethodPost || r.path != wantPath {
		t.Errorf("%s %s, want POST %s", r.method, r.path, wantPath)
	}
	if len(r.body) != 0 || r.contentLen > 0 {
		t.Errorf("body %q (length %d), want empty", r.body, r.contentLen)
	}
	if r.header.Get("X-Topic") != "cron-function" || r.header.Get("X-Connector") != "cron-connector" {
		t.Errorf("headers %v", r.header)
	}
	if _, ok := r.header["Content-Type"]; ok {
		t.Errorf("Content-Type %q sent, the connector sends none", r.header.Get("Content-Type"))
	}
	if _, ok := r.header["Authorization"]; ok {
		t.Errorf("Authorization sent on an invocation")
	}
}

func TestCronFiresAsTheConnectorThroughTheGateway(t *testing.T) {
	// The function behind a gateway: the tick goes to /function/download.openfaas-fn
	// and the function sees POST / with an empty body and the two headers.
	fn, got := recorder(t)
	g, gw := newTestGateway(t, addrUpstreams(func(string) (string, bool) { return fn.Listener.Addr().String(), true }), "download")
	fired := make(chan int, 4)
	secondly := cron.NewParser(cron.Second | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)
	cr, err := NewCron([]CronJob{{Function: "download", Schedule: "* * * * * *"}}, CronOptions{
		Gateway: gw.URL, Parser: secondly,
		OnFire: func(j CronJob, status int, err error) {
			if err != nil {
				t.Errorf("fire: %v", err)
			}
			select { // it fires every second: never block the scheduler's Stop
			case fired <- status:
			default:
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	cr.Start()
	defer cr.Stop()
	select {
	case r := <-got:
		assertCronRequest(t, r, "/")
	case <-time.After(5 * time.Second):
		t.Fatal("the schedule never fired")
	}
	if s := <-fired; s != 200 {
		t.Errorf("tick answered %d", s)
	}
	if g.InvocationCount("download") < 1 {
		t.Error("the gateway did not count the tick")
	}
}

func TestFireCronRequest(t *testing.T) {
	srv, got := recorder(t)
	status, body, err := FireCron(t.Context(), srv.Client(), srv.URL+"/", "download", Namespace)
	if err != nil || status != 200 || string(body) != "ok" {
		t.Fatalf("%d %q %v", status, body, err)
	}
	assertCronRequest(t, <-got, "/function/download.openfaas-fn")
	if _, _, err := FireCron(t.Context(), srv.Client(), srv.URL, "download", ""); err != nil {
		t.Fatal(err)
	}
	assertCronRequest(t, <-got, "/function/download")
}

func TestCronJobsFromStack(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "stack.yml")
	err := os.WriteFile(path, []byte(`version: 1.0
provider: {name: openfaas}
functions:
  download: {lang: golang-http, handler: ./d, annotations: {topic: cron-function, schedule: "${SCHED:-0 12 1 * *}"}}
  monthly:  {lang: golang-http, handler: ./m, annotations: {topic: cron-function, schedule: "@monthly"}}
  seconds:  {lang: golang-http, handler: ./s, annotations: {topic: cron-function, schedule: "*/5 * * * * *"}}
  other:    {lang: golang-http, handler: ./o, annotations: {topic: "kafka,cron-function", schedule: "@daily"}}
  plain:    {lang: golang-http, handler: ./p}
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f, err := stackfile.Load(path, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := CronJobs(f, nil)
	if err == nil {
		t.Error("a six-field schedule passed the connector's five-field parser")
	}
	want := []CronJob{{"download", "0 12 1 * *"}, {"monthly", "@monthly"}}
	if len(jobs) != len(want) || jobs[0] != want[0] || jobs[1] != want[1] {
		t.Fatalf("jobs %v, want %v", jobs, want)
	}
	// Times are UTC, the connector container's zone: 12:00 UTC on the 1st.
	now := time.Date(2017, 11, 30, 23, 0, 0, 0, time.FixedZone("CST", -6*3600))
	next := NextRuns(jobs, nil, now)
	if got := next["download"]; !got.Equal(time.Date(2017, 12, 1, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("download next %s", got)
	}
	// 23:00 in Chicago on the 30th is already 05:00 UTC on the 1st: @monthly is next in January.
	if got := next["monthly"]; !got.Equal(time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("monthly next %s", got)
	}
}

func TestCronJobsOfTheRepositoryStack(t *testing.T) {
	f, err := stackfile.Load(repo.Path("stack.yml"), func(k string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := CronJobs(f, nil)
	if err != nil || len(jobs) != 1 || jobs[0] != (CronJob{"download", "0 12 1 * *"}) {
		t.Fatalf("jobs %v, err %v", jobs, err)
	}
}
