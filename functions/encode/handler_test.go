package function

import (
	"testing"

	"github.com/arrestcast/arrestcast/shared/pipeline/handlertest"
)

// The handler's contract without services: probe, token, trigger parsing.
func TestHandlerContract(t *testing.T) { handlertest.Contract(t, "encode", Handle) }
