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
	"github.com/arrestcast/arrestcast/shared/config/bodylimit"
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
	// ExecTimeout, when set, is enforced by the gateway as of-watchdog
	// enforces exec_timeout (504) for a function running without it.
	ExecTimeout time.Duration
	Deployed    bool // built and started: one replica
}

// Replica is where a function's running process serves.
type Replica struct {
	Addr    string    // host:port (of-watchdog's port, or the handler's)
	Dial    DialFunc  // reaches Addr; nil: the host's network
	Started time.Time // when it started: createdAt in /system/functions
}

// Upstreams tells the gateway where a function's process listens: ok is false
// when the function is deployed but has no running replica.
type Upstreams interface {
	Upstream(name string) (r Replica, ok bool)
}

// UpstreamFunc adapts a function to Upstreams.
type UpstreamFunc func(name string) (Replica, bool)

// Upstream implements Upstreams.
func (f UpstreamFunc) Upstream(name string) (Replica, bool) { return f(name) }

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

	// Journal is the path of a function's journal, for GET /system/logs.
	Journal func(name string) string
	// SecretsDir holds the secrets /system/secrets lists and changes (one
	// file each, as faasd keeps them); Reserved names in it are the stack's
	// own (the gateway's credentials) and are neither listed nor changed.
	SecretsDir string
	Reserved   []string
	// Provider and Version answer GET /system/info.
	Provider ProviderInfo
	Version  VersionInfo
}

// Gateway serves the OpenFaaS gateway's surface over local processes:
// /function/<name>[/path], /async-function/<name>[/path] (a queue worked with
// max_inflight 1, as faasd's queue-worker), /healthz, and behind basic auth
// the provider API faas-cli uses: /system/functions, /system/function/<name>,
// /system/logs, /system/secrets, /system/namespaces, /system/info.
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

// upstream is the replica one call goes to.
type upstream struct {
	replica Replica
	path    string
	key     string // host:port the transport pools connections under
}

// replicaKey names one replica of a function for the connection pool: a
// restarted function is a new replica, with new connections.
func replicaKey(name string, r Replica) string {
	_, port, err := net.SplitHostPort(r.Addr)
	if err != nil {
		port = "80"
	}
	return fmt.Sprintf("%s.r%d.replica:%s", name, r.Started.UnixNano(), port)
}

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
	dialer := &net.Dialer{Timeout: 3 * time.Second}
	transport := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			up, ok := ctx.Value(upstreamKey).(*upstream)
			if !ok {
				return nil, errors.New("no replica to dial")
			}
			if up.replica.Dial != nil {
				return up.replica.Dial(ctx, network, up.replica.Addr)
			}
			return dialer.DialContext(ctx, network, up.replica.Addr)
		},
		ResponseHeaderTimeout: opts.UpstreamTimeout,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
	}
	g.proxy = &httputil.ReverseProxy{
		Transport: transport,
		Rewrite: func(pr *httputil.ProxyRequest) {
			up := pr.In.Context().Value(upstreamKey).(*upstream)
			// The URL's host is the replica's key, so pooled connections
			// never cross replicas (two namespaces may both serve on the
			// same address); the Host header is the real address.
			pr.SetURL(&url.URL{Scheme: "http", Host: up.key})
			pr.Out.URL.Path = up.path
			pr.Out.URL.RawPath = ""
			pr.Out.URL.RawQuery = pr.In.URL.RawQuery
			pr.Out.Host = up.replica.Addr
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
	rep, ok := g.opts.Upstreams.Upstream(name)
	if !ok {
		g.log.Warn("function has no running replica", "function", name)
		writeText(w, http.StatusBadGateway, fmt.Sprintf("Can't reach service for: %s.", name))
		return
	}
	ctx := context.WithValue(context.WithValue(r.Context(), upstreamKey, &upstream{replica: rep, path: path, key: replicaKey(name, rep)}), nameKey, name)
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
	// The queue holds the body until the function takes it: bound it as the
	// function's template would, before it is read whole.
	limit := g.bodyLimit(name)
	body, err := bodylimit.Read(w, r, limit)
	if errors.Is(err, bodylimit.ErrTooLarge) {
		g.log.Warn("async request body refused", "function", name, "content_length", r.ContentLength, "max_request_body", limit)
		bodylimit.Refuse(w, limit)
		return
	}
	if err != nil {
		bodylimit.WriteError(w, http.StatusBadRequest, map[string]any{"error": "read request body: " + err.Error()})
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

// bodyLimit is function name's max_request_body, read from the environment
// it runs with as its template reads it (the default for a function not
// deployed, or whose value the template would refuse to start with).
func (g *Gateway) bodyLimit(name string) int64 {
	env := g.fns[name].EnvVars
	n, err := bodylimit.FromEnv(func(k string) string { return env[k] })
	if err != nil {
		g.log.Warn("function's body limit", "function", name, "err", err.Error())
		return bodylimit.Default
	}
	return n
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
