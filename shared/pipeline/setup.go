package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/platform/store"
)

// Admin is what setup needs of the object store (MinIO implements it).
type Admin interface {
	EnsureBucket(ctx context.Context, bucket string) error
	EnsureExpiry(ctx context.Context, bucket, prefix string, days int) (bool, error)
	SetNotifications(ctx context.Context, bucket string, rules []store.NotifyRule) (bool, error)
}

// SetupReport says what setup changed.
type SetupReport struct {
	Buckets       []string `json:"buckets"`
	ExpiryChanged bool     `json:"expiry_changed"`
	RulesChanged  bool     `json:"rules_changed"`
	Rules         []string `json:"rules"`
}

// NotifyRules converts the chain's rules for one bucket.
func NotifyRules(bucket string) []store.NotifyRule {
	var out []store.NotifyRule
	for _, r := range chain.Rules() {
		if r.Bucket == bucket {
			out = append(out, store.NotifyRule{ARN: r.ARN, Prefix: r.Prefix, Suffix: r.Suffix})
		}
	}
	return out
}

// Setup creates the buckets, the 60-day expiry of the temporary prefix and
// the notification rules of the chain table. It is idempotent. MinIO answers
// a moment before its webhook targets are loaded ("ARN does not exist"), so
// the rules are retried for up to wait.
func Setup(ctx context.Context, a Admin, data, models string, wait time.Duration, log *slog.Logger) (*SetupReport, error) {
	rep := &SetupReport{Buckets: []string{data, models}}
	for _, b := range rep.Buckets {
		if err := a.EnsureBucket(ctx, b); err != nil {
			return nil, fmt.Errorf("bucket %s: %w", b, err)
		}
	}
	var err error
	if rep.ExpiryChanged, err = a.EnsureExpiry(ctx, data, chain.TempPrefix, chain.TempExpiryDays); err != nil {
		return nil, fmt.Errorf("expiry rule: %w", err)
	}
	rules := NotifyRules(chain.DataBucket)
	for _, r := range rules {
		rep.Rules = append(rep.Rules, r.String())
	}
	deadline := time.Now().Add(wait)
	for {
		rep.RulesChanged, err = a.SetNotifications(ctx, data, rules)
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
