// Package alert tells the operator what the monitor found: one webhook POST
// per alert, a body Slack's incoming webhooks take ({"text": …}) with the
// alert itself beside it ({"arrestcast": {…}}) for any other receiver;
// retried with backoff on network errors, 5xx and 429; delivered once per
// month, kind and subject (a table in PostgreSQL remembers what was sent,
// and what failed is tried again later). Sending never fails the caller's
// work: errors are returned to be logged.
package alert

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/arrestcast/arrestcast/shared/platform/store"
)

// Severities.
const (
	SeverityWarn  = "warn"
	SeverityAlert = "alert"
)

// An Alert is one finding worth a message.
type Alert struct {
	Kind     string         `json:"kind"`              // drift, performance, volume, … (the monitor's kinds)
	Month    time.Time      `json:"-"`                 // the month it is about (its first day)
	Subject  string         `json:"subject,omitempty"` // tells apart alerts of one month and kind
	Severity string         `json:"severity"`
	Message  string         `json:"message"`
	Details  map[string]any `json:"details,omitempty"`
}

// Payload is the webhook body.
type Payload struct {
	Text       string `json:"text"` // Slack's field: one line for people
	ArrestCast struct {
		Alert
		Month  string    `json:"month"` // YYYY-MM
		Raised time.Time `json:"raised"`
		Source string    `json:"source"`
	} `json:"arrestcast"`
}

// NewPayload is a's webhook body, raised at.
func NewPayload(a Alert, source string, at time.Time) Payload {
	var p Payload
	p.Text = fmt.Sprintf("[ArrestCast %s] %s %s: %s", a.Severity, a.Month.Format("2006-01"), a.Kind, a.Message)
	p.ArrestCast.Alert = a
	p.ArrestCast.Month = a.Month.Format("2006-01")
	p.ArrestCast.Raised = at.UTC()
	p.ArrestCast.Source = source
	return p
}

// Sender posts payloads to one webhook.
type Sender struct {
	URL    string
	Client *http.Client // nil: a client with a 10 s timeout
	Retry  store.Retry  // zero: 5 attempts, 100 ms doubling to 3 s
}

// Send posts body (a payload's JSON) until the receiver answers 2xx, the
// error is one retrying cannot fix (a 4xx other than 408 and 429), or the
// attempts are spent.
func (s *Sender) Send(ctx context.Context, body []byte) error {
	client := s.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	return s.Retry.Do(ctx, "alert webhook", func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("alert webhook: %w", err)
		}
		req.Header.Set("Content-Type", "application/json")
		res, err := client.Do(req)
		if err != nil {
			return store.Transient(fmt.Errorf("alert webhook: %w", redact(err)))
		}
		io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
		res.Body.Close()
		switch {
		case res.StatusCode >= 200 && res.StatusCode < 300:
			return nil
		case res.StatusCode >= 500 || res.StatusCode == http.StatusTooManyRequests || res.StatusCode == http.StatusRequestTimeout:
			return store.Transient(fmt.Errorf("alert webhook answered %d", res.StatusCode))
		}
		return fmt.Errorf("alert webhook answered %d", res.StatusCode)
	})
}

// redact drops the URL from a client error: a webhook URL is a secret.
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
