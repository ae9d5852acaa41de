package predict_test

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"sort"
	"strings"
)

// schemaValidator checks JSON values against the subset of JSON Schema
// 2020-12 that openapi.json uses. A keyword it does not know is an error, so
// the document cannot lean on a rule this check would silently skip.
type schemaValidator struct {
	doc map[string]any // the whole OpenAPI document, for $ref
}

// Annotations: they say something to a reader and constrain nothing.
var annotations = map[string]bool{"description": true, "examples": true, "format": true, "title": true}

func newValidator(doc []byte) (*schemaValidator, error) {
	var d map[string]any
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, err
	}
	return &schemaValidator{doc: d}, nil
}

// resolve follows a local $ref ("#/components/schemas/X").
func (v *schemaValidator) resolve(ref string) (any, error) {
	p, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, fmt.Errorf("$ref %q is not local", ref)
	}
	var cur any = v.doc
	for _, k := range strings.Split(p, "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("$ref %q: %q is not in an object", ref, k)
		}
		if cur, ok = m[k]; !ok {
			return nil, fmt.Errorf("$ref %q: no %q", ref, k)
		}
	}
	return cur, nil
}

// validate returns every violation of schema by inst, each prefixed with
// where it is (a JSON pointer-like path).
func (v *schemaValidator) validate(schema any, inst any, at string) []string {
	s, ok := schema.(map[string]any)
	if !ok {
		return []string{at + ": schema is not an object"}
	}
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, at+": "+fmt.Sprintf(format, args...)) }
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	sort.Strings(keys) // deterministic messages
	for _, k := range keys {
		kw := s[k]
		switch k {
		case "$ref":
			target, err := v.resolve(kw.(string))
			if err != nil {
				bad("%v", err)
				continue
			}
			errs = append(errs, v.validate(target, inst, at)...)
		case "type":
			var types []string
			switch t := kw.(type) {
			case string:
				types = []string{t}
			case []any:
				for _, x := range t {
					types = append(types, x.(string))
				}
			}
			match := false
			for _, t := range types {
				match = match || isType(inst, t)
			}
			if !match {
				bad("%s is not %s", kindOf(inst), strings.Join(types, " or "))
			}
		case "const":
			if !reflect.DeepEqual(inst, kw) {
				bad("%v is not the constant %v", inst, kw)
			}
		case "enum":
			found := false
			for _, e := range kw.([]any) {
				found = found || reflect.DeepEqual(inst, e)
			}
			if !found {
				bad("%v is not one of %v", inst, kw)
			}
		case "properties":
			obj, ok := inst.(map[string]any)
			if !ok {
				continue
			}
			for name, sub := range kw.(map[string]any) {
				if val, has := obj[name]; has {
					errs = append(errs, v.validate(sub, val, at+"/"+name)...)
				}
			}
		case "required":
			obj, ok := inst.(map[string]any)
			if !ok {
				continue
			}
			for _, r := range kw.([]any) {
				if _, has := obj[r.(string)]; !has {
					bad("required %q is missing", r)
				}
			}
		case "additionalProperties":
			obj, ok := inst.(map[string]any)
			if !ok {
				continue
			}
			props, _ := s["properties"].(map[string]any)
			for name, val := range obj {
				if _, known := props[name]; known {
					continue
				}
				switch ap := kw.(type) {
				case bool:
					if !ap {
						bad("%q is not documented", name)
					}
				default:
					errs = append(errs, v.validate(ap, val, at+"/"+name)...)
				}
			}
		case "items":
			arr, ok := inst.([]any)
			if !ok {
				continue
			}
			for i, val := range arr {
				errs = append(errs, v.validate(kw, val, fmt.Sprintf("%s/%d", at, i))...)
			}
		case "minItems", "maxItems":
			arr, ok := inst.([]any)
			if !ok {
				continue
			}
			n := int(kw.(float64))
			if (k == "minItems" && len(arr) < n) || (k == "maxItems" && len(arr) > n) {
				bad("%d items, %s %d", len(arr), k, n)
			}
		case "minimum", "maximum":
			x, ok := inst.(float64)
			if !ok {
				continue
			}
			lim := kw.(float64)
			if (k == "minimum" && x < lim) || (k == "maximum" && x > lim) {
				bad("%v is past %s %v", x, k, lim)
			}
		case "pattern":
			str, ok := inst.(string)
			if !ok {
				continue
			}
			re, err := regexp.Compile(kw.(string))
			if err != nil {
				bad("pattern %q: %v", kw, err)
			} else if !re.MatchString(str) {
				bad("%q does not match %s", str, kw)
			}
		case "oneOf", "anyOf":
			n := 0
			var why []string
			for i, alt := range kw.([]any) {
				e := v.validate(alt, inst, fmt.Sprintf("%s(%s %d)", at, k, i))
				if len(e) == 0 {
					n++
				} else {
					why = append(why, e...)
				}
			}
			if (k == "oneOf" && n != 1) || (k == "anyOf" && n == 0) {
				bad("%s: %d alternatives match (%s)", k, n, strings.Join(why, "; "))
			}
		default:
			if !annotations[k] {
				bad("unsupported schema keyword %q", k)
			}
		}
	}
	return errs
}

func isType(inst any, t string) bool {
	switch x := inst.(type) {
	case nil:
		return t == "null"
	case bool:
		return t == "boolean"
	case string:
		return t == "string"
	case float64:
		return t == "number" || (t == "integer" && x == math.Trunc(x) && !math.IsInf(x, 0))
	case []any:
		return t == "array"
	case map[string]any:
		return t == "object"
	}
	return false
}

func kindOf(inst any) string {
	switch inst.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case float64:
		return "a number"
	case []any:
		return "an array"
	}
	return "an object"
}

// schemaKeywords lists every keyword under every schema of v's document
// that the validator does not know (they would be skipped silently).
func (v *schemaValidator) unknownKeywords() []string {
	var out []string
	var walk func(s any, at string)
	walk = func(s any, at string) {
		m, ok := s.(map[string]any)
		if !ok {
			return
		}
		for k, kw := range m {
			switch k {
			case "$ref", "type", "const", "enum", "required", "additionalProperties", "minItems", "maxItems",
				"minimum", "maximum", "pattern":
				if ap, ok := kw.(map[string]any); ok {
					walk(ap, at+"/"+k)
				}
			case "properties":
				for n, sub := range kw.(map[string]any) {
					walk(sub, at+"/properties/"+n)
				}
			case "items":
				walk(kw, at+"/items")
			case "oneOf", "anyOf":
				for i, alt := range kw.([]any) {
					walk(alt, fmt.Sprintf("%s/%s/%d", at, k, i))
				}
			default:
				if !annotations[k] {
					out = append(out, at+": "+k)
				}
			}
		}
	}
	for name, s := range v.doc["components"].(map[string]any)["schemas"].(map[string]any) {
		walk(s, "#/components/schemas/"+name)
	}
	return out
}
