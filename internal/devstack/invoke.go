package devstack

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/arrestcast/arrestcast/internal/stackfile"
)

// Client calls functions through the local gateway, as a user or the demo would.
type Client struct {
	Gateway string
	Token   string // pipeline token, sent as Authorization: Bearer
	HTTP    *http.Client
}

// NewClient returns a client for the stack's gateway.
func NewClient(c *Config) *Client {
	return &Client{Gateway: c.GatewayURL, Token: c.PipelineToken, HTTP: &http.Client{Timeout: 5 * time.Minute}}
}

// Answer is a function's response.
type Answer struct {
	Status int
	Header http.Header
	Body   []byte
}

// Call sends method to /function/<name> with body (JSON when it looks like
// JSON) and the pipeline token.
func (cl *Client) Call(ctx context.Context, method, name string, body []byte) (*Answer, error) {
	var r io.Reader = http.NoBody
	if len(body) > 0 {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(cl.Gateway, "/")+"/function/"+name, r)
	if err != nil {
		return nil, err
	}
	if cl.Token != "" {
		req.Header.Set("Authorization", "Bearer "+cl.Token)
	}
	if len(body) > 0 && json.Valid(body) {
		req.Header.Set("Content-Type", "application/json")
	}
	return cl.do(req, name)
}

// Cron sends the cron-connector's tick to name.
func (cl *Client) Cron(ctx context.Context, name string) (*Answer, error) {
	req, err := CronRequest(ctx, cl.Gateway, name, Namespace)
	if err != nil {
		return nil, err
	}
	return cl.do(req, name)
}

func (cl *Client) do(req *http.Request, name string) (*Answer, error) {
	res, err := cl.HTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("call %s: %w", name, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, fmt.Errorf("read %s's answer: %w", name, err)
	}
	return &Answer{Status: res.StatusCode, Header: res.Header, Body: b}, nil
}

// Invoke is `make invoke FN=...`: for a function the cron-connector schedules
// and no body, the cron tick exactly (empty POST, X-Topic, X-Connector, no
// token); otherwise method (default POST) with body and the pipeline token.
// It prints the status and the body.
func Invoke(ctx context.Context, c *Config, name, method string, body []byte, out io.Writer) (*Answer, error) {
	f, err := stackfile.Load(c.StackFile, c.Lookup)
	if err != nil {
		return nil, err
	}
	fn, ok := f.Functions[name]
	if !ok {
		return nil, fmt.Errorf("no function %q in %s (functions: %s)", name, c.StackFile, strings.Join(f.Names(), ", "))
	}
	cl := NewClient(c)
	cl.HTTP.Timeout = 0 // as the cron-connector: no client timeout; the gateway's apply
	var ans *Answer
	_, scheduled := fn.Schedule()
	if scheduled && len(body) == 0 && (method == "" || method == http.MethodPost) {
		fmt.Fprintf(out, "POST %s/function/%s.%s (as the cron-connector: empty body, X-Topic: cron-function, X-Connector: cron-connector)\n", c.GatewayURL, name, Namespace)
		ans, err = cl.Cron(ctx, name)
	} else {
		if method == "" {
			method = http.MethodPost
		}
		fmt.Fprintf(out, "%s %s/function/%s (with the pipeline token, %d bytes)\n", method, c.GatewayURL, name, len(body))
		ans, err = cl.Call(ctx, method, name, body)
	}
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "%d %s\n", ans.Status, http.StatusText(ans.Status))
	if len(ans.Body) > 0 {
		out.Write(ans.Body)
		if !bytes.HasSuffix(ans.Body, []byte("\n")) {
			fmt.Fprintln(out)
		}
	}
	return ans, nil
}

// Logs prints the last n lines of a function's log (or a service's: minio,
// postgres, socrata, devstack), then, with follow, what comes next until ctx
// ends — what `faas-cli logs NAME --tail` shows on faasd.
func Logs(ctx context.Context, c *Config, name string, n int, follow bool, out io.Writer) error {
	path := c.Path("logs", name+".log")
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("no log for %q at %s (function not deployed, or the stack never ran)", name, path)
		}
		return err
	}
	defer f.Close()
	if _, err := io.WriteString(out, tailLines(f, n)); err != nil {
		return err
	}
	if !follow {
		return nil
	}
	r := bufio.NewReader(f)
	for {
		line, err := r.ReadString('\n')
		if len(line) > 0 {
			io.WriteString(out, line)
		}
		if err == io.EOF {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(250 * time.Millisecond):
			}
			continue
		}
		if err != nil {
			return err
		}
	}
}

// tailLines reads f to its end and returns its last n lines.
func tailLines(f *os.File, n int) string {
	var ring []string
	r := bufio.NewReader(f)
	for {
		line, err := r.ReadString('\n')
		if len(line) > 0 {
			if !strings.HasSuffix(line, "\n") {
				line += "\n"
			}
			ring = append(ring, line)
			if len(ring) > n {
				ring = ring[1:]
			}
		}
		if err != nil {
			break
		}
	}
	return strings.Join(ring, "")
}
