// Package socrata is a small SODA 2.x client for the Chicago Data Portal.
//
// It pages through a dataset with $limit/$offset and hands each page's raw
// body (JSON or CSV) to a callback; decoding into the project's table lives
// elsewhere. Transient failures (429, 408, 5xx, network errors, bodies cut
// mid-transfer, per-request timeouts) are retried with exponential backoff and
// full jitter; a page is only ever handed to the callback once, complete.
package socrata

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Portal defaults.
const (
	DefaultBaseURL  = "https://data.cityofchicago.org"
	CrimesDataset   = "ijzp-q8t2" // Crimes - 2001 to Present
	StationsDataset = "z8bn-74gv" // Police Stations
	DefaultPageSize = 50000
	// TokenHeader carries the app token; without one the portal throttles hard.
	TokenHeader = "X-App-Token"
	// DefaultSecretPath is where OpenFaaS mounts the app-token secret
	// (stack.yml's "arrestcast-socrata-app-token").
	DefaultSecretPath = "/var/openfaas/secrets/arrestcast-socrata-app-token"
)

// Retry and timeout defaults (see Config).
const (
	DefaultRequestTimeout = 2 * time.Minute
	DefaultMaxAttempts    = 6
	DefaultRetryBudget    = 5 * time.Minute
	DefaultBaseBackoff    = time.Second
	DefaultMaxBackoff     = 30 * time.Second
	DefaultMaxRetryAfter  = time.Minute
	DefaultMaxPageBytes   = 512 << 20
)

// Format is the representation requested from the portal.
type Format string

// Supported formats.
const (
	FormatJSON Format = "json"
	FormatCSV  Format = "csv"
)

// Config configures a Client. Zero values take the defaults above.
type Config struct {
	BaseURL  string // default DefaultBaseURL
	AppToken string // sent as X-App-Token when non-empty
	Format   Format // default FormatJSON
	PageSize int    // $limit per request; default DefaultPageSize

	// HTTPClient performs the requests; default is a client whose redirects
	// never carry the app token to another host. Its own Timeout should be 0:
	// RequestTimeout bounds each attempt instead.
	HTTPClient *http.Client

	RequestTimeout time.Duration // one attempt, headers and body included
	MaxAttempts    int           // attempts per page, first one included
	RetryBudget    time.Duration // wall time per page across attempts and waits
	BaseBackoff    time.Duration // backoff cap for the first retry, doubled per retry
	MaxBackoff     time.Duration // backoff cap
	MaxRetryAfter  time.Duration // cap on a server's Retry-After
	MaxPageBytes   int64         // larger pages are refused (permanent error)

	Logger    *slog.Logger // retries are logged at Warn; default slog.Default()
	UserAgent string
}

// Client fetches Socrata datasets page by page. It is safe for concurrent use.
type Client struct {
	base          *url.URL
	token         string
	format        Format
	pageSize      int
	hc            *http.Client
	reqTimeout    time.Duration
	maxAttempts   int
	retryBudget   time.Duration
	baseBackoff   time.Duration
	maxBackoff    time.Duration
	maxRetryAfter time.Duration
	maxPageBytes  int64
	log           *slog.Logger
	userAgent     string
}

