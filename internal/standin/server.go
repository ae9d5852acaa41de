// Package standin is a local stand-in for the Chicago Data Portal's SODA 2.x
// API, serving the crimes (ijzp-q8t2) and police stations (z8bn-74gv)
// datasets from the portal's CSV exports. Tests, the dev stack and the demo
// use it instead of the live portal.
//
// Routes:
//
//	GET /resource/{ijzp-q8t2|z8bn-74gv}[.json|.csv]  $where, $order, $limit, $offset
//	GET|POST|DELETE /_faults    fault script (JSON Fault or [Fault, ...])
//	GET|DELETE /_requests       requests per path
//	GET /healthz                readiness and row counts
//
// Faults are consumed in order: each /resource request takes the first
// pending fault whose Dataset matches (after its Skip count runs out).
package standin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// FaultKind names an injectable failure.
type FaultKind string

// Fault kinds.
const (
	// FaultThrottle answers 429 with a JSON error and, when RetryAfter > 0,
	// a Retry-After header of that many seconds.
	FaultThrottle FaultKind = "throttle"
	// FaultStatus answers Status (default 500). 502/503/504 get an HTML body
	// as a proxy in front of the portal would send; others the portal's JSON.
	FaultStatus FaultKind = "status"
	// FaultDelay waits Delay (or until the client goes away), then answers normally.
	FaultDelay FaultKind = "delay"
	// FaultCut sends the status line and headers with the full
	// Content-Length, then CutAfter bytes of the body (default half), then
	// closes the connection.
	FaultCut FaultKind = "cut"
	// FaultReset closes the connection (with a TCP RST) without answering.
	FaultReset FaultKind = "reset"
)

// Fault is one scripted failure, applied to Count responses.
type Fault struct {
	Kind       FaultKind     `json:"kind"`
	Count      int           `json:"count,omitempty"`       // responses affected; 0 means 1
	Skip       int           `json:"skip,omitempty"`        // matching requests served normally first
	Dataset    string        `json:"dataset,omitempty"`     // only this dataset id; "" = any
	Status     int           `json:"status,omitempty"`      // FaultStatus: 400..599
	RetryAfter int           `json:"retry_after,omitempty"` // FaultThrottle: seconds
	Delay      time.Duration `json:"-"`                     // FaultDelay; JSON "delay": "1.5s"
	CutAfter   int           `json:"cut_after,omitempty"`   // FaultCut: body bytes sent
}

