package store

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/minio/minio-go/v7"
)

// ErrInjected is the transient fault Mem injects.
var ErrInjected = Transient(errors.New("injected transient fault"))

type transientError struct{ err error }

func (e transientError) Error() string { return e.err.Error() }
func (e transientError) Unwrap() error { return e.err }

// Transient marks err as transient, so IsTransient reports true for it (and
// for any error wrapping it).
func Transient(err error) error {
	if err == nil {
		return nil
	}
	return transientError{err}
}

// IsTransient reports whether retrying the operation that failed with err may
// succeed: network errors (refused, reset, timeouts, a server closing the
// connection), HTTP 5xx/408/429 and S3 codes such as SlowDown or InternalError
// are transient; missing keys or buckets, access denied, invalid requests,
// certificate errors and a cancelled context are not.
func IsTransient(err error) bool {
	if err == nil {
		return false
	}
	var te transientError
	if errors.As(err, &te) {
		return true
	}
	switch {
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrNoBucket), errors.Is(err, ErrInvalid), errors.Is(err, ErrSize):
		return false
	case errors.Is(err, context.Canceled):
		return false
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		// A request that timed out; Retry.Do still stops once the caller's
		// own context is done.
		return true
	}
	var resp minio.ErrorResponse
	if errors.As(err, &resp) && (resp.Code != "" || resp.StatusCode != 0) {
		switch resp.Code {
		case "InternalError", "ServiceUnavailable", "SlowDown", "SlowDownRead", "SlowDownWrite",
			"RequestTimeout", "RequestTimeTooSkewed", "Throttling", "ThrottlingException",
			"RequestLimitExceeded", "RequestThrottled", "XMinioServerNotInitialized",
			"XMinioReadQuorum", "XMinioWriteQuorum", "XMinioOperationTimedOut", "OperationTimedOut",
			"ExpiredToken":
			return true
		}
		s := resp.StatusCode
		return s >= 500 || s == 408 || s == 429 || s == 499
	}
	// Certificate problems look like network errors but never heal by waiting.
	var uae x509.UnknownAuthorityError
	var hne x509.HostnameError
	var cie x509.CertificateInvalidError
	if errors.As(err, &uae) || errors.As(err, &hne) || errors.As(err, &cie) {
		return false
	}
	for _, errno := range []syscall.Errno{syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ECONNABORTED,
		syscall.EPIPE, syscall.EHOSTUNREACH, syscall.ENETUNREACH, syscall.ETIMEDOUT} {
		if errors.Is(err, errno) {
			return true
		}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) // dial, DNS, EOF from a dropped connection, timeouts
}

// Retry is a bounded exponential backoff with jitter for transient errors.
// The zero value is usable: 5 attempts, waits from 100ms doubling to at most 3s
// (about 3s of waiting in all), so a store that stays down fails the step
// quickly and MinIO redelivers the event later.
type Retry struct {
	Attempts int           // total attempts; 0 means 5, 1 means no retry
	Base     time.Duration // first wait; 0 means 100ms
	Max      time.Duration // longest wait; 0 means 3s
	Logger   *slog.Logger  // nil means slog.Default()
}

func (p Retry) withDefaults() Retry {
	if p.Attempts <= 0 {
		p.Attempts = 5
	}
	if p.Base <= 0 {
		p.Base = 100 * time.Millisecond
	}
	if p.Max <= 0 {
		p.Max = 3 * time.Second
	}
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	return p
}

// backoff is the wait after the given failed attempt (1-based): "equal
// jitter", half fixed and half random, so concurrent callers spread out.
func (p Retry) backoff(attempt int) time.Duration {
	d := p.Base << min(attempt-1, 20)
	if d > p.Max || d <= 0 {
		d = p.Max
	}
	return d/2 + rand.N(d/2+1)
}

// Do runs fn until it succeeds, fails with an error that is not transient,
// the attempts are spent or ctx is done. The error returned is fn's last.
func (p Retry) Do(ctx context.Context, op string, fn func(context.Context) error) error {
	p = p.withDefaults()
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		if err == nil || !IsTransient(err) || ctx.Err() != nil {
			return err
		}
		if attempt >= p.Attempts {
			return fmt.Errorf("gave up after %d attempts: %w", attempt, err)
		}
		wait := p.backoff(attempt)
		p.Logger.LogAttrs(ctx, slog.LevelWarn, "store: transient error, retrying",
			slog.String("op", op), slog.Int("attempt", attempt), slog.Int64("wait_ms", wait.Milliseconds()),
			slog.String("error", err.Error()))
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return err
		}
	}
}

// spoolInMemory is the largest non-seekable body Put keeps in memory to be
// able to send it again; larger ones go to a temporary file.
const spoolInMemory = 8 << 20