// New returns a Client for cfg.
func New(cfg Config) (*Client, error) {
	raw := cfg.BaseURL
	if raw == "" {
		raw = DefaultBaseURL
	}
	base, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil {
		return nil, fmt.Errorf("socrata: parse base URL %q: %w", raw, err)
	}
	if base.Scheme != "http" && base.Scheme != "https" || base.Host == "" {
		return nil, fmt.Errorf("socrata: base URL %q: want http(s)://host", raw)
	}
	c := &Client{
		base:          base,
		token:         strings.TrimSpace(cfg.AppToken),
		format:        cfg.Format,
		pageSize:      cfg.PageSize,
		hc:            cfg.HTTPClient,
		reqTimeout:    orDur(cfg.RequestTimeout, DefaultRequestTimeout),
		maxAttempts:   cfg.MaxAttempts,
		retryBudget:   orDur(cfg.RetryBudget, DefaultRetryBudget),
		baseBackoff:   orDur(cfg.BaseBackoff, DefaultBaseBackoff),
		maxBackoff:    orDur(cfg.MaxBackoff, DefaultMaxBackoff),
		maxRetryAfter: orDur(cfg.MaxRetryAfter, DefaultMaxRetryAfter),
		maxPageBytes:  cfg.MaxPageBytes,
		log:           cfg.Logger,
		userAgent:     cfg.UserAgent,
	}
	switch c.format {
	case "":
		c.format = FormatJSON
	case FormatJSON, FormatCSV:
	default:
		return nil, fmt.Errorf("socrata: unsupported format %q", cfg.Format)
	}
	if c.pageSize <= 0 {
		c.pageSize = DefaultPageSize
	}
	if c.maxAttempts <= 0 {
		c.maxAttempts = DefaultMaxAttempts
	}
	if c.maxBackoff < c.baseBackoff {
		c.maxBackoff = c.baseBackoff
	}
	if c.maxPageBytes <= 0 {
		c.maxPageBytes = DefaultMaxPageBytes
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	if c.userAgent == "" {
		c.userAgent = "arrestcast-socrata/1"
	}
	if c.hc == nil {
		c.hc = &http.Client{CheckRedirect: dropTokenOffHost}
	}
	return c, nil
}

// dropTokenOffHost keeps the app token from following a redirect to another
// host (net/http forwards custom headers).
func dropTokenOffHost(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	if req.URL.Host != via[0].URL.Host {
		req.Header.Del(TokenHeader)
	}
	return nil
}

func orDur(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Format reports the representation the client requests (json or csv).
func (c *Client) Format() Format { return c.format }

// PageSize reports the $limit used per request.
func (c *Client) PageSize() int { return c.pageSize }

// PageFunc receives one complete page body (a JSON array or a CSV document
// with its header row) and returns the number of data rows it held. The body
// is valid only during the call: the client reads the next page into the same
// memory (a year is ~150 MB of JSON; fresh buffers per page were a third of
// download's time). Paging stops after a page with fewer rows than the page size.
type PageFunc func(body []byte) (rows int, err error)

// Query selects rows of a dataset. Empty Order means ":id", which gives the
// stable order that $offset paging needs.
type Query struct {
	Where string
	Order string
}

// Crimes fetches the crimes dataset for from <= date < to. The wall-clock
// fields of from and to are used as they are: the portal's dates are floating
// Chicago local times, so their time zone is ignored.
func (c *Client) Crimes(ctx context.Context, from, to time.Time, page PageFunc) error {
	if !wall(from).Before(wall(to)) {
		return fmt.Errorf("socrata: crimes range [%s, %s) is empty", floating(from), floating(to))
	}
	return c.Query(ctx, CrimesDataset, Query{Where: CrimesWhere(from, to)}, page)
}

// Stations fetches the whole police stations dataset.
func (c *Client) Stations(ctx context.Context, page PageFunc) error {
	return c.Query(ctx, StationsDataset, Query{}, page)
}

// CrimesWhere is the $where clause Crimes sends for [from, to), e.g.
// date >= '2017-01-01T00:00:00' AND date < '2017-02-01T00:00:00'.
func CrimesWhere(from, to time.Time) string {
	return "date >= '" + floating(from) + "' AND date < '" + floating(to) + "'"
}

// wall is t's wall clock read as if it were UTC, truncated to milliseconds.
func wall(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(),
		t.Nanosecond()/1e6*1e6, time.UTC)
}

// floating formats t's wall clock as a SoQL floating timestamp (milliseconds
// only when there are any).
func floating(t time.Time) string {
	w := wall(t)
	if w.Nanosecond() != 0 {
		return w.Format("2006-01-02T15:04:05.000")
	}
	return w.Format("2006-01-02T15:04:05")
}

// Query pages through dataset, calling page for every page in order.
func (c *Client) Query(ctx context.Context, dataset string, q Query, page PageFunc) error {
	if page == nil {
		return errors.New("socrata: nil page callback")
	}
	if dataset == "" || strings.ContainsAny(dataset, "/?#.") {
		return fmt.Errorf("socrata: invalid dataset id %q", dataset)
	}
	if q.Order == "" {
		q.Order = ":id"
	}
	var buf bytes.Buffer // reused by every page
	for offset := 0; ; offset += c.pageSize {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("socrata: fetch %s at offset %d: %w", dataset, offset, context.Cause(ctx))
		}
		u := c.pageURL(dataset, q, offset)
		start := time.Now()
		body, err := c.fetch(ctx, &buf, dataset, offset, u)
		if err != nil {
			return fmt.Errorf("socrata: fetch %s page at offset %d: %w", dataset, offset, err)
		}
		rows, err := page(body)
		if err != nil {
			return fmt.Errorf("socrata: handle %s page at offset %d: %w", dataset, offset, err)
		}
		c.log.LogAttrs(ctx, slog.LevelDebug, "socrata page",
			slog.String("dataset", dataset), slog.Int("offset", offset), slog.Int("rows", rows),
			slog.Int("bytes", len(body)), slog.Duration("took", time.Since(start)))
		if rows < 0 || rows > c.pageSize {
			return fmt.Errorf("socrata: %s page at offset %d: callback reported %d rows for $limit %d", dataset, offset, rows, c.pageSize)
		}
		if rows < c.pageSize {
			return nil
		}
	}
}

