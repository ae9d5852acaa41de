package predict

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/arrestcast/arrestcast/shared/config"
	"github.com/arrestcast/arrestcast/shared/faas"
	"github.com/arrestcast/arrestcast/shared/model"
)

// Model is a loaded champion.
type Model struct {
	P       *model.Predictor
	Version int
	Info    map[string]any // what GET answers: version, training date, metrics, features
}

// Loader finds and loads the current champion.
type Loader interface {
	// Current returns the champion's version (0 and ErrNoChampion when none).
	Current(ctx context.Context) (int, error)
	// Load loads a version.
	Load(ctx context.Context, version int) (*Model, error)
}

// ErrNoChampion means no model has been promoted yet.
var ErrNoChampion = errors.New("no champion model")

// Server answers predict's requests with the current champion.
type Server struct {
	loader Loader
	log    *slog.Logger
	cur    atomic.Pointer[Model]
}

// NewServer returns a server over loader; call Refresh (and Watch) to load.
func NewServer(loader Loader, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.NewJSONHandler(os.Stdout, nil))
	}
	return &Server{loader: loader, log: log}
}

// Model returns the model being served (nil before the first load).
func (s *Server) Model() *Model { return s.cur.Load() }

// Refresh loads the champion when it is not the one served. While a new one
// loads, the old one keeps serving.
func (s *Server) Refresh(ctx context.Context) error {
	v, err := s.loader.Current(ctx)
	if err != nil {
		return err
	}
	if m := s.cur.Load(); m != nil && m.Version == v {
		return nil
	}
	t := time.Now()
	m, err := s.loader.Load(ctx, v)
	if err != nil {
		return fmt.Errorf("load model %d: %w", v, err)
	}
	old := s.cur.Swap(m)
	prev := 0
	if old != nil {
		prev = old.Version
	}
	s.log.Info("champion loaded", "model_version", v, "previous", prev, "seconds", time.Since(t).Seconds())
	return nil
}

// Watch refreshes every interval until ctx ends.
func (s *Server) Watch(ctx context.Context, interval time.Duration) {
	tk := time.NewTicker(interval)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
			if err := s.Refresh(ctx); err != nil && !errors.Is(err, ErrNoChampion) {
				s.log.Warn("champion refresh failed; still serving the loaded model", "err", err)
			}
		}
	}
}

// Handle answers one request.
func (s *Server) Handle(req handler.Request) (res handler.Response) {
	defer func() {
		// A bug must not take the process down; the caller gets no detail.
		if p := recover(); p != nil {
			s.log.Error("predict panicked", "panic", fmt.Sprint(p))
			res = faas.JSON(http.StatusInternalServerError, map[string]string{"error": "internal error"})
		}
	}()
	m := s.cur.Load()
	switch req.Method {
	case http.MethodGet, http.MethodHead:
		q, _ := url.ParseQuery(req.QueryString)
		if _, ok := q["openapi"]; ok {
			return openapiResponse()
		}
		if _, ok := q["docs"]; ok {
			return docsAnswer()
		}
		if _, health := q["health"]; health {
			if m == nil {
				return faas.JSON(http.StatusServiceUnavailable, map[string]string{"status": "no model loaded"})
			}
			return faas.JSON(http.StatusOK, map[string]any{"status": "ok", "model_version": m.Version})
		}
		if m == nil {
			return noModel()
		}
		return faas.JSON(http.StatusOK, m.Info)
	case http.MethodPost:
	default:
		return faas.JSON(http.StatusMethodNotAllowed, map[string]string{"error": "use POST to predict, GET for the model"})
	}
	recs, array, err := ParseRequest(req.Body)
	if err != nil {
		return inputError(err)
	}
	if m == nil {
		return noModel()
	}
	if req.QueryString != "" { // the plain path parses nothing more
		k, explain, err := explainTop(req.QueryString, len(m.P.A.Features()))
		var pe *ParamError
		if errors.As(err, &pe) {
			return paramError(pe)
		}
		if explain {
			return explainAnswer(m, recs, array, k)
		}
	}
	buf := openAnswer(make([]byte, 0, 64+len(recs)*56), m, array)
	for i := range recs {
		p, err := m.P.PredictRaw(&recs[i])
		if err != nil || math.IsNaN(p) {
			return cannotPlace(i, array)
		}
		buf = append(appendPrediction(buf, m, i, p, array), '}')
	}
	return closeAnswer(buf, array)
}

