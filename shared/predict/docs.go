package predict

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"regexp"
	"strings"
	"sync"

	handler "github.com/openfaas/templates-sdk/go-http"
)

// The docs page (GET ?docs) is rendered on the server from openapi.json:
// every field, schema and example is read from the document, so the page
// cannot drift from it. Its script only adds "Run" buttons that send an
// example to the same origin; without it the page shows the expected answers.
var (
	//go:embed docs.html
	docsHTML string
	//go:embed docs.css
	docsCSS string
	//go:embed docs.js
	docsJS string
)

// exampleCall is an answer example's x-request: the call that gives it.
type exampleCall struct {
	Method string `json:"method"`
	Query  string `json:"query,omitempty"`
	Body   string `json:"body,omitempty"`     // the name of a request body example
	Champ  *bool  `json:"champion,omitempty"` // false: answered with no model loaded
}

// withChampion says whether the answer comes from a server with a model.
func (c exampleCall) withChampion() bool { return c.Champ == nil || *c.Champ }

// docExample is one documented call and its answer.
type docExample struct {
	Name, Summary  string
	Operation      string // the operation's method, lower case
	Path           string
	Status         string
	Media          string
	Call           exampleCall
	Request        json.RawMessage // the request body (nil: none)
	Response       json.RawMessage
	ResponseSchema json.RawMessage
}

// docExamples lists every answer example of the document with its call,
// in document order.
func docExamples(doc json.RawMessage) ([]docExample, error) {
	paths, err := members(jsonField(doc, "paths"))
	if err != nil {
		return nil, err
	}
	var out []docExample
	for _, p := range paths {
		ops, err := members(p.Value)
		if err != nil {
			return nil, err
		}
		for _, op := range ops {
			reqExamples := jsonPath(op.Value, "requestBody", "content", "application/json", "examples")
			responses, err := members(jsonField(op.Value, "responses"))
			if err != nil {
				return nil, err
			}
			for _, r := range responses {
				content, err := members(jsonField(r.Value, "content"))
				if err != nil {
					return nil, err
				}
				for _, c := range content {
					exs, err := members(jsonField(c.Value, "examples"))
					if err != nil {
						return nil, err
					}
					for _, ex := range exs {
						e := docExample{Name: ex.Key, Operation: op.Key, Path: p.Key, Status: r.Key, Media: c.Key,
							Response: jsonField(ex.Value, "value"), ResponseSchema: jsonField(c.Value, "schema")}
						_ = json.Unmarshal(jsonField(ex.Value, "summary"), &e.Summary)
						raw := jsonField(ex.Value, "x-request")
						if raw == nil {
							return nil, fmt.Errorf("%s %s %s example %s: no x-request", op.Key, p.Key, r.Key, ex.Key)
						}
						if err := json.Unmarshal(raw, &e.Call); err != nil {
							return nil, fmt.Errorf("%s %s example %s: x-request: %w", op.Key, r.Key, ex.Key, err)
						}
						if e.Call.Body != "" {
							if e.Request = jsonPath(reqExamples, e.Call.Body, "value"); e.Request == nil {
								return nil, fmt.Errorf("%s %s example %s: no request example %q", op.Key, r.Key, ex.Key, e.Call.Body)
							}
						}
						out = append(out, e)
					}
				}
			}
		}
	}
	return out, nil
}

// Page model.
type (
	docsPage struct {
		Title, Version, Summary string
		Description             template.HTML
		Ops                     []docsOp
		Schemas                 []docsSchema
		Script                  template.JS
		Style                   template.CSS
	}
	docsOp struct {
		ID, Method, Path, Summary string
		Description               template.HTML
		Params                    []docsField
		Body                      []string // schema names
		BodyRecord                string   // the object schema a body is made of
		BodyFields                []docsField
		Examples                  []docsExample
		Responses                 []docsResponse
	}
	docsExample struct {
		ID, Name, Summary, Method, URL, Status string
		Query, Body, Answer, Curl              string
		Rows                                   int  // the body's lines
		Runnable                               bool // a live server with a model gives this answer
	}
	docsResponse struct {
		Status      string
		Description template.HTML
		Media       []docsMedia
	}
	docsMedia struct {
		Type    string
		Schemas []string
	}
	docsSchema struct {
		Name        string
		Description template.HTML
		Kind        string
		OneOf       []string
		Fields      []docsField
	}
	docsField struct {
		Name, Type, Constraints, Example string
		Ref                              string
		Required                         bool
		Description                      template.HTML
	}
)

var codeSpan = regexp.MustCompile("`([^`]+)`")

// prose escapes text and turns `x` into <code>x</code>, as the document writes code.
func prose(s string) template.HTML {
	return template.HTML(codeSpan.ReplaceAllString(template.HTMLEscapeString(s), "<code>$1</code>"))
}