// pageURL builds the request URL. Spaces are sent as %20, not '+', and the
// $-parameter names are left readable; both are valid in a query string.
func (c *Client) pageURL(dataset string, q Query, offset int) string {
	var b strings.Builder
	b.WriteString(c.base.String())
	b.WriteString("/resource/")
	b.WriteString(url.PathEscape(dataset))
	b.WriteByte('.')
	b.WriteString(string(c.format))
	b.WriteByte('?')
	if q.Where != "" {
		b.WriteString("$where=")
		b.WriteString(escape(q.Where))
		b.WriteByte('&')
	}
	b.WriteString("$order=")
	b.WriteString(escape(q.Order))
	b.WriteString("&$limit=")
	b.WriteString(strconv.Itoa(c.pageSize))
	b.WriteString("&$offset=")
	b.WriteString(strconv.Itoa(offset))
	return b.String()
}

func escape(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }

// fetch gets one page, retrying transient failures.
func (c *Client) fetch(ctx context.Context, buf *bytes.Buffer, dataset string, offset int, u string) ([]byte, error) {
	start := time.Now()
	for attempt := 1; ; attempt++ {
		body, retryAfter, err := c.attempt(ctx, buf, dataset, u)
		if err == nil {
			return body, nil
		}
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		var se *StatusError
		if !errors.As(err, &se) {
			return nil, err
		}
		se.Attempts = attempt
		if !se.Transient() {
			return nil, se
		}
		if attempt >= c.maxAttempts {
			return nil, se
		}
		wait := c.backoff(attempt)
		if retryAfter > 0 {
			wait = min(retryAfter, c.maxRetryAfter)
		}
		if spent := time.Since(start); spent+wait > c.retryBudget {
			se.Budget = true
			return nil, se
		}
		c.log.LogAttrs(ctx, slog.LevelWarn, "socrata retry",
			slog.String("dataset", dataset), slog.Int("offset", offset),
			slog.Int("attempt", attempt), slog.Int("max_attempts", c.maxAttempts),
			slog.Int("status", se.Status), slog.String("error", se.Error()),
			slog.Duration("wait", wait))
		if err := sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("wait before retry %d (last failure: %v): %w", attempt+1, se, err)
		}
	}
}

// backoff is "full jitter": uniform in [0, min(max, base*2^(attempt-1))].
func (c *Client) backoff(attempt int) time.Duration {
	ceil := c.maxBackoff
	if attempt-1 < 32 {
		if d := c.baseBackoff << (attempt - 1); d > 0 && d < ceil {
			ceil = d
		}
	}
	return time.Duration(rand.Int64N(int64(ceil) + 1))
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// attempt performs one request under the per-request timeout. All failures
// except the caller's context ending come back as *StatusError.
// The body is read into buf (reset first).
func (c *Client) attempt(ctx context.Context, buf *bytes.Buffer, dataset, u string) (body []byte, retryAfter time.Duration, err error) {
	rctx, cancel := context.WithTimeoutCause(ctx, c.reqTimeout,
		fmt.Errorf("request timeout %s exceeded", c.reqTimeout))
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, 0, &StatusError{Dataset: dataset, Status: -1, Err: fmt.Errorf("build request: %w", err)}
	}
	if c.format == FormatCSV {
		req.Header.Set("Accept", "text/csv")
	} else {
		req.Header.Set("Accept", "application/json")
	}
	req.Header.Set("User-Agent", c.userAgent)
	if c.token != "" {
		req.Header.Set(TokenHeader, c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, 0, &StatusError{Dataset: dataset, Err: timeoutCause(rctx, err)}
	}
	defer resp.Body.Close()

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		// Error bodies are small; a failure to read one does not change the verdict.
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		se := &StatusError{Dataset: dataset, Status: resp.StatusCode}
		se.Code, se.Message = portalMessage(snippet)
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
			retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		}
		return nil, retryAfter, se
	}

	buf.Reset()
	if cl := resp.ContentLength; cl > c.maxPageBytes {
		return nil, 0, &StatusError{Dataset: dataset, Status: -1,
			Err: fmt.Errorf("page of %d bytes exceeds limit %d", cl, c.maxPageBytes)}
	} else if need := int(cl) + bytes.MinRead; cl > 0 && buf.Cap() < need {
		// Sized once with room for a slightly bigger next page: Grow would
		// double the capacity, and fresh memory is what a page costs most.
		*buf = *bytes.NewBuffer(make([]byte, 0, need+need/8))
	}
	n, err := buf.ReadFrom(io.LimitReader(resp.Body, c.maxPageBytes+1))
	if err != nil {
		// Cut mid-transfer (unexpected EOF, reset) or timed out: never deliver half a page.
		return nil, 0, &StatusError{Dataset: dataset, Err: fmt.Errorf("read body after %d bytes: %w", n, timeoutCause(rctx, err))}
	}
	if n > c.maxPageBytes {
		return nil, 0, &StatusError{Dataset: dataset, Status: -1,
			Err: fmt.Errorf("page exceeds limit of %d bytes", c.maxPageBytes)}
	}
	return buf.Bytes(), 0, nil
}

