package dashboard

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"time"
)

// PredictHealth is what predict's GET ?health says.
type PredictHealth struct {
	State   string `json:"state"` // ok, no-model, unreachable
	Version int    `json:"model_version,omitempty"`
}

// HTTPHealth asks predict's GET ?health at url (…/function/predict) with a
// short timeout: the overview must not wait on a predict that hangs.
func HTTPHealth(client *http.Client, url string) func(context.Context) PredictHealth {
	if client == nil {
		client = &http.Client{Timeout: 2 * time.Second}
	}
	return func(ctx context.Context) PredictHealth {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"?health", nil)
		if err != nil {
			return PredictHealth{State: "unreachable"}
		}
		res, err := client.Do(req)
		if err != nil {
			return PredictHealth{State: "unreachable"}
		}
		defer res.Body.Close()
		var body struct {
			Status  string `json:"status"`
			Version int    `json:"model_version"`
		}
		_ = json.NewDecoder(io.LimitReader(res.Body, 4096)).Decode(&body)
		switch {
		case res.StatusCode == http.StatusOK && body.Status == "ok":
			return PredictHealth{State: "ok", Version: body.Version}
		case res.StatusCode == http.StatusServiceUnavailable:
			return PredictHealth{State: "no-model"}
		}
		return PredictHealth{State: "unreachable"}
	}
}
