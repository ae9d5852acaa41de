package store

import (
	"io"
	"time"
)

// SpoolInMemory is spoolInMemory for the external tests.
const SpoolInMemory = spoolInMemory

// Backoff is the wait before retry attempt of p with its defaults applied.
func (p Retry) Backoff(attempt int) time.Duration { return p.withDefaults().backoff(attempt) }

// Classify is classify for the external tests.
func Classify(err error) error { return classify(err) }

// CanonicalRules is canonicalRules for the external tests.
func CanonicalRules(r []NotifyRule) []NotifyRule { return canonicalRules(r) }

// Resumes is how often a MinIO body resumed after a broken connection (-1: not a MinIO body).
func Resumes(rc io.ReadCloser) int {
	if r, ok := rc.(*resumingReader); ok {
		return r.resumes
	}
	return -1
}
