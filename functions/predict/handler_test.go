package function

import (
	"encoding/json"
	"net/http"
	"testing"

	handler "github.com/openfaas/templates-sdk/go-http"
)

// Without a model (no registry reachable here) predict still answers
// clearly: health 503, predictions 503, bad input 400 naming the field.
func TestWithoutModel(t *testing.T) {
	res, _ := Handle(handler.Request{Method: http.MethodGet, QueryString: "health"})
	if res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("health without model: %d", res.StatusCode)
	}
	res, _ = Handle(handler.Request{Method: http.MethodPost, Body: []byte(`{"date":"2018-03-04T13:00:00","x_coordinate":1176569,"y_coordinate":1891771}`)})
	if res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("predict without model: %d %s", res.StatusCode, res.Body)
	}
	res, _ = Handle(handler.Request{Method: http.MethodPost, Body: []byte(`{"x_coordinate":1176569,"y_coordinate":1891771}`)})
	var e map[string]any
	if res.StatusCode != http.StatusBadRequest || json.Unmarshal(res.Body, &e) != nil || e["field"] != "date" {
		t.Errorf("missing date: %d %s", res.StatusCode, res.Body)
	}
}
