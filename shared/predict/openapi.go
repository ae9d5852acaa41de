package predict

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"

	handler "github.com/openfaas/templates-sdk/go-http"
)

// openapiJSON is predict's OpenAPI 3.1 document: GET ?openapi serves it and
// GET ?docs renders it. Its examples carry x-request (the call that gives
// each answer); the tests replay every one through Server.Handle.
//
//go:embed openapi.json
var openapiJSON []byte

// OpenAPI returns predict's OpenAPI 3.1 document (JSON).
func OpenAPI() []byte { return bytes.Clone(openapiJSON) }

func openapiResponse() handler.Response {
	return handler.Response{StatusCode: http.StatusOK, Body: openapiJSON, Header: http.Header{
		"Content-Type":  {"application/json"},
		"Cache-Control": {"max-age=300"},
	}}
}

// member is one name/value of a JSON object, in document order.
type member struct {
	Key   string
	Value json.RawMessage
}

// members returns the members of a JSON object in document order (the docs
// page lists fields and examples as the document does); nil for a non-object.
func members(raw json.RawMessage) ([]member, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, nil
	}
	var out []member
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("object key %v", k)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("value of %q: %w", key, err)
		}
		out = append(out, member{key, v})
	}
	return out, nil
}

// jsonField returns the value of key in a JSON object (nil when absent).
func jsonField(raw json.RawMessage, key string) json.RawMessage {
	ms, _ := members(raw)
	for _, m := range ms {
		if m.Key == key {
			return m.Value
		}
	}
	return nil
}

// jsonPath follows keys from a JSON object down (nil when one is absent).
func jsonPath(raw json.RawMessage, keys ...string) json.RawMessage {
	for _, k := range keys {
		if raw = jsonField(raw, k); raw == nil {
			return nil
		}
	}
	return raw
}
