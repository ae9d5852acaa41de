package predict

import (
	"reflect"
	"strings"
)

// What the external tests need of the package's insides.

// DocExample is one documented call and its answer.
type DocExample = docExample

// DocExamples lists the document's answer examples with their calls.
func DocExamples() ([]DocExample, error) { return docExamples(openapiJSON) }

// WithChampion says whether the example's answer comes from a server with a model.
func (e docExample) WithChampion() bool { return e.Call.withChampion() }

// RecordFields are the JSON names of the portal fields predict reads, in order.
func RecordFields() []string {
	var out []string
	t := reflect.TypeOf(inRecord{})
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		out = append(out, name)
	}
	return out
}

// SchemaProperties are the property names of a component schema, in document order.
func SchemaProperties(name string) []string {
	ms, _ := members(jsonPath(openapiJSON, "components", "schemas", name, "properties"))
	var out []string
	for _, m := range ms {
		out = append(out, m.Key)
	}
	return out
}
