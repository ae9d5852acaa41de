package devstack

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/notification"

	"github.com/arrestcast/arrestcast/shared/chain"
)

// MinIOEnv is the MinIO server's environment: root credentials and one
// webhook target per chained function (chain.WebhookEnv), pointing at the
// local gateway with the pipeline token and a persistent queue dir, exactly as
// faasd/docker-compose.services.yaml declares them.
func MinIOEnv(c *Config) map[string]string {
	env := chain.WebhookEnv(c.GatewayURL, c.PipelineToken, c.Path("minio", "events"))
	env["MINIO_ROOT_USER"] = c.MinIOUser
	env["MINIO_ROOT_PASSWORD"] = c.MinIOPassword
	return env
}

// StartMinIO starts .bin/minio on MINIO_ADDRESS with its data in
// .dev/minio/data and waits until it is live.
func StartMinIO(ctx context.Context, c *Config) (*Detached, error) {
	if _, err := os.Stat(c.MinIOBin); err != nil {
		return nil, fmt.Errorf("minio: no server binary at %s (make minio builds it; the first build takes about 5 minutes): %w", c.MinIOBin, err)
	}
	for _, d := range []string{c.Path("minio", "data"), c.Path("minio", "events"), c.Path("minio", "certs")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("minio: %w", err)
		}
	}
	for _, s := range chain.Evented() {
		if err := os.MkdirAll(c.Path("minio", "events", s.Name), 0o755); err != nil {
			return nil, fmt.Errorf("minio: %w", err)
		}
	}
	d, err := StartDetached(c.Path("logs", "minio.log"), c.Dev, baseEnv(MinIOEnv(c)), nil, c.MinIOBin,
		"server", c.Path("minio", "data"),
		"--address", c.MinIOAddress,
		"--console-address", c.MinIOConsoleAddress,
		"--certs-dir", c.Path("minio", "certs"))
	if err != nil {
		return nil, fmt.Errorf("minio: %w", err)
	}
	if err := waitHTTP(ctx, "http://"+c.MinIOAddress+"/minio/health/live", 90*time.Second, d.Exited); err != nil {
		_ = d.Ref.Stop(5 * time.Second)
		return nil, fmt.Errorf("minio: %w (log: %s)", err, c.Path("logs", "minio.log"))
	}
	if err := waitWebhookTargets(ctx, c, 60*time.Second); err != nil {
		_ = d.Ref.Stop(5 * time.Second)
		return nil, fmt.Errorf("minio: %w (log: %s)", err, c.Path("logs", "minio.log"))
	}
	return d, nil
}

// waitWebhookTargets waits until MinIO accepts a notification rule for the
// chain's webhook targets: it is live a second or two before it has loaded
// them, and `setup` installing its rules then would fail. It tries on a
// scratch bucket, removed afterwards.
func waitWebhookTargets(ctx context.Context, c *Config, d time.Duration) error {
	mc, err := minio.New(c.MinIOAddress, &minio.Options{Creds: credentials.NewStaticV4(c.MinIOUser, c.MinIOPassword, "")})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	bucket := "devstack-probe-" + randomHex(4)
	if err := mc.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		return fmt.Errorf("probe bucket: %w", err)
	}
	defer mc.RemoveBucket(context.Background(), bucket)
	var cfg notification.Configuration
	for _, s := range chain.Evented() {
		arn, err := notification.NewArnFromString(s.ARN())
		if err != nil {
			return err
		}
		q := notification.NewConfig(arn)
		q.AddEvents(notification.ObjectCreatedPut)
		q.AddFilterPrefix(s.Name + "/")
		cfg.AddQueue(q)
	}
	for {
		err := mc.SetBucketNotification(ctx, bucket, cfg)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("webhook targets not loaded after %s: %v", d, err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// waitHTTP waits until url answers 200, the process exits or d passes.
func waitHTTP(ctx context.Context, url string, d time.Duration, exited <-chan error) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if res, err := client.Do(req); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case err := <-exited:
			return fmt.Errorf("exited before %s answered: %v", url, err)
		case <-ctx.Done():
			return fmt.Errorf("%s did not answer 200 in %s", url, d)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// StandinSource is the stand-in's command folder.
func StandinSource(c *Config) string { return filepath.Join(c.Root, "cmd", "socrata-standin") }

// StandinAvailable reports whether the Socrata stand-in command exists.
func StandinAvailable(c *Config) bool {
	m, _ := filepath.Glob(filepath.Join(StandinSource(c), "*.go"))
	return len(m) > 0
}

// StartStandin builds cmd/socrata-standin into .dev/bin and serves the bundled
// 2017 crimes and the police stations on SOCRATA_ADDRESS.
func StartStandin(ctx context.Context, c *Config) (*Detached, error) {
	bin := c.Path("bin", "socrata-standin")
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return nil, err
	}
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/socrata-standin")
	build.Dir = c.Root
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("socrata stand-in: go build: %w\n%s", err, strings.TrimSpace(string(out)))
	}
	addrFile := c.Path("socrata.addr")
	_ = os.Remove(addrFile)
	d, err := StartDetached(c.Path("logs", "socrata.log"), c.Root, baseEnv(nil), nil, bin,
		"-crimes", c.Get("SOCRATA_CRIMES", filepath.Join(c.Root, "data", "chicago", "crimes_2017.csv.gz")),
		"-stations", c.Get("SOCRATA_STATIONS", filepath.Join(c.Root, "data", "chicago", "police_stations.csv")),
		"-addr", c.SocrataAddress, "-addr-file", addrFile)
	if err != nil {
		return nil, fmt.Errorf("socrata stand-in: %w", err)
	}
	// It loads the year before listening, then writes the address file.
	deadline := time.Now().Add(90 * time.Second)
	for {
		if _, err := os.Stat(addrFile); err == nil {
			return d, nil
		}
		select {
		case err := <-d.Exited:
			return nil, fmt.Errorf("socrata stand-in exited: %v (log: %s)", err, c.Path("logs", "socrata.log"))
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = d.Ref.Stop(5 * time.Second)
			return nil, fmt.Errorf("socrata stand-in not listening after 90s (log: %s)", c.Path("logs", "socrata.log"))
		}
	}
}
