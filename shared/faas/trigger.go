// Package faas is what every ArrestCast function shares on OpenFaaS: it
// turns an HTTP call into what started it (a MinIO bucket notification, the
// cron-connector's monthly tick, a manual call with a run date, MinIO's
// start-up probe), checks the pipeline token, answers in JSON, and builds
// a function's dependencies — settings, logger, object store, database —
// once from its configuration (Deps). Handlers only parse here, call their
// step and answer.
package faas

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/arrestcast/arrestcast/shared/chain"
)

// Kind says what started a call.
type Kind int

const (
	Probe  Kind = iota // HEAD (MinIO's start-up check) or GET: answer 200, do nothing
	Event              // a MinIO bucket notification
	Cron               // the cron-connector's empty POST
	Manual             // a JSON body naming a run date (and, for download, months)
)

func (k Kind) String() string {
	return [...]string{"probe", "event", "cron", "manual"}[k]
}

// Trigger is a parsed call.
type Trigger struct {
	Kind    Kind
	Bucket  string    // Event: bucket of the created object
	Key     string    // Event: object key, unescaped
	Version string    // Event: the object's version ID ("" in a bucket without versioning)
	ETag    string    // Event: the object's ETag
	AsOf    time.Time // Manual: the run date
	From    string    // Manual (download backfill): first month YYYY-MM
	To      string    // Manual (download backfill): last month YYYY-MM
	Raw     json.RawMessage
}

// Error is a request the function refuses, with the status to answer.
type Error struct {
	Status  int
	Field   string
	Message string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return e.Field + ": " + e.Message
	}
	return e.Message
}

// IsCron reports whether the call is the cron-connector's tick.
func IsCron(req handler.Request) bool {
	return req.Method == http.MethodPost && req.Header.Get("X-Connector") == "cron-connector" && len(strings.TrimSpace(string(req.Body))) == 0
}

// minioEvent is the part of MinIO's webhook payload the chain reads.
type minioEvent struct {
	EventName string `json:"EventName"`
	Key       string `json:"Key"`
	Records   []struct {
		EventName string `json:"eventName"`
		S3        struct {
			Bucket struct {
				Name string `json:"name"`
			} `json:"bucket"`
			Object struct {
				Key       string `json:"key"`
				VersionID string `json:"versionId"`
				ETag      string `json:"eTag"`
				Size      int64  `json:"size"`
			} `json:"object"`
		} `json:"s3"`
	} `json:"Records"`
}

// manualBody is a manual call's JSON body.
type manualBody struct {
	AsOf string `json:"as_of"`
	From string `json:"from"`
	To   string `json:"to"`
}

// Parse reads the call. It does not authorize: callers check the token first
// (every call but the probe and download's cron tick needs it).
func Parse(req handler.Request) (Trigger, *Error) {
	switch req.Method {
	case http.MethodHead, http.MethodGet:
		return Trigger{Kind: Probe}, nil
	case http.MethodPost, http.MethodPut:
	default:
		return Trigger{}, &Error{Status: http.StatusMethodNotAllowed, Message: "use POST"}
	}
	if IsCron(req) {
		return Trigger{Kind: Cron}, nil
	}
	body := strings.TrimSpace(string(req.Body))
	if body == "" {
		return Trigger{Kind: Manual}, nil // steps that need a run date say so
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &probe); err != nil || probe == nil {
		// null too: it would decode as an empty call and mean "now".
		return Trigger{}, &Error{Status: http.StatusBadRequest, Field: "body", Message: "want a JSON object"}
	}
	if _, ok := probe["Records"]; ok {
		return parseEvent([]byte(body))
	}
	return parseManual([]byte(body))
}

func parseEvent(body []byte) (Trigger, *Error) {
	var ev minioEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		return Trigger{}, &Error{Status: http.StatusBadRequest, Field: "Records", Message: "malformed MinIO event"}
	}
	if len(ev.Records) == 0 {
		return Trigger{}, &Error{Status: http.StatusBadRequest, Field: "Records", Message: "no records"}
	}
	r := ev.Records[0]
	key, err := url.QueryUnescape(r.S3.Object.Key)
	if err != nil {
		return Trigger{}, &Error{Status: http.StatusBadRequest, Field: "Records[0].s3.object.key", Message: "not URL-escaped"}
	}
	if r.S3.Bucket.Name == "" || key == "" {
		return Trigger{}, &Error{Status: http.StatusBadRequest, Field: "Records[0].s3", Message: "bucket and key are required"}
	}
	version := r.S3.Object.VersionID
	if version == "null" { // S3's name for the one version of an unversioned object
		version = ""
	}
	return Trigger{Kind: Event, Bucket: r.S3.Bucket.Name, Key: key, Version: version, ETag: strings.Trim(r.S3.Object.ETag, `"`), Raw: body}, nil
}

func parseManual(body []byte) (Trigger, *Error) {
	var m manualBody
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return Trigger{}, &Error{Status: http.StatusBadRequest, Field: "body", Message: fmt.Sprintf(`want {"as_of":"YYYY-MM-DD"} or {"from":"YYYY-MM","to":"YYYY-MM"}: %v`, err)}
	}
	t := Trigger{Kind: Manual, Raw: body}
	if m.AsOf != "" {
		d, err := chain.ParseRunDate(m.AsOf)
		if err != nil {
			return Trigger{}, &Error{Status: http.StatusBadRequest, Field: "as_of", Message: "want YYYY-MM-DD"}
		}
		if d.IsZero() { // the zero date means "no date" downstream
			return Trigger{}, &Error{Status: http.StatusBadRequest, Field: "as_of", Message: m.AsOf + " is before any data"}
		}
		t.AsOf = d
	}
	for _, p := range []struct {
		name string
		v    string
		dst  *string
	}{{"from", m.From, &t.From}, {"to", m.To, &t.To}} {
		if p.v == "" {
			continue
		}
		if _, err := time.Parse(chain.MonthLayout, p.v); err != nil {
			return Trigger{}, &Error{Status: http.StatusBadRequest, Field: p.name, Message: "want YYYY-MM"}
		}
		*p.dst = p.v
	}
	if m.AsOf != "" && t.From != "" {
		return Trigger{}, &Error{Status: http.StatusBadRequest, Field: "as_of", Message: "give as_of or from and to, not both"}
	}
	if (t.From == "") != (t.To == "") {
		return Trigger{}, &Error{Status: http.StatusBadRequest, Field: "from", Message: "from and to go together"}
	}
	if t.From > t.To {
		return Trigger{}, &Error{Status: http.StatusBadRequest, Field: "to", Message: "must not be before from"}
	}
	return t, nil
}
