package bodylimit

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestFromEnv(t *testing.T) {
	for v, want := range map[string]int64{"": Default, "65536": 65536, "64KiB": 64 << 10, "9Mi": 9 << 20, "1GiB": 1 << 30, " 2 MiB ": 2 << 20} {
		got, err := FromEnv(func(k string) string {
			if k == Env {
				return v
			}
			return ""
		})
		if err != nil || got != want {
			t.Errorf("%q: %d %v, want %d", v, got, err, want)
		}
	}
	for _, v := range []string{"0", "-1", "1MB", "lots", "9999999999999GiB"} {
		if _, err := FromEnv(func(string) string { return v }); err == nil || !strings.Contains(err.Error(), "bad max_request_body") {
			t.Errorf("%q: %v, want refused", v, err)
		}
	}
}

// onlyReader hides a body's length: the request is read as a chunked one.
type onlyReader struct{ io.Reader }

func TestReadRefusesBodiesOverTheLimit(t *testing.T) {
	for _, c := range []struct {
		name    string
		body    string
		chunked bool
		err     error
	}{
		{"at the limit", strings.Repeat("x", 16), false, nil},
		{"over, Content-Length", strings.Repeat("x", 17), false, ErrTooLarge},
		{"at the limit, chunked", strings.Repeat("x", 16), true, nil},
		{"over, chunked", strings.Repeat("x", 4000), true, ErrTooLarge},
	} {
		var body io.Reader = strings.NewReader(c.body)
		if c.chunked {
			body = onlyReader{body}
		}
		r := httptest.NewRequest(http.MethodPost, "/", body)
		if c.chunked {
			r.ContentLength = -1
		}
		got, err := Read(httptest.NewRecorder(), r, 16)
		if !errors.Is(err, c.err) || c.err == nil && string(got) != c.body {
			t.Errorf("%s: %q %v, want %v", c.name, got, err, c.err)
		}
	}
	// Refused on its Content-Length: not a byte of the body is read.
	r := httptest.NewRequest(http.MethodPost, "/", onlyReader{failing{}})
	r.ContentLength = 1 << 30
	if _, err := Read(httptest.NewRecorder(), r, 16); !errors.Is(err, ErrTooLarge) {
		t.Errorf("huge Content-Length: %v", err)
	}
}

type failing struct{}

func (failing) Read([]byte) (int, error) { return 0, errors.New("the body was read") }
