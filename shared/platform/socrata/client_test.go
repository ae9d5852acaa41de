package socrata_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/internal/repo"

	"github.com/arrestcast/arrestcast/internal/standin"
	"github.com/arrestcast/arrestcast/shared/platform/socrata"
)

var (
	crimesFile   = repo.Path(repo.Crimes2017)
	stationsFile = repo.Path(repo.Stations)
	crimesPath   = "/resource/ijzp-q8t2.json"
)

var realData = sync.OnceValues(func() (*standin.Data, error) {
	return standin.Load(crimesFile, stationsFile)
})

// oracleDates maps crime id -> date, read straight from the file, not
// through the stand-in.
var oracleDates = sync.OnceValues(func() (map[int64]time.Time, error) {
	f, err := os.Open(crimesFile)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	r := csv.NewReader(zr)
	head, err := r.Read()
	if err != nil {
		return nil, err
	}
	idCol, dateCol := slices.Index(head, "ID"), slices.Index(head, "Date")
	out := map[int64]time.Time{}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		id, err := strconv.ParseInt(rec[idCol], 10, 64)
		if err != nil {
			return nil, err
		}
		if out[id], err = time.Parse("01/02/2006 03:04:05 PM", rec[dateCol]); err != nil {
			return nil, err
		}
	}
})

func wantIDs(t *testing.T, from, to time.Time) []int64 {
	t.Helper()
	dates, err := oracleDates()
	if err != nil {
		t.Fatalf("oracle: %v", err)
	}
	var ids []int64
	for id, d := range dates {
		if !d.Before(from) && d.Before(to) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

type fixture struct {
	srv  *standin.Server
	url  string
	logs *syncBuffer
	seen chan http.Header // headers of every request, when watched
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func start(t *testing.T, opts standin.Options) *fixture {
	t.Helper()
	for _, f := range []string{crimesFile, stationsFile} {
		if _, err := os.Stat(f); err != nil {
			t.Skipf("real data %s not present: %v", f, err)
		}
	}
	d, err := realData()
	if err != nil {
		t.Fatalf("load real data: %v", err)
	}
	s, err := standin.New(d, opts)
	if err != nil {
		t.Fatal(err)
	}
	fx := &fixture{srv: s, logs: &syncBuffer{}, seen: make(chan http.Header, 1000)}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case fx.seen <- r.Header.Clone():
		default:
		}
		s.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	fx.url = hs.URL
	return fx
}

// client has short backoffs so retry tests run fast.
func (fx *fixture) client(t *testing.T, cfg socrata.Config) *socrata.Client {
	t.Helper()
	cfg.BaseURL = fx.url
	if cfg.BaseBackoff == 0 {
		cfg.BaseBackoff = time.Millisecond
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = 5 * time.Millisecond
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = 20 * time.Second
	}
	cfg.Logger = slog.New(slog.NewJSONHandler(fx.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, err := socrata.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// collector decodes JSON pages and records what the callback saw.
type collector struct {
	ids   []int64
	pages []int // rows per callback call
}

func (c *collector) json(body []byte) (int, error) {
	var rows []struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &rows); err != nil {
		return 0, err
	}
	for _, r := range rows {
		id, err := strconv.ParseInt(r.ID, 10, 64)
		if err != nil {
			return 0, err
		}
		c.ids = append(c.ids, id)
	}
	c.pages = append(c.pages, len(rows))
	return len(rows), nil
}

func (c *collector) csv(body []byte) (int, error) {
	recs, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil {
		return 0, err
	}
	if len(recs) == 0 || recs[0][0] != "id" {
		return 0, errors.New("csv page without header")
	}
	for _, rec := range recs[1:] {
		id, err := strconv.ParseInt(rec[0], 10, 64)
		if err != nil {
			return 0, err
		}
		c.ids = append(c.ids, id)
	}
	c.pages = append(c.pages, len(recs)-1)
	return len(recs) - 1, nil
}

// countJSON is a callback for any dataset: it counts the objects of a page.
func countJSON(body []byte) (int, error) {
	var rows []json.RawMessage
	err := json.Unmarshal(body, &rows)
	return len(rows), err
}

func day(h int) time.Time { return time.Date(2017, 1, 1, h, 0, 0, 0, time.UTC) }

func TestCrimesPagingAcrossPages(t *testing.T) {
	fx := start(t, standin.Options{})
	want := wantIDs(t, day(0), day(6))
	if len(want)%50 == 0 || len(want) < 200 {
		t.Fatalf("test premise: %d rows", len(want))
	}
	c := fx.client(t, socrata.Config{PageSize: 50})
	var got collector
	if err := c.Crimes(context.Background(), day(0), day(6), got.json); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.ids, want) {
		t.Fatalf("got %d ids, want %d (in :id order, no duplicates)", len(got.ids), len(want))
	}
	pages := len(want)/50 + 1
	if len(got.pages) != pages || got.pages[pages-1] != len(want)%50 {
		t.Errorf("pages %v, want %d pages ending short", got.pages, pages)
	}
	if n := fx.srv.Requests(crimesPath); n != pages {
		t.Errorf("stand-in saw %d requests, want %d", n, pages)
	}

	// A range that is an exact multiple of the page size ends with an empty page.
	size := len(want) / 2
	if len(want)%2 != 0 {
		t.Fatalf("test premise: even row count, have %d", len(want))
	}
	c = fx.client(t, socrata.Config{PageSize: size})
	var got2 collector
	if err := c.Crimes(context.Background(), day(0), day(6), got2.json); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got2.ids, want) || !slices.Equal(got2.pages, []int{size, size, 0}) {
		t.Errorf("exact multiple: pages %v", got2.pages)
	}
}

// The request is the portal's documented form, properly encoded.
func TestRequestWireFormat(t *testing.T) {
	var raw []string
	fx := start(t, standin.Options{})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw = append(raw, r.URL.RequestURI())
		fx.srv.ServeHTTP(w, r)
	}))
	defer hs.Close()
	c, err := socrata.New(socrata.Config{BaseURL: hs.URL + "/", PageSize: 400, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2017, 1, 1, 0, 0, 0, 0, time.FixedZone("CST", -6*3600))
	to := time.Date(2017, 1, 1, 6, 0, 0, 0, time.UTC)
	if err := c.Crimes(context.Background(), from, to, new(collector).json); err != nil {
		t.Fatal(err)
	}
	if len(raw) != 2 {
		t.Fatalf("requests %q", raw)
	}
	u, err := url.Parse(raw[1])
	if err != nil {
		t.Fatal(err)
	}
	if u.Path != "/resource/ijzp-q8t2.json" || strings.Contains(u.RawQuery, "+") || strings.Contains(u.RawQuery, " ") {
		t.Errorf("request %s", raw[1])
	}
	q := u.Query()
	want := url.Values{
		"$where":  {"date >= '2017-01-01T00:00:00' AND date < '2017-01-01T06:00:00'"},
		"$order":  {":id"},
		"$limit":  {"400"},
		"$offset": {"400"},
	}
	for k, v := range want {
		if !slices.Equal(q[k], v) {
			t.Errorf("%s = %q, want %q", k, q[k], v)
		}
	}
	if len(q) != len(want) {
		t.Errorf("parameters %v", q)
	}
	if w := socrata.CrimesWhere(time.Date(2017, 1, 1, 0, 0, 0, 5e6, time.UTC), day(1)); w != "date >= '2017-01-01T00:00:00.005' AND date < '2017-01-01T01:00:00'" {
		t.Errorf("CrimesWhere with milliseconds: %s", w)
	}
}

