// Package setup is the setup function: the buckets, the 60-day expiry of
// the temporary prefix and the bucket notification rules that chain the
// steps, all from the chain table. Idempotent; run once after deploying
// (and again after a change of the chain).
package setup

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/config"
	"github.com/arrestcast/arrestcast/shared/faas"
	"github.com/arrestcast/arrestcast/shared/platform/store"
)

// Admin is what setup needs of the object store (MinIO implements it).
type Admin interface {
	EnsureBucket(ctx context.Context, bucket string) error
	EnsureVersioning(ctx context.Context, bucket string) (bool, error)
	EnsureExpiry(ctx context.Context, bucket, prefix string, days, noncurrentDays int) (bool, error)
	SetNotifications(ctx context.Context, bucket string, rules []store.NotifyRule) (bool, error)
}

// Report says what setup changed.
type Report struct {
	Buckets           []string `json:"buckets"`
	VersioningChanged bool     `json:"versioning_changed"`
	ExpiryChanged     bool     `json:"expiry_changed"`
	RulesChanged      bool     `json:"rules_changed"`
	Rules             []string `json:"rules"`
}

// NotifyRules are the chain's rules on the bucket of role bucketRole.
func NotifyRules(bucketRole string) []store.NotifyRule {
	var out []store.NotifyRule
	for _, r := range chain.Rules() {
		if r.Bucket == bucketRole {
			out = append(out, store.NotifyRule{ARN: r.ARN, Prefix: r.Prefix, Suffix: r.Suffix})
		}
	}
	return out
}

// RuleWait bounds how long setup waits for MinIO's webhook targets.
const RuleWait = 20 * time.Second

// Run creates the buckets with versioning on (a step never overwrites what
// a manifest or a model's lineage names: writing a key again makes a new
// version), the expiry rule and the notification rules. MinIO
// answers a moment before its webhook targets are loaded ("ARN does not
// exist"), so the rules are retried for up to wait.
func Run(ctx context.Context, a Admin, b chain.Buckets, wait time.Duration, log *slog.Logger) (*Report, error) {
	rep := &Report{Buckets: []string{b.Data, b.Models}}
	for _, name := range rep.Buckets {
		if err := a.EnsureBucket(ctx, name); err != nil {
			return nil, fmt.Errorf("bucket %s: %w", name, err)
		}
		changed, err := a.EnsureVersioning(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("bucket %s: %w", name, err)
		}
		rep.VersioningChanged = rep.VersioningChanged || changed
	}
	var err error
	if rep.ExpiryChanged, err = a.EnsureExpiry(ctx, b.Data, chain.TempPrefix, chain.TempExpiryDays, chain.TempNoncurrentDays); err != nil {
		return nil, fmt.Errorf("expiry rule: %w", err)
	}
	rules := NotifyRules(chain.DataBucket)
	for _, r := range rules {
		rep.Rules = append(rep.Rules, r.String())
	}
	deadline := time.Now().Add(wait)
	for {
		rep.RulesChanged, err = a.SetNotifications(ctx, b.Data, rules)
		if err == nil {
			return rep, nil
		}
		if !strings.Contains(err.Error(), "ARN") || time.Now().After(deadline) {
			return nil, fmt.Errorf("notification rules: %w", err)
		}
		log.Warn("webhook targets not loaded yet; retrying", "err", err)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// Function is the setup function's handler: probes, and with the pipeline
// token, Run against the deployment's store.
func Function() func(handler.Request) handler.Response {
	return faas.WithToken(faas.NewDeps(chain.Setup, config.Environment()), handle)
}

func handle(ctx context.Context, d *faas.Deps, _ handler.Request) handler.Response {
	m, err := d.MinIO(ctx)
	if err != nil {
		d.Log.Error("store client", "err", err)
		return faas.JSON(http.StatusServiceUnavailable, map[string]string{"error": "store unavailable; retry"})
	}
	rep, err := Run(ctx, m, d.Settings().Store.Buckets, RuleWait, d.Log)
	if err != nil {
		d.Log.Error("setup failed", "err", err)
		return faas.JSON(http.StatusServiceUnavailable, map[string]string{"error": "setup failed; see the function's logs"})
	}
	d.Log.Info("setup done", "rules_changed", rep.RulesChanged, "expiry_changed", rep.ExpiryChanged)
	return faas.JSON(http.StatusOK, rep)
}
