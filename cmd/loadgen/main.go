// Command loadgen loads a local HTTP server with a closed loop of requests
// (internal/loadgen) and prints throughput, latency percentiles and errors.
//
//	go run ./cmd/loadgen -url http://127.0.0.1:8080/ -bodies bodies.jsonl -c 16 -d 10s -json
//
// Only loopback targets are accepted.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/arrestcast/arrestcast/internal/loadgen"
)

type headers []string

func (h *headers) String() string     { return strings.Join(*h, ", ") }
func (h *headers) Set(v string) error { *h = append(*h, v); return nil }

func main() {
	slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stderr, nil)))
	var (
		target   = flag.String("url", "", "target URL (loopback only), e.g. http://127.0.0.1:8080/")
		method   = flag.String("method", "POST", "HTTP method")
		conns    = flag.Int("c", 1, "connections, each with one request in flight")
		duration = flag.Duration("d", 10*time.Second, "measured duration (0: only -n bounds the run)")
		count    = flag.Int64("n", 0, "measured request count (0: only -d bounds the run)")
		warmup   = flag.Duration("warmup", time.Second, "warm-up before measuring")
		timeout  = flag.Duration("timeout", 10*time.Second, "per-request timeout")
		bodyFile = flag.String("bodies", "", "file of request bodies, one JSON document a line, cycled")
		body     = flag.String("body", "", "a single request body")
		expect   = flag.String("expect", "", "text a 2xx body must contain to count as a success")
		asJSON   = flag.Bool("json", false, "print the result as JSON")
		hdrs     headers
	)
	flag.Var(&hdrs, "H", `request header "Name: value" (repeatable)`)
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout, *target, *method, *conns, *duration, *count, *warmup, *timeout, *bodyFile, *body, *expect, hdrs, *asJSON); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer, target, method string, conns int, duration time.Duration, count int64,
	warmup, timeout time.Duration, bodyFile, body, expect string, hdrs []string, asJSON bool) error {
	if target == "" {
		return fmt.Errorf("-url is required")
	}
	cfg := loadgen.Config{
		URL: target, Method: method, Connections: conns, Duration: duration, Requests: count,
		Warmup: warmup, Timeout: timeout, Header: http.Header{},
	}
	if expect != "" {
		cfg.Expect = []byte(expect)
	}
	for _, h := range hdrs {
		name, value, ok := strings.Cut(h, ":")
		if !ok {
			return fmt.Errorf("header %q: want \"Name: value\"", h)
		}
		cfg.Header.Add(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	switch {
	case bodyFile != "" && body != "":
		return fmt.Errorf("use -bodies or -body, not both")
	case bodyFile != "":
		f, err := os.Open(bodyFile)
		if err != nil {
			return fmt.Errorf("open bodies: %w", err)
		}
		cfg.Bodies, err = loadgen.ReadBodies(f)
		f.Close()
		if err != nil {
			return err
		}
	case body != "":
		cfg.Bodies = [][]byte{[]byte(body)}
	}
	res, err := loadgen.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	fmt.Fprintf(out, "%s %s, %d connection(s), %d bodies, %.1f s measured after %.1f s warm-up\n",
		res.Method, res.URL, res.Connections, res.Bodies, res.DurationSeconds, res.WarmupSeconds)
	fmt.Fprintf(out, "requests %d (ok %d, errors %d): %.1f requests/s\n", res.Requests, res.OK, res.Errors, res.RequestsPerSec)
	l := res.Latency
	fmt.Fprintf(out, "latency ms: min %.3f  mean %.3f  p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f\n",
		l.Min, l.Mean, l.P50, l.P90, l.P99, l.P999, l.Max)
	for _, k := range loadgen.SortedKeys(res.Status) {
		fmt.Fprintf(out, "status %s: %d\n", k, res.Status[k])
	}
	for _, k := range loadgen.SortedKeys(res.ErrorsByKind) {
		fmt.Fprintf(out, "error %s: %d\n", k, res.ErrorsByKind[k])
	}
	return nil
}
