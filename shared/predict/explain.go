package predict

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"

	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/arrestcast/arrestcast/shared/faas"
	"github.com/arrestcast/arrestcast/shared/model"
)

// MaxExplainRecords bounds a request with ?explain: an explanation walks every path of every tree
// (Tree SHAP), thousands of times a prediction's cost.
const MaxExplainRecords = 100

// ExplainParam is the query parameter asking for explanations.
const ExplainParam = "explain"

// ParamError is a query parameter refused with 400.
type ParamError struct {
	Param, Message string
}

func (e *ParamError) Error() string { return e.Param + ": " + e.Message }

// explainTop reads ?explain from a POST's query string: ok when present, with the number of
// contributions to list (model.DefaultExplainTop, at most the model's inputs, when given no value).
func explainTop(query string, nInputs int) (k int, ok bool, err error) {
	q, _ := url.ParseQuery(query) // as GET: what parses counts, the rest is ignored
	vs, ok := q[ExplainParam]
	if !ok {
		return 0, false, nil
	}
	if vs[0] == "" {
		return min(model.DefaultExplainTop, nInputs), true, nil
	}
	k, err = strconv.Atoi(vs[0])
	if err != nil || k < 1 || k > nInputs {
		return 0, true, &ParamError{Param: ExplainParam,
			Message: fmt.Sprintf("%q: want how many contributions to list, from 1 to the model's number of inputs (GET lists them)", vs[0])}
	}
	return k, true, nil
}

func paramError(e *ParamError) handler.Response {
	return faas.JSON(http.StatusBadRequest, map[string]string{"error": e.Error(), "parameter": e.Param})
}

// explainAnswer is Handle's answer to POST ?explain: the same predictions, each with its explanation.
func explainAnswer(m *Model, recs []Raw, array bool, k int) handler.Response {
	if len(recs) > MaxExplainRecords {
		return paramError(&ParamError{Param: ExplainParam,
			Message: fmt.Sprintf("at most %d records per request with explanations, got %d", MaxExplainRecords, len(recs))})
	}
	if err := m.P.CanExplain(); err != nil {
		return faas.JSON(http.StatusConflict, map[string]string{"error": err.Error()})
	}
	buf := openAnswer(make([]byte, 0, 256+len(recs)*(256+k*96)), m, array)
	for i := range recs {
		e, err := m.P.Explain(&recs[i], k)
		if err != nil && errors.Is(err, model.ErrCannotExplain) {
			return faas.JSON(http.StatusConflict, map[string]string{"error": err.Error()})
		}
		if err != nil || math.IsNaN(e.Probability) {
			return cannotPlace(i, array)
		}
		buf = appendPrediction(buf, m, i, e.Probability, array)
		buf = append(appendExplanation(append(buf, `,"explanation":`...), e), '}')
	}
	return closeAnswer(buf, array)
}

// appendExplanation writes e as the Explanation schema of the OpenAPI document; numbers in full
// precision, so bias + Σ contributions + other = margin holds on the answer as in the model.
func appendExplanation(b []byte, e *model.Explanation) []byte {
	b = append(b, `{"space":"`+model.ExplainSpace+`","calibrated":`...)
	b = strconv.AppendBool(b, e.Calibrated)
	b = append(b, `,"margin":`...)
	b = appendNum(b, e.Margin)
	b = append(b, `,"bias":`...)
	b = appendNum(b, e.Bias)
	b = append(b, `,"contributions":[`...)
	for i, c := range e.Top {
		if i > 0 {
			b = append(b, ',')
		}
		name, _ := json.Marshal(c.Feature)
		b = append(append(append(b, `{"feature":`...), name...), `,"value":`...)
		b = appendNum(b, c.Value)
		b = append(b, `,"contribution":`...)
		b = appendNum(b, c.Contribution)
		b = append(b, '}')
	}
	b = append(b, `],"other":{"count":`...)
	b = strconv.AppendInt(b, int64(e.OtherCount), 10)
	b = append(b, `,"contribution":`...)
	b = appendNum(b, e.Other)
	return append(b, "}}"...)
}

// appendNum writes v, or null for a NaN (a missing input) or an infinity.
func appendNum(b []byte, v float64) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return append(b, "null"...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}
