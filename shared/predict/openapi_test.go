package predict_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/arrestcast/arrestcast/shared/predict"
)

func openapiDoc(t *testing.T) (*schemaValidator, map[string]any) {
	t.Helper()
	v, err := newValidator(predict.OpenAPI())
	if err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	return v, v.doc
}

func decode(t *testing.T, b []byte) any {
	t.Helper()
	var x any
	if err := json.Unmarshal(b, &x); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return x
}

// The document describes exactly what predict reads and refuses: the
// record's fields (names and order of the parser's), the batch limit, the
// fields a 400 may name; its schemas use only keywords the validator checks;
// every example validates against its schema; every request example is
// sent by some answer example.
func TestOpenAPIDocument(t *testing.T) {
	v, doc := openapiDoc(t)
	if doc["openapi"] != "3.1.0" {
		t.Errorf("openapi %v", doc["openapi"])
	}
	if u := v.unknownKeywords(); len(u) > 0 {
		t.Errorf("schema keywords the validator does not check: %v", u)
	}
	if got, want := predict.SchemaProperties("CrimeRecord"), predict.RecordFields(); !slices.Equal(got, want) {
		t.Errorf("CrimeRecord documents %v, predict reads %v", got, want)
	}
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	batch := schemas["PredictRequest"].(map[string]any)["oneOf"].([]any)[1].(map[string]any)
	if int(batch["maxItems"].(float64)) != predict.MaxRecords {
		t.Errorf("batch maxItems %v, predict takes %d", batch["maxItems"], predict.MaxRecords)
	}
	var fields []string
	for _, f := range schemas["InputError"].(map[string]any)["properties"].(map[string]any)["field"].(map[string]any)["enum"].([]any) {
		fields = append(fields, f.(string))
	}
	if want := append([]string{"body"}, predict.RecordFields()...); !slices.Equal(fields, want) {
		t.Errorf("InputError.field enum %v, want %v", fields, want)
	}
	for name, s := range schemas {
		props, _ := s.(map[string]any)["properties"].(map[string]any)
		for prop, p := range props {
			pm := p.(map[string]any)
			if pm["description"] == nil && pm["$ref"] == nil {
				t.Errorf("%s.%s has no description", name, prop)
			}
			for _, ex := range anySlice(pm["examples"]) {
				if errs := v.validate(p, ex, name+"."+prop+" example"); len(errs) > 0 {
					t.Error(strings.Join(errs, "\n"))
				}
			}
		}
	}
	for prop, p := range schemas["CrimeRecord"].(map[string]any)["properties"].(map[string]any) {
		if len(anySlice(p.(map[string]any)["examples"])) == 0 {
			t.Errorf("CrimeRecord.%s has no example", prop)
		}
	}

	exs, err := predict.DocExamples()
	if err != nil {
		t.Fatal(err)
	}
	used, accepted := map[string]bool{}, map[string]bool{}
	for _, e := range exs {
		if errs := v.validate(decode(t, e.ResponseSchema), decode(t, e.Response), e.Name+" "+e.Status+" answer"); len(errs) > 0 {
			t.Error(strings.Join(errs, "\n"))
		}
		used[e.Call.Body] = true
		accepted[e.Call.Body] = accepted[e.Call.Body] || e.Status == "200"
	}
	post := doc["paths"].(map[string]any)["/function/predict"].(map[string]any)["post"].(map[string]any)
	body := post["requestBody"].(map[string]any)["content"].(map[string]any)["application/json"].(map[string]any)
	for name, ex := range body["examples"].(map[string]any) {
		if !used[name] {
			t.Errorf("request example %s is sent by no answer example", name)
		}
		// A request predict accepts is valid; a refused one may be too (a
		// location outside the city is a well-formed record).
		if errs := v.validate(body["schema"], ex.(map[string]any)["value"], "request "+name); accepted[name] && len(errs) > 0 {
			t.Error(strings.Join(errs, "\n"))
		}
	}
	if len(exs) < 10 {
		t.Errorf("%d examples", len(exs))
	}
}