func str(raw json.RawMessage) string {
	var s string
	_ = json.Unmarshal(raw, &s)
	return s
}

func pretty(raw json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return string(raw)
	}
	return b.String()
}

func compact(raw json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return string(raw)
	}
	return b.String()
}

// refName is the schema name of {"$ref": "#/components/schemas/X"}.
func refName(schema json.RawMessage) string {
	return strings.TrimPrefix(str(jsonField(schema, "$ref")), "#/components/schemas/")
}

// schemaNames names a schema: its $ref, the refs of a oneOf, or its type.
func schemaNames(schema json.RawMessage) []string {
	if n := refName(schema); n != "" {
		return []string{n}
	}
	var alts []json.RawMessage
	if err := json.Unmarshal(jsonField(schema, "oneOf"), &alts); err == nil && len(alts) > 0 {
		var out []string
		for _, a := range alts {
			out = append(out, schemaNames(a)...)
		}
		return out
	}
	return []string{typeOf(schema)}
}

// typeOf is a schema's type as the page shows it: "string | integer | null".
func typeOf(schema json.RawMessage) string {
	if n := refName(schema); n != "" {
		return n
	}
	if c := jsonField(schema, "const"); c != nil {
		return "const " + compact(c)
	}
	t := jsonField(schema, "type")
	var one string
	if json.Unmarshal(t, &one) == nil && one != "" {
		if one == "array" {
			return "array of " + typeOf(jsonField(schema, "items"))
		}
		return one
	}
	var many []string
	if json.Unmarshal(t, &many) == nil && len(many) > 0 {
		return strings.Join(many, " | ")
	}
	if alts := jsonField(schema, "oneOf"); alts != nil {
		return strings.Join(schemaNames(schema), " | ")
	}
	return "any"
}

func constraints(schema json.RawMessage) string {
	var parts []string
	for _, k := range []string{"minimum", "maximum", "minItems", "maxItems", "format"} {
		if v := jsonField(schema, k); v != nil {
			parts = append(parts, k+" "+strings.Trim(compact(v), `"`))
		}
	}
	if v := jsonField(schema, "enum"); v != nil {
		var vals []string
		_ = json.Unmarshal(v, &vals)
		parts = append(parts, "one of "+strings.Join(vals, ", "))
	}
	if v := jsonField(schema, "pattern"); v != nil {
		parts = append(parts, "pattern "+str(v))
	}
	return strings.Join(parts, "; ")
}

func exampleOf(schema json.RawMessage) string {
	var exs []json.RawMessage
	if json.Unmarshal(jsonField(schema, "examples"), &exs) == nil && len(exs) > 0 {
		return compact(exs[0])
	}
	return ""
}

func fields(schema json.RawMessage) ([]docsField, error) {
	props, err := members(jsonField(schema, "properties"))
	if err != nil {
		return nil, err
	}
	var req []string
	_ = json.Unmarshal(jsonField(schema, "required"), &req)
	var out []docsField
	for _, p := range props {
		f := docsField{Name: p.Key, Type: typeOf(p.Value), Constraints: constraints(p.Value), Example: exampleOf(p.Value),
			Description: prose(str(jsonField(p.Value, "description"))), Ref: refName(p.Value)}
		for _, r := range req {
			f.Required = f.Required || r == p.Key
		}
		out = append(out, f)
	}
	return out, nil
}

// curl writes the example as a command against $OPENFAAS_URL.
func curl(path string, e docExample) string {
	url := `"$OPENFAAS_URL` + path
	if e.Call.Query != "" {
		url += "?" + e.Call.Query
	}
	url += `"`
	switch {
	case e.Request != nil:
		return "curl -s -X " + e.Call.Method + " " + url + " -H 'Content-Type: application/json' \\\n  -d '" +
			strings.ReplaceAll(compact(e.Request), "'", `'\''`) + "'"
	case e.Call.Method == http.MethodGet:
		return "curl -s " + url
	}
	return "curl -s -X " + e.Call.Method + " " + url
}