// MarshalJSON writes Delay as a Go duration string.
func (f Fault) MarshalJSON() ([]byte, error) {
	type plain Fault // drops the methods, so no recursion
	j := struct {
		plain
		Delay string `json:"delay,omitempty"`
	}{plain: plain(f)}
	if f.Delay > 0 {
		j.Delay = f.Delay.String()
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads Delay as a Go duration string ("250ms", "2s").
func (f *Fault) UnmarshalJSON(b []byte) error {
	type plain Fault
	var j struct {
		plain
		Delay string `json:"delay"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return err
	}
	*f = Fault(j.plain)
	if j.Delay != "" {
		d, err := time.ParseDuration(j.Delay)
		if err != nil {
			return fmt.Errorf("fault delay: %w", err)
		}
		f.Delay = d
	}
	return nil
}

func (f *Fault) validate() error {
	if f.Count == 0 {
		f.Count = 1
	}
	if f.Count < 0 || f.Skip < 0 {
		return errors.New("fault count and skip must not be negative")
	}
	switch f.Kind {
	case FaultThrottle:
		if f.RetryAfter < 0 {
			return errors.New("throttle fault: retry_after must not be negative")
		}
	case FaultStatus:
		if f.Status == 0 {
			f.Status = http.StatusInternalServerError
		}
		if f.Status < 400 || f.Status > 599 {
			return fmt.Errorf("status fault: status %d is not 4xx/5xx", f.Status)
		}
	case FaultDelay:
		if f.Delay <= 0 {
			return errors.New("delay fault: delay must be positive")
		}
	case FaultCut:
		if f.CutAfter < 0 {
			return errors.New("cut fault: cut_after must not be negative")
		}
	case FaultReset:
	default:
		return fmt.Errorf("unknown fault kind %q (throttle, status, delay, cut, reset)", f.Kind)
	}
	return nil
}

// Options configures a Server.
type Options struct {
	// Token, when set, must come with every /resource request (X-App-Token
	// header or $$app_token parameter); otherwise the answer is 403.
	Token string
	// Faults is the initial fault script.
	Faults []Fault
	// Logger gets one line per request; nil discards.
	Logger *slog.Logger
}

// Server serves Data through the portal's API. It is an http.Handler.
type Server struct {
	data  *Data
	token string
	log   *slog.Logger
	mux   *http.ServeMux

	mu     sync.Mutex
	faults []Fault
	counts map[string]int

	bufMu sync.Mutex
	bufs  [][]byte // response buffers kept for reuse (a sync.Pool loses them at every GC)
}

// New returns a Server for data. It fails only on an invalid fault.
func New(data *Data, opts Options) (*Server, error) {
	s := &Server{data: data, token: opts.Token, log: opts.Logger, counts: map[string]int{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if err := s.Inject(opts.Faults...); err != nil {
		return nil, err
	}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET /resource/{file}", s.serveResource)
	s.mux.HandleFunc("GET /_faults", s.serveFaults)
	s.mux.HandleFunc("POST /_faults", s.serveFaults)
	s.mux.HandleFunc("DELETE /_faults", s.serveFaults)
	s.mux.HandleFunc("GET /_requests", s.serveRequests)
	s.mux.HandleFunc("DELETE /_requests", s.serveRequests)
	s.mux.HandleFunc("GET /healthz", s.serveHealth)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no route for "+r.URL.Path)
	})
	return s, nil
}

// NewFromFiles loads the CSV files and returns a Server for them.
func NewFromFiles(crimesPath, stationsPath string, opts Options) (*Server, error) {
	d, err := Load(crimesPath, stationsPath)
	if err != nil {
		return nil, err
	}
	return New(d, opts)
}

// Data returns the served data.
func (s *Server) Data() *Data { return s.data }

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Inject appends faults to the script.
func (s *Server) Inject(faults ...Fault) error {
	for i := range faults {
		if err := faults[i].validate(); err != nil {
			return err
		}
	}
	s.mu.Lock()
	s.faults = append(s.faults, faults...)
	s.mu.Unlock()
	return nil
}

// ClearFaults drops every pending fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	s.faults = nil
	s.mu.Unlock()
}

// Faults returns the pending faults (with their remaining counts).
func (s *Server) Faults() []Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.faults)
}

// Requests reports how many requests reached path (e.g.
// "/resource/ijzp-q8t2.json"), faulted ones included.
func (s *Server) Requests(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[path]
}

// RequestCounts returns requests per /resource path.
func (s *Server) RequestCounts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.counts))
	for k, v := range s.counts {
		out[k] = v
	}
	return out
}

// ResetRequests zeroes the request counts.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	s.counts = map[string]int{}
	s.mu.Unlock()
}

// take counts the request and returns the fault to apply to it, if any.
func (s *Server) take(path, dataset string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts[path]++
	for i := range s.faults {
		f := &s.faults[i]
		if f.Dataset != "" && f.Dataset != dataset {
			continue
		}
		if f.Skip > 0 {
			f.Skip--
			return Fault{}, false
		}
		applied := *f
		if f.Count--; f.Count <= 0 {
			s.faults = slices.Delete(s.faults, i, i+1)
		}
		return applied, true
	}
	return Fault{}, false
}

func (s *Server) serveResource(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	file := r.PathValue("file")
	id, format, hasExt := strings.Cut(file, ".")
	if !hasExt {
		format = "json"
	}
	attrs := []slog.Attr{slog.String("path", r.URL.Path), slog.String("query", r.URL.RawQuery)}
	logDone := func(status, rows, bytes int, fault FaultKind) {
		attrs = append(attrs, slog.Int("status", status), slog.Int("rows", rows), slog.Int("bytes", bytes),
			slog.Duration("took", time.Since(start)))
		if fault != "" {
			attrs = append(attrs, slog.String("fault", string(fault)))
		}
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
	}

	fault, faulted := s.take(r.URL.Path, id)
	if faulted {
		switch fault.Kind {
		case FaultThrottle:
			if fault.RetryAfter > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(fault.RetryAfter))
			}
			writeError(w, http.StatusTooManyRequests, "too_many_requests", "Too many requests: throttled (injected fault)")
			logDone(http.StatusTooManyRequests, 0, 0, fault.Kind)
			return
		case FaultStatus:
			writeFaultStatus(w, fault.Status)
			logDone(fault.Status, 0, 0, fault.Kind)
			return
		case FaultReset:
			reset(w)
			logDone(0, 0, 0, fault.Kind)
			return
		case FaultDelay:
			t := time.NewTimer(fault.Delay)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				logDone(0, 0, 0, fault.Kind)
				return
			}
		}
	}

	if s.token != "" {
		got := r.Header.Get("X-App-Token")
		if got == "" {
			got = r.URL.Query().Get("$$app_token")
		}
		if got != s.token {
			writeError(w, http.StatusForbidden, "permission_denied", "Invalid app_token specified")
			logDone(http.StatusForbidden, 0, 0, "")
			return
		}
	}
	d := s.data.sets[id]
	if d == nil {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("Dataset %q not found", id))
		logDone(http.StatusNotFound, 0, 0, "")
		return
	}
	if format != "json" && format != "csv" {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("format %q is not served by the stand-in (json, csv)", format))
		logDone(http.StatusNotFound, 0, 0, "")
		return
	}
	vals, err := parseParams(r.URL.RawQuery)
	var q query
	if err == nil {
		q, err = parseQuery(d, vals)
	}
	if err != nil {
		code := "query.compiler.malformed"
		if qe, ok := err.(*queryError); ok {
			code = qe.code
		}
		writeError(w, http.StatusBadRequest, code, err.Error())
		logDone(http.StatusBadRequest, 0, 0, "")
		return
	}

	rows := d.selectRows(q)
	csvOut := format == "csv"
	body := s.buffer(d.estimate(csvOut, len(rows)))
	defer func() { s.release(body) }()
	ctype := "application/json;charset=utf-8"
	if csvOut {
		body = d.appendCSV(body, rows)
		ctype = "text/csv;charset=utf-8"
	} else {
		body = d.appendJSON(body, rows)
	}
	d.observe(csvOut, len(rows), len(body))

	if faulted && fault.Kind == FaultCut {
		n := fault.CutAfter
		if n <= 0 || n >= len(body) {
			n = len(body) / 2
		}
		cut(w, ctype, body, n)
		logDone(http.StatusOK, len(rows), n, fault.Kind)
		return
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body) // a client gone mid-body is its own problem
	}
	logDone(http.StatusOK, len(rows), len(body), fault.Kind)
}

// buffer returns an empty buffer with room for n bytes.
func (s *Server) buffer(n int) []byte {
	s.bufMu.Lock()
	defer s.bufMu.Unlock()
	for i, b := range s.bufs {
		if cap(b) >= n {
			s.bufs = slices.Delete(s.bufs, i, i+1)
			return b[:0]
		}
	}
	return make([]byte, 0, n)
}

// release keeps a couple of buffers, the largest, for the next pages.
func (s *Server) release(b []byte) {
	const keep = 2
	s.bufMu.Lock()
	defer s.bufMu.Unlock()
	s.bufs = append(s.bufs, b)
	slices.SortFunc(s.bufs, func(x, y []byte) int { return cap(y) - cap(x) })
	if len(s.bufs) > keep {
		clear(s.bufs[keep:])
		s.bufs = s.bufs[:keep]
	}
}

// parseParams decodes the query string; unlike url.ParseQuery it does not
// silently drop malformed pairs.
func parseParams(raw string) (map[string][]string, error) {
	out := map[string][]string{}
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		key, err1 := unescape(k)
		val, err2 := unescape(v)
		if err := errors.Join(err1, err2); err != nil {
			return nil, malformed("bad query string: %v", err)
		}
		out[key] = append(out[key], val)
	}
	return out, nil
}

func unescape(s string) (string, error) {
	if !strings.ContainsAny(s, "%+") {
		return s, nil
	}
	return url.QueryUnescape(s)
}

// writeError answers with the portal's JSON error shape.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	b := make([]byte, 0, 96+len(msg))
	b = append(b, `{"code":`...)
	b = appendString(b, code)
	b = append(b, `,"error":true,"message":`...)
	b = appendString(b, msg)
	b = append(b, "}\n"...)
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeFaultStatus(w http.ResponseWriter, status int) {
	switch status {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		body := fmt.Sprintf("<html><head><title>%d %s</title></head><body><h1>%d %s</h1></body></html>\n",
			status, http.StatusText(status), status, http.StatusText(status))
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	default:
		code := "internal_error"
		if status < 500 {
			code = "query.compiler.malformed"
		}
		writeError(w, status, code, fmt.Sprintf("%s (injected fault)", http.StatusText(status)))
	}
}

// cut writes a response that claims len(body) bytes but stops after n, then
// closes the connection: the client sees an unexpected EOF mid-body.
func cut(w http.ResponseWriter, ctype string, body []byte, n int) {
	hj, ok := w.(http.Hijacker)
	if !ok { // HTTP/2: abort the stream after a partial body instead
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body[:n])
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		panic(http.ErrAbortHandler)
	}
	conn, bw, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	defer conn.Close()
	fmt.Fprintf(bw, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", ctype, len(body))
	_, _ = bw.Write(body[:n])
	_ = bw.Flush()
}

// reset drops the connection with a RST (SO_LINGER 0) and no answer.
func reset(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	c := conn
	if nc, ok := c.(interface{ NetConn() net.Conn }); ok { // TLS
		c = nc.NetConn()
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

func (s *Server) serveFaults(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodPost:
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			writeError(w, http.StatusBadRequest, "bad_request", "read body: "+err.Error())
			return
		}
		var faults []Fault
		if t := bytes.TrimSpace(body); len(t) > 0 && t[0] == '[' {
			err = json.Unmarshal(t, &faults)
		} else {
			var f Fault
			err = json.Unmarshal(t, &f)
			faults = []Fault{f}
		}
		if err == nil {
			err = s.Inject(faults...)
		}
		if err != nil {
			writeError(w, http.StatusBadRequest, "bad_request", "faults: "+err.Error())
			return
		}
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "faults injected", slog.Int("count", len(faults)))
	case http.MethodDelete:
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeJSON(w, map[string]any{"pending": s.Faults()})
}

func (s *Server) serveRequests(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodDelete {
		s.ResetRequests()
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeJSON(w, s.RequestCounts())
}

func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, map[string]any{"status": "ok", "rows": map[string]int{
		CrimesID: s.data.Rows(CrimesID), StationsID: s.data.Rows(StationsID)}})
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "internal_error", err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(append(b, '\n'))
}
