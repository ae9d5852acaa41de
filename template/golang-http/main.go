// Command handler serves one ArrestCast function behind the OpenFaaS of-watchdog
// (mode=http, upstream_url=http://127.0.0.1:8082), as the golang-http template does.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	function "github.com/arrestcast/arrestcast"
	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/arrestcast/arrestcast/shared/config"
	"github.com/arrestcast/arrestcast/shared/config/bodylimit"
)

const defaultTimeout = 10 * time.Second

func main() {
	slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stdout, nil)))

	readTimeout := durationEnv("read_timeout", defaultTimeout)
	writeTimeout := durationEnv("write_timeout", defaultTimeout)
	healthInterval := durationEnv("healthcheck_interval", defaultTimeout)
	maxBody, err := bodylimit.FromEnv(os.Getenv)
	if err != nil {
		slog.Error(err.Error(), "value", os.Getenv(bodylimit.Env))
		os.Exit(1)
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

func makeRequestHandler(maxBody int64) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := bodylimit.Read(w, r, maxBody)
		if errors.Is(err, bodylimit.ErrTooLarge) {
			slog.Warn("request body refused", "method", r.Method, "content_length", r.ContentLength, "max_request_body", maxBody)
			bodylimit.Refuse(w, maxBody)
			return
		}
		if err != nil {
			bodylimit.WriteError(w, http.StatusBadRequest, map[string]any{"error": "read request body: " + err.Error()})
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
