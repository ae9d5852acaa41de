package faas

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/arrestcast/arrestcast/shared/config"
)

// Authorize checks `Authorization: Bearer <token>` in constant time. An empty
// configured token authorizes nothing.
func Authorize(h http.Header, token string) bool {
	if token == "" {
		return false
	}
	got, ok := strings.CutPrefix(h.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(token)) == 1
}

// CheckToken refuses a call without the pipeline token: 503 when the
// function has none configured (it cannot tell a good call from a bad
// one), 401 when the call's is missing or wrong; nil when authorized. The
// secret is read on every call, so a rotated token takes effect at once.
func CheckToken(r config.Reader, h http.Header) *Error {
	token, err := r.Secret(config.SecretPipelineToken)
	if err != nil || token == "" {
		return &Error{Status: http.StatusServiceUnavailable, Message: "pipeline token is not configured"}
	}
	if !Authorize(h, token) {
		return &Error{Status: http.StatusUnauthorized, Message: "missing or wrong pipeline token"}
	}
	return nil
}
