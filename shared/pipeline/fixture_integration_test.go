//go:build integration

package pipeline_test

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
	"github.com/arrestcast/arrestcast/internal/testenv"
	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/config"
	"github.com/arrestcast/arrestcast/shared/pipeline"
	"github.com/arrestcast/arrestcast/shared/platform/registry"
	"github.com/arrestcast/arrestcast/shared/platform/runs"
	"github.com/arrestcast/arrestcast/shared/platform/socrata"
	"github.com/arrestcast/arrestcast/shared/platform/store"
)

func TestMain(m *testing.M) {
	if spec := os.Getenv(stepProcessEnv); spec != "" {
		os.Exit(runStepProcess(spec)) // a child of BenchmarkStepsMinIO
	}
	os.Exit(testenv.Main(m))
}

var (
	pipelineToken = "integration-pipeline-token"
	crimesFile    = repo.Path(repo.Crimes2017)
	stationsFile  = repo.Path(repo.Stations)
	trainBudget   = 2 * time.Second
)

// The chain's steps, in order: download (cron/manual) and the evented ones.
func chainSteps() []string { return chain.RunSteps() }

func runDate(s string) time.Time {
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

// crimes2017 reads the bundled portal export once per test binary.
func crimes2017(t testing.TB) ([]string, [][]string) {
	t.Helper()
	if _, err := os.Stat(crimesFile); err != nil {
		t.Skipf("the real data %s is absent (%v): run from the repository", crimesFile, err)
	}
	portal.once.Do(func() {
		f, err := os.Open(crimesFile)
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
			portal.err = fmt.Errorf("read %s: %w", crimesFile, err)
			return
		}
		portal.header, portal.recs = all[0], all[1:]
	})
	if portal.err != nil {
		t.Fatal(portal.err)
	}
	return portal.header, portal.recs
}

