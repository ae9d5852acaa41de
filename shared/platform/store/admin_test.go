package store

import (
	"fmt"
	"testing"
)

func TestNotifyRuleCanonical(t *testing.T) {
	a := canonicalRules([]NotifyRule{
		{ARN: "arn:minio:sqs::merge:webhook", Prefix: "0-raw-data/monthly-data/", Suffix: "manifest.json"},
		{ARN: "arn:minio:sqs::enrich:webhook", Prefix: "0-raw-data/data/", Suffix: "manifest.json", Events: []string{"s3:ObjectCreated:*", "s3:ObjectCreated:*"}},
	})
	b := canonicalRules([]NotifyRule{
		{ARN: "arn:minio:sqs::enrich:webhook", Prefix: "0-raw-data/data/", Suffix: "manifest.json", Events: []string{"s3:ObjectCreated:*"}},
		{ARN: "arn:minio:sqs::merge:webhook", Prefix: "0-raw-data/monthly-data/", Suffix: "manifest.json", Events: nil},
	})
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatalf("same rules in another order or spelling differ:\n%v\n%v", a, b)
	}
	if ExpiryID("2-processed-data/") != "arrestcast-expire-2-processed-data" {
		t.Errorf("ExpiryID = %q", ExpiryID("2-processed-data/"))
	}
}
