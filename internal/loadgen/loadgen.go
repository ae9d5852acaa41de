// Package loadgen is a closed-loop HTTP load generator for benchmarks: N
// connections kept alive, each with one request in flight at a time, for a
// fixed duration or request count, cycling through a set of request bodies.
// It reports throughput, latency percentiles and errors by kind. It only
// targets loopback addresses: it is a benchmark tool, not a way to load
// someone else's server.
package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Bounds of one run, so a typo cannot turn a benchmark into a flood.
const (
	MaxConnections = 1024
	MaxDuration    = time.Hour
	MaxRequests    = 100_000_000
	maxBodyRead    = 16 << 20
)

// Config describes one run.
type Config struct {
	URL         string
	Method      string      // POST when empty
	Header      http.Header // sent with every request (Content-Type: application/json when Bodies are set and it is absent)
	Bodies      [][]byte    // cycled in order across all connections; nil sends no body
	Connections int         // concurrent connections, each one request in flight; 1 when 0
	// The run ends when Duration has passed after Warmup or Requests
	// measured requests have been sent, whichever comes first; at least
	// one must be set. With only Requests, MaxDuration still bounds it.
	Duration time.Duration
	Requests int64
	Warmup   time.Duration // requests started during warm-up are not counted
	Timeout  time.Duration // per request; 10 s when 0
	// Expect, when set, must appear in a 2xx response body for it to count
	// as a success (a server answering 200 with an error is not throughput).
	Expect []byte
}

// Result is what one run measured. Latencies are of requests that got an
// HTTP response, successful or not.
type Result struct {
	URL             string           `json:"url"`
	Method          string           `json:"method"`
	Connections     int              `json:"connections"`
	Bodies          int              `json:"bodies"`
	WarmupSeconds   float64          `json:"warmup_seconds"`
	DurationSeconds float64          `json:"duration_seconds"` // measured window: end of warm-up to last response
	Requests        int64            `json:"requests"`         // completed in the window, successful or not
	OK              int64            `json:"ok"`
	Errors          int64            `json:"errors"`
	ErrorsByKind    map[string]int64 `json:"errors_by_kind,omitempty"` // status_503, transport, timeout, refused, reset, unexpected_body
	Status          map[string]int64 `json:"status"`                   // HTTP status code → count
	RequestsPerSec  float64          `json:"requests_per_second"`      // successful requests per second
	BytesRead       int64            `json:"bytes_read"`
	Latency         Latency          `json:"latency_ms"`
}

// Latency summarises a histogram in milliseconds.
type Latency struct {
	Min  float64 `json:"min"`
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p99_9"`
	Max  float64 `json:"max"`
}

// Summarise turns a histogram into milliseconds.
func Summarise(h *Histogram) Latency {
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
	return Latency{
		Min:  ms(h.Min()),
		Mean: ms(h.Mean()),
		P50:  ms(h.Quantile(0.50)),
		P90:  ms(h.Quantile(0.90)),
		P99:  ms(h.Quantile(0.99)),
		P999: ms(h.Quantile(0.999)),
		Max:  ms(h.Max()),
	}
}

// CheckLoopback refuses any target that is not plain HTTP on a loopback
// address (127.0.0.0/8, ::1, or a name that resolves only to those).
func CheckLoopback(ctx context.Context, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("parse target url: %w", err)
	}
	if u.Scheme != "http" {
		return nil, fmt.Errorf("target %q: only http:// is supported", raw)
	}
	host := u.Hostname()
	if host == "" {
		return nil, fmt.Errorf("target %q: no host", raw)
	}
	if ip := net.ParseIP(host); ip != nil {
		if !ip.IsLoopback() {
			return nil, fmt.Errorf("target %q: %s is not a loopback address; loadgen only loads local servers", raw, ip)
		}
		return u, nil
	}
	addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil {
		return nil, fmt.Errorf("resolve target host %q: %w", host, err)
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("target %q: %s resolves to nothing", raw, host)
	}
	for _, a := range addrs {
		if !a.IP.IsLoopback() {
			return nil, fmt.Errorf("target %q: %s resolves to %s, not a loopback address; loadgen only loads local servers", raw, host, a.IP)
		}
	}
	return u, nil
}

