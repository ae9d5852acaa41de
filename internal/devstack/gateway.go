package devstack

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arrestcast/arrestcast/internal/stackfile"
)

// Namespace is faasd's function namespace: /function/<name>.openfaas-fn is
// the same function as /function/<name> (the cron-connector calls it so).
const Namespace = "openfaas-fn"

// FunctionInfo is what the gateway knows of a function from stack.yml.
type FunctionInfo struct {
	Name        string
	Image       string
	EnvProcess  string
	EnvVars     map[string]string
	Labels      map[string]string
	Annotations map[string]string
	Secrets     []string
	Limits      *stackfile.Resources
	Requests    *stackfile.Resources
	// ExecTimeout is the function's exec_timeout: of-watchdog answers 504
	// when a call runs longer (0: no limit but the gateway's).
	ExecTimeout time.Duration
}

// Upstreams tells the gateway where a function's process listens: ok is false
// when the function is deployed but has no running replica.
type Upstreams interface {
	Upstream(name string) (addr string, ok bool)
}

// UpstreamFunc adapts a function to Upstreams.
type UpstreamFunc func(name string) (string, bool)

// Upstream implements Upstreams.
func (f UpstreamFunc) Upstream(name string) (string, bool) { return f(name) }

// GatewayOptions configure a Gateway.
type GatewayOptions struct {
	Functions []FunctionInfo
	Upstreams Upstreams
	User      string // basic auth on /system/* (faasd: admin)
	Password  string
	// UpstreamTimeout bounds one call to a function (faasd: upstream_timeout 65 s).
	UpstreamTimeout time.Duration
	Logger          *slog.Logger
	Client          *http.Client // posts async callbacks; default has UpstreamTimeout
	QueueSize       int          // async requests waiting at most (default 1024)
}

// Gateway serves the OpenFaaS gateway's invocation surface over local
// processes: /function/<name>[/path], /async-function/<name>[/path] (a queue
// worked with max_inflight 1, as faasd's queue-worker), /system/functions,
// /system/function/<name> (basic auth) and /healthz.
type Gateway struct {
	opts  GatewayOptions
	fns   map[string]FunctionInfo
	names []string
	count map[string]*atomic.Int64
	proxy *httputil.ReverseProxy
	log   *slog.Logger

	queue     chan *asyncCall
	closeOnce sync.Once
	closing   chan struct{}
	worker    sync.WaitGroup
}

type asyncCall struct {
	id       string
	name     string
	method   string
	path     string
	query    string
	header   http.Header
	body     []byte
	callback string
}

type ctxKey int

const upstreamKey ctxKey = 0

// NewGateway builds a gateway and starts its async worker; Close stops it.
func NewGateway(opts GatewayOptions) *Gateway {
	if opts.UpstreamTimeout <= 0 {
		opts.UpstreamTimeout = 65 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: opts.UpstreamTimeout}
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = 1024
	}
	g := &Gateway{
		opts:    opts,
		fns:     map[string]FunctionInfo{},
		count:   map[string]*atomic.Int64{},
		log:     opts.Logger,
		queue:   make(chan *asyncCall, opts.QueueSize),
		closing: make(chan struct{}),
	}
	for _, f := range opts.Functions {
		g.fns[f.Name] = f
		g.names = append(g.names, f.Name)
		g.count[f.Name] = new(atomic.Int64)
	}
	sort.Strings(g.names)
	transport := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 3 * time.Second}).DialContext,
		ResponseHeaderTimeout: opts.UpstreamTimeout,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
	}
	g.proxy = &httputil.ReverseProxy{
		Transport: transport,
		Rewrite: func(pr *httputil.ProxyRequest) {
			u := pr.In.Context().Value(upstreamKey).(*url.URL)
			pr.SetURL(u)
			pr.Out.URL.Path = u.Path
			pr.Out.URL.RawPath = ""
			pr.Out.URL.RawQuery = pr.In.URL.RawQuery
			pr.Out.Host = ""
			pr.SetXForwarded()
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			name := r.Context().Value(nameKey).(string)
			g.log.Warn("function call failed", "function", name, "err", err.Error())
			status := http.StatusBadGateway
			if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
				status = http.StatusGatewayTimeout
			}
			writeText(w, status, fmt.Sprintf("Can't reach service for: %s.", name))
		},
	}
	g.worker.Add(1)
	go g.work()
	return g
}

const nameKey ctxKey = 1

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Close stops taking async calls and waits for the one in flight.
func (g *Gateway) Close() {
	g.closeOnce.Do(func() { close(g.closing) })
	g.worker.Wait()
}

// InvocationCount returns how many calls reached a function through the gateway.
func (g *Gateway) InvocationCount(name string) int64 {
	if c, ok := g.count[name]; ok {
		return c.Load()
	}
	return 0
}