func TestCrimesCSVFormat(t *testing.T) {
	fx := start(t, standin.Options{})
	c := fx.client(t, socrata.Config{PageSize: 120, Format: socrata.FormatCSV})
	var got collector
	if err := c.Crimes(context.Background(), day(0), day(6), got.csv); err != nil {
		t.Fatal(err)
	}
	if want := wantIDs(t, day(0), day(6)); !slices.Equal(got.ids, want) {
		t.Errorf("csv: %d ids, want %d", len(got.ids), len(want))
	}
	if n := fx.srv.Requests("/resource/ijzp-q8t2.csv"); n != len(got.pages) {
		t.Errorf("%d csv requests for %d pages", n, len(got.pages))
	}
}

func TestStations(t *testing.T) {
	fx := start(t, standin.Options{})
	c := fx.client(t, socrata.Config{})
	calls := 0
	err := c.Stations(context.Background(), func(body []byte) (int, error) {
		calls++
		var rows []map[string]any
		if err := json.Unmarshal(body, &rows); err != nil {
			return 0, err
		}
		if rows[0]["district"] != "1" || rows[0]["district_name"] != "Central" {
			t.Errorf("first station %v", rows[0])
		}
		return len(rows), nil
	})
	if err != nil || calls != 1 {
		t.Fatalf("stations: %v after %d calls", err, calls)
	}
}