func anySlice(x any) []any {
	s, _ := x.([]any)
	return s
}

// Every example of the document goes through the real handler, with a real
// model (or none, for the examples that say so): the status and media type
// are the documented ones, the answer validates against the documented
// schema (which allows no undocumented key), refusals answer exactly the
// documented body, and predictions have the documented shape.
func TestOpenAPIExamplesRun(t *testing.T) {
	v, _ := openapiDoc(t)
	withModel := server(t)
	noModel := predict.NewServer(predict.FileLoader{Path: "/nonexistent"}, nil)
	exs, err := predict.DocExamples()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range exs {
		t.Run(e.Operation+"-"+e.Status+"-"+e.Name, func(t *testing.T) {
			s := withModel
			if !e.WithChampion() {
				s = noModel
			}
			req := handler.Request{Method: e.Call.Method, QueryString: e.Call.Query}
			if e.Request != nil {
				var b bytes.Buffer
				if err := json.Compact(&b, e.Request); err != nil {
					t.Fatal(err)
				}
				req.Body = b.Bytes()
			}
			res := s.Handle(req)
			if got := fmt.Sprint(res.StatusCode); got != e.Status {
				t.Fatalf("status %s, documented %s: %s", got, e.Status, res.Body)
			}
			if ct := res.Header.Get("Content-Type"); ct != e.Media {
				t.Errorf("Content-Type %q, documented %q", ct, e.Media)
			}
			got := decode(t, res.Body)
			if errs := v.validate(decode(t, e.ResponseSchema), got, "answer"); len(errs) > 0 {
				t.Errorf("%s\n%s", res.Body, strings.Join(errs, "\n"))
			}
			want := decode(t, e.Response)
			if res.StatusCode != http.StatusOK {
				if !reflect.DeepEqual(got, want) {
					t.Errorf("answer %s, documented %s", res.Body, e.Response)
				}
				return
			}
			if err := sameShape(got, want, "answer"); err != nil {
				t.Errorf("%v\nanswer %s\ndocumented %s", err, res.Body, e.Response)
			}
			if preds, ok := got.(map[string]any)["predictions"].([]any); ok {
				if n := len(decode(t, e.Request).([]any)); len(preds) != n {
					t.Errorf("%d predictions for %d records", len(preds), n)
				}
			}
		})
	}
}

// sameShape: every key of got's objects is in the documented example's, and
// values are of the same JSON kind (arrays: each element like the example's first).
func sameShape(got, doc any, at string) error {
	switch g := got.(type) {
	case map[string]any:
		d, ok := doc.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: an object, documented %s", at, kindOf(doc))
		}
		for k, gv := range g {
			dv, ok := d[k]
			if !ok {
				return fmt.Errorf("%s: %q is not in the documented example", at, k)
			}
			if err := sameShape(gv, dv, at+"/"+k); err != nil {
				return err
			}
		}
	case []any:
		d, ok := doc.([]any)
		if !ok {
			return fmt.Errorf("%s: an array, documented %s", at, kindOf(doc))
		}
		for i, gv := range g {
			if len(d) > 0 {
				if err := sameShape(gv, d[0], fmt.Sprintf("%s/%d", at, i)); err != nil {
					return err
				}
			}
		}
	default:
		if kindOf(got) != kindOf(doc) {
			return fmt.Errorf("%s: %s, documented %s", at, kindOf(got), kindOf(doc))
		}
	}
	return nil
}

