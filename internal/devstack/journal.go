package devstack

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The local stack's journal: every line a supervised process prints is kept
// in .dev/logs/<name>.log as "<RFC 3339 time, UTC> <pid> <text>", what
// journald records for faasd's containers (__REALTIME_TIMESTAMP, _PID,
// MESSAGE). GET /system/logs and `make logs` read it.

// LogMessage is one log line as faas-provider's logs.Message carries it.
type LogMessage struct {
	Name      string    `json:"name"`
	Namespace string    `json:"namespace"`
	Instance  string    `json:"instance"`
	Timestamp time.Time `json:"timestamp"`
	Text      string    `json:"text"`
}

// LogQuery selects lines of one journal, as faas-provider's logs.Request.
type LogQuery struct {
	Instance string    // only this pid ("" = all)
	Since    time.Time // only lines at or after it (zero = all)
	Tail     int       // only the last Tail matching lines (<= 0 = all)
	Follow   bool      // then wait for new lines until ctx ends
	Poll     time.Duration
}

// maxLogLine caps one journal line: longer output is split (of-watchdog
// scans its function's output with a 64 KiB buffer and drops such lines).
const maxLogLine = 256 << 10

// journal appends timestamped lines to one file; safe for concurrent writers
// (a process's stdout and stderr, the supervisor). The file stays open: a
// watchdog logs every request.
type journal struct {
	mu   sync.Mutex
	path string
	f    *os.File
}

func (j *journal) write(pid int, text string) {
	line := formatJournalLine(time.Now(), pid, text)
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		f, err := os.OpenFile(j.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return
		}
		j.f = f
	}
	if _, err := j.f.WriteString(line); err != nil {
		j.f.Close()
		j.f = nil
	}
}

// copyLines writes every line read from r to the journal until r ends.
func (j *journal) copyLines(r io.Reader, pid int) {
	br := bufio.NewReaderSize(r, 64<<10)
	var partial []byte
	for {
		chunk, err := br.ReadSlice('\n')
		partial = append(partial, chunk...)
		if errors.Is(err, bufio.ErrBufferFull) && len(partial) < maxLogLine {
			continue
		}
		if len(partial) > 0 {
			j.write(pid, strings.TrimRight(string(partial), "\r\n"))
			partial = partial[:0]
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
	}
}

func formatJournalLine(t time.Time, pid int, text string) string {
	// One message per line: a stray carriage return or NUL stays in the text.
	return t.UTC().Format(time.RFC3339Nano) + " " + strconv.Itoa(pid) + " " + text + "\n"
}

// parseJournalLine splits a journal line; ok is false for anything else (a
// log written before the journal existed).
func parseJournalLine(line string) (ts time.Time, instance, text string, ok bool) {
	line = strings.TrimRight(line, "\n")
	tsText, rest, found := strings.Cut(line, " ")
	if !found {
		return time.Time{}, "", "", false
	}
	ts, err := time.Parse(time.RFC3339Nano, tsText)
	if err != nil {
		return time.Time{}, "", "", false
	}
	instance, text, found = strings.Cut(rest, " ")
	if !found {
		instance, text = rest, ""
	}
	if _, err := strconv.Atoi(instance); err != nil {
		return time.Time{}, "", "", false
	}
	return ts, instance, text, true
}

// ReadLogs sends the journal's lines that match q to emit, oldest first;
// with q.Follow it then waits for new lines until ctx ends. A journal that
// does not exist yet has no lines (and with Follow is waited for).
func ReadLogs(ctx context.Context, path, name, namespace string, q LogQuery, emit func(LogMessage) error) error {
	if q.Poll <= 0 {
		q.Poll = 100 * time.Millisecond
	}
	match := func(line string) (LogMessage, bool) {
		ts, inst, text, ok := parseJournalLine(line)
		if !ok || ts.Before(q.Since) || (q.Instance != "" && inst != q.Instance) {
			return LogMessage{}, false
		}
		return LogMessage{Name: name, Namespace: namespace, Instance: inst, Timestamp: ts, Text: text}, true
	}
	f, err := os.Open(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("open log %s: %w", path, err)
	}
	var offset int64
	if f != nil {
		// What is there now: the last Tail matching lines.
		var ring []LogMessage
		n, err := scanLines(f, func(line string) error {
			if m, ok := match(line); ok {
				ring = append(ring, m)
				if q.Tail > 0 && len(ring) > q.Tail {
					ring = ring[1:]
				}
			}
			return nil
		})
		f.Close()
		if err != nil {
			return err
		}
		offset = n
		for _, m := range ring {
			if err := emit(m); err != nil {
				return err
			}
		}
	}
	if !q.Follow {
		return nil
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(q.Poll):
		}
		f, err := os.Open(path)
		if errors.Is(err, os.ErrNotExist) {
			offset = 0
			continue
		}
		if err != nil {
			return fmt.Errorf("open log %s: %w", path, err)
		}
		if fi, err := f.Stat(); err == nil && fi.Size() < offset {
			offset = 0 // the log was wiped: start again
		}
		if _, err := f.Seek(offset, io.SeekStart); err != nil {
			f.Close()
			return err
		}
		n, err := scanLines(f, func(line string) error {
			if m, ok := match(line); ok {
				return emit(m)
			}
			return nil
		})
		f.Close()
		offset += n
		if err != nil {
			return err
		}
	}
}

// scanLines calls fn for every complete line of r and returns how many bytes
// those lines took (a line still being written is left for the next scan).
func scanLines(r io.Reader, fn func(string) error) (int64, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var n int64
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		line = append(line, chunk...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return n, nil
			}
			return n, err
		}
		n += int64(len(line))
		if err := fn(string(bytes.TrimRight(line, "\n"))); err != nil {
			return n, err
		}
		line = line[:0]
	}
}
