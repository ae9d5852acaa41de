package runner

import (
	"errors"
	"fmt"
)

// Permanent marks an error that retrying cannot fix (bad or empty data): the
// run is recorded as failed and the trigger acknowledged, never retried
// forever. Any other error is taken as transient: the caller (MinIO's queue)
// is asked to deliver again.
type Permanent struct{ Err error }

func (p *Permanent) Error() string { return p.Err.Error() }
func (p *Permanent) Unwrap() error { return p.Err }

// Permanentf builds a Permanent error.
func Permanentf(format string, args ...any) error {
	return &Permanent{Err: fmt.Errorf(format, args...)}
}

// AsPermanent marks err permanent (nil stays nil).
func AsPermanent(err error) error {
	if err == nil || IsPermanent(err) {
		return err
	}
	return &Permanent{Err: err}
}

// IsPermanent reports whether err is a Permanent failure.
func IsPermanent(err error) bool {
	var p *Permanent
	return errors.As(err, &p)
}

// ErrSuperseded says a newer run of the same date began (a backfill changed
// one of its months): this run's remaining work is moot, and stops.
var ErrSuperseded = errors.New("superseded by a newer run of the same date")

// Refused is a request a step will not run, with the field at fault: it is
// answered 400 and changes nothing (no run is recorded).
type Refused struct {
	Field   string
	Message string
}

func (e *Refused) Error() string { return e.Field + ": " + e.Message }
