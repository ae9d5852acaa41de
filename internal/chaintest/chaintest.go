// Package chaintest is a real chain for tests: a private MinIO and
// PostgreSQL (internal/testenv), the Socrata stand-in serving real 2017
// crimes, run tracking, the model registry, and every step behind its
// runner.Function, called as the golang-http template would Call it, or
// through a Gateway MinIO's webhooks reach.
package chaintest

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/internal/repo"

	"github.com/jackc/pgx/v5/pgxpool"
	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/arrestcast/arrestcast/internal/standin"
	"github.com/arrestcast/arrestcast/internal/steps"
	"github.com/arrestcast/arrestcast/internal/storetest"
	"github.com/arrestcast/arrestcast/internal/testenv"
	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/config"
	"github.com/arrestcast/arrestcast/shared/data/crime"
	"github.com/arrestcast/arrestcast/shared/data/table"
	"github.com/arrestcast/arrestcast/shared/faas"
	"github.com/arrestcast/arrestcast/shared/platform/registry"
	"github.com/arrestcast/arrestcast/shared/platform/runs"
	"github.com/arrestcast/arrestcast/shared/platform/socrata"
	"github.com/arrestcast/arrestcast/shared/platform/store"
	"github.com/arrestcast/arrestcast/shared/runner"
	"github.com/arrestcast/arrestcast/shared/steps/download"
	"github.com/arrestcast/arrestcast/shared/steps/monitor"
	"github.com/arrestcast/arrestcast/shared/steps/train"
)

var (
	Token        = "integration-pipeline-token"
	CrimesFile   = repo.Path(repo.Crimes2017)
	StationsFile = repo.Path(repo.Stations)
	TrainBudget  = 2 * time.Second
)

// The chain's steps, in order: download (cron/manual) and the evented ones.
func RunSteps() []string { return chain.RunStepNames() }

