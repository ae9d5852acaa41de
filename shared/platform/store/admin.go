package store

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/lifecycle"
	"github.com/minio/minio-go/v7/pkg/notification"
)

// Bucket administration for the setup function. Every call is idempotent:
// it reads the current state first and writes only what differs, so setup
// can run on every deploy.

// EnsureBucket creates bucket if it does not exist.
func (m *MinIO) EnsureBucket(ctx context.Context, bucket string) error {
	err := m.retry.Do(ctx, "make-bucket", func(ctx context.Context) error {
		ok, err := m.c.BucketExists(ctx, bucket)
		if err != nil || ok {
			return classify(err)
		}
		err = m.c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{})
		switch minio.ToErrorResponse(err).Code {
		case "BucketAlreadyOwnedByYou", "BucketAlreadyExists": // a concurrent setup won
			return nil
		}
		return classify(err)
	})
	return OpError("make-bucket", bucket, "", err)
}

// EnsureVersioning turns versioning on in bucket: an object written again
// becomes a new version and the old one stays readable by its version ID
// (what manifests and a model's lineage record). changed reports whether it
// was off.
func (m *MinIO) EnsureVersioning(ctx context.Context, bucket string) (changed bool, err error) {
	err = m.retry.Do(ctx, "versioning", func(ctx context.Context) error {
		cfg, err := m.c.GetBucketVersioning(ctx, bucket)
		if err != nil {
			return classify(err)
		}
		if cfg.Enabled() {
			return nil
		}
		changed = true
		return classify(m.c.EnableVersioning(ctx, bucket))
	})
	if err != nil {
		return false, OpError("versioning", bucket, "", err)
	}
	if changed {
		m.log.InfoContext(ctx, "store: versioning enabled", "bucket", bucket)
	}
	return changed, nil
}

// ExpiryRule is a lifecycle rule that deletes objects under Prefix Days days
// after they were written, and their noncurrent versions (replaced by a
// newer one) NoncurrentDays days after that (0: never).
type ExpiryRule struct {
	ID             string
	Prefix         string
	Days           int
	NoncurrentDays int
}

// ExpiryID is the lifecycle rule ID EnsureExpiry uses for prefix.
func ExpiryID(prefix string) string {
	return "arrestcast-expire-" + strings.Trim(strings.ReplaceAll(prefix, "/", "-"), "-")
}

func (m *MinIO) lifecycle(ctx context.Context, bucket string) (*lifecycle.Configuration, error) {
	var cfg *lifecycle.Configuration
	err := m.retry.Do(ctx, "get-lifecycle", func(ctx context.Context) error {
		var err error
		cfg, err = m.c.GetBucketLifecycle(ctx, bucket)
		if minio.ToErrorResponse(err).Code == "NoSuchLifecycleConfiguration" {
			cfg, err = lifecycle.NewConfiguration(), nil
		}
		return classify(err)
	})
	return cfg, err
}

func rulePrefix(r lifecycle.Rule) string {
	switch {
	case r.RuleFilter.Prefix != "":
		return r.RuleFilter.Prefix
	case r.RuleFilter.And.Prefix != "":
		return r.RuleFilter.And.Prefix
	}
	return r.Prefix
}

// isPlainExpiry reports whether r is exactly want's "expire objects under
// prefix after days days (and noncurrent versions after noncurrent days)",
// with no other condition or action.
func isPlainExpiry(r lifecycle.Rule, want ExpiryRule) bool {
	return r.Status == "Enabled" && rulePrefix(r) == want.Prefix && int(r.Expiration.Days) == want.Days &&
		r.Expiration.IsDateNull() && !r.Expiration.IsDeleteMarkerExpirationEnabled() &&
		r.RuleFilter.And.IsEmpty() && r.RuleFilter.Tag.IsEmpty() &&
		r.RuleFilter.ObjectSizeGreaterThan == 0 && r.RuleFilter.ObjectSizeLessThan == 0 &&
		r.Transition.IsNull() && int(r.NoncurrentVersionExpiration.NoncurrentDays) == want.NoncurrentDays &&
		r.NoncurrentVersionExpiration.NewerNoncurrentVersions == 0
}

