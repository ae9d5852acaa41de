package alert

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/shared/platform/store"
)

// receiver is a local webhook: it answers the statuses given, then 200, and
// keeps every body.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	fail   []int
	bodies [][]byte
}

func newReceiver(t *testing.T, fail ...int) *receiver {
	r := &receiver{fail: fail}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.bodies = append(r.bodies, b)
		if req.Header.Get("Content-Type") != "application/json" {
			w.WriteHeader(http.StatusUnsupportedMediaType)
			return
		}
		if len(r.fail) > 0 {
			w.WriteHeader(r.fail[0])
			r.fail = r.fail[1:]
			return
		}
		w.Write([]byte("ok"))
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) posts() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.bodies...)
}

var fast = store.Retry{Attempts: 4, Base: time.Millisecond, Max: 5 * time.Millisecond}

func TestSendRetriesTransientAnswers(t *testing.T) {
	r := newReceiver(t, 503, 429)
	s := &Sender{URL: r.URL, Retry: fast}
	a := Alert{Kind: "volume", Month: time.Date(2018, 6, 1, 0, 0, 0, 0, time.UTC), Severity: SeverityAlert,
		Message: "6,903 records, 30% of the usual 23,010", Details: map[string]any{"volume": 6903}}
	body, _ := json.Marshal(NewPayload(a, "monitor", time.Date(2018, 7, 1, 12, 0, 0, 0, time.UTC)))
	if err := s.Send(context.Background(), body); err != nil {
		t.Fatal(err)
	}
	posts := r.posts()
	if len(posts) != 3 {
		t.Fatalf("%d posts, want 3 (two refused, then taken)", len(posts))
	}
	var p map[string]any
	if err := json.Unmarshal(posts[2], &p); err != nil {
		t.Fatal(err)
	}
	text, _ := p["text"].(string)
	st, _ := p["arrestcast"].(map[string]any)
	if !strings.Contains(text, "2018-06 volume") || !strings.Contains(text, "30% of the usual") ||
		st["kind"] != "volume" || st["month"] != "2018-06" || st["severity"] != "alert" || st["source"] != "monitor" {
		t.Errorf("payload %s", posts[2])
	}
}

func TestSendGivesUp(t *testing.T) {
	// A 4xx is not retried; a receiver that is down is, until the attempts run out.
	r := newReceiver(t, 404)
	if err := (&Sender{URL: r.URL, Retry: fast}).Send(context.Background(), []byte(`{}`)); err == nil || len(r.posts()) != 1 {
		t.Errorf("404: %v after %d posts, want an error after 1", err, len(r.posts()))
	}
	down := httptest.NewServer(http.NotFoundHandler())
	url := down.URL + "/hooks/secret-path"
	down.Close()
	err := (&Sender{URL: url, Retry: fast}).Send(context.Background(), []byte(`{}`))
	if err == nil || !strings.Contains(err.Error(), "gave up after 4 attempts") || strings.Contains(err.Error(), "secret-path") {
		t.Errorf("receiver down: %v", err)
	}
}
