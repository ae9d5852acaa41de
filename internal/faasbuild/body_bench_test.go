package faasbuild

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/internal/procstat"
	"github.com/arrestcast/arrestcast/internal/repo"
	"github.com/arrestcast/arrestcast/internal/stackfile"
)

// BenchmarkHostileBody is the peak resident memory (VmHWM, from /proc) of a
// function process built with the project's template by faasbuild (the
// probe, testdata/probe) under POSTs with a bad token and a body of 200 MB
// or 2 GB, sent with a Content-Length or chunked (of-watchdog forwards every
// body chunked, whatever the client sent), with max_request_body as
// stack.yml sets it for predict and for a pipeline step (merge). It fails
// when the process grows by more than 3x its limit + 16 MiB, or answers
// other than 413.
//
//	go test -run '^$' -bench HostileBody -benchtime 1x ./internal/faasbuild
//
// Peak MB (idle 5.5 MB), AMD EPYC (go test: "Oxide Virtual Turin-like
// Processor", 2 cores). before: the template's io.ReadAll of the whole body
// (the probe then answered 401). after: one request (-benchtime 1x) / back
// to back (default -benchtime, 26 to 715 requests; Go's GC lets the garbage
// of earlier ones reach about the live heap):
//
//	body, framing            before   predict 9MiB   merge 64KiB
//	200 MB content-length       410     6.2 / 12.3     6.1 / 12.9
//	200 MB chunked              410    16.3 / 25.7     6.3 / 13.5
//	2 GB content-length        4319     6.2 / 11.8     6.2 / 11.8
//	2 GB chunked               4319    16.2 / 29.8     6.1 / 13.5
//
// A Content-Length over the limit is refused from the headers (growth in
// the back-to-back runs is connections' buffers); a chunked body is read to
// limit+1 bytes and dropped, costing the limit once.
func BenchmarkHostileBody(b *testing.B) {
	bin, _ := probeBinary(b)
	f, err := stackfile.Load(repo.Path("stack.yml"), nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, fn := range []string{"predict", "merge"} {
		env, err := f.Env(fn)
		if err != nil {
			b.Fatal(err)
		}
		for _, size := range []int64{200e6, 2e9} {
			for _, chunked := range []bool{false, true} {
				framing := "content-length"
				if chunked {
					framing = "chunked"
				}
				b.Run(fmt.Sprintf("fn=%s/body=%dMB/%s", fn, size/1e6, framing), func(b *testing.B) {
					p := startFunction(b, bin, map[string]string{
						"max_request_body": env["max_request_body"],
						"PROBE_TOKEN":      "the-token",
						"read_timeout":     "120s",
						"write_timeout":    "120s",
					})
					pid := p.cmd.Process.Pid
					idle := procstat.PeakMBOf(pid)
					var status int
					var sent int64
					var err error
					for i := 0; i < b.N && err == nil; i++ {
						status, _, sent, err = postRaw(p.addr, size, chunked, "Bearer not-the-token")
					}
					peak := procstat.PeakMBOf(pid)
					if err != nil {
						b.Errorf("peak %.0f MB, then: %v\n%s", peak, err, p.logs.String())
					}
					b.ReportMetric(peak, "peak-MB")
					b.ReportMetric(idle, "idle-MB")
					b.ReportMetric(float64(sent)/1e6, "sent-MB")
					if status != http.StatusRequestEntityTooLarge {
						b.Errorf("status %d, want 413", status)
					}
					limit, _ := p.listening["max_request_body"].(float64)
					if bound := 3*limit/(1<<20) + 16; limit == 0 || peak-idle > bound {
						b.Errorf("peak %.0f MB (idle %.0f MB) under a %d MB body (max_request_body %q = %.0f bytes): growth bound %.0f MB",
							peak, idle, size/1e6, env["max_request_body"], limit, bound)
					}
				})
			}
		}
	}
}

// postRaw sends a POST of size bytes over a raw connection (headers, then
// the body, chunked or with a Content-Length, while the answer is read),
// so a server that answers early and closes is seen as a client sees it.
// sent is how many body bytes the server took before answering/closing.
func postRaw(addr string, size int64, chunked bool, auth string) (status int, body []byte, sent int64, err error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return 0, nil, 0, err
	}
	defer conn.Close()
	head := "POST / HTTP/1.1\r\nHost: function\r\nContent-Type: application/json\r\nAuthorization: " + auth + "\r\n"
	if chunked {
		head += "Transfer-Encoding: chunked\r\n\r\n"
	} else {
		head += "Content-Length: " + strconv.FormatInt(size, 10) + "\r\n\r\n"
	}
	wrote := make(chan int64, 1)
	go func() {
		var n int64
		defer func() { wrote <- n }()
		w := bufio.NewWriterSize(conn, 256<<10)
		if _, err := w.WriteString(head); err != nil {
			return
		}
		chunk := bytes.Repeat([]byte("x"), 64<<10)
		for n < size {
			c := chunk[:min(int64(len(chunk)), size-n)]
			if chunked {
				if _, err := fmt.Fprintf(w, "%x\r\n", len(c)); err != nil {
					return
				}
			}
			if _, err := w.Write(c); err != nil {
				return
			}
			if chunked {
				if _, err := w.WriteString("\r\n"); err != nil {
					return
				}
			}
			n += int64(len(c))
		}
		if chunked {
			if _, err := w.WriteString("0\r\n\r\n"); err != nil {
				return
			}
		}
		_ = w.Flush()
	}()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Minute))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		conn.Close()
		<-wrote
		return 0, nil, 0, fmt.Errorf("read the answer: %w", err)
	}
	body, err = io.ReadAll(res.Body)
	res.Body.Close()
	conn.Close() // stops a writer the server no longer reads from
	sent = <-wrote
	return res.StatusCode, body, sent, err
}