func RunDate(s string) time.Time {
	d, err := chain.ParseRunDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// --- Real 2017 data, sliced in the test ---------------------------------

var portal struct {
	once   sync.Once
	header []string
	recs   [][]string
	err    error
}

// Crimes2017 reads the bundled portal export once per test binary.
func Crimes2017(t testing.TB) ([]string, [][]string) {
	t.Helper()
	if _, err := os.Stat(CrimesFile); err != nil {
		t.Skipf("the real data %s is absent (%v): run from the repository", CrimesFile, err)
	}
	portal.once.Do(func() {
		f, err := os.Open(CrimesFile)
		if err != nil {
			portal.err = err
			return
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			portal.err = err
			return
		}
		r := csv.NewReader(zr)
		all, err := r.ReadAll()
		if err != nil {
			portal.err = fmt.Errorf("read %s: %w", CrimesFile, err)
			return
		}
		portal.header, portal.recs = all[0], all[1:]
	})
	if portal.err != nil {
		t.Fatal(portal.err)
	}
	return portal.header, portal.recs
}

// Slice returns the portal CSV of every n-th 2017 record that keep accepts
// (nil: all), followed by extra records.
func Slice(t testing.TB, every int, keep func(rec []string) bool, extra ...[]string) []byte {
	t.Helper()
	header, recs := Crimes2017(t)
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write(header)
	for i := 0; i < len(recs); i += every {
		if keep == nil || keep(recs[i]) {
			w.Write(recs[i])
		}
	}
	for _, rec := range extra {
		w.Write(rec)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// InMonth keeps the records dated in month (MM/DD/YYYY export dates).
func InMonth(month string) func([]string) bool {
	mm, yyyy := month[5:7], month[:4]
	return func(rec []string) bool { return rec[2][:2] == mm && rec[2][6:10] == yyyy }
}

// --- Logs kept for a failing test ---------------------------------------

type LogBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LogBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *LogBuf) Tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	lines := strings.Split(strings.TrimRight(l.b.String(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// --- A store that takes MinIO down in the middle of a step ---------------

// TripStore stops the MinIO server just before the n-th Put from when it is
// armed: the step has read its inputs (and maybe written some outputs) and
// the store goes away under it.
type TripStore struct {
	store.Store
	trip func()

	mu      sync.Mutex
	puts    int
	at      int
	tripped []string // keys whose Put found the store gone
}

func (s *TripStore) Arm(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.puts, s.at = 0, n
}

func (s *TripStore) Put(ctx context.Context, bucket, key string, r io.Reader, size int64, contentType string) (store.Object, error) {
	s.mu.Lock()
	s.puts++
	fire := s.at > 0 && s.puts == s.at
	if fire {
		s.at = 0
		s.tripped = append(s.tripped, key)
	}
	s.mu.Unlock()
	if fire {
		s.trip()
	}
	return s.Store.Put(ctx, bucket, key, r, size, contentType)
}

// --- The Fixture: real MinIO, real PostgreSQL, the Socrata stand-in -------

type Options struct {
	Crimes   []byte                          // portal CSV served by the stand-in
	MinIOEnv map[string]string               // extra MinIO server environment (webhook targets)
	Portal   func(http.Handler) http.Handler // wraps the stand-in (to corrupt answers)
	// Buckets names the deployment's buckets (DATA_BUCKET, MODELS_BUCKET);
	// the zero value: the chain's default names.
	Buckets chain.Buckets
}

// Fixture is a real chain under test.
type Fixture struct {
	Buckets   chain.Buckets // the deployment's bucket names
	T         *testing.T
	Ctx       context.Context
	MinIO     *testenv.MinIOServer
	Raw       *store.MinIO
	Store     *TripStore
	DB        *testenv.PG
	Pool      *pgxpool.Pool
	Tracker   *runs.Tracker
	Reg       *registry.Registry
	Reports   *monitor.Reports // the monitor's history
	Standin   *standin.Server
	Portal    *httptest.Server
	Env       *runner.Env
	Source    *download.PortalSource
	Steps     []runner.Step               // the chain, as Build made it
	Functions map[string]*runner.Function // each step behind its function, over Env
	Log       *LogBuf
	Secrets   string
	// RefStore holds what Reference wrote (an unversioned store).
	RefStore *storetest.Mem
}

func New(t *testing.T, o Options) *Fixture {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	t.Cleanup(cancel)
	f := &Fixture{T: t, Ctx: ctx, Log: &LogBuf{}, Buckets: o.Buckets}
	if f.Buckets == (chain.Buckets{}) {
		f.Buckets = chain.DefaultBuckets
	}
	logger := slog.New(slog.NewTextHandler(f.Log, &slog.HandlerOptions{Level: slog.LevelInfo}))

	// The pipeline token, as OpenFaaS mounts it.
	f.Secrets = t.TempDir()
	WriteSecret(t, f.Secrets, config.SecretPipelineToken, Token+"\n")
	t.Setenv("SECRETS_DIR", f.Secrets)

	f.MinIO = testenv.StartMinIO(t, testenv.MinIOOptions{Env: o.MinIOEnv})
	raw, err := store.NewMinIO(store.MinIOConfig{
		Endpoint: f.MinIO.Endpoint, AccessKey: f.MinIO.AccessKey, SecretKey: f.MinIO.SecretKey,
		// A store that is down fails a step within about a second.
		Retry:  store.Retry{Attempts: 3, Base: 50 * time.Millisecond, Max: 300 * time.Millisecond},
		Logger: logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	f.Raw = raw
	f.Store = &TripStore{Store: raw, trip: func() {
		if err := f.MinIO.Stop(); err != nil {
			t.Errorf("stop MinIO: %v", err)
		}
	}}
	for _, b := range []string{f.Buckets.Data, f.Buckets.Models} {
		if err := raw.EnsureBucket(ctx, b); err != nil {
			t.Fatal(err)
		}
		if _, err := raw.EnsureVersioning(ctx, b); err != nil { // as setup does
			t.Fatal(err)
		}
	}

	f.DB = testenv.Postgres(t)
	if f.Pool, err = pgxpool.New(ctx, f.DB.URL); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Pool.Close)
	f.Tracker = runs.New(f.Pool, runs.Options{CodeVersion: "integration", FinalStep: "train", Logger: logger})
	if err := f.Tracker.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if f.Reg, err = registry.Open(ctx, f.Pool); err != nil {
		t.Fatal(err)
	}
	if f.Reports, err = monitor.OpenReports(ctx, f.Pool); err != nil {
		t.Fatal(err)
	}

	stations, err := os.ReadFile(StationsFile)
	if err != nil {
		t.Skipf("the real data %s is absent (%v)", StationsFile, err)
	}
	data, err := standin.LoadReaders(bytes.NewReader(o.Crimes), bytes.NewReader(stations))
	if err != nil {
		t.Fatal(err)
	}
	if f.Standin, err = standin.New(data, standin.Options{}); err != nil {
		t.Fatal(err)
	}
	var h http.Handler = f.Standin
	if o.Portal != nil {
		h = o.Portal(h)
	}
	f.Portal = httptest.NewServer(h)
	t.Cleanup(f.Portal.Close)
	client, err := socrata.New(socrata.Config{BaseURL: f.Portal.URL, PageSize: 4000, Logger: logger,
		MaxAttempts: 3, BaseBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}

	f.Env = &runner.Env{Store: f.Store, Buckets: f.Buckets, Tracker: f.Tracker, Log: logger, Version: "integration"}
	f.Source = &download.PortalSource{Client: client}
	f.Build(f.TrainOptions())
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("pipeline log (end):\n%s", f.Log.Tail(80))
			t.Logf("MinIO log (end):\n%s", f.MinIO.Logs())
		}
	})
	return f
}

// TrainOptions are train's options in the fixture: a short search, seed 1,
// the registry.
func (f *Fixture) TrainOptions() train.Options {
	return train.Options{Budget: TrainBudget, Seed: 1, Registrar: train.Champions{Reg: f.Reg, Store: f.Store}}
}

// MonitorOptions are the monitor's options in the fixture: the registry's
// champions and the history, no alerts.
func (f *Fixture) MonitorOptions() monitor.Options {
	return monitor.Options{Champions: f.Reg, Reports: f.Reports}
}

// Build makes the chain's steps with train's options o, and each step's
// function over the fixture's Env.
func (f *Fixture) Build(o train.Options) {
	f.Steps = steps.All(steps.Options{Source: f.Source, Train: o, Monitor: f.MonitorOptions()})
	f.Functions = map[string]*runner.Function{}
	for _, s := range f.Steps {
		d := faas.NewDeps(s.Name, config.Reader{SecretsDir: f.Secrets, Getenv: f.getenv})
		f.Functions[s.Name] = runner.Prepared(d, f.Env, s)
	}
}

// getenv is the functions' environment: the process's, with the
// deployment's bucket names.
func (f *Fixture) getenv(name string) string {
	switch name {
	case "DATA_BUCKET":
		return f.Buckets.Data
	case "MODELS_BUCKET":
		return f.Buckets.Models
	}
	return os.Getenv(name)
}

// Step is the chain's step called name.
func (f *Fixture) Step(name string) runner.Step {
	s, ok := steps.Find(f.Steps, name)
	if !ok {
		f.T.Fatalf("no step %s", name)
	}
	return s
}

func WriteSecret(t *testing.T, dir, name, value string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(value), 0o600); err != nil {
		t.Fatal(err)
	}
}

// --- Calling the functions' HTTP side -----------------------------------

type Answer struct {
	Status int
	Result runner.Result
	Body   map[string]any
	Raw    string
}

func (a Answer) String() string { return fmt.Sprintf("%d %s", a.Status, strings.TrimSpace(a.Raw)) }

// Call sends one request to a step's Service as the golang-http template would.
func (f *Fixture) Call(step, method, auth string, body []byte, hdr http.Header) Answer {
	f.T.Helper()
	h := http.Header{}
	for k, v := range hdr {
		h[k] = v
	}
	if auth != "" {
		h.Set("Authorization", "Bearer "+auth)
	}
	req := handler.Request{Method: method, Header: h, Body: body}
	req.WithContext(f.Ctx)
	res := f.Functions[step].Handle(req)
	return DecodeAnswer(f.T, res.StatusCode, res.Body)
}

func DecodeAnswer(t testing.TB, status int, body []byte) Answer {
	t.Helper()
	if status == 0 {
		status = http.StatusOK
	}
	a := Answer{Status: status, Raw: string(body)}
	if len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, &a.Body); err != nil {
			t.Fatalf("Answer is not JSON: %s", body)
		}
		json.Unmarshal(body, &a.Result)
	}
	return a
}

// EventBody is MinIO's webhook payload for an object created in bucket at key.
func EventBody(bucket, key, etag string, size int64) []byte {
	return EventOf(store.Object{Bucket: bucket, Key: key, ETag: etag, Size: size})
}

// EventOf is MinIO's webhook payload for the version o of an object.
func EventOf(o store.Object) []byte {
	type obj struct {
		Key       string `json:"key"`
		Size      int64  `json:"size"`
		ETag      string `json:"eTag"`
		VersionID string `json:"versionId,omitempty"`
	}
	bucket, key := o.Bucket, o.Key
	rec := map[string]any{
		"eventVersion": "2.0", "eventSource": "minio:s3", "eventName": "s3:ObjectCreated:Put",
		"eventTime": time.Now().UTC().Format(time.RFC3339Nano),
		"s3": map[string]any{
			"bucket": map[string]any{"name": bucket, "arn": "arn:aws:s3:::" + bucket},
			"object": obj{Key: url.QueryEscape(key), Size: o.Size, ETag: o.ETag, VersionID: o.VersionID},
		},
	}
	b, _ := json.Marshal(map[string]any{"EventName": "s3:ObjectCreated:Put", "Key": bucket + "/" + key, "Records": []any{rec}})
	return b
}

// triggerBody is what starts step for run date d as the chain would:
// download a manual Call, the others the event of the previous step's manifest.
func (f *Fixture) TriggerBody(step string, d time.Time) []byte {
	f.T.Helper()
	if step == "download" {
		return []byte(`{"as_of":"` + d.Format(chain.DateLayout) + `"}`)
	}
	st, _ := chain.Lookup(step)
	key := chain.ManifestKey(st.After, d)
	obj, err := f.Raw.Stat(f.Ctx, f.Buckets.Name(chain.MustLookup(st.After).Bucket), key)
	if err != nil {
		f.T.Fatalf("event of %s for %s: %v", key, step, err)
	}
	return EventOf(obj)
}

// RunFrom runs step and every later step of the chain for run date d
// through their functions, each started by the event of the previous
// step's latest manifest.
func (f *Fixture) RunFrom(step string, d time.Time) {
	f.T.Helper()
	started := false
	for _, s := range RunSteps() {
		if started = started || s == step; !started {
			continue
		}
		if a := f.Trigger(s, d); a.Status != http.StatusOK || a.Result.Outcome != "done" {
			f.T.Fatalf("%s %s: %v", s, d.Format(chain.DateLayout), a)
		}
	}
}

// trigger starts step for run date d as the chain would.
func (f *Fixture) Trigger(step string, d time.Time) Answer {
	f.T.Helper()
	return f.Call(step, http.MethodPost, Token, f.TriggerBody(step, d), nil)
}

// --- Reading back what happened ------------------------------------------

func (f *Fixture) Manifest(step string, d time.Time) (*runner.Manifest, error) {
	bucket := f.Buckets.Name(chain.MustLookup(step).Bucket)
	b, _, err := store.GetBytes(f.Ctx, f.Raw, bucket, chain.ManifestKey(step, d), 0)
	if err != nil {
		return nil, err
	}
	var m runner.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

func (f *Fixture) MustManifest(step string, d time.Time) *runner.Manifest {
	f.T.Helper()
	m, err := f.Manifest(step, d)
	if err != nil {
		f.T.Fatalf("manifest of %s %s: %v", step, d.Format(chain.DateLayout), err)
	}
	return m
}

// attempts returns the run-tracking rows of step for run date d.
func (f *Fixture) Attempts(step string, d time.Time) []runs.StepRun {
	f.T.Helper()
	h, err := f.Tracker.History(f.Ctx, d)
	if err != nil {
		f.T.Fatal(err)
	}
	var out []runs.StepRun
	for _, r := range h {
		if r.Step == step {
			out = append(out, r)
		}
	}
	return out
}

func CountStatus(rs []runs.StepRun, st runs.Status) int {
	n := 0
	for _, r := range rs {
		if r.Status == st {
			n++
		}
	}
	return n
}

// snapshot lists every object of both buckets: key -> etag@modified.
func (f *Fixture) Snapshot() map[string]string {
	f.T.Helper()
	out := map[string]string{}
	for _, b := range []string{f.Buckets.Data, f.Buckets.Models} {
		objs, err := f.Raw.List(f.Ctx, b, "")
		if err != nil {
			f.T.Fatal(err)
		}
		for _, o := range objs {
			out[b+"/"+o.Key] = o.ETag + "@" + o.Modified.Format(time.RFC3339Nano)
		}
	}
	return out
}

func DiffSnapshots(a, b map[string]string) []string {
	var d []string
	for k, v := range a {
		if w, ok := b[k]; !ok {
			d = append(d, "removed "+k)
		} else if v != w {
			d = append(d, "changed "+k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			d = append(d, "added "+k)
		}
	}
	sort.Strings(d)
	return d
}

// checkOutputs verifies every output of m is in the store as recorded.
func (f *Fixture) CheckOutputs(m *runner.Manifest) {
	f.T.Helper()
	if len(m.Outputs) == 0 {
		f.T.Errorf("%s %s: manifest lists no outputs", m.Step, m.RunDate)
	}
	for _, o := range m.Outputs {
		obj, err := f.Raw.Stat(f.Ctx, o.Bucket, o.Key)
		if err != nil {
			f.T.Errorf("%s output %s/%s: %v", m.Step, o.Bucket, o.Key, err)
			continue
		}
		if obj.ETag != o.ETag || obj.Size != o.Size {
			f.T.Errorf("%s output %s: stored etag %s size %d, manifest says %s %d", m.Step, o.Key, obj.ETag, obj.Size, o.ETag, o.Size)
		}
		if o.Twin != nil {
			f.checkTwin(m.Step, o)
		}
	}
}

// checkTwin checks that o's binary twin is stored as the manifest says and
// holds the table a parse of o's CSV gives, dictionaries and codes included.
func (f *Fixture) checkTwin(step string, o runner.Ref) {
	f.T.Helper()
	if key, ok := chain.TwinKey(o.Key, o.ETag); !ok || key != o.Twin.Key {
		f.T.Errorf("%s output %s: twin %s, want %s", step, o.Key, o.Twin.Key, key)
	}
	csvBytes, _, err := store.GetBytes(f.Ctx, f.Raw, o.Bucket, o.Key, 0)
	if err != nil {
		f.T.Fatal(err)
	}
	twinBytes, obj, err := store.GetBytes(f.Ctx, f.Raw, o.Twin.Bucket, o.Twin.Key, 0)
	if err != nil {
		f.T.Errorf("%s output %s: twin: %v", step, o.Key, err)
		return
	}
	if obj.ETag != o.Twin.ETag || obj.Size != o.Twin.Size {
		f.T.Errorf("%s twin %s: stored etag %s size %d, manifest says %s %d", step, o.Twin.Key, obj.ETag, obj.Size, o.Twin.ETag, o.Twin.Size)
	}
	parsed, err := crime.ReadCSVAs(f.Ctx, bytes.NewReader(csvBytes), func(string) table.Kind { return table.Numeric })
	if err != nil {
		f.T.Fatal(err)
	}
	twin, err := table.ReadBinary(bytes.NewReader(twinBytes), int64(len(twinBytes)))
	if err != nil {
		f.T.Fatalf("%s twin %s: %v", step, o.Twin.Key, err)
	}
	if err := table.Equal(parsed.Table, twin); err != nil {
		f.T.Errorf("%s twin %s against its CSV: %v", step, o.Twin.Key, err)
		return
	}
	for j, c := range parsed.Table.Columns() {
		if d := twin.Columns()[j]; !slices.Equal(c.Dict, d.Dict) || !slices.Equal(c.Codes, d.Codes) {
			f.T.Errorf("%s twin %s: column %q's dictionary or codes differ from its CSV's", step, o.Twin.Key, c.Name)
		}
	}
}

// csvRows counts the data rows of a CSV object.
func (f *Fixture) CSVRows(bucket, key string) int64 {
	f.T.Helper()
	b, _, err := store.GetBytes(f.Ctx, f.Raw, bucket, key, 0)
	if err != nil {
		f.T.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		f.T.Fatalf("%s: %v", key, err)
	}
	return int64(len(recs) - 1)
}

// WaitFor polls cond until it holds or timeout passes.
func WaitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// --- A Gateway in front of the services (for MinIO's webhooks) -------------

type Delivery struct {
	Step    string
	Method  string
	Status  int
	Outcome string
	Start   time.Time
	Took    time.Duration
}

// Gateway routes /function/<name> to each step's Service as faasd's Gateway
// and the golang-http template's main.go would, and records every Call.
type Gateway struct {
	*httptest.Server
	Services atomic.Pointer[map[string]*runner.Function]
	mu       sync.Mutex
	calls    []Delivery
}

func NewGateway(t *testing.T) *Gateway {
	g := &Gateway{}
	g.Server = httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(g.Close)
	return g
}

func (g *Gateway) serve(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutPrefix(r.URL.Path, "/function/")
	svcs := g.Services.Load()
	if svcs == nil && (r.Method == http.MethodHead || r.Method == http.MethodGet) {
		return // MinIO's probe before the functions are wired: they are deployed
	}
	if svcs == nil {
		http.Error(w, "function not ready", http.StatusServiceUnavailable)
		return
	}
	if !ok || (*svcs)[name] == nil {
		http.Error(w, "no such function", http.StatusNotFound)
		return
	}
	start := time.Now()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req := handler.Request{Body: body, Header: r.Header, QueryString: r.URL.RawQuery, Method: r.Method, Host: r.Host}
	req.WithContext(r.Context())
	res := (*svcs)[name].Handle(req)
	status := res.StatusCode
	if status == 0 {
		status = http.StatusOK
	}
	for k, v := range res.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(status)
	w.Write(res.Body)
	var out struct{ Outcome string }
	json.Unmarshal(res.Body, &out)
	g.mu.Lock()
	g.calls = append(g.calls, Delivery{Step: name, Method: r.Method, Status: status, Outcome: out.Outcome, Start: start, Took: time.Since(start)})
	g.mu.Unlock()
}

func (g *Gateway) Calls() []Delivery {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]Delivery(nil), g.calls...)
}

// post calls a function through the Gateway with the token.
func (g *Gateway) Post(t *testing.T, name string, body string) Answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, g.URL+"/function/"+name, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return DecodeAnswer(t, resp.StatusCode, b)
}

