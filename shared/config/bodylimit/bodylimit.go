// Package bodylimit is a function's request-body limit, max_request_body:
// how it is read from the environment and how a body is read against it,
// by the function template (template/golang-http) and by whatever reads a
// body on its way to the function (the local gateway's async queue), so
// both refuse the same bodies the same way.
package bodylimit

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
)

const (
	// Env is the variable stack.yml sets the limit in.
	Env = "max_request_body"
	// Default bounds a body when Env is unset: handler.Request holds the
	// whole body, so it is read before the handler runs (and before any
	// token check the handler makes).
	Default = 1 << 20
)

// FromEnv is the limit getenv gives: Env parsed by Parse, Default when unset.
func FromEnv(getenv func(string) string) (int64, error) {
	v := getenv(Env)
	if v == "" {
		return Default, nil
	}
	n, err := Parse(v)
	if err != nil {
		return 0, fmt.Errorf("bad %s: %w", Env, err)
	}
	return n, nil
}

// Parse reads a size in bytes ("65536") or with a binary unit: 64KiB,
// 9MiB, 1GiB as GOMEMLIMIT writes them, or 64Ki, 9Mi, 1Gi as stack.yml's
// memory limits do.
func Parse(v string) (int64, error) {
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

// ErrTooLarge is Read's refusal of a body over the limit.
var ErrTooLarge = errors.New("request body larger than " + Env)

// Read reads the request body, refusing one larger than limit before it
// is allocated: a Content-Length over the limit without reading a byte of
// it, a chunked body (of-watchdog forwards every body chunked) after at most
// limit+1 bytes. A body within the limit is read whole, as handler.Request
// needs it.
func Read(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	if r.ContentLength > limit {
		return nil, ErrTooLarge
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
			return nil, ErrTooLarge
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

// WriteError answers {"error": message, "field": "body", ...} as the
// functions' own refusals do (shared/faas.Fail).
func WriteError(w http.ResponseWriter, status int, fields map[string]any) {
	fields["field"] = "body"
	b, _ := json.Marshal(fields)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// Refuse answers 413 with the limit, for a body Read refused.
func Refuse(w http.ResponseWriter, limit int64) {
	WriteError(w, http.StatusRequestEntityTooLarge, map[string]any{
		"error": fmt.Sprintf("request body larger than %s (%d bytes)", Env, limit),
		Env:     limit,
	})
}