func TestTokenHeader(t *testing.T) {
	fx := start(t, standin.Options{Token: "s3cret"})
	c := fx.client(t, socrata.Config{AppToken: " s3cret\n"})
	if err := c.Stations(context.Background(), countJSON); err != nil {
		t.Fatalf("with token: %v", err)
	}
	if h := <-fx.seen; h.Get("X-App-Token") != "s3cret" {
		t.Errorf("X-App-Token = %q", h.Get("X-App-Token"))
	}

	// Without a token: the header is absent, and the stand-in's 403 is permanent.
	c = fx.client(t, socrata.Config{})
	err := c.Stations(context.Background(), countJSON)
	if h := <-fx.seen; len(h.Values("X-App-Token")) != 0 {
		t.Errorf("X-App-Token sent without a token: %q", h.Values("X-App-Token"))
	}
	var se *socrata.StatusError
	if !errors.As(err, &se) || se.Status != 403 || se.Message != "Invalid app_token specified" || se.Attempts != 1 {
		t.Fatalf("err = %v", err)
	}
	if socrata.IsTransient(err) {
		t.Error("403 reported transient")
	}
	if n := fx.srv.Requests("/resource/z8bn-74gv.json"); n != 2 {
		t.Errorf("403 retried: %d requests", n)
	}
}

func TestThrottleRetryAfterHonoured(t *testing.T) {
	fx := start(t, standin.Options{Faults: []standin.Fault{{Kind: standin.FaultThrottle, RetryAfter: 1}}})
	c := fx.client(t, socrata.Config{PageSize: 50})
	var got collector
	t0 := time.Now()
	if err := c.Crimes(context.Background(), day(0), day(1), got.json); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(t0); el < time.Second {
		t.Errorf("finished after %s; Retry-After: 1 not honoured", el)
	}
	if !slices.Equal(got.ids, wantIDs(t, day(0), day(1))) {
		t.Error("wrong rows after throttling")
	}
	if n := fx.srv.Requests(crimesPath); n != len(got.pages)+1 {
		t.Errorf("%d requests for %d pages", n, len(got.pages))
	}
	logs := fx.logs.String()
	if !strings.Contains(logs, `"msg":"socrata retry"`) || !strings.Contains(logs, `"status":429`) || !strings.Contains(logs, `"wait":1000000000`) {
		t.Errorf("retry not logged as expected:\n%s", logs)
	}
}

func TestRetryAfterIsCapped(t *testing.T) {
	fx := start(t, standin.Options{Faults: []standin.Fault{{Kind: standin.FaultThrottle, RetryAfter: 3600, Count: 2}}})
	c := fx.client(t, socrata.Config{MaxRetryAfter: 20 * time.Millisecond})
	t0 := time.Now()
	if err := c.Stations(context.Background(), countJSON); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(t0); el > 5*time.Second {
		t.Errorf("took %s with Retry-After capped at 20ms", el)
	}
}

func TestServerErrorsThenSuccess(t *testing.T) {
	for _, status := range []int{500, 502, 503, 504} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			fx := start(t, standin.Options{Faults: []standin.Fault{
				{Kind: standin.FaultStatus, Status: status, Count: 2, Skip: 1}}})
			c := fx.client(t, socrata.Config{PageSize: 100})
			var got collector
			if err := c.Crimes(context.Background(), day(0), day(6), got.json); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.ids, wantIDs(t, day(0), day(6))) {
				t.Error("wrong rows")
			}
			if n := fx.srv.Requests(crimesPath); n != len(got.pages)+2 {
				t.Errorf("%d requests for %d pages", n, len(got.pages))
			}
		})
	}
}

func TestSlowResponseVsRequestTimeout(t *testing.T) {
	fx := start(t, standin.Options{Faults: []standin.Fault{{Kind: standin.FaultDelay, Delay: 3 * time.Second}}})
	c := fx.client(t, socrata.Config{RequestTimeout: 300 * time.Millisecond})
	t0 := time.Now()
	if err := c.Stations(context.Background(), countJSON); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(t0); el >= 3*time.Second {
		t.Errorf("waited out the slow response (%s) instead of timing out", el)
	}
	if n := fx.srv.Requests("/resource/z8bn-74gv.json"); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
	if !strings.Contains(fx.logs.String(), "request timeout 300ms exceeded") {
		t.Errorf("timeout not named in the retry log:\n%s", fx.logs)
	}

	// Always slow: a transient error naming the timeout.
	if err := fx.srv.Inject(standin.Fault{Kind: standin.FaultDelay, Delay: 3 * time.Second, Count: 2}); err != nil {
		t.Fatal(err)
	}
	c = fx.client(t, socrata.Config{RequestTimeout: 100 * time.Millisecond, MaxAttempts: 2})
	err := c.Stations(context.Background(), countJSON)
	if !socrata.IsTransient(err) || !strings.Contains(err.Error(), "request timeout 100ms exceeded") {
		t.Errorf("err = %v", err)
	}
}