// EnsureExpiry makes objects under prefix in bucket expire days days after
// they were written, and their noncurrent versions noncurrentDays days after
// they were replaced (0: kept), with one lifecycle rule (ID
// ExpiryID(prefix)). Other rules are left alone. changed reports whether the
// configuration was written.
func (m *MinIO) EnsureExpiry(ctx context.Context, bucket, prefix string, days, noncurrentDays int) (changed bool, err error) {
	if days < 1 || noncurrentDays < 0 {
		return false, OpError("set-lifecycle", bucket, prefix, fmt.Errorf("%w: expiry of %d days (noncurrent %d)", ErrInvalid, days, noncurrentDays))
	}
	cfg, err := m.lifecycle(ctx, bucket)
	if err != nil {
		return false, OpError("get-lifecycle", bucket, "", err)
	}
	id := ExpiryID(prefix)
	want := lifecycle.Rule{
		ID:                          id,
		Status:                      "Enabled",
		RuleFilter:                  lifecycle.Filter{Prefix: prefix},
		Expiration:                  lifecycle.Expiration{Days: lifecycle.ExpirationDays(days)},
		NoncurrentVersionExpiration: lifecycle.NoncurrentVersionExpiration{NoncurrentDays: lifecycle.ExpirationDays(noncurrentDays)},
	}
	i := slices.IndexFunc(cfg.Rules, func(r lifecycle.Rule) bool { return r.ID == id })
	switch {
	case i >= 0 && isPlainExpiry(cfg.Rules[i], ExpiryRule{Prefix: prefix, Days: days, NoncurrentDays: noncurrentDays}):
		return false, nil
	case i >= 0:
		cfg.Rules[i] = want
	default:
		cfg.Rules = append(cfg.Rules, want)
	}
	err = m.retry.Do(ctx, "set-lifecycle", func(ctx context.Context) error {
		return classify(m.c.SetBucketLifecycle(ctx, bucket, cfg))
	})
	if err != nil {
		return false, OpError("set-lifecycle", bucket, "", err)
	}
	m.log.InfoContext(ctx, "store: lifecycle rule set", "bucket", bucket, "prefix", prefix, "days", days, "noncurrent_days", noncurrentDays, "rule", id)
	return true, nil
}

