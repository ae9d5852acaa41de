package devstack

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/arrestcast/arrestcast/internal/stackfile"
)

// CronParser is cron-connector 0.7.0's parser: robfig/cron v3, five fields
// (minute hour day-of-month month day-of-week) or a descriptor like @monthly.
var CronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// CronJob is one scheduled function.
type CronJob struct {
	Function string
	Schedule string
}

// CronJobs lists the functions stack.yml schedules: annotation
// `topic: cron-function` and a `schedule` the parser accepts (the connector
// skips the others; so do we, with an error naming them).
func CronJobs(f *stackfile.File, parser cron.ScheduleParser) ([]CronJob, error) {
	if parser == nil {
		parser = CronParser
	}
	var jobs []CronJob
	var bad []string
	for _, name := range f.Names() {
		fn := f.Functions[name]
		// cron-connector CE matches the topic exactly.
		if strings.TrimSpace(fn.Annotations["topic"]) != "cron-function" {
			continue
		}
		sched := fn.Annotations["schedule"]
		if _, err := parser.Parse(sched); err != nil {
			bad = append(bad, fmt.Sprintf("%s: schedule %q: %v", name, sched, err))
			continue
		}
		jobs = append(jobs, CronJob{Function: name, Schedule: sched})
	}
	if len(bad) > 0 {
		return jobs, fmt.Errorf("cron-connector would skip: %s", strings.Join(bad, "; "))
	}
	return jobs, nil
}

// CronOptions configure a Cron.
type CronOptions struct {
	Gateway   string              // gateway base URL
	Namespace string              // appended as <name>.<namespace> (default openfaas-fn); "-" for none
	Parser    cron.ScheduleParser // default CronParser
	Location  *time.Location      // default UTC, the connector container's zone
	Client    *http.Client        // default: no timeout, as the connector's
	Logger    *slog.Logger
	// OnFire, when set, is told each tick's result (tests, the daemon's log).
	OnFire func(job CronJob, status int, err error)
}

// Cron fires scheduled functions as cron-connector 0.7.0 does.
type Cron struct {
	opts   CronOptions
	c      *cron.Cron
	ctx    context.Context
	cancel context.CancelFunc
}

// NewCron schedules jobs; Start begins ticking.
func NewCron(jobs []CronJob, opts CronOptions) (*Cron, error) {
	if opts.Parser == nil {
		opts.Parser = CronParser
	}
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	if opts.Client == nil {
		opts.Client = &http.Client{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	if opts.Namespace == "" {
		opts.Namespace = Namespace
	}
	ctx, cancel := context.WithCancel(context.Background())
	cr := &Cron{opts: opts, c: cron.New(cron.WithParser(opts.Parser), cron.WithLocation(opts.Location)), ctx: ctx, cancel: cancel}
	for _, j := range jobs {
		j := j
		if _, err := cr.c.AddFunc(j.Schedule, func() { cr.fire(j) }); err != nil {
			return nil, fmt.Errorf("schedule %s %q: %w", j.Function, j.Schedule, err)
		}
	}
	return cr, nil
}

// Start begins firing.
func (c *Cron) Start() { c.c.Start() }

// Stop stops firing, cancels the calls in flight and waits for them.
func (c *Cron) Stop() {
	done := c.c.Stop()
	c.cancel()
	<-done.Done()
}

func (c *Cron) fire(j CronJob) {
	c.opts.Logger.Info("cron: executing function", "function", j.Function, "schedule", j.Schedule)
	ns := c.opts.Namespace
	if ns == "-" {
		ns = ""
	}
	status, body, err := FireCron(c.ctx, c.opts.Client, c.opts.Gateway, j.Function, ns)
	if err != nil {
		c.opts.Logger.Error("cron: invoke failed", "function", j.Function, "err", err.Error())
	} else {
		c.opts.Logger.Info("cron: invoked", "function", j.Function, "status", status, "body", truncate(string(body), 500))
	}
	if c.opts.OnFire != nil {
		c.opts.OnFire(j, status, err)
	}
}

// CronRequest is the request cron-connector 0.7.0 sends for one tick:
// POST <gateway>/function/<name>[.<namespace>], an empty body, X-Topic and
// X-Connector, no Content-Type.
func CronRequest(ctx context.Context, gateway, name, namespace string) (*http.Request, error) {
	target := name
	if namespace != "" {
		target += "." + namespace
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(gateway, "/")+"/function/"+target, http.NoBody)
	if err != nil {
		return nil, fmt.Errorf("cron request for %s: %w", name, err)
	}
	req.Header.Set("X-Topic", "cron-function")
	req.Header.Set("X-Connector", "cron-connector")
	return req, nil
}

// FireCron sends one tick's request and returns the function's answer.
func FireCron(ctx context.Context, client *http.Client, gateway, name, namespace string) (int, []byte, error) {
	req, err := CronRequest(ctx, gateway, name, namespace)
	if err != nil {
		return 0, nil, err
	}
	res, err := client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("invoke %s: %w", name, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return res.StatusCode, body, fmt.Errorf("read %s's answer: %w", name, err)
	}
	return res.StatusCode, body, nil
}

// NextRuns returns when each job fires next after now.
func NextRuns(jobs []CronJob, parser cron.ScheduleParser, now time.Time) map[string]time.Time {
	if parser == nil {
		parser = CronParser
	}
	out := map[string]time.Time{}
	for _, j := range jobs {
		if s, err := parser.Parse(j.Schedule); err == nil {
			out[j.Function] = s.Next(now.In(time.UTC))
		}
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// sortedKeys returns a map's keys, sorted.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