// A page cut mid-transfer (or a connection reset) is fetched again and
// handed to the callback once, whole.
func TestCutMidPageRetriedDeliveredOnce(t *testing.T) {
	for _, kind := range []standin.FaultKind{standin.FaultCut, standin.FaultReset} {
		t.Run(string(kind), func(t *testing.T) {
			fx := start(t, standin.Options{Faults: []standin.Fault{{Kind: kind, Skip: 3}}})
			c := fx.client(t, socrata.Config{PageSize: 50})
			var got collector
			if err := c.Crimes(context.Background(), day(0), day(6), got.json); err != nil {
				t.Fatal(err)
			}
			want := wantIDs(t, day(0), day(6))
			if !slices.Equal(got.ids, want) {
				t.Fatalf("%d ids, want %d", len(got.ids), len(want))
			}
			if len(got.pages) != len(want)/50+1 {
				t.Errorf("callback called %d times: %v", len(got.pages), got.pages)
			}
			if len(fx.srv.Faults()) != 0 {
				t.Error("fault never fired")
			}
			if n := fx.srv.Requests(crimesPath); n < len(got.pages)+1 {
				t.Errorf("%d requests for %d pages: no retry seen", n, len(got.pages))
			}
			if kind == standin.FaultCut && !strings.Contains(fx.logs.String(), "unexpected EOF") {
				t.Errorf("cut not logged as unexpected EOF:\n%s", fx.logs)
			}
		})
	}
}

func TestRetriesExhaustedIsTransient(t *testing.T) {
	fx := start(t, standin.Options{Faults: []standin.Fault{{Kind: standin.FaultStatus, Status: 503, Count: 100}}})
	c := fx.client(t, socrata.Config{MaxAttempts: 3})
	calls := 0
	err := c.Crimes(context.Background(), day(0), day(6), func([]byte) (int, error) { calls++; return 0, nil })
	var se *socrata.StatusError
	if !errors.As(err, &se) || se.Status != 503 || se.Attempts != 3 || se.Dataset != socrata.CrimesDataset {
		t.Fatalf("err = %#v", err)
	}
	if !socrata.IsTransient(err) {
		t.Error("exhausted 503 not transient")
	}
	if calls != 0 || fx.srv.Requests(crimesPath) != 3 {
		t.Errorf("callback calls %d, requests %d", calls, fx.srv.Requests(crimesPath))
	}
	if !strings.Contains(err.Error(), "after 3 attempts") || !strings.Contains(err.Error(), "offset 0") {
		t.Errorf("message %q", err)
	}
}

func TestBadRequestIsPermanent(t *testing.T) {
	fx := start(t, standin.Options{})
	c := fx.client(t, socrata.Config{})
	err := c.Query(context.Background(), socrata.CrimesDataset,
		socrata.Query{Where: "date >= '2017-01-01T00:00:00' OR primary_type = 'THEFT'"}, new(collector).json)
	var se *socrata.StatusError
	if !errors.As(err, &se) || se.Status != 400 || se.Code != "query.compiler.malformed" || !strings.Contains(se.Message, "OR is not supported") {
		t.Fatalf("err = %v", err)
	}
	if socrata.IsTransient(err) || se.Attempts != 1 || fx.srv.Requests(crimesPath) != 1 {
		t.Errorf("400 retried or transient: attempts %d, requests %d", se.Attempts, fx.srv.Requests(crimesPath))
	}
	for _, want := range []string{"ijzp-q8t2", "HTTP 400", "query.compiler.malformed", "OR is not supported"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q lacks %q", err, want)
		}
	}

	// An injected 400 and an unknown dataset (404) are permanent too.
	_ = fx.srv.Inject(standin.Fault{Kind: standin.FaultStatus, Status: 400})
	if err := c.Stations(context.Background(), countJSON); socrata.IsTransient(err) || !strings.Contains(fmtErr(err), "HTTP 400") {
		t.Errorf("injected 400: %v", err)
	}
	err = c.Query(context.Background(), "abcd-1234", socrata.Query{}, new(collector).json)
	if !errors.As(err, &se) || se.Status != 404 || socrata.IsTransient(err) || fx.srv.Requests("/resource/abcd-1234.json") != 1 {
		t.Errorf("404: %v", err)
	}
}