// openAnswer begins the answer to a request: an array's envelope.
func openAnswer(buf []byte, m *Model, array bool) []byte {
	if array {
		buf = append(buf, `{"model_version":`...)
		buf = strconv.AppendInt(buf, int64(m.Version), 10)
		buf = append(buf, `,"predictions":[`...)
	}
	return buf
}

// appendPrediction writes record i's prediction p, its object left open
// (explanations go on).
func appendPrediction(buf []byte, m *Model, i int, p float64, array bool) []byte {
	if i > 0 {
		buf = append(buf, ',')
	}
	th := m.P.A.Threshold
	buf = append(buf, `{"arrest_probability":`...)
	buf = strconv.AppendFloat(buf, p, 'g', 6, 64)
	buf = append(buf, `,"arrest":`...)
	buf = strconv.AppendBool(buf, p >= th)
	if !array {
		buf = append(buf, `,"threshold":`...)
		buf = strconv.AppendFloat(buf, th, 'g', -1, 64)
		buf = append(buf, `,"model_version":`...)
		buf = strconv.AppendInt(buf, int64(m.Version), 10)
	}
	return buf
}

// closeAnswer ends the answer and sends it.
func closeAnswer(buf []byte, array bool) handler.Response {
	if array {
		buf = append(buf, "]}"...)
	}
	buf = append(buf, '\n')
	return handler.Response{StatusCode: http.StatusOK, Body: buf, Header: http.Header{"Content-Type": {"application/json"}}}
}

// cannotPlace is the refusal of record i, which no enrichment can place.
func cannotPlace(i int, array bool) handler.Response {
	idx := -1
	if array {
		idx = i
	}
	return inputError(&InputError{Index: idx, Field: "x_coordinate", Message: "cannot place this record"})
}

func noModel() handler.Response {
	return faas.JSON(http.StatusServiceUnavailable, map[string]string{"error": "no champion model yet: the pipeline has not trained one; retry later"})
}

func inputError(err error) handler.Response {
	var ie *InputError
	if !errors.As(err, &ie) {
		return faas.JSON(http.StatusBadRequest, map[string]string{"error": "invalid request"})
	}
	body := map[string]any{"error": ie.Error(), "field": ie.Field}
	if ie.Index >= 0 {
		body["index"] = ie.Index
	}
	return faas.JSON(http.StatusBadRequest, body)
}

// Info describes a model for GET.
func Info(version int, a *model.Artifact) map[string]any {
	return map[string]any{
		"model_version": version, "run_date": a.RunDate, "algorithm": a.Algorithm, "threshold": a.Threshold,
		"metrics": a.Metrics, "features": a.Features(), "recipe": a.Kind(), "trained_at": a.CreatedAt, "code_version": a.CodeVersion,
		"predict_version": config.Version,
	}
}

// FileLoader serves one artifact file (MODEL_FILE): benchmarks and offline use.
type FileLoader struct{ Path string }

// Current is always version 1 when the file exists.
func (f FileLoader) Current(ctx context.Context) (int, error) {
	if _, err := os.Stat(f.Path); err != nil {
		return 0, ErrNoChampion
	}
	return 1, nil
}

// Load reads the file.
func (f FileLoader) Load(ctx context.Context, version int) (*Model, error) {
	b, err := os.ReadFile(f.Path)
	if err != nil {
		return nil, err
	}
	p, err := model.Load(b)
	if err != nil {
		return nil, err
	}
	return &Model{P: p, Version: version, Info: Info(version, p.A)}, nil
}
