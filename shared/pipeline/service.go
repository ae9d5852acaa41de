package pipeline

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/config"
	"github.com/arrestcast/arrestcast/shared/faas"
	"github.com/arrestcast/arrestcast/shared/platform/hugeheap"
)

// Service is a step behind an OpenFaaS handler: it parses the trigger,
// checks the pipeline token, connects to the store and the database on first
// use (a probe works before either is reachable), and calls Execute.
type Service struct {
	Step string
	// Connect builds the Env (NewEnv by default); tests replace it.
	Connect func(ctx context.Context) (*Env, error)

	mu  sync.Mutex
	env *Env
}

// NewService returns the service of one step.
func NewService(step string) *Service {
	hugeheap.Enable() // a step is a burst of fresh memory: see shared/platform/hugeheap
	return &Service{Step: step, Connect: func(ctx context.Context) (*Env, error) { return NewEnv(ctx, step) }}
}

// Handle answers one call.
func (s *Service) Handle(req handler.Request) handler.Response {
	tr, perr := faas.Parse(req)
	if perr != nil {
		return faas.Fail(perr)
	}
	if tr.Kind == faas.Probe {
		return faas.JSON(http.StatusOK, map[string]string{"status": "ok", "step": s.Step})
	}
	cronAllowed := tr.Kind == faas.Cron && s.Step == "download"
	if !cronAllowed {
		token, err := s.pipelineToken()
		if err != nil {
			return faas.JSON(http.StatusServiceUnavailable, map[string]string{"error": "pipeline token is not configured"})
		}
		if !faas.Authorize(req.Header, token) {
			return faas.JSON(http.StatusUnauthorized, map[string]string{"error": "missing or wrong pipeline token"})
		}
	}
	if tr.Kind == faas.Cron && s.Step != "download" {
		return faas.Fail(&faas.Error{Status: http.StatusBadRequest, Message: "only download runs on the cron trigger"})
	}
	if st, _ := chain.Lookup(s.Step); tr.Kind == faas.Event && !st.Matches(tr.Bucket, tr.Key) {
		// Acknowledged, so MinIO does not retry it; nothing is read.
		return faas.JSON(http.StatusOK, Result{Step: s.Step, Outcome: "ignored", Reason: "not a key this step listens to"})
	}
	ctx := req.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	env, err := s.connect(ctx)
	if err != nil {
		return faas.JSON(http.StatusServiceUnavailable, map[string]string{"error": "store or database unavailable; retry"})
	}
	res := Execute(ctx, env, s.Step, Invocation{Kind: tr.Kind, Bucket: tr.Bucket, Key: tr.Key, ETag: tr.ETag, Date: tr.AsOf, From: tr.From, To: tr.To})
	return faas.JSON(res.Status, res)
}

// pipelineToken reads the token secret on every call: a small file read,
// and a rotated secret takes effect without a restart.
func (s *Service) pipelineToken() (string, error) {
	t, err := config.Secret(config.SecretPipelineToken)
	if err != nil {
		return "", err
	}
	if t == "" {
		return "", fmt.Errorf("secret %s is empty", config.SecretPipelineToken)
	}
	return t, nil
}

// connect builds the Env once; a failure is retried on the next call.
func (s *Service) connect(ctx context.Context) (*Env, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.env != nil {
		return s.env, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	env, err := s.Connect(ctx)
	if err != nil {
		return nil, err
	}
	s.env = env
	return env, nil
}

// Env connects (once) and returns the step's Env, for handlers that offer
// more than the step (train's manual promotion).
func (s *Service) Env(ctx context.Context) (*Env, error) { return s.connect(ctx) }

// Token checks the pipeline token of a request.
func (s *Service) Token(req handler.Request) (ok bool, configured bool) {
	token, err := s.pipelineToken()
	if err != nil {
		return false, false
	}
	return faas.Authorize(req.Header, token), true
}