// replayable returns a function giving r from its start again for each
// attempt of a Put, and the body's size when it can be learnt (-1 if not).
// Seekable readers are rewound; others are copied once to memory or to a
// temporary file. cleanup releases the copy.
func replayable(r io.Reader, size int64) (open func() (io.Reader, error), n int64, cleanup func(), err error) {
	noop := func() {}
	if rs, ok := r.(io.ReadSeeker); ok {
		if start, err := rs.Seek(0, io.SeekCurrent); err == nil {
			if end, err := rs.Seek(0, io.SeekEnd); err == nil && end >= start {
				if size >= 0 && end-start != size {
					return nil, 0, noop, fmt.Errorf("%w: announced %d bytes, body has %d", ErrSize, size, end-start)
				}
				size = end - start
			}
			return func() (io.Reader, error) {
				if _, err := rs.Seek(start, io.SeekStart); err != nil {
					return nil, fmt.Errorf("rewind body: %w", err)
				}
				return rs, nil
			}, size, noop, nil
		}
	}
	if size >= 0 && size <= spoolInMemory {
		// One byte more than announced, so a longer body is caught too.
		data, err := io.ReadAll(io.LimitReader(r, size+1))
		if err != nil {
			return nil, 0, noop, fmt.Errorf("read body: %w", err)
		}
		if int64(len(data)) != size {
			return nil, 0, noop, fmt.Errorf("%w: announced %d bytes, read %d", ErrSize, size, len(data))
		}
		return func() (io.Reader, error) { return bytes.NewReader(data), nil }, size, noop, nil
	}
	f, err := os.CreateTemp("", "arrestcast-put-*")
	if err != nil {
		return nil, 0, noop, fmt.Errorf("spool body: %w", err)
	}
	cleanup = func() { f.Close(); os.Remove(f.Name()) }
	copied, err := io.Copy(f, r)
	if err != nil {
		cleanup()
		return nil, 0, noop, fmt.Errorf("spool body: %w", err)
	}
	if size >= 0 && copied != size {
		cleanup()
		return nil, 0, noop, fmt.Errorf("%w: announced %d bytes, read %d", ErrSize, size, copied)
	}
	return func() (io.Reader, error) {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return nil, fmt.Errorf("rewind spooled body: %w", err)
		}
		return f, nil
	}, copied, cleanup, nil
}

// WithRetry wraps s so that each operation is retried on transient errors
// with policy p. (MinIO retries on its own; this serves other stores, and
// tests of retry behaviour over Mem's injected faults.)
func WithRetry(s Store, p Retry) Store { return &retrying{s: s, p: p} }

type retrying struct {
	s Store
	p Retry
}

func (r *retrying) Get(ctx context.Context, bucket, key string) (io.ReadCloser, Object, error) {
	var rc io.ReadCloser
	var obj Object
	err := r.p.Do(ctx, "get", func(ctx context.Context) error {
		var err error
		rc, obj, err = r.s.Get(ctx, bucket, key)
		return err
	})
	return rc, obj, err
}

func (r *retrying) Open(ctx context.Context, ref Ref) (io.ReadCloser, Object, error) {
	var rc io.ReadCloser
	var obj Object
	err := r.p.Do(ctx, "get", func(ctx context.Context) error {
		var err error
		rc, obj, err = r.s.Open(ctx, ref)
		return err
	})
	return rc, obj, err
}

func (r *retrying) Copy(ctx context.Context, src Ref, bucket, key string) (Object, error) {
	var obj Object
	err := r.p.Do(ctx, "copy", func(ctx context.Context) error {
		var err error
		obj, err = r.s.Copy(ctx, src, bucket, key)
		return err
	})
	return obj, err
}

func (r *retrying) Put(ctx context.Context, bucket, key string, body io.Reader, size int64, contentType string) (Object, error) {
	open, _, cleanup, err := replayable(body, size)
	if err != nil {
		return Object{}, OpError("put", bucket, key, err)
	}
	defer cleanup()
	var obj Object
	err = r.p.Do(ctx, "put", func(ctx context.Context) error {
		b, err := open()
		if err != nil {
			return err
		}
		obj, err = r.s.Put(ctx, bucket, key, b, size, contentType)
		return err
	})
	return obj, err
}

func (r *retrying) Stat(ctx context.Context, bucket, key string) (Object, error) {
	var obj Object
	err := r.p.Do(ctx, "stat", func(ctx context.Context) error {
		var err error
		obj, err = r.s.Stat(ctx, bucket, key)
		return err
	})
	return obj, err
}

func (r *retrying) List(ctx context.Context, bucket, prefix string) ([]Object, error) {
	var objs []Object
	err := r.p.Do(ctx, "list", func(ctx context.Context) error {
		var err error
		objs, err = r.s.List(ctx, bucket, prefix)
		return err
	})
	return objs, err
}

// EnsureBucket creates the bucket when the wrapped store can.
func (r *retrying) EnsureBucket(ctx context.Context, bucket string) error {
	bm, ok := r.s.(BucketMaker)
	if !ok {
		return OpError("make-bucket", bucket, "", errors.New("store cannot create buckets"))
	}
	return r.p.Do(ctx, "make-bucket", func(ctx context.Context) error { return bm.EnsureBucket(ctx, bucket) })
}
