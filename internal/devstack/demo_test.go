package devstack

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/internal/repo"
	"github.com/arrestcast/arrestcast/shared/platform/runs"
)

// fakePipeline plays the functions' side of the HTTP contracts the demo
// relies on, and the run-tracking tables: a download call starts a run whose
// steps finish one per status poll; train's success registers a model.
type fakePipeline struct {
	t        *testing.T
	mu       sync.Mutex
	runs     []Run // newest first
	version  int
	calls    []string
	predicts []map[string]any
	trainLog string
}

func (p *fakePipeline) Status(ctx context.Context, limit int) ([]Run, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range p.runs {
		r := &p.runs[i]
		if len(r.Steps) > 0 && r.Steps[len(r.Steps)-1].Step == "train" {
			continue
		}
		names := []string{"download", "merge", "enrich", "split", "outliers", "encode", "scale", "balance", "features", "train"}
		step := names[len(r.Steps)]
		r.Steps = append(r.Steps, StepRun{Step: step, Status: "done", RowsIn: 1000, RowsOut: 900, Seconds: 1.5, Attempts: 1})
		if step == "train" {
			r.Status = "done"
			p.version++
			f, _ := os.OpenFile(p.trainLog, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
			if p.version == 2 {
				f.WriteString(`{"time":"x","level":"INFO","msg":"challenger promoted","champion":"1","challenger":"2","auc":0.9}` + "\n")
			}
			f.WriteString(`{"time":"x","level":"INFO","msg":"unrelated line"}` + "\n")
			f.Close()
		}
	}
	return append([]Run(nil), p.runs...), nil
}

func (p *fakePipeline) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	fn := r.Header.Get("X-Test-Function") // set by the test's upstream routing below
	p.calls = append(p.calls, r.Method+" "+fn+" "+string(body))
	if fn != "predict" || r.Method == http.MethodPost && fn != "predict" {
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
	}
	switch {
	case fn == "setup":
		w.Write([]byte(`{"buckets":["data","models"]}`))
	case fn == "download":
		var m map[string]string
		if err := json.Unmarshal(body, &m); err != nil || m["as_of"] == "" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		p.runs = append([]Run{{RunDate: m["as_of"], Status: "running"}}, p.runs...)
		w.Write([]byte(`{"months":["2017-11"]}`))
	case fn == "predict" && r.Method == http.MethodGet:
		if p.version == 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"error":"no champion yet"}`))
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"version": p.version, "trained_at": "2017-12-01", "metrics": map[string]float64{"roc_auc": 0.89}, "features": []string{"iucr"}})
	case fn == "predict":
		var rec map[string]any
		if err := json.Unmarshal(body, &rec); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		p.predicts = append(p.predicts, rec)
		json.NewEncoder(w).Encode(map[string]any{"probability": 0.25, "prediction": false, "model_version": p.version})
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

func TestRunDemoAgainstTheHTTPContracts(t *testing.T) {
	dir := t.TempDir()
	p := &fakePipeline{t: t, trainLog: filepath.Join(dir, "train.log")}
	fnSrv := httptest.NewServer(p)
	defer fnSrv.Close()
	// Every function is the fake, behind the real gateway; the path tells which.
	names := []string{"setup", "download", "predict"}
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Header.Set("X-Test-Function", strings.Trim(r.URL.Path, "/"))
		r.URL.Path = "/"
		p.ServeHTTP(w, r)
	}))
	defer proxy.Close()
	_ = fnSrv
	up := addrUpstreams(func(name string) (string, bool) { return strings.TrimPrefix(proxy.URL, "http://"), true })
	g := NewGateway(GatewayOptions{Functions: infos(names...), Upstreams: up, User: "admin", Password: "x"})
	defer g.Close()
	// The gateway forwards /function/<name>/<path>; route by rewriting to /<name>.
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if name, ok := strings.CutPrefix(r.URL.Path, "/function/"); ok && !strings.Contains(name, "/") {
			r.URL.Path = "/function/" + name + "/" + name
		}
		g.ServeHTTP(w, r)
	}))
	defer gw.Close()

	var out bytes.Buffer
	cl := &Client{Gateway: gw.URL, Token: "tok", HTTP: &http.Client{Timeout: 10 * time.Second}}
	sum, err := RunDemo(t.Context(), cl, DemoOptions{Out: &out, Runs: p, Poll: 10 * time.Millisecond, RunWait: 20 * time.Second},
		DemoFiles{TrainLog: p.trainLog, Crimes: repo.Path(repo.Crimes2017), Summary: filepath.Join(dir, "summary.json")})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	text := out.String()
	for _, want := range []string{
		"setup answered 200", "download answered 200",
		"merge     done    rows      1000 -> 900", "train     done",
		"champion registered: version 1",
		"decision: the challenger beat the champion and was promoted: 1 -> 2",
		"train: challenger promoted auc=0.9 challenger=2 champion=1",
		"P(arrest) = 0.250; truth: arrest", "truth: no arrest",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "unrelated line") {
		t.Error("train's unrelated lines shown as decision lines")
	}
	// The two download calls carry the run dates; setup went first.
	var order []string
	for _, c := range p.calls {
		if strings.HasPrefix(c, "POST setup") || strings.HasPrefix(c, "POST download") {
			order = append(order, c)
		}
	}
	if len(order) != 3 || order[0] != "POST setup " || order[1] != `POST download {"as_of":"2017-12-01"}` || order[2] != `POST download {"as_of":"2018-01-01"}` {
		t.Errorf("calls %q", order)
	}
	// Predictions: the portal's JSON form of real December 2017 records, without the answer.
	if len(p.predicts) != 3 {
		t.Fatalf("%d predictions", len(p.predicts))
	}
	for _, rec := range p.predicts {
		if _, leaked := rec["arrest"]; leaked {
			t.Errorf("the true outcome was sent: %v", rec)
		}
		if _, ok := rec["domestic"].(bool); !ok {
			t.Errorf("domestic not a JSON boolean: %v", rec)
		}
		if d, _ := rec["date"].(string); !strings.HasPrefix(d, "2017-12-") || len(d) != len("2017-12-01T00:00:00.000") {
			t.Errorf("date %v", rec["date"])
		}
		if x, _ := rec["x_coordinate"].(string); x == "" {
			t.Errorf("x_coordinate %v", rec["x_coordinate"])
		}
		if dist, _ := rec["district"].(string); len(dist) != 3 {
			t.Errorf("district %q lost its zero padding", dist)
		}
	}
	if sum.Predictions[0].Arrested != true || sum.Predictions[1].Arrested != false || *sum.Predictions[0].Probability != 0.25 {
		t.Errorf("predictions %+v", sum.Predictions)
	}
	var written DemoSummary
	b, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	if err != nil || json.Unmarshal(b, &written) != nil || len(written.Runs) != 2 || len(written.Runs[0].Steps) != 10 || !written.Decision.Promoted {
		t.Errorf("summary.json: %v %s", err, b)
	}
}

func TestRunDemoStopsOnAFailedStep(t *testing.T) {
	runs := runStatusFunc(func(ctx context.Context, limit int) ([]Run, error) {
		return []Run{{RunDate: DemoFirstRun, Status: "failed", Steps: []StepRun{
			{Step: "download", Status: "done"}, {Step: "merge", Status: "failed", Attempts: 1, Permanent: true, Error: "boom"}}}}, nil
	})
	var out bytes.Buffer
	_, err := waitRun(t.Context(), DemoOptions{Runs: runs, Poll: time.Millisecond, RunWait: 5 * time.Second}, &out, DemoFirstRun)
	if err == nil || !strings.Contains(err.Error(), "step merge of run 2017-12-01 failed permanently: boom") {
		t.Errorf("err %v", err)
	}
}

type runStatusFunc func(ctx context.Context, limit int) ([]Run, error)

func (f runStatusFunc) Status(ctx context.Context, limit int) ([]Run, error) { return f(ctx, limit) }

func infos(names ...string) []FunctionInfo {
	var out []FunctionInfo
	for _, n := range names {
		out = append(out, FunctionInfo{Name: n})
	}
	return out
}

func TestDemoRecordsAreRealDecemberRecords(t *testing.T) {
	recs, err := DemoRecords(repo.Path(repo.Crimes2017))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 || !recs[0].Arrested || recs[0].Fields["primary_type"] != "NARCOTICS" || recs[1].Arrested ||
		recs[1].Fields["primary_type"] != "THEFT" || recs[2].Fields["domestic"] != true || recs[2].Fields["primary_type"] != "BATTERY" {
		t.Fatalf("records %+v", recs)
	}
	for _, r := range recs {
		for _, k := range []string{"id", "case_number", "date", "iucr", "primary_type", "location_description", "beat", "district", "fbi_code", "x_coordinate", "y_coordinate", "year"} {
			if _, ok := r.Fields[k]; !ok {
				t.Errorf("record lacks %s: %v", k, r.Fields)
			}
		}
		if r.Fields["year"] != "2017" {
			t.Errorf("year %v", r.Fields["year"])
		}
	}
}

func TestModelVersionAndProbability(t *testing.T) {
	for doc, want := range map[string]string{
		`{"version":3}`: "3", `{"model":{"version":"v7"}}`: "v7", `{"champion":{"model_version":"9"}}`: "9", `{}`: "",
	} {
		if got := modelVersion(json.RawMessage(doc)); got != want {
			t.Errorf("%s: %q, want %q", doc, got, want)
		}
	}
	for doc, want := range map[string]float64{
		`{"probability":0.4}`: 0.4, `{"predictions":[{"probability":0.6}]}`: 0.6, `[{"arrest_probability":0.1}]`: 0.1,
	} {
		if got := findProbability([]byte(doc)); got == nil || *got != want {
			t.Errorf("%s: %v", doc, got)
		}
	}
}

func TestWipeDataKeepsBin(t *testing.T) {
	c := &Config{Dev: t.TempDir()}
	for _, p := range []string{"bin/devstack", "pg/data/x", "minio/data/y", "stack.json", "logs/a.log"} {
		write(t, c.Path(p), "x")
	}
	if !dirty(c) {
		t.Error("not dirty")
	}
	if err := WipeData(c); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(c.Dev)
	if len(entries) != 1 || entries[0].Name() != "bin" || dirty(c) {
		t.Errorf("left %v", entries)
	}
}

func TestRunDemoGoesAsFarAsTheChainIsDeployed(t *testing.T) {
	dir := t.TempDir()
	p := &fakePipeline{t: t, trainLog: filepath.Join(dir, "train.log")}
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Header.Set("X-Test-Function", strings.TrimPrefix(r.URL.Path, "/function/"))
		p.ServeHTTP(w, r)
	}))
	defer proxy.Close()
	var out bytes.Buffer
	cl := &Client{Gateway: proxy.URL, Token: "tok", HTTP: &http.Client{Timeout: 10 * time.Second}}
	_, err := RunDemo(t.Context(), cl, DemoOptions{Out: &out, Runs: p, Poll: time.Millisecond, RunWait: 10 * time.Second, Until: "enrich"},
		DemoFiles{TrainLog: p.trainLog, Crimes: repo.Path(repo.Crimes2017), Summary: filepath.Join(dir, "s.json")})
	if err == nil || !strings.Contains(err.Error(), "the first run reached enrich") {
		t.Fatalf("err %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "enrich    done") || strings.Contains(out.String(), "== Next monthly run") {
		t.Errorf("output:\n%s", out.String())
	}
}

// TestRunStoppedOnTheTrackersStatuses: the demo gives up on a run the
// tracker calls stalled or whose step failed for good, naming run and step;
// a running run, or one whose transient failure MinIO is about to redeliver, goes on.
func TestRunStoppedOnTheTrackersStatuses(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	done := StepRun{Step: "download", Status: string(runs.Done), Finished: now.Add(-time.Hour)}
	for _, c := range []struct {
		name string
		run  Run
		want string // "" : keep waiting
	}{
		{"running", Run{Status: string(runs.Running), Steps: []StepRun{done, {Step: "merge", Status: string(runs.Running)}}}, ""},
		{"stalled", Run{Status: string(runs.Stalled), StoppedAt: "merge", Reason: "no step has run since download finished",
			Steps: []StepRun{done}}, "run 2017-12-01 stalled: step merge never started: no step has run since download finished (make status, make logs FN=merge)"},
		{"permanent", Run{Status: string(runs.Failed), StoppedAt: "enrich", Steps: []StepRun{done,
			{Step: "enrich", Status: string(runs.Failed), Permanent: true, Attempts: 1, Error: "bad input", Finished: now}}},
			"step enrich of run 2017-12-01 failed permanently: bad input (make logs FN=enrich)"},
		{"fifth attempt", Run{Status: string(runs.Running), Steps: []StepRun{done,
			{Step: "enrich", Status: string(runs.Failed), Attempts: 5, Error: "timeout", Finished: now}}},
			"step enrich of run 2017-12-01 failed 5 times: timeout"},
		{"transient, redelivery due", Run{Status: string(runs.Failed), Steps: []StepRun{done,
			{Step: "enrich", Status: string(runs.Failed), Attempts: 1, Error: "timeout", Finished: now.Add(-10 * time.Second)}}}, ""},
		{"transient, never redelivered", Run{Status: string(runs.Failed), Steps: []StepRun{done,
			{Step: "enrich", Status: string(runs.Failed), Attempts: 1, Error: "timeout", Finished: now.Add(-3 * time.Minute)}}},
			"step enrich of run 2017-12-01 failed and was not retried for 3m0s: timeout"},
	} {
		c.run.RunDate = DemoFirstRun
		err := runStopped(c.run, now)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v, want to keep waiting", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

// TestWaitRunStopsOnAStalledRun: a stalled run ends the wait on the first
// poll, long before RunWait (the fake cancels the wait after 20 polls, so a
// demo that kept waiting fails here with context.Canceled).
func TestWaitRunStopsOnAStalledRun(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	polls := 0
	st := runStatusFunc(func(context.Context, int) ([]Run, error) {
		if polls++; polls > 20 {
			cancel()
		}
		return []Run{{RunDate: DemoFirstRun, Status: string(runs.Stalled), StoppedAt: "train", Reason: "no step has run since features finished",
			Steps: []StepRun{{Step: "download", Status: "done"}, {Step: "features", Status: "done"}}}}, nil
	})
	var out bytes.Buffer
	_, err := waitRun(ctx, DemoOptions{Runs: st, Poll: time.Millisecond, RunWait: time.Hour}, &out, DemoFirstRun)
	if err == nil || !strings.Contains(err.Error(), "run 2017-12-01 stalled: step train never started") {
		t.Errorf("err %v after %d polls", err, polls)
	}
}