// slice returns the portal CSV of every n-th 2017 record that keep accepts
// (nil: all), followed by extra records.
func slice(t testing.TB, every int, keep func(rec []string) bool, extra ...[]string) []byte {
	t.Helper()
	header, recs := crimes2017(t)
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

// inMonth keeps the records dated in month (MM/DD/YYYY export dates).
func inMonth(month string) func([]string) bool {
	mm, yyyy := month[5:7], month[:4]
	return func(rec []string) bool { return rec[2][:2] == mm && rec[2][6:10] == yyyy }
}

// --- Logs kept for a failing test ---------------------------------------

type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	lines := strings.Split(strings.TrimRight(l.b.String(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// --- A store that takes MinIO down in the middle of a step ---------------

// tripStore stops the MinIO server just before the n-th Put from when it is
// armed: the step has read its inputs (and maybe written some outputs) and
// the store goes away under it.
type tripStore struct {
	store.Store
	trip func()

	mu      sync.Mutex
	puts    int
	at      int
	tripped []string // keys whose Put found the store gone
}

func (s *tripStore) arm(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.puts, s.at = 0, n
}

func (s *tripStore) Put(ctx context.Context, bucket, key string, r io.Reader, size int64, contentType string) (store.Object, error) {
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

// --- The fixture: real MinIO, real PostgreSQL, the Socrata stand-in -------

type options struct {
	crimes   []byte                          // portal CSV served by the stand-in
	minioEnv map[string]string               // extra MinIO server environment (webhook targets)
	portal   func(http.Handler) http.Handler // wraps the stand-in (to corrupt answers)
}

type fixture struct {
	t        *testing.T
	ctx      context.Context
	minio    *testenv.MinIOServer
	raw      *store.MinIO
	store    *tripStore
	db       *testenv.PG
	pool     *pgxpool.Pool
	tracker  *runs.Tracker
	reg      *registry.Registry
	standin  *standin.Server
	portal   *httptest.Server
	env      *pipeline.Env
	services map[string]*pipeline.Service
	log      *logBuf
	secrets  string
}

func newFixture(t *testing.T, o options) *fixture {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	t.Cleanup(cancel)
	f := &fixture{t: t, ctx: ctx, log: &logBuf{}}
	logger := slog.New(slog.NewTextHandler(f.log, &slog.HandlerOptions{Level: slog.LevelInfo}))

	// The pipeline token, as OpenFaaS mounts it.
	f.secrets = t.TempDir()
	writeSecret(t, f.secrets, config.SecretPipelineToken, pipelineToken+"\n")
	t.Setenv("SECRETS_DIR", f.secrets)

	f.minio = testenv.StartMinIO(t, testenv.MinIOOptions{Env: o.minioEnv})
	raw, err := store.NewMinIO(store.MinIOConfig{
		Endpoint: f.minio.Endpoint, AccessKey: f.minio.AccessKey, SecretKey: f.minio.SecretKey,
		// A store that is down fails a step within about a second.
		Retry:  store.Retry{Attempts: 3, Base: 50 * time.Millisecond, Max: 300 * time.Millisecond},
		Logger: logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	f.raw = raw
	f.store = &tripStore{Store: raw, trip: func() {
		if err := f.minio.Stop(); err != nil {
			t.Errorf("stop MinIO: %v", err)
		}
	}}
	for _, b := range []string{chain.DataBucket, chain.ModelsBucket} {
		if err := raw.EnsureBucket(ctx, b); err != nil {
			t.Fatal(err)
		}
	}

	f.db = testenv.Postgres(t)
	if f.pool, err = pgxpool.New(ctx, f.db.URL); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.pool.Close)
	f.tracker = runs.New(f.pool, runs.Options{CodeVersion: "integration", FinalStep: "train", Logger: logger})
	if err := f.tracker.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if f.reg, err = registry.Open(ctx, f.pool); err != nil {
		t.Fatal(err)
	}

	stations, err := os.ReadFile(stationsFile)
	if err != nil {
		t.Skipf("the real data %s is absent (%v)", stationsFile, err)
	}
	data, err := standin.LoadReaders(bytes.NewReader(o.crimes), bytes.NewReader(stations))
	if err != nil {
		t.Fatal(err)
	}
	if f.standin, err = standin.New(data, standin.Options{}); err != nil {
		t.Fatal(err)
	}
	var h http.Handler = f.standin
	if o.portal != nil {
		h = o.portal(h)
	}
	f.portal = httptest.NewServer(h)
	t.Cleanup(f.portal.Close)
	client, err := socrata.New(socrata.Config{BaseURL: f.portal.URL, PageSize: 4000, Logger: logger,
		MaxAttempts: 3, BaseBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}

	f.env = &pipeline.Env{
		Store: f.store, Data: chain.DataBucket, Models: chain.ModelsBucket,
		Tracker:  pipeline.RunsTracker{T: f.tracker},
		DB:       f.pool,
		Source:   &pipeline.PortalSource{Client: client},
		Registry: pipeline.ModelRegistry{Reg: f.reg, Store: f.store, Models: chain.ModelsBucket},
		Log:      logger,
		Version:  "integration",
		Options:  pipeline.Options{TrainBudget: trainBudget, Seed: 1},
	}
	f.services = map[string]*pipeline.Service{}
	for _, s := range chainSteps() {
		f.services[s] = &pipeline.Service{Step: s, Connect: func(context.Context) (*pipeline.Env, error) { return f.env, nil }}
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("pipeline log (end):\n%s", f.log.tail(80))
			t.Logf("MinIO log (end):\n%s", f.minio.Logs())
		}
	})
	return f
}

func writeSecret(t *testing.T, dir, name, value string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(value), 0o600); err != nil {
		t.Fatal(err)
	}
}

// --- Calling the functions' HTTP side -----------------------------------

type answer struct {
	Status int
	Result pipeline.Result
	Body   map[string]any
	Raw    string
}

func (a answer) String() string { return fmt.Sprintf("%d %s", a.Status, strings.TrimSpace(a.Raw)) }

// call sends one request to a step's Service as the golang-http template would.
func (f *fixture) call(step, method, auth string, body []byte, hdr http.Header) answer {
	f.t.Helper()
	h := http.Header{}
	for k, v := range hdr {
		h[k] = v
	}
	if auth != "" {
		h.Set("Authorization", "Bearer "+auth)
	}
	req := handler.Request{Method: method, Header: h, Body: body}
	req.WithContext(f.ctx)
	res := f.services[step].Handle(req)
	return decodeAnswer(f.t, res.StatusCode, res.Body)
}

func decodeAnswer(t testing.TB, status int, body []byte) answer {
	t.Helper()
	if status == 0 {
		status = http.StatusOK
	}
	a := answer{Status: status, Raw: string(body)}
	if len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, &a.Body); err != nil {
			t.Fatalf("answer is not JSON: %s", body)
		}
		json.Unmarshal(body, &a.Result)
	}
	return a
}

// eventBody is MinIO's webhook payload for an object created in bucket at key.
func eventBody(bucket, key, etag string, size int64) []byte {
	type obj struct {
		Key  string `json:"key"`
		Size int64  `json:"size"`
		ETag string `json:"eTag"`
	}
	rec := map[string]any{
		"eventVersion": "2.0", "eventSource": "minio:s3", "eventName": "s3:ObjectCreated:Put",
		"eventTime": time.Now().UTC().Format(time.RFC3339Nano),
		"s3": map[string]any{
			"bucket": map[string]any{"name": bucket, "arn": "arn:aws:s3:::" + bucket},
			"object": obj{Key: url.QueryEscape(key), Size: size, ETag: etag},
		},
	}
	b, _ := json.Marshal(map[string]any{"EventName": "s3:ObjectCreated:Put", "Key": bucket + "/" + key, "Records": []any{rec}})
	return b
}

// triggerBody is what starts step for run date d as the chain would:
// download a manual call, the others the event of the previous step's manifest.
func (f *fixture) triggerBody(step string, d time.Time) []byte {
	f.t.Helper()
	if step == "download" {
		return []byte(`{"as_of":"` + d.Format(chain.DateLayout) + `"}`)
	}
	st, _ := chain.Lookup(step)
	key := pipeline.ManifestKey(st.After, d)
	obj, err := f.raw.Stat(f.ctx, chain.DataBucket, key)
	if err != nil {
		f.t.Fatalf("event of %s for %s: %v", key, step, err)
	}
	return eventBody(chain.DataBucket, key, obj.ETag, obj.Size)
}

// trigger starts step for run date d as the chain would.
func (f *fixture) trigger(step string, d time.Time) answer {
	f.t.Helper()
	return f.call(step, http.MethodPost, pipelineToken, f.triggerBody(step, d), nil)
}

// --- Reading back what happened ------------------------------------------

func (f *fixture) manifest(step string, d time.Time) (*pipeline.Manifest, error) {
	bucket := chain.DataBucket
	if st, _ := chain.Lookup(step); st.Bucket == chain.ModelsBucket {
		bucket = chain.ModelsBucket
	}
	b, _, err := store.GetBytes(f.ctx, f.raw, bucket, pipeline.ManifestKey(step, d), 0)
	if err != nil {
		return nil, err
	}
	var m pipeline.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

func (f *fixture) mustManifest(step string, d time.Time) *pipeline.Manifest {
	f.t.Helper()
	m, err := f.manifest(step, d)
	if err != nil {
		f.t.Fatalf("manifest of %s %s: %v", step, d.Format(chain.DateLayout), err)
	}
	return m
}

// attempts returns the run-tracking rows of step for run date d.
func (f *fixture) attempts(step string, d time.Time) []runs.StepRun {
	f.t.Helper()
	h, err := f.tracker.History(f.ctx, d)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []runs.StepRun
	for _, r := range h {
		if r.Step == step {
			out = append(out, r)
		}
	}
	return out
}

func countStatus(rs []runs.StepRun, st runs.Status) int {
	n := 0
	for _, r := range rs {
		if r.Status == st {
			n++
		}
	}
	return n
}

// snapshot lists every object of both buckets: key -> etag@modified.
func (f *fixture) snapshot() map[string]string {
	f.t.Helper()
	out := map[string]string{}
	for _, b := range []string{chain.DataBucket, chain.ModelsBucket} {
		objs, err := f.raw.List(f.ctx, b, "")
		if err != nil {
			f.t.Fatal(err)
		}
		for _, o := range objs {
			out[b+"/"+o.Key] = o.ETag + "@" + o.Modified.Format(time.RFC3339Nano)
		}
	}
	return out
}

func diffSnapshots(a, b map[string]string) []string {
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
func (f *fixture) checkOutputs(m *pipeline.Manifest) {
	f.t.Helper()
	if len(m.Outputs) == 0 {
		f.t.Errorf("%s %s: manifest lists no outputs", m.Step, m.RunDate)
	}
	for _, o := range m.Outputs {
		obj, err := f.raw.Stat(f.ctx, o.Bucket, o.Key)
		if err != nil {
			f.t.Errorf("%s output %s/%s: %v", m.Step, o.Bucket, o.Key, err)
			continue
		}
		if obj.ETag != o.ETag || obj.Size != o.Size {
			f.t.Errorf("%s output %s: stored etag %s size %d, manifest says %s %d", m.Step, o.Key, obj.ETag, obj.Size, o.ETag, o.Size)
		}
	}
}

// csvRows counts the data rows of a CSV object.
func (f *fixture) csvRows(bucket, key string) int64 {
	f.t.Helper()
	b, _, err := store.GetBytes(f.ctx, f.raw, bucket, key, 0)
	if err != nil {
		f.t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		f.t.Fatalf("%s: %v", key, err)
	}
	return int64(len(recs) - 1)
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// --- A gateway in front of the services (for MinIO's webhooks) -------------

type call struct {
	Step    string
	Method  string
	Status  int
	Outcome string
	Start   time.Time
	Took    time.Duration
}

// gateway routes /function/<name> to each step's Service as faasd's gateway
// and the golang-http template's main.go would, and records every call.
type gateway struct {
	*httptest.Server
	services atomic.Pointer[map[string]*pipeline.Service]
	mu       sync.Mutex
	calls    []call
}

func newGateway(t *testing.T) *gateway {
	g := &gateway{}
	g.Server = httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(g.Close)
	return g
}

func (g *gateway) serve(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutPrefix(r.URL.Path, "/function/")
	svcs := g.services.Load()
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
	g.calls = append(g.calls, call{Step: name, Method: r.Method, Status: status, Outcome: out.Outcome, Start: start, Took: time.Since(start)})
	g.mu.Unlock()
}

func (g *gateway) log() []call {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]call(nil), g.calls...)
}

// post calls a function through the gateway with the token.
func (g *gateway) post(t *testing.T, name string, body string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, g.URL+"/function/"+name, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+pipelineToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return decodeAnswer(t, resp.StatusCode, b)
}
