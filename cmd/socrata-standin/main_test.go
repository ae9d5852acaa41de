package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/shared/platform/socrata"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestRunServesAndShutsDown(t *testing.T) {
	dir := t.TempDir()
	crimes := filepath.Join(dir, "crimes.csv")
	csv := "ID,Case Number,Date,Arrest,Domestic,District\r\n" +
		"2,B,01/01/2017 01:00:00 AM,true,false,018\r\n" +
		"1,A,01/01/2017 12:30:00 AM,false,false,001\r\n"
	if err := os.WriteFile(crimes, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	stations := filepath.Join(dir, "stations.csv")
	if err := os.WriteFile(stations, []byte("DISTRICT,DISTRICT NAME\n1,Central\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("tok\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addrFile := filepath.Join(dir, "addr")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr lockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-crimes", crimes, "-stations", stations, "-addr", "127.0.0.1:0",
			"-addr-file", addrFile, "-token-file", tokenFile, "-faults", `{"kind":"status","status":503}`}, &stdout, &stderr)
	}()

	var addr string
	for deadline := time.Now().Add(20 * time.Second); addr == ""; {
		select {
		case err := <-done:
			t.Fatalf("run returned early: %v\n%s", err, stderr.String())
		default:
		}
		if b, err := os.ReadFile(addrFile); err == nil {
			addr = strings.TrimSpace(string(b))
		} else if time.Now().After(deadline) {
			t.Fatalf("no -addr-file after 20s:\n%s", stderr.String())
		} else {
			time.Sleep(20 * time.Millisecond)
		}
	}
	if !strings.HasPrefix(addr, "127.0.0.1:") || strings.HasSuffix(addr, ":0") {
		t.Fatalf("address %q", addr)
	}
	if got := strings.TrimSpace(stdout.String()); got != addr {
		t.Errorf("stdout %q, addr-file %q", got, addr)
	}

	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("healthz %d", resp.StatusCode)
	}

	// The client gets past the scripted 503 with the token from the file.
	c, err := socrata.New(socrata.Config{BaseURL: "http://" + addr, AppToken: "tok", BaseBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	err = c.Crimes(ctx, time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2017, 1, 2, 0, 0, 0, 0, time.UTC),
		func(b []byte) (int, error) {
			err := json.Unmarshal(b, &got)
			return len(got), err
		})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0]["id"] != "1" || got[1]["district"] != "018" || got[1]["arrest"] != true {
		t.Errorf("rows %v", got)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no shutdown 15s after cancel")
	}
	if _, err := os.Stat(addrFile); !os.IsNotExist(err) {
		t.Errorf("addr-file left behind: %v", err)
	}
	logs := stderr.String()
	for _, want := range []string{`"msg":"listening"`, `"msg":"request"`, `"fault":"status"`, `"msg":"stopped"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s:\n%s", want, logs)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		if !json.Valid([]byte(line)) {
			t.Errorf("log line is not JSON: %s", line)
		}
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"-crimes", "x"},
		{"-crimes", "x", "-stations", "y", "-faults", "{nope"},
		{"-crimes", "x", "-stations", "y", "-log-level", "loud"},
		{"-crimes", "x", "-stations", "y", "-token", "a", "-token-file", "b"},
		{"-crimes", "/nonexistent.csv", "-stations", "/nonexistent.csv"},
	} {
		var out, errb bytes.Buffer
		if err := run(context.Background(), args, &out, &errb); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
	}
}