// Refusals beyond the documented examples (the parser's own cases) also
// validate against the 400 schema: no field outside the enum, no extra key.
func TestInputErrorsDocumented(t *testing.T) {
	v, _ := openapiDoc(t)
	s := server(t)
	for _, body := range []string{`{`, `"text"`, `[1]`, `[{"date":"2017-06-04T13:00:00","x_coordinate":1,"y_coordinate":2}]`,
		`{"date":"yesterday","x_coordinate":1149421,"y_coordinate":1903366}`, `{"date":12}`,
		`{"date":"2017-06-04T13:00:00","x_coordinate":"abc","y_coordinate":1903366}`,
		`{"date":"2017-06-04T13:00:00","x_coordinate":1149421,"y_coordinate":1903366,"beat":[1]}`,
		`{"date":"2017-06-04T13:00:00","x_coordinate":1149421,"y_coordinate":1903366,"iucr":1.5}`,
		`{"date":"2017-06-04T13:00:00","x_coordinate":1149421,"y_coordinate":1903366,"primary_type":7}`,
		`[` + record + `,{"date":"2017-06-04T13:00:00","latitude":91,"longitude":0}]`,
	} {
		res := s.Handle(handler.Request{Method: http.MethodPost, Body: []byte(body)})
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d", body, res.StatusCode)
			continue
		}
		if errs := v.validate(map[string]any{"$ref": "#/components/schemas/InputError"}, decode(t, res.Body), body); len(errs) > 0 {
			t.Errorf("%s\n%s", res.Body, strings.Join(errs, "\n"))
		}
	}
}

// ?openapi and ?docs answer with or without a model; the page is made of
// the document (every example and schema field on it), loads nothing from
// elsewhere, and its Content-Security-Policy admits exactly its inline
// script and style.
func TestOpenAPIAndDocsServed(t *testing.T) {
	noModel := predict.NewServer(predict.FileLoader{Path: "/nonexistent"}, nil)
	res := noModel.Handle(handler.Request{Method: http.MethodGet, QueryString: "openapi"})
	if res.StatusCode != 200 || !bytes.Equal(res.Body, predict.OpenAPI()) || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("?openapi: %d %q", res.StatusCode, res.Header)
	}
	res = noModel.Handle(handler.Request{Method: http.MethodGet, QueryString: "docs"})
	page := string(res.Body)
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("?docs: %d %q %.200s", res.StatusCode, res.Header, page)
	}
	exs, _ := predict.DocExamples()
	if n := strings.Count(page, `<article class="example"`); n != len(exs) {
		t.Errorf("%d examples on the page, %d in the document", n, len(exs))
	}
	for _, e := range exs {
		if !strings.Contains(page, `data-name="`+e.Name+`"`) {
			t.Errorf("example %s is not on the page", e.Name)
		}
	}
	for _, name := range []string{"CrimeRecord", "Prediction", "BatchPrediction", "InputError", "ModelInfo", "TestMetrics"} {
		if !strings.Contains(page, `id="schema-`+name+`"`) {
			t.Errorf("schema %s is not on the page", name)
		}
		for _, p := range predict.SchemaProperties(name) {
			if !strings.Contains(page, "<code>"+p+"</code>") {
				t.Errorf("%s.%s is not on the page", name, p)
			}
		}
	}
	if m := regexp.MustCompile(`(?i)(src|href|action)\s*=\s*"(https?:)?//`).FindString(page); m != "" {
		t.Errorf("the page refers elsewhere: %s", m)
	}
	csp := res.Header.Get("Content-Security-Policy")
	for _, tag := range []string{"script", "style"} {
		m := regexp.MustCompile(`(?s)<`+tag+`>(.*?)</`+tag+`>`).FindAllStringSubmatch(page, -1)
		if len(m) != 1 {
			t.Fatalf("%d inline %s elements", len(m), tag)
		}
		sum := sha256.Sum256([]byte(m[0][1]))
		if h := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(csp, tag+"-src "+h) {
			t.Errorf("CSP %q does not admit the page's %s (%s)", csp, tag, h)
		}
	}
	if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "connect-src 'self'") {
		t.Errorf("CSP %q", csp)
	}
}
