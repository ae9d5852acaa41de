// Command handler serves one ArrestCast function behind the OpenFaaS of-watchdog
// (mode=http, upstream_url=http://127.0.0.1:8082), as the golang-http template does.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	function "github.com/arrestcast/arrestcast"
	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/arrestcast/arrestcast/shared/config"
)

const (
	defaultTimeout = 10 * time.Second
	// defaultMaxRequestBody bounds a body when max_request_body is unset:
	// handler.Request holds the whole body, so it is read before Handle runs
	// (and before any token check the handler makes).
	defaultMaxRequestBody = 1 << 20
)

func main() {
	slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stdout, nil)))

	readTimeout := durationEnv("read_timeout", defaultTimeout)
	writeTimeout := durationEnv("write_timeout", defaultTimeout)
	healthInterval := durationEnv("healthcheck_interval", defaultTimeout)
	maxBody := int64(defaultMaxRequestBody)
	if v := os.Getenv("max_request_body"); v != "" {
		n, err := byteSize(v)
		if err != nil {
			slog.Error("bad max_request_body", "value", v, "err", err)
			os.Exit(1)
		}
		maxBody = n
	}

	// The watchdog talks to :8082. ARRESTCAST_LISTEN only exists so the local
	// stack can run every function on one machine.
	addr := os.Getenv("ARRESTCAST_LISTEN")
	if addr == "" {
		addr = ":8082"
	}
	s := &http.Server{
		Addr:           addr,
		ReadTimeout:    readTimeout,
		WriteTimeout:   writeTimeout,
		MaxHeaderBytes: 1 << 20,
		Handler:        makeRequestHandler(maxBody),
	}
	if err := listenUntilShutdown(s, healthInterval, writeTimeout, maxBody); err != nil {
		slog.Error("server stopped", "err", err)
		os.Exit(1)
	}
}

// durationEnv reads seconds ("60") or a Go duration ("1m5s").
func durationEnv(name string, fallback time.Duration) time.Duration {
	v := os.Getenv(name)
	if v == "" {
		return fallback
	}
	if n, err := strconv.Atoi(v); err == nil {
		return time.Duration(n) * time.Second
	}
	if d, err := time.ParseDuration(v); err == nil {
		return d
	}
	return fallback
}

// byteSize reads a size in bytes ("65536") or with a binary unit: 64KiB,
// 9MiB, 1GiB as GOMEMLIMIT writes them, or 64Ki, 9Mi, 1Gi as stack.yml's
// memory limits do.
func byteSize(v string) (int64, error) {
	num, mult := strings.TrimSpace(v), int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"B", 1}} {
		if rest, ok := strings.CutSuffix(num, u.suffix); ok {
			num, mult = strings.TrimSpace(rest), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("want a positive number of bytes (65536) or of KiB, MiB, GiB (64KiB, 9MiB; or 64Ki, 9Mi), got %q", v)
	}
	return n * mult, nil
}

var errBodyTooLarge = errors.New("request body larger than max_request_body")

// readBody reads the request body, refusing one larger than limit before it
// is allocated: a Content-Length over the limit without reading a byte of
// it, a chunked body (of-watchdog forwards every body chunked) after at most
// limit+1 bytes. A body within the limit is read whole, as handler.Request
// needs it.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	if r.ContentLength > limit {
		return nil, errBodyTooLarge
	}
	// MaxBytesReader also has the server close the connection instead of
	// draining what the client still sends.
	body := http.MaxBytesReader(w, r.Body, limit)
	if r.ContentLength >= 0 {
		b := make([]byte, r.ContentLength)
		if _, err := io.ReadFull(body, b); err != nil {
			return nil, err
		}
		return b, nil
	}
	return readChunked(body)
}

// readChunked reads a body of unknown length in pieces of at most 1 MiB and
// copies them into one slice of the exact size at the end, as io.ReadAll
// does, but drops the pieces when the body proves too large instead of
// assembling a slice only to throw it away: a refused body costs its limit
// once, not twice.
func readChunked(body io.Reader) ([]byte, error) {
	var pieces [][]byte
	size, next := 0, 512
	for {
		p := make([]byte, next)
		n, err := fill(body, p)
		if n > 0 {
			pieces = append(pieces, p[:n])
			size += n
		}
		if err == io.EOF {
			break
		}
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, errBodyTooLarge
		}
		if err != nil {
			return nil, err // a body cut off is an error, never a shorter body
		}
		next = min(2*next, 1<<20)
	}
	if len(pieces) == 1 {
		return pieces[0], nil
	}
	b := make([]byte, 0, size)
	for _, p := range pieces {
		b = append(b, p...)
	}
	return b, nil
}

// fill reads into p until it is full or the reader fails (io.EOF at the
// end), returning that error as it is.
func fill(r io.Reader, p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m, err := r.Read(p[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// writeError answers {"error": message, "field": "body", ...} as the
// functions' own refusals do (shared/faas.Fail).
func writeError(w http.ResponseWriter, status int, fields map[string]any) {
	fields["field"] = "body"
	b, _ := json.Marshal(fields)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

func makeRequestHandler(maxBody int64) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(w, r, maxBody)
		if errors.Is(err, errBodyTooLarge) {
			slog.Warn("request body refused", "method", r.Method, "content_length", r.ContentLength, "max_request_body", maxBody)
			writeError(w, http.StatusRequestEntityTooLarge, map[string]any{
				"error":            fmt.Sprintf("request body larger than max_request_body (%d bytes)", maxBody),
				"max_request_body": maxBody,
			})
			return
		}
		if err != nil {
			writeError(w, http.StatusBadRequest, map[string]any{"error": "read request body: " + err.Error()})
			return
		}
		req := handler.Request{
			Body:        body,
			Header:      r.Header,
			Method:      r.Method,
			QueryString: r.URL.RawQuery,
			Host:        r.Host,
		}
		req.WithContext(r.Context())

		res, err := function.Handle(req)
		if err != nil {
			slog.Error("handler failed", "method", r.Method, "err", err)
			http.Error(w, fmt.Sprintf("%s", err), http.StatusInternalServerError)
			return
		}
		for k, vs := range res.Header {
			for _, v := range vs {
				w.Header().Add(k, v)
			}
		}
		status := res.StatusCode
		if status == 0 {
			status = http.StatusOK
		}
		w.WriteHeader(status)
		if len(res.Body) > 0 {
			_, _ = w.Write(res.Body)
		}
	}
}

// listenUntilShutdown serves until SIGTERM, then keeps serving for one health
// check interval (so the watchdog and gateway stop sending traffic) and drains
// in-flight requests for up to writeTimeout.
func listenUntilShutdown(s *http.Server, healthInterval, writeTimeout time.Duration, maxBody int64) error {
	idle := make(chan error, 1)
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
		<-sig
		slog.Info("SIGTERM received, shutting down", "after", healthInterval.String())
		time.Sleep(healthInterval)
		ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
		defer cancel()
		idle <- s.Shutdown(ctx)
	}()
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return err
	}
	// Logged once the port is bound: whoever waits for this line can connect.
	slog.Info("listening", "addr", s.Addr, "version", config.Version,
		"read_timeout", s.ReadTimeout.String(), "write_timeout", s.WriteTimeout.String(), "max_request_body", maxBody)
	if err := s.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return <-idle
}
