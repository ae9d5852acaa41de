package devstack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/notification"

	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/config"
)

// ServiceSpec is one of the stack's services as the daemon supervises it.
type ServiceSpec struct {
	Proc Proc
	URL  string // where people reach it
	// AfterGateway: start it once the gateway serves (MinIO probes its
	// webhook targets, HEAD on the gateway, as it starts).
	AfterGateway bool
}

// Service names in daemon.json, `make status` and `make logs`.
const (
	ServicePostgres = "postgres"
	ServiceSocrata  = "socrata"
	ServiceMinIO    = "minio"
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

// StackServices are PostgreSQL, the Socrata stand-in (when it is built:
// PrepareServices builds it) and MinIO, as the daemon runs them: each a
// child it restarts with backoff, or, when one was started by hand on its
// port, that one adopted.
func StackServices(c *Config) ([]ServiceSpec, error) {
	pg, err := NewPostgres(c.Path("pg"), c.Path("logs", "postgres.log"), c.PostgresPort)
	if err != nil {
		return nil, err
	}
	out := []ServiceSpec{{Proc: postgresProc(c, pg), URL: "127.0.0.1:" + strconv.Itoa(c.PostgresPort)}}
	if _, err := os.Stat(standinBin(c)); err == nil {
		out = append(out, ServiceSpec{Proc: standinProc(c), URL: c.SocrataBaseURL()})
	}
	out = append(out, ServiceSpec{Proc: minioProc(c), URL: "http://" + c.MinIOAddress, AfterGateway: true})
	return out, nil
}

// postgresProc runs the cluster's postmaster itself (not pg_ctl, which
// leaves it detached): SIGINT is its fast shutdown. Ready once the stack's
// database exists and answers.
func postgresProc(c *Config, pg *Postgres) Proc {
	return Proc{
		Name: ServicePostgres, Kind: "service", Path: filepath.Join(pg.BinDir, "postgres"),
		Args: []string{"-D", pg.DataDir(), "-p", strconv.Itoa(pg.Port), "-k", pg.SocketDir(), "-c", "listen_addresses=127.0.0.1"},
		Dir:  pg.Dir, Env: baseEnv(map[string]string{"LC_ALL": "C", "HOME": pg.Dir}), Log: pg.Log,
		Addr: "127.0.0.1:" + strconv.Itoa(pg.Port), StopSignal: syscall.SIGINT, StopGrace: 30 * time.Second, Credential: pg.cred,
		Ready: func(ctx context.Context, _ DialFunc) error {
			pw, err := postgresSecretPassword(c)
			if err != nil {
				return err
			}
			return pg.EnsureDatabase(ctx, pw)
		},
		// A postmaster of this cluster started by hand (pg_ctl restart).
		Adopt: func() (int, bool) {
			pid, err := pg.Pid()
			return pid, err == nil && RefOf(pid).Alive() && processMentions(pid, pg.DataDir())
		},
	}
}

// postgresSecretPassword is the cluster's password, from the database-URL secret.
func postgresSecretPassword(c *Config) (string, error) {
	raw, err := ReadSecret(c.Path("secrets"), config.SecretDatabaseURL)
	if err != nil {
		return "", err
	}
	pw, ok := passwordOf(raw)
	if !ok {
		return "", fmt.Errorf("secret %s holds no password", config.SecretDatabaseURL)
	}
	return pw, nil
}

// StandinSource is the stand-in's command folder.
func StandinSource(c *Config) string { return filepath.Join(c.Root, "cmd", "socrata-standin") }

// StandinAvailable reports whether the Socrata stand-in command exists.
func StandinAvailable(c *Config) bool {
	m, _ := filepath.Glob(filepath.Join(StandinSource(c), "*.go"))
	return len(m) > 0
}

func standinBin(c *Config) string { return c.Path("bin", "socrata-standin") }

// BuildStandin builds cmd/socrata-standin into .dev/bin.
func BuildStandin(ctx context.Context, c *Config) error {
	bin := standinBin(c)
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return err
	}
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/socrata-standin")
	build.Dir = c.Root
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("socrata stand-in: go build: %w\n%s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// standinProc serves the crimes of SOCRATA_CRIMES (make demo CRIMES=FILE;
// default the bundled 2017 year) and the police stations on
// SOCRATA_ADDRESS; it loads them before listening.
func standinProc(c *Config) Proc {
	addrFile := c.Path("socrata.addr")
	return Proc{
		Name: ServiceSocrata, Kind: "service", Path: standinBin(c),
		Args: []string{
			"-crimes", c.Get("SOCRATA_CRIMES", filepath.Join(c.Root, "data", "chicago", "crimes_2017.csv.gz")),
			"-stations", c.Get("SOCRATA_STATIONS", filepath.Join(c.Root, "data", "chicago", "police_stations.csv")),
			"-addr", c.SocrataAddress, "-addr-file", addrFile,
		},
		Dir: c.Root, Env: baseEnv(nil), Log: c.Path("logs", "socrata.log"), Addr: c.SocrataAddress, StopGrace: 10 * time.Second,
		Adopt: func() (int, bool) {
			pid, ok := ListenerPid(c.SocrataAddress)
			return pid, ok && processMentions(pid, c.Dev)
		},
	}
}

// minioProc runs .bin/minio on MINIO_ADDRESS with its data in .dev/minio/data.
// Ready once it is live and has loaded the chain's webhook targets (it is live
// a second or two before that, and `setup` installing its rules then fails).
func minioProc(c *Config) Proc {
	return Proc{
		Name: ServiceMinIO, Kind: "service", Path: c.MinIOBin,
		Args: []string{"server", c.Path("minio", "data"), "--address", c.MinIOAddress,
			"--console-address", c.MinIOConsoleAddress, "--certs-dir", c.Path("minio", "certs")},
		Dir: c.Dev, Env: baseEnv(MinIOEnv(c)), Log: c.Path("logs", "minio.log"), Addr: c.MinIOAddress, StopGrace: 20 * time.Second,
		Ready: func(ctx context.Context, _ DialFunc) error {
			if err := httpOK(ctx, "http://"+c.MinIOAddress+"/minio/health/live"); err != nil {
				return err
			}
			return webhookTargetsLoaded(ctx, c)
		},
		Adopt: func() (int, bool) {
			pid, ok := ListenerPid(c.MinIOAddress)
			return pid, ok && processMentions(pid, c.Path("minio", "data"))
		},
	}
}

// PrepareMinIO makes MinIO's folders (data, certs, one queue dir per webhook target).
func PrepareMinIO(c *Config) error {
	if _, err := os.Stat(c.MinIOBin); err != nil {
		return fmt.Errorf("minio: no server binary at %s (make minio builds it; the first build takes about 5 minutes): %w", c.MinIOBin, err)
	}
	dirs := []string{c.Path("minio", "data"), c.Path("minio", "events"), c.Path("minio", "certs")}
	for _, s := range chain.Evented() {
		dirs = append(dirs, c.Path("minio", "events", s.Name))
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("minio: %w", err)
		}
	}
	return nil
}

// webhookTargetsLoaded tries the chain's notification rules on a scratch
// bucket: MinIO refuses them until its webhook targets are loaded.
func webhookTargetsLoaded(ctx context.Context, c *Config) error {
	mc, err := minio.New(c.MinIOAddress, &minio.Options{Creds: credentials.NewStaticV4(c.MinIOUser, c.MinIOPassword, "")})
	if err != nil {
		return err
	}
	const bucket = "devstack-probe"
	if err := mc.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		if resp := minio.ToErrorResponse(err); resp.Code != "BucketAlreadyOwnedByYou" && resp.Code != "BucketAlreadyExists" {
			return fmt.Errorf("probe bucket: %w", err)
		}
	}
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
	if err := mc.SetBucketNotification(ctx, bucket, cfg); err != nil {
		return fmt.Errorf("webhook targets not loaded yet: %w", err)
	}
	return mc.RemoveBucket(ctx, bucket)
}

// httpOK succeeds when url answers 200.
func httpOK(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %d", url, res.StatusCode)
	}
	return nil
}

// ServiceHealth asks a service whether it serves now, whoever started it:
// what `make status` shows beside the supervisor's view.
func ServiceHealth(ctx context.Context, c *Config, name string) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	switch name {
	case ServiceMinIO:
		return httpOK(ctx, "http://"+c.MinIOAddress+"/minio/health/live")
	case ServicePostgres:
		pw, err := postgresSecretPassword(c)
		if err != nil {
			return err
		}
		pg := &Postgres{Port: c.PostgresPort, User: "arrestcast", Database: "arrestcast"}
		return pingPostgres(ctx, pg.URL(pw, pg.Database))
	case ServiceSocrata:
		return dialProbe(ctx, nil, c.SocrataAddress)
	}
	return errors.New("unknown service " + name)
}