// check fills defaults and enforces the bounds.
func (c *Config) check() error {
	if c.Method == "" {
		c.Method = http.MethodPost
	}
	if c.Connections == 0 {
		c.Connections = 1
	}
	if c.Connections < 0 || c.Connections > MaxConnections {
		return fmt.Errorf("connections %d: want 1..%d", c.Connections, MaxConnections)
	}
	if c.Duration <= 0 && c.Requests <= 0 {
		return errors.New("set a duration or a request count")
	}
	if c.Duration < 0 || c.Duration > MaxDuration || c.Warmup < 0 || c.Warmup > MaxDuration {
		return fmt.Errorf("duration %s, warm-up %s: each must be within 0..%s", c.Duration, c.Warmup, MaxDuration)
	}
	if c.Requests < 0 || c.Requests > MaxRequests {
		return fmt.Errorf("requests %d: want 0..%d", c.Requests, MaxRequests)
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	for i, b := range c.Bodies {
		if len(b) == 0 {
			return fmt.Errorf("body %d is empty", i)
		}
	}
	return nil
}

// worker is one connection's loop state; it is touched by its goroutine only.
type worker struct {
	hist     Histogram
	ok, errs int64
	bytes    int64
	status   map[int]int64
	kinds    map[string]int64
	last     time.Time // when its last measured response ended
	buf      bytes.Buffer
	header   http.Header
}

// Run loads the target until the configured duration or count is reached,
// or ctx is cancelled (then it returns what was measured and ctx's error).
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.check(); err != nil {
		return nil, fmt.Errorf("loadgen config: %w", err)
	}
	if _, err := CheckLoopback(ctx, cfg.URL); err != nil {
		return nil, err
	}
	header := cfg.Header.Clone()
	if header == nil {
		header = http.Header{}
	}
	if len(cfg.Bodies) > 0 && header.Get("Content-Type") == "" {
		header.Set("Content-Type", "application/json")
	}
	// One transport of one connection per worker, as wrk holds its
	// connections: a shared pool may dial a spare connection when a request
	// starts while another worker's connection is on its way back to the
	// pool, and then measures connection set-up too.
	clients := make([]*http.Client, cfg.Connections)
	for i := range clients {
		tr := &http.Transport{
			Proxy:               nil, // never through a proxy: the target is local
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        1,
			MaxIdleConnsPerHost: 1,
			MaxConnsPerHost:     1,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
			ForceAttemptHTTP2:   false,
		}
		defer tr.CloseIdleConnections()
		clients[i] = &http.Client{Transport: tr, Timeout: cfg.Timeout}
	}

	start := time.Now()
	warmEnd := start.Add(cfg.Warmup)
	end := warmEnd.Add(cfg.Duration)
	if cfg.Duration <= 0 {
		end = warmEnd.Add(MaxDuration)
	}
	var (
		next    atomic.Uint64 // body cursor
		claimed atomic.Int64  // measured requests handed out
	)
	workers := make([]*worker, cfg.Connections)
	var wg sync.WaitGroup
	for i := range workers {
		// Each connection gets its own header map: the client reads it while
		// other goroutines send theirs.
		w := &worker{status: map[int]int64{}, kinds: map[string]int64{}, header: header.Clone()}
		workers[i] = w
		wg.Add(1)
		client := clients[i]
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				t0 := time.Now()
				if !t0.Before(end) {
					return
				}
				measured := !t0.Before(warmEnd)
				if measured && cfg.Requests > 0 && claimed.Add(1) > cfg.Requests {
					return
				}
				var body []byte
				if len(cfg.Bodies) > 0 {
					body = cfg.Bodies[(next.Add(1)-1)%uint64(len(cfg.Bodies))]
				}
				code, kind, n := w.do(ctx, client, cfg.Method, cfg.URL, body, cfg.Expect)
				t1 := time.Now()
				if ctx.Err() != nil {
					return // cancelled mid-request: neither success nor the server's error
				}
				if !measured {
					if kind != "" && code == 0 {
						pause(ctx, 10*time.Millisecond)
					}
					continue
				}
				w.last = t1
				w.bytes += n
				if code != 0 {
					w.hist.Record(t1.Sub(t0))
					w.status[code]++
				}
				if kind == "" {
					w.ok++
					continue
				}
				w.errs++
				w.kinds[kind]++
				if code == 0 {
					// A refused or broken connection fails at once; a short
					// pause keeps a dead target from spinning the CPU.
					pause(ctx, 10*time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()

	res := &Result{
		URL: cfg.URL, Method: cfg.Method, Connections: cfg.Connections, Bodies: len(cfg.Bodies),
		WarmupSeconds: cfg.Warmup.Seconds(),
		Status:        map[string]int64{}, ErrorsByKind: map[string]int64{},
	}
	var hist Histogram
	last := warmEnd
	for _, w := range workers {
		hist.Merge(&w.hist)
		res.OK += w.ok
		res.Errors += w.errs
		res.BytesRead += w.bytes
		for c, n := range w.status {
			res.Status[strconv.Itoa(c)] += n
		}
		for k, n := range w.kinds {
			res.ErrorsByKind[k] += n
		}
		if w.last.After(last) {
			last = w.last
		}
	}
	if len(res.ErrorsByKind) == 0 {
		res.ErrorsByKind = nil
	}
	res.Requests = res.OK + res.Errors
	res.DurationSeconds = last.Sub(warmEnd).Seconds()
	if res.DurationSeconds > 0 {
		res.RequestsPerSec = float64(res.OK) / res.DurationSeconds
	}
	res.Latency = Summarise(&hist)
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("load %s: %w", cfg.URL, err)
	}
	return res, nil
}

// do sends one request and reads the whole answer (so the connection is
// reused). code is 0 when no response came; kind is "" on success.
func (w *worker) do(ctx context.Context, client *http.Client, method, target string, body, expect []byte) (code int, kind string, n int64) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return 0, "request", 0
	}
	req.Header = w.header
	resp, err := client.Do(req)
	if err != nil {
		return 0, transportKind(err), 0
	}
	w.buf.Reset()
	n, err = w.buf.ReadFrom(io.LimitReader(resp.Body, maxBodyRead))
	resp.Body.Close()
	if err != nil {
		return resp.StatusCode, transportKind(err), n
	}
	switch {
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return resp.StatusCode, "status_" + strconv.Itoa(resp.StatusCode), n
	case len(expect) > 0 && !bytes.Contains(w.buf.Bytes(), expect):
		return resp.StatusCode, "unexpected_body", n
	}
	return resp.StatusCode, "", n
}

// transportKind names a failure that got no (complete) response.
func transportKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "reset"
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	}
	return "transport"
}

func pause(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// SortedKeys lists a count map's keys in order, for stable reports.
func SortedKeys(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