// ServeHTTP routes as the OpenFaaS gateway does.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Tag every call (X-Call-Id, X-Start-Time), as the gateway's middleware does.
	start := time.Now()
	if r.Header.Get("X-Call-Id") == "" {
		id := newCallID()
		r.Header.Set("X-Call-Id", id)
		w.Header().Set("X-Call-Id", id)
	}
	r.Header.Add("X-Start-Time", strconv.FormatInt(start.UTC().UnixNano(), 10))
	w.Header().Add("X-Start-Time", strconv.FormatInt(start.UTC().UnixNano(), 10))

	p := r.URL.Path
	switch {
	case p == "/healthz":
		writeText(w, http.StatusOK, "OK")
	case strings.HasPrefix(p, "/function/"):
		g.invoke(w, r, strings.TrimPrefix(p, "/function/"))
	case strings.HasPrefix(p, "/async-function/"):
		g.enqueue(w, r, strings.TrimPrefix(p, "/async-function/"))
	case p == "/system" || strings.HasPrefix(p, "/system/"):
		if !g.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Basic realm="Restricted"`)
			writeText(w, http.StatusUnauthorized, "invalid credentials")
			return
		}
		g.system(w, r)
	default:
		http.NotFound(w, r)
	}
}

// splitFunction splits "<name>[.openfaas-fn][/rest]" into the function name
// and the path the function sees ("/rest", or "/").
func splitFunction(rest string) (name, path string) {
	name, sub, _ := strings.Cut(rest, "/")
	name = strings.TrimSuffix(name, "."+Namespace)
	return name, "/" + sub
}

func (g *Gateway) invoke(w http.ResponseWriter, r *http.Request, rest string) {
	name, path := splitFunction(rest)
	if _, ok := g.fns[name]; !ok || name == "" {
		writeText(w, http.StatusNotFound, fmt.Sprintf("Cannot find service: %s.", name))
		return
	}
	g.count[name].Add(1)
	start := time.Now()
	addr, ok := g.opts.Upstreams.Upstream(name)
	if !ok {
		g.log.Warn("function has no running replica", "function", name)
		writeText(w, http.StatusBadGateway, fmt.Sprintf("Can't reach service for: %s.", name))
		return
	}
	u := &url.URL{Scheme: "http", Host: addr, Path: path}
	ctx := context.WithValue(context.WithValue(r.Context(), upstreamKey, u), nameKey, name)
	if t := g.fns[name].ExecTimeout; t > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t)
		defer cancel()
	}
	rec := &statusRecorder{ResponseWriter: w}
	g.proxy.ServeHTTP(rec, r.WithContext(ctx))
	g.log.Info("invoked", "function", name, "method", r.Method, "path", path, "status", rec.status,
		"seconds", time.Since(start).Seconds(), "call_id", r.Header.Get("X-Call-Id"))
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// enqueue takes an async call: 202 with X-Call-Id at once, run later.
func (g *Gateway) enqueue(w http.ResponseWriter, r *http.Request, rest string) {
	if r.Method != http.MethodPost {
		writeText(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	}
	name, path := splitFunction(rest)
	if name == "" {
		writeText(w, http.StatusNotFound, "Cannot find service: .")
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeText(w, http.StatusBadRequest, err.Error())
		return
	}
	cb := r.Header.Get("X-Callback-Url")
	if cb != "" {
		if _, err := url.Parse(cb); err != nil {
			writeText(w, http.StatusBadRequest, err.Error())
			return
		}
	}
	call := &asyncCall{
		id: r.Header.Get("X-Call-Id"), name: name, method: r.Method, path: path,
		query: r.URL.RawQuery, header: r.Header.Clone(), body: body, callback: cb,
	}
	select {
	case <-g.closing:
		writeText(w, http.StatusServiceUnavailable, "gateway is shutting down")
		return
	default:
	}
	select {
	case g.queue <- call:
	default:
		writeText(w, http.StatusInternalServerError, "async queue is full")
		return
	}
	w.Header().Set("X-Call-Id", call.id)
	w.WriteHeader(http.StatusAccepted)
}

// work runs queued calls one at a time (queue-worker max_inflight 1).
func (g *Gateway) work() {
	defer g.worker.Done()
	for {
		select {
		case <-g.closing:
			return
		case call := <-g.queue:
			g.runAsync(call)
		}
	}
}

func (g *Gateway) runAsync(call *asyncCall) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-g.closing:
			cancel()
		case <-ctx.Done():
		}
	}()
	req := httptest.NewRequestWithContext(ctx, call.method, "/", bytes.NewReader(call.body))
	req.URL = &url.URL{Path: "/function/" + call.name + call.path, RawQuery: call.query}
	req.RequestURI = req.URL.RequestURI()
	req.Header = call.header.Clone()
	req.Header.Del("X-Callback-Url")
	req.Header.Del("X-Start-Time")
	start := time.Now()
	rec := httptest.NewRecorder()
	g.serveRecovering(rec, req)
	res := rec.Result()
	seconds := time.Since(start).Seconds()
	g.log.Info("async call done", "function", call.name, "call_id", call.id, "status", res.StatusCode, "seconds", seconds)
	if call.callback == "" {
		return
	}
	cbReq, err := http.NewRequestWithContext(ctx, http.MethodPost, call.callback, bytes.NewReader(rec.Body.Bytes()))
	if err != nil {
		g.log.Error("async callback", "function", call.name, "call_id", call.id, "err", err.Error())
		return
	}
	for k, v := range res.Header {
		cbReq.Header[k] = append([]string(nil), v...)
	}
	cbReq.Header.Set("X-Duration-Seconds", fmt.Sprintf("%f", seconds))
	cbReq.Header.Set("X-Function-Status", strconv.Itoa(res.StatusCode))
	cbReq.Header.Set("X-Function-Name", call.name)
	cbReq.Header.Set("X-Call-Id", call.id)
	cbRes, err := g.opts.Client.Do(cbReq)
	if err != nil {
		g.log.Error("async callback failed", "function", call.name, "call_id", call.id, "url", call.callback, "err", err.Error())
		return
	}
	_, _ = io.Copy(io.Discard, cbRes.Body)
	cbRes.Body.Close()
	g.log.Info("async callback posted", "function", call.name, "call_id", call.id, "status", cbRes.StatusCode)
}

// serveRecovering runs one queued call; the reverse proxy aborts a broken
// response with a panic the HTTP server would catch, so catch it here.
func (g *Gateway) serveRecovering(w *httptest.ResponseRecorder, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v != http.ErrAbortHandler {
				panic(v)
			}
			if w.Code == 0 || w.Code == http.StatusOK && w.Body.Len() == 0 {
				w.Code = http.StatusBadGateway
			}
		}
	}()
	g.ServeHTTP(w, r)
}

func (g *Gateway) authorized(r *http.Request) bool {
	u, p, ok := r.BasicAuth()
	if !ok || g.opts.Password == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(u), []byte(g.opts.User)) == 1 &&
		subtle.ConstantTimeCompare([]byte(p), []byte(g.opts.Password)) == 1
}

// FunctionStatus is one entry of /system/functions (faas-provider's FunctionStatus).
type FunctionStatus struct {
	Name              string            `json:"name"`
	Image             string            `json:"image"`
	Namespace         string            `json:"namespace"`
	EnvProcess        string            `json:"envProcess"`
	EnvVars           map[string]string `json:"envVars,omitempty"`
	Secrets           []string          `json:"secrets,omitempty"`
	Labels            map[string]string `json:"labels"`
	Annotations       map[string]string `json:"annotations"`
	Limits            *Resources        `json:"limits,omitempty"`
	Requests          *Resources        `json:"requests,omitempty"`
	InvocationCount   float64           `json:"invocationCount"`
	Replicas          uint64            `json:"replicas"`
	AvailableReplicas uint64            `json:"availableReplicas"`
}

// Resources are a function's limits or requests in /system/functions.
type Resources struct {
	Memory string `json:"memory,omitempty"`
	CPU    string `json:"cpu,omitempty"`
}

func resources(r *stackfile.Resources) *Resources {
	if r == nil {
		return nil
	}
	return &Resources{Memory: r.Memory, CPU: r.CPU}
}

func (g *Gateway) status(name string) FunctionStatus {
	f := g.fns[name]
	st := FunctionStatus{
		Name: f.Name, Image: f.Image, Namespace: Namespace, EnvProcess: f.EnvProcess, EnvVars: f.EnvVars,
		Secrets: f.Secrets, Labels: orEmpty(f.Labels), Annotations: orEmpty(f.Annotations),
		Limits: resources(f.Limits), Requests: resources(f.Requests), InvocationCount: float64(g.count[name].Load()), Replicas: 1,
	}
	if _, ok := g.opts.Upstreams.Upstream(name); ok {
		st.AvailableReplicas = 1
	}
	return st
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func (g *Gateway) system(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == "/system/functions":
		if r.Method != http.MethodGet {
			writeText(w, http.StatusMethodNotAllowed, "this local gateway cannot deploy: edit stack.yml and run make dev-down dev")
			return
		}
		out := make([]FunctionStatus, 0, len(g.names))
		for _, n := range g.names {
			out = append(out, g.status(n))
		}
		writeJSON(w, http.StatusOK, out)
	case strings.HasPrefix(p, "/system/function/"):
		name := strings.TrimSuffix(strings.TrimPrefix(p, "/system/function/"), "."+Namespace)
		if _, ok := g.fns[name]; !ok {
			writeText(w, http.StatusNotFound, fmt.Sprintf("function %s not found", name))
			return
		}
		writeJSON(w, http.StatusOK, g.status(name))
	case p == "/system/info":
		writeJSON(w, http.StatusOK, map[string]any{
			"provider": map[string]string{"provider": "arrestcast-devstack", "orchestration": "local processes"},
			"arch":     "local",
		})
	default:
		http.NotFound(w, r)
	}
}

func writeText(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, msg)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeText(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// newCallID is a random UUID (version 4), as the gateway's call IDs are.
func newCallID() string {
	b := []byte(randomHex(16))
	// set version 4 and the RFC 4122 variant on the hex digits
	b[12] = '4'
	b[16] = "89ab"[int(b[16])%4]
	return string(b[0:8]) + "-" + string(b[8:12]) + "-" + string(b[12:16]) + "-" + string(b[16:20]) + "-" + string(b[20:32])
}
