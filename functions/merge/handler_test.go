package function

import (
	"testing"

	"github.com/arrestcast/arrestcast/shared/faas/faastest"
)

// The handler's contract without services: probe, token, trigger parsing.
func TestHandlerContract(t *testing.T) { faastest.Contract(t, "merge", Handle) }
