package faas

import (
	"encoding/json"
	"net/http"

	handler "github.com/openfaas/templates-sdk/go-http"
)

// JSON builds a JSON response.
func JSON(status int, v any) handler.Response {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"encode response"}`)
	}
	return handler.Response{
		StatusCode: status,
		Body:       append(b, '\n'),
		Header:     http.Header{"Content-Type": []string{"application/json"}},
	}
}

// Fail answers a refused call as JSON {"error": ..., "field": ...}.
func Fail(e *Error) handler.Response {
	body := map[string]string{"error": e.Message}
	if e.Field != "" {
		body["field"] = e.Field
	}
	return JSON(e.Status, body)
}