// ExpiryRules lists the bucket's enabled lifecycle rules that expire objects
// after a number of days, sorted by ID.
func (m *MinIO) ExpiryRules(ctx context.Context, bucket string) ([]ExpiryRule, error) {
	cfg, err := m.lifecycle(ctx, bucket)
	if err != nil {
		return nil, OpError("get-lifecycle", bucket, "", err)
	}
	var out []ExpiryRule
	for _, r := range cfg.Rules {
		if r.Status == "Enabled" && r.Expiration.Days > 0 {
			out = append(out, ExpiryRule{ID: r.ID, Prefix: rulePrefix(r), Days: int(r.Expiration.Days), NoncurrentDays: int(r.NoncurrentVersionExpiration.NoncurrentDays)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// NotifyRule sends an event to the webhook target ARN when an object whose
// key starts with Prefix and ends with Suffix is created.
type NotifyRule struct {
	ARN    string   // arn:minio:sqs::<target ID>:webhook
	Prefix string   // "" matches any key
	Suffix string   // "" matches any key
	Events []string // nil means s3:ObjectCreated:*
}

// canonical returns r with default events, sorted and deduplicated.
func (r NotifyRule) canonical() NotifyRule {
	ev := slices.Clone(r.Events)
	if len(ev) == 0 {
		ev = []string{string(notification.ObjectCreatedAll)}
	}
	sort.Strings(ev)
	r.Events = slices.Compact(ev)
	return r
}

func (r NotifyRule) String() string {
	return fmt.Sprintf("%s prefix=%q suffix=%q events=%s", r.ARN, r.Prefix, r.Suffix, strings.Join(r.Events, ","))
}

func canonicalRules(rules []NotifyRule) []NotifyRule {
	out := make([]NotifyRule, len(rules))
	for i, r := range rules {
		out[i] = r.canonical()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

func (m *MinIO) notifications(ctx context.Context, bucket string) (notification.Configuration, error) {
	var cfg notification.Configuration
	err := m.retry.Do(ctx, "get-notification", func(ctx context.Context) error {
		var err error
		cfg, err = m.c.GetBucketNotification(ctx, bucket)
		return classify(err)
	})
	return cfg, err
}

// Notifications returns the bucket's queue (webhook) notification rules,
// in canonical order.
func (m *MinIO) Notifications(ctx context.Context, bucket string) ([]NotifyRule, error) {
	cfg, err := m.notifications(ctx, bucket)
	if err != nil {
		return nil, OpError("get-notification", bucket, "", err)
	}
	var rules []NotifyRule
	for _, q := range cfg.QueueConfigs {
		r := NotifyRule{ARN: q.Queue}
		if r.ARN == "" {
			r.ARN = q.Arn.String()
		}
		for _, e := range q.Events {
			r.Events = append(r.Events, string(e))
		}
		if q.Filter != nil {
			for _, f := range q.Filter.S3Key.FilterRules {
				switch strings.ToLower(f.Name) {
				case "prefix":
					r.Prefix = f.Value
				case "suffix":
					r.Suffix = f.Value
				}
			}
		}
		rules = append(rules, r)
	}
	return canonicalRules(rules), nil
}

// SetNotifications makes rules the bucket's queue notification rules,
// exactly: rules of other ARNs or filters are removed (the chain table is the
// one source of truth). Setting the same rules again writes nothing; changed
// reports whether the configuration was written. Each ARN must be a target the
// server was started with, or the server refuses the configuration.
func (m *MinIO) SetNotifications(ctx context.Context, bucket string, rules []NotifyRule) (changed bool, err error) {
	have, err := m.Notifications(ctx, bucket)
	if err != nil {
		return false, err
	}
	want := canonicalRules(rules)
	if slices.EqualFunc(have, want, func(a, b NotifyRule) bool { return a.String() == b.String() }) {
		return false, nil
	}
	cur, err := m.notifications(ctx, bucket)
	if err != nil {
		return false, OpError("get-notification", bucket, "", err)
	}
	cfg := notification.Configuration{LambdaConfigs: cur.LambdaConfigs, TopicConfigs: cur.TopicConfigs}
	for _, r := range want {
		arn, err := notification.NewArnFromString(r.ARN)
		if err != nil {
			return false, OpError("set-notification", bucket, "", fmt.Errorf("%w: ARN %q: %w", ErrInvalid, r.ARN, err))
		}
		qc := notification.NewConfig(arn)
		for _, e := range r.Events {
			qc.AddEvents(notification.EventType(e))
		}
		if r.Prefix != "" {
			qc.AddFilterPrefix(r.Prefix)
		}
		if r.Suffix != "" {
			qc.AddFilterSuffix(r.Suffix)
		}
		if !cfg.AddQueue(qc) {
			return false, OpError("set-notification", bucket, "", fmt.Errorf("%w: duplicate rule %s", ErrInvalid, r))
		}
	}
	err = m.retry.Do(ctx, "set-notification", func(ctx context.Context) error {
		return classify(m.c.SetBucketNotification(ctx, bucket, cfg))
	})
	if err != nil {
		return false, OpError("set-notification", bucket, "", err)
	}
	m.log.InfoContext(ctx, "store: bucket notifications set", "bucket", bucket, "rules", len(want))
	return true, nil
}