// timeoutCause names the per-request timeout when it was what ended err.
func timeoutCause(rctx context.Context, err error) error {
	if rctx.Err() != nil {
		if cause := context.Cause(rctx); cause != nil && !errors.Is(err, cause) {
			return fmt.Errorf("%w: %w", cause, err)
		}
	}
	return err
}

// portalMessage extracts the portal's error code and message. SODA answers
// {"code":"...","error":true,"message":"..."} (2.0) or {"errorCode":...}
// (2.1); proxies in front of it answer HTML, of which a snippet is kept.
func portalMessage(body []byte) (code, msg string) {
	var e struct {
		Code      string `json:"code"`
		ErrorCode string `json:"errorCode"`
		Message   string `json:"message"`
	}
	if json.Unmarshal(body, &e) == nil && (e.Message != "" || e.Code != "" || e.ErrorCode != "") {
		if e.Code == "" {
			e.Code = e.ErrorCode
		}
		return e.Code, e.Message
	}
	s := strings.Join(strings.Fields(string(body)), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return "", s
}

// parseRetryAfter reads delay-seconds or an HTTP-date; 0 when absent or bad.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s <= 0 {
			return 0
		}
		if s > 1<<31 {
			s = 1 << 31
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// StatusError is a failed request to the portal: either an HTTP error status
// or (Status 0) no complete response at all (network error, connection cut
// mid-body, per-request timeout).
type StatusError struct {
	Dataset  string
	Status   int    // HTTP status; 0 = no complete response; -1 = refused locally
	Code     string // portal error code, e.g. "query.compiler.malformed"
	Message  string // portal error message (or a snippet of a non-JSON body)
	Attempts int    // attempts made for the page
	Budget   bool   // gave up because the retry budget would be exceeded
	Err      error  // transport error when Status is 0 or -1
}

// Transient reports whether retrying later may succeed: throttling (429),
// 408, 5xx and transport failures. Other 4xx are permanent.
func (e *StatusError) Transient() bool {
	switch {
	case e.Status == 0:
		return true
	case e.Status == http.StatusTooManyRequests, e.Status == http.StatusRequestTimeout:
		return true
	case e.Status >= 500:
		return true
	}
	return false
}

func (e *StatusError) Error() string {
	var b strings.Builder
	b.WriteString("socrata ")
	b.WriteString(e.Dataset)
	b.WriteString(": ")
	switch {
	case e.Status > 0:
		fmt.Fprintf(&b, "HTTP %d %s", e.Status, http.StatusText(e.Status))
		if e.Code != "" {
			b.WriteString(" (" + e.Code + ")")
		}
		if e.Message != "" {
			b.WriteString(": " + e.Message)
		}
	case e.Err != nil:
		b.WriteString(e.Err.Error())
	default:
		b.WriteString("request failed")
	}
	if e.Attempts > 0 {
		fmt.Fprintf(&b, " [after %d attempt", e.Attempts)
		if e.Attempts > 1 {
			b.WriteByte('s')
		}
		if e.Budget {
			b.WriteString(", retry budget exhausted")
		}
		b.WriteByte(']')
	}
	return b.String()
}

func (e *StatusError) Unwrap() error { return e.Err }

// IsTransient reports whether err is a portal failure that may succeed when
// tried again later (retries exhausted on 429/5xx/network). It is false for
// permanent errors (other 4xx), callback errors and the caller's own context
// ending.
func IsTransient(err error) bool {
	var se *StatusError
	return errors.As(err, &se) && se.Transient()
}

// ReadSecret reads an OpenFaaS secret file, trimming surrounding whitespace.
// A missing file (or empty path) means "no secret" and is not an error.
func ReadSecret(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read secret %s: %w", path, err)
	}
	return strings.TrimSpace(string(b)), nil
}