func fmtErr(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

func TestContextCancelledDuringBackoff(t *testing.T) {
	fx := start(t, standin.Options{Faults: []standin.Fault{{Kind: standin.FaultThrottle, RetryAfter: 30}}})
	c := fx.client(t, socrata.Config{MaxRetryAfter: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(300*time.Millisecond, cancel)
	t0 := time.Now()
	err := c.Stations(ctx, countJSON)
	if el := time.Since(t0); el > 5*time.Second {
		t.Errorf("returned after %s: the 30s backoff was not interrupted", el)
	}
	if !errors.Is(err, context.Canceled) || socrata.IsTransient(err) {
		t.Errorf("err = %v", err)
	}
	if n := fx.srv.Requests("/resource/z8bn-74gv.json"); n != 1 {
		t.Errorf("%d requests", n)
	}
}

func TestContextCancelledDuringRequest(t *testing.T) {
	fx := start(t, standin.Options{Faults: []standin.Fault{{Kind: standin.FaultDelay, Delay: 10 * time.Second}}})
	c := fx.client(t, socrata.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	err := c.Stations(ctx, countJSON)
	if el := time.Since(t0); el > 5*time.Second || !errors.Is(err, context.DeadlineExceeded) || socrata.IsTransient(err) {
		t.Errorf("after %s: err = %v", el, err)
	}
	if n := fx.srv.Requests("/resource/z8bn-74gv.json"); n != 1 {
		t.Errorf("retried after the caller's deadline: %d requests", n)
	}
}

func TestRetryBudget(t *testing.T) {
	fx := start(t, standin.Options{Faults: []standin.Fault{{Kind: standin.FaultThrottle, RetryAfter: 2, Count: 10}}})
	c := fx.client(t, socrata.Config{RetryBudget: 500 * time.Millisecond})
	t0 := time.Now()
	err := c.Stations(context.Background(), countJSON)
	var se *socrata.StatusError
	if !errors.As(err, &se) || !se.Budget || se.Status != 429 || !socrata.IsTransient(err) {
		t.Fatalf("err = %v", err)
	}
	if el := time.Since(t0); el > time.Second {
		t.Errorf("slept past the budget: %s", el)
	}
}

func TestCallbackErrorStops(t *testing.T) {
	fx := start(t, standin.Options{})
	c := fx.client(t, socrata.Config{PageSize: 50})
	boom := errors.New("boom")
	err := c.Crimes(context.Background(), day(0), day(6), func([]byte) (int, error) { return 0, boom })
	if !errors.Is(err, boom) || socrata.IsTransient(err) || !strings.Contains(err.Error(), "handle ijzp-q8t2 page at offset 0") {
		t.Errorf("err = %v", err)
	}
	if n := fx.srv.Requests(crimesPath); n != 1 {
		t.Errorf("%d requests after a callback error", n)
	}
	// A callback claiming more rows than $limit is a bug worth stopping for.
	err = c.Crimes(context.Background(), day(0), day(6), func([]byte) (int, error) { return 51, nil })
	if err == nil {
		t.Error("rows > page size accepted")
	}
}

func TestInvalidArguments(t *testing.T) {
	for _, cfg := range []socrata.Config{{BaseURL: "ftp://x"}, {BaseURL: "://"}, {BaseURL: "http://"}, {Format: "xml"}} {
		if _, err := socrata.New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
	c, err := socrata.New(socrata.Config{BaseURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	if c.PageSize() != socrata.DefaultPageSize || c.Format() != socrata.FormatJSON {
		t.Errorf("defaults: %d %s", c.PageSize(), c.Format())
	}
	if err := c.Crimes(context.Background(), day(6), day(6), new(collector).json); err == nil {
		t.Error("empty range accepted")
	}
	if err := c.Query(context.Background(), "../x", socrata.Query{}, new(collector).json); err == nil {
		t.Error("bad dataset id accepted")
	}
}

func TestReadSecret(t *testing.T) {
	dir := t.TempDir()
	if s, err := socrata.ReadSecret(filepath.Join(dir, "missing")); s != "" || err != nil {
		t.Errorf("missing: %q %v", s, err)
	}
	if s, err := socrata.ReadSecret(""); s != "" || err != nil {
		t.Errorf("empty path: %q %v", s, err)
	}
	p := filepath.Join(dir, "token")
	if err := os.WriteFile(p, []byte("  abc123\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := socrata.ReadSecret(p); s != "abc123" || err != nil {
		t.Errorf("token: %q %v", s, err)
	}
	if _, err := socrata.ReadSecret(dir); err == nil {
		t.Error("a directory read as a secret")
	}
}
