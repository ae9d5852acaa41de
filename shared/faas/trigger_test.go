package faas

import (
	"net/http"
	"strings"
	"testing"

	handler "github.com/openfaas/templates-sdk/go-http"
)

// A payload as MinIO sends it: Key unescaped, record key URL-escaped.
const minioPayload = `{"EventName":"s3:ObjectCreated:Put","Key":"data/1-enriched-data/crimes enriched_2018-01-01.manifest.json",
"Records":[{"eventVersion":"2.0","eventSource":"minio:s3","eventTime":"2018-01-01T12:00:01.000Z","eventName":"s3:ObjectCreated:Put",
"s3":{"s3SchemaVersion":"1.0","configurationId":"Config","bucket":{"name":"data","arn":"arn:aws:s3:::data"},
"object":{"key":"1-enriched-data%2Fcrimes+enriched_2018-01-01.manifest.json","size":512,"eTag":"\"d41d8cd98f00b204e9800998ecf8427e\"","sequencer":"17"}}}]}`

func TestParseEvent(t *testing.T) {
	tr, err := Parse(handler.Request{Method: http.MethodPost, Body: []byte(minioPayload)})
	if err != nil {
		t.Fatal(err)
	}
	if tr.Kind != Event || tr.Bucket != "data" || tr.Key != "1-enriched-data/crimes enriched_2018-01-01.manifest.json" || tr.ETag != "d41d8cd98f00b204e9800998ecf8427e" {
		t.Fatalf("got %+v", tr)
	}
}

func TestParseCronProbeManual(t *testing.T) {
	h := http.Header{"X-Connector": {"cron-connector"}, "X-Topic": {"cron-function"}}
	if tr, _ := Parse(handler.Request{Method: http.MethodPost, Header: h}); tr.Kind != Cron {
		t.Errorf("cron tick parsed as %v", tr.Kind)
	}
	if tr, _ := Parse(handler.Request{Method: http.MethodHead}); tr.Kind != Probe {
		t.Errorf("HEAD parsed as %v", tr.Kind)
	}
	tr, err := Parse(handler.Request{Method: http.MethodPost, Body: []byte(`{"as_of":"2018-01-01"}`)})
	if err != nil || tr.Kind != Manual || tr.AsOf.Format("2006-01-02") != "2018-01-01" {
		t.Errorf("manual: %+v %v", tr, err)
	}
	tr, err = Parse(handler.Request{Method: http.MethodPost, Body: []byte(`{"from":"2017-01","to":"2017-03"}`)})
	if err != nil || tr.From != "2017-01" || tr.To != "2017-03" {
		t.Errorf("backfill: %+v %v", tr, err)
	}
}

func TestParseRefuses(t *testing.T) {
	for body, field := range map[string]string{
		`{"as_of":"01/01/2018"}`:             "as_of",
		`{"from":"2017-13","to":"2018-01"}`:  "from",
		`{"from":"2018-02","to":"2018-01"}`:  "to",
		`{"from":"2018-02"}`:                 "from",
		`{"as_of":"2018-01-01","x":1}`:       "body",
		`[1,2]`:                              "body",
		`{"Records":[]}`:                     "Records",
		`{"Records":[{"s3":{"bucket":{}}}]}`: "Records[0].s3",
	} {
		_, err := Parse(handler.Request{Method: http.MethodPost, Body: []byte(body)})
		if err == nil || err.Status != http.StatusBadRequest || err.Field != field {
			t.Errorf("%s: got %v, want 400 on %s", body, err, field)
		}
	}
	if _, err := Parse(handler.Request{Method: http.MethodDelete}); err == nil || err.Status != http.StatusMethodNotAllowed {
		t.Errorf("DELETE: %v", err)
	}
}

func TestAuthorize(t *testing.T) {
	ok := http.Header{"Authorization": {"Bearer s3cret"}}
	if !Authorize(ok, "s3cret") {
		t.Error("right token refused")
	}
	for _, h := range []http.Header{{}, {"Authorization": {"Bearer wrong"}}, {"Authorization": {"s3cret"}}, {"Authorization": {"Basic s3cret"}}} {
		if Authorize(h, "s3cret") {
			t.Errorf("%v accepted", h)
		}
	}
	if Authorize(ok, "") {
		t.Error("an unset token must authorize nothing")
	}
}

// Bodies that would mean "now" by accident, or two things at once, are
// refused naming the field.
func TestParseRefusesAmbiguousBodies(t *testing.T) {
	for body, field := range map[string]string{
		`null`:                   "body",
		`[]`:                     "body",
		`"2018-01-01"`:           "body",
		`{"as_of":"0001-01-01"}`: "as_of",
		`{"as_of":"2018-01-01","from":"2017-01","to":"2017-02"}`: "as_of",
		`{"from":"2017-01"}`:                "from",
		`{"from":"2017-03","to":"2017-01"}`: "to",
		`{"as_of":"2018-1-1"}`:              "as_of",
		`{"as_of":"2018-01-01","extra":1}`:  "body",
	} {
		_, err := Parse(handler.Request{Method: http.MethodPost, Body: []byte(body)})
		if err == nil || err.Status != http.StatusBadRequest || err.Field != field {
			t.Errorf("%s: %+v, want 400 naming %s", body, err, field)
		}
	}
}

// An event names the version of the object it fired on.
func TestParseEventVersion(t *testing.T) {
	body := strings.Replace(minioPayload, `"sequencer":"17"`, `"sequencer":"17","versionId":"7f3a"`, 1)
	tr, err := Parse(handler.Request{Method: http.MethodPost, Body: []byte(body)})
	if err != nil || tr.Version != "7f3a" {
		t.Fatalf("version %q, %v", tr.Version, err)
	}
	body = strings.Replace(minioPayload, `"sequencer":"17"`, `"sequencer":"17","versionId":"null"`, 1)
	if tr, _ := Parse(handler.Request{Method: http.MethodPost, Body: []byte(body)}); tr.Version != "" {
		t.Errorf("an unversioned object's version %q, want none", tr.Version)
	}
}