func buildDocs(doc json.RawMessage) (*docsPage, error) {
	info := jsonField(doc, "info")
	page := &docsPage{Title: str(jsonField(info, "title")), Version: str(jsonField(info, "version")),
		Summary: str(jsonField(info, "summary")), Description: prose(str(jsonField(info, "description")))}
	exs, err := docExamples(doc)
	if err != nil {
		return nil, err
	}
	paths, err := members(jsonField(doc, "paths"))
	if err != nil {
		return nil, err
	}
	for _, p := range paths {
		ops, err := members(p.Value)
		if err != nil {
			return nil, err
		}
		for _, o := range ops {
			op := docsOp{ID: str(jsonField(o.Value, "operationId")), Method: strings.ToUpper(o.Key), Path: p.Key,
				Summary: str(jsonField(o.Value, "summary")), Description: prose(str(jsonField(o.Value, "description")))}
			var params []json.RawMessage
			_ = json.Unmarshal(jsonField(o.Value, "parameters"), &params)
			for _, pr := range params {
				op.Params = append(op.Params, docsField{Name: "?" + str(jsonField(pr, "name")), Type: "query flag",
					Description: prose(str(jsonField(pr, "description")))})
			}
			if s := jsonPath(o.Value, "requestBody", "content", "application/json", "schema"); s != nil {
				op.Body = schemaNames(s)
				// The record a body is made of (CrimeRecord), listed in place:
				// the fields are what a caller needs first.
				for _, n := range op.Body {
					for _, alt := range append([]string{n}, schemaNames(jsonPath(doc, "components", "schemas", n))...) {
						sc := jsonPath(doc, "components", "schemas", alt)
						if op.BodyRecord == "" && jsonField(sc, "properties") != nil {
							op.BodyRecord = alt
							if op.BodyFields, err = fields(sc); err != nil {
								return nil, err
							}
						}
					}
				}
			}
			for _, e := range exs {
				if e.Operation != o.Key || e.Path != p.Key {
					continue
				}
				url := p.Key
				if e.Call.Query != "" {
					url += "?" + e.Call.Query
				}
				de := docsExample{ID: op.ID + "-" + e.Name, Name: e.Name, Summary: e.Summary, Method: e.Call.Method, URL: url,
					Status: e.Status, Query: e.Call.Query, Answer: pretty(e.Response), Curl: curl(p.Key, e), Runnable: e.Call.withChampion()}
				if e.Request != nil {
					de.Body = pretty(e.Request)
					de.Rows = min(strings.Count(de.Body, "\n")+1, 24)
				}
				op.Examples = append(op.Examples, de)
			}
			responses, err := members(jsonField(o.Value, "responses"))
			if err != nil {
				return nil, err
			}
			for _, r := range responses {
				dr := docsResponse{Status: r.Key, Description: prose(str(jsonField(r.Value, "description")))}
				content, err := members(jsonField(r.Value, "content"))
				if err != nil {
					return nil, err
				}
				for _, c := range content {
					dr.Media = append(dr.Media, docsMedia{Type: c.Key, Schemas: schemaNames(jsonField(c.Value, "schema"))})
				}
				op.Responses = append(op.Responses, dr)
			}
			page.Ops = append(page.Ops, op)
		}
	}
	schemas, err := members(jsonPath(doc, "components", "schemas"))
	if err != nil {
		return nil, err
	}
	for _, s := range schemas {
		ds := docsSchema{Name: s.Key, Description: prose(str(jsonField(s.Value, "description"))), Kind: typeOf(s.Value)}
		if jsonField(s.Value, "oneOf") != nil {
			var alts []json.RawMessage
			_ = json.Unmarshal(jsonField(s.Value, "oneOf"), &alts)
			for _, a := range alts {
				n := typeOf(a)
				if c := constraints(a); c != "" {
					n += " (" + c + ")"
				}
				ds.OneOf = append(ds.OneOf, n)
			}
		}
		if ds.Fields, err = fields(s.Value); err != nil {
			return nil, err
		}
		page.Schemas = append(page.Schemas, ds)
	}
	return page, nil
}

// hashCSP is a CSP source for inline content: 'sha256-…'.
func hashCSP(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

var docs struct {
	once sync.Once
	res  handler.Response
}

// docsAnswer renders the page once: the document is compiled in.
func docsAnswer() handler.Response {
	docs.once.Do(func() {
		page, err := buildDocs(openapiJSON)
		if err == nil {
			page.Script, page.Style = template.JS(docsJS), template.CSS(docsCSS)
			var b bytes.Buffer
			if err = docsTemplate.Execute(&b, page); err == nil {
				docs.res = handler.Response{StatusCode: http.StatusOK, Body: b.Bytes(), Header: http.Header{
					"Content-Type": {"text/html; charset=utf-8"},
					// Nothing but this page's own script and style, and calls to its own origin.
					"Content-Security-Policy": {"default-src 'none'; script-src " + hashCSP(docsJS) + "; style-src " + hashCSP(docsCSS) +
						"; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"},
					"X-Content-Type-Options": {"nosniff"},
					"Cache-Control":          {"max-age=300"},
				}}
			}
		}
		if err != nil {
			docs.res = handler.Response{StatusCode: http.StatusInternalServerError, Body: []byte("docs page unavailable\n"),
				Header: http.Header{"Content-Type": {"text/plain; charset=utf-8"}}}
		}
	})
	return docs.res
}

var docsTemplate = template.Must(template.New("docs").Parse(docsHTML))
