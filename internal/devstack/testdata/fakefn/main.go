// Command fakefn is a stand-in function process for the devstack tests: it
// serves on ARRESTCAST_LISTEN (else :8082) like the template's main.go, echoes what it
// received, and on SIGTERM waits healthcheck_interval before exiting.
//
//	/crash        exits 3 at once
//	/status/N     answers N with header X-Fake: yes and body "status N"
//	/sleep/D      sleeps D (a Go duration) and answers "slept"
//	/env          answers its environment as JSON
//	/secret/NAME  answers the file $SECRETS_DIR/NAME
//	/fetch?url=U  GETs U and answers its status and body (what the function can reach)
//	/log?text=T   prints T on stdout and answers "logged"
//	FAKEFN_RECORD=file appends every request to file as a JSON line
//	anything else answers JSON {method, path, query, header, body, pid}
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if os.Getenv("FAKEFN_IGNORE_TERM") != "" {
		signal.Ignore(syscall.SIGTERM)
	}
	addr := os.Getenv("ARRESTCAST_LISTEN")
	if addr == "" {
		addr = ":8082" // the template's port, behind of-watchdog
	}
	fmt.Printf("fakefn %d listening on %s\n", os.Getpid(), addr)
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if rec := os.Getenv("FAKEFN_RECORD"); rec != "" {
			if f, err := os.OpenFile(rec, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644); err == nil {
				json.NewEncoder(f).Encode(map[string]any{"method": r.Method, "path": r.URL.Path, "header": r.Header, "body": string(body)})
				f.Close()
			}
		}
		switch p := r.URL.Path; {
		case p == "/crash":
			fmt.Println("crashing on purpose")
			os.Exit(3)
		case strings.HasPrefix(p, "/status/"):
			n, _ := strconv.Atoi(strings.TrimPrefix(p, "/status/"))
			w.Header().Set("X-Fake", "yes")
			w.WriteHeader(n)
			fmt.Fprintf(w, "status %d", n)
			return
		case strings.HasPrefix(p, "/sleep/"):
			d, _ := time.ParseDuration(strings.TrimPrefix(p, "/sleep/"))
			time.Sleep(d)
			fmt.Fprint(w, "slept")
			return
		case p == "/env":
			env := map[string]string{}
			for _, kv := range os.Environ() {
				k, v, _ := strings.Cut(kv, "=")
				env[k] = v
			}
			wd, _ := os.Getwd()
			env["_CWD"] = wd
			json.NewEncoder(w).Encode(env)
			return
		case p == "/fetch":
			res, err := http.Get(r.URL.Query().Get("url"))
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			fmt.Fprintf(w, "%d %s", res.StatusCode, b)
			return
		case p == "/log":
			fmt.Println(r.URL.Query().Get("text"))
			fmt.Fprint(w, "logged")
			return
		case strings.HasPrefix(p, "/secret/"):
			b, err := os.ReadFile(filepath.Join(os.Getenv("SECRETS_DIR"), strings.TrimPrefix(p, "/secret/")))
			if err != nil {
				http.Error(w, err.Error(), http.StatusNotFound)
				return
			}
			w.Write(b)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"method": r.Method, "path": r.URL.Path, "query": r.URL.RawQuery, "header": r.Header,
			"body": string(body), "pid": os.Getpid(), "host": r.Host,
		})
	})
	srv := &http.Server{Addr: addr}
	go func() {
		if os.Getenv("FAKEFN_IGNORE_TERM") != "" {
			return
		}
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM)
		<-sig
		d, err := time.ParseDuration(os.Getenv("healthcheck_interval"))
		if err != nil {
			d = 0
		}
		fmt.Println("SIGTERM received, exiting after", d)
		time.Sleep(d)
		srv.Close()
	}()
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		fmt.Println(err)
		os.Exit(1)
	}
}