// In returns the fixture reporting to t (a subtest).
func (f *Fixture) In(t *testing.T) *Fixture {
	c := *f
	c.T = t
	return &c
}

// Table reads one of the chain's tables from the data bucket.
func (f *Fixture) Table(key string) *table.Table {
	f.T.Helper()
	b, _, err := store.GetBytes(f.Ctx, f.Raw, f.Buckets.Data, key, 0)
	if err != nil {
		f.T.Fatal(err)
	}
	if strings.HasSuffix(key, chain.BinaryExt) {
		t, err := table.ReadBinary(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			f.T.Fatal(err)
		}
		return t
	}
	res, err := crime.ReadCSV(f.Ctx, bytes.NewReader(b))
	if err != nil {
		f.T.Fatal(err)
	}
	return res.Table
}

// Reference runs the whole chain for d over an in-memory store with the
// fixture's data source, without tracking or registry: what each step
// writes when nothing goes wrong.
func (f *Fixture) Reference(d time.Time) map[string]*runner.Manifest {
	f.T.Helper()
	env := *f.Env
	f.RefStore = storetest.NewMem(f.Buckets.Data, f.Buckets.Models)
	env.Store = f.RefStore
	env.Tracker = nil
	o := f.TrainOptions()
	o.Registrar = nil
	out := map[string]*runner.Manifest{}
	for _, s := range steps.All(steps.Options{Source: f.Source, Train: o}) {
		res := runner.Execute(f.Ctx, &env, s, runner.Invocation{Kind: faas.Manual, Date: d})
		if res.Outcome != "done" {
			f.T.Fatalf("reference %s: %+v", s.Name, res)
		}
		out[s.Name] = res.Manifest
	}
	return out
}

// RunUpTo runs the steps before last for run date d through their functions.
func (f *Fixture) RunUpTo(last string, d time.Time) {
	f.T.Helper()
	for _, step := range RunSteps() {
		if step == last {
			return
		}
		if a := f.Trigger(step, d); a.Status != http.StatusOK || a.Result.Outcome != "done" {
			f.T.Fatalf("%s %s: %v", step, d.Format(chain.DateLayout), a)
		}
	}
}

// Champions returns the versions whose role is champion.
func (f *Fixture) Champions() []int {
	f.T.Helper()
	models, err := f.Reg.List(f.Ctx, 0)
	if err != nil {
		f.T.Fatal(err)
	}
	var out []int
	for _, m := range models {
		if m.Role == registry.Champion {
			out = append(out, m.Version)
		}
	}
	return out
}
