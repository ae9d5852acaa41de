// Command socrata-standin serves the portal's CSV exports through a local
// stand-in of the Chicago Data Portal's SODA API (see internal/standin).
//
//	socrata-standin -crimes data/chicago/crimes_2017.csv.gz \
//	    -stations data/chicago/police_stations.csv \
//	    -addr 127.0.0.1:0 -addr-file /tmp/socrata.addr [-token T | -token-file F] \
//	    [-faults '[{"kind":"throttle","count":2,"retry_after":1}]']
//
// The data is loaded before listening; once the address is printed on
// stdout (and written to -addr-file) the server answers requests. Logs are
// JSON lines on stderr. SIGINT/SIGTERM shut it down gracefully.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/arrestcast/arrestcast/internal/standin"
	"github.com/arrestcast/arrestcast/shared/platform/socrata"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "socrata-standin:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("socrata-standin", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		crimes    = fs.String("crimes", "", "crimes CSV export (plain or .gz)")
		stations  = fs.String("stations", "", "police stations CSV export")
		addr      = fs.String("addr", "127.0.0.1:8089", "listen address; port 0 picks a free one")
		addrFile  = fs.String("addr-file", "", "write the listening host:port to this file once ready")
		token     = fs.String("token", "", "require this X-App-Token")
		tokenFile = fs.String("token-file", "", "require the X-App-Token held in this file (e.g. an OpenFaaS secret)")
		faults    = fs.String("faults", "", `initial fault script, JSON, e.g. '[{"kind":"status","status":503,"count":2}]'`)
		level     = fs.String("log-level", "info", "debug, info, warn or error")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *crimes == "" || *stations == "" {
		return errors.New("-crimes and -stations are required")
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(*level)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: lv}))

	tok := *token
	if *tokenFile != "" {
		if tok != "" {
			return errors.New("give -token or -token-file, not both")
		}
		t, err := socrata.ReadSecret(*tokenFile)
		if err != nil {
			return err
		}
		if t == "" {
			return fmt.Errorf("-token-file %s is missing or empty", *tokenFile)
		}
		tok = t
	}
	var script []standin.Fault
	if s := strings.TrimSpace(*faults); s != "" {
		if !strings.HasPrefix(s, "[") {
			s = "[" + s + "]"
		}
		if err := json.Unmarshal([]byte(s), &script); err != nil {
			return fmt.Errorf("-faults: %w", err)
		}
	}

	t0 := time.Now()
	data, err := standin.Load(*crimes, *stations)
	if err != nil {
		return err
	}
	log.Info("data loaded", "crimes", data.Rows(standin.CrimesID), "stations", data.Rows(standin.StationsID),
		"took", time.Since(t0).Round(time.Millisecond).String())
	srv, err := standin.New(data, standin.Options{Token: tok, Faults: script, Logger: log})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()

	bound := ln.Addr().String()
	if *addrFile != "" {
		if err := writeFileAtomic(*addrFile, bound+"\n"); err != nil {
			_ = hs.Close()
			return fmt.Errorf("write -addr-file: %w", err)
		}
		defer os.Remove(*addrFile) // a stale address would mislead the next script
	}
	log.Info("listening", "addr", bound, "url", "http://"+bound, "token_required", tok != "", "faults", len(script))
	fmt.Fprintln(stdout, bound)

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

// writeFileAtomic renames into place so a reader never sees half an address.
func writeFileAtomic(path, content string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".addr-*")
	if err != nil {
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if _, err := tmp.WriteString(content); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}
