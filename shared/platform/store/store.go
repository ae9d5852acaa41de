// Package store is the object storage every pipeline step reads and writes
// through: one small interface with three implementations. MinIO is the
// deployed store (minio-go v7, with bounded retries of transient errors), Dir
// a local folder laid out as DIR/<bucket>/<key> for the command-line pipeline,
// and storetest.Mem an in-memory store with fault injection for tests.
//
// All three give the same guarantees: a Put is atomic (a reader sees the old
// object or the new one, never part of one), Get on a missing key fails with
// ErrNotFound, List is sorted by key, and an ETag names one version of an
// object (the hex MD5 of its bytes for single-part uploads, as S3 does; treat
// it as opaque and compare ETags only within one store).
package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Object describes one stored object.
type Object struct {
	Bucket    string
	Key       string
	VersionID string // "" in a bucket without versioning (and in Dir and storetest.Mem)
	ETag      string
	Size      int64
	Modified  time.Time
}

// Ref names one stored version of an object: what a manifest lists, a step
// run records and a model's lineage keeps.
type Ref struct {
	Bucket    string `json:"bucket"`
	Key       string `json:"key"`
	VersionID string `json:"version_id,omitempty"` // the version, in a versioned bucket
	ETag      string `json:"etag,omitempty"`
	Size      int64  `json:"size,omitempty"`
}

// At refers to the latest version of bucket/key.
func At(bucket, key string) Ref { return Ref{Bucket: bucket, Key: key} }

// Ref is the reference to o.
func (o Object) Ref() Ref {
	return Ref{Bucket: o.Bucket, Key: o.Key, VersionID: o.VersionID, ETag: o.ETag, Size: o.Size}
}

// Store is object storage. Implementations are safe for concurrent use.
type Store interface {
	// Get opens the latest version of an object for reading; the caller
	// closes it. It fails with ErrNotFound when the key is absent and
	// ErrNoBucket when the bucket is.
	Get(ctx context.Context, bucket, key string) (io.ReadCloser, Object, error)
	// Open is Get of the version ref names (the latest when its VersionID is
	// empty): what a manifest recorded, whatever was written there since.
	// A store without versions has only the latest (ErrNotFound otherwise).
	Open(ctx context.Context, ref Ref) (io.ReadCloser, Object, error)
	// Put stores r under key, atomically. size is the byte count r yields,
	// or -1 when unknown; when it is known and r yields another count the Put
	// fails and nothing is stored.
	Put(ctx context.Context, bucket, key string, r io.Reader, size int64, contentType string) (Object, error)
	// Stat describes an object without reading it.
	Stat(ctx context.Context, bucket, key string) (Object, error)
	// List returns the objects whose key starts with prefix, sorted by key.
	List(ctx context.Context, bucket, prefix string) ([]Object, error)
	// Copy stores the version src names under key, as Put would (the store
	// copies it itself where it can).
	Copy(ctx context.Context, src Ref, bucket, key string) (Object, error)
}

// BucketMaker is implemented by every store in this package: the setup step
// and tests create buckets through it.
type BucketMaker interface {
	EnsureBucket(ctx context.Context, bucket string) error
}

// Errors callers test for with errors.Is.
var (
	ErrNotFound = errors.New("object not found")
	ErrNoBucket = errors.New("bucket not found")
	// ErrInvalid reports a bucket name or key the store refuses.
	ErrInvalid = errors.New("invalid bucket or key")
	// ErrSize reports a Put whose reader yielded another byte count than announced.
	ErrSize = errors.New("size mismatch")
)

// Error is what every store operation fails with: the operation, the object
// and the cause, which errors.Is/As see through.
type Error struct {
	Op     string // get, put, stat, list, ...
	Bucket string
	Key    string
	Err    error
}

func (e *Error) Error() string {
	where := e.Bucket
	if e.Key != "" {
		where += "/" + e.Key
	}
	return fmt.Sprintf("store %s %s: %v", e.Op, where, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// OpError wraps err as the failure of op on bucket/key (nil stays nil).
func OpError(op, bucket, key string, err error) error {
	if err == nil {
		return nil
	}
	var se *Error
	if errors.As(err, &se) && se.Op == op && se.Bucket == bucket && se.Key == key {
		return err
	}
	return &Error{Op: op, Bucket: bucket, Key: key, Err: err}
}

// GetBytes reads a whole object. max bounds the size read (0 = no bound) so a
// surprise multi-gigabyte object fails instead of exhausting memory.
func GetBytes(ctx context.Context, s Store, bucket, key string, max int64) ([]byte, Object, error) {
	return ReadAll(ctx, s, At(bucket, key), max)
}

// ReadAll is GetBytes of the version ref names.
func ReadAll(ctx context.Context, s Store, ref Ref, max int64) ([]byte, Object, error) {
	bucket, key := ref.Bucket, ref.Key
	rc, obj, err := s.Open(ctx, ref)
	if err != nil {
		return nil, Object{}, err
	}
	defer rc.Close()
	if max > 0 && obj.Size > max {
		return nil, obj, OpError("get", bucket, key, fmt.Errorf("object is %d bytes, more than the %d allowed", obj.Size, max))
	}
	var buf bytes.Buffer
	if obj.Size > 0 {
		buf.Grow(int(obj.Size))
	}
	var r io.Reader = rc
	if max > 0 {
		r = io.LimitReader(rc, max+1)
	}
	if _, err := buf.ReadFrom(r); err != nil {
		return nil, obj, OpError("get", bucket, key, fmt.Errorf("read body: %w", err))
	}
	if max > 0 && int64(buf.Len()) > max {
		return nil, obj, OpError("get", bucket, key, fmt.Errorf("object is more than the %d bytes allowed", max))
	}
	return buf.Bytes(), obj, nil
}

// CopyByReading is Copy for a store that cannot copy by itself: src is read
// and put under key.
func CopyByReading(ctx context.Context, s Store, src Ref, bucket, key string) (Object, error) {
	rc, obj, err := s.Open(ctx, src)
	if err != nil {
		return Object{}, err
	}
	defer rc.Close()
	return s.Put(ctx, bucket, key, rc, obj.Size, "")
}

// PutBytes stores data under key.
func PutBytes(ctx context.Context, s Store, bucket, key string, data []byte, contentType string) (Object, error) {
	return s.Put(ctx, bucket, key, bytes.NewReader(data), int64(len(data)), contentType)
}

// CheckBucket validates a bucket name with S3's rules, lightly: 3-63 of
// [a-z0-9.-], starting and ending with a letter or digit.
func CheckBucket(bucket string) error {
	if len(bucket) < 3 || len(bucket) > 63 {
		return fmt.Errorf("%w: bucket name %q must be 3 to 63 characters", ErrInvalid, bucket)
	}
	for i, c := range bucket {
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || (c == '.' || c == '-') && i > 0 && i < len(bucket)-1
		if !ok {
			return fmt.Errorf("%w: bucket name %q: want lower-case letters, digits, '.' and '-'", ErrInvalid, bucket)
		}
	}
	if strings.Contains(bucket, "..") {
		return fmt.Errorf("%w: bucket name %q", ErrInvalid, bucket)
	}
	return nil
}

// CheckKey refuses keys that cannot map onto a file path one to one: empty,
// absolute, with empty, "." or ".." segments, backslashes or NUL bytes, and
// keys that collide with Dir's temporary files.
func CheckKey(key string) error {
	if key == "" || len(key) > 1024 {
		return fmt.Errorf("%w: key must be 1 to 1024 bytes", ErrInvalid)
	}
	if strings.ContainsAny(key, "\\\x00") {
		return fmt.Errorf("%w: key %q holds a backslash or NUL", ErrInvalid, key)
	}
	for _, seg := range strings.Split(key, "/") {
		switch {
		case seg == "" || seg == "." || seg == "..":
			return fmt.Errorf("%w: key %q has an empty, '.' or '..' segment", ErrInvalid, key)
		case strings.HasPrefix(seg, tempPrefix):
			return fmt.Errorf("%w: key %q: segments starting %q are reserved", ErrInvalid, key, tempPrefix)
		}
	}
	return nil
}

// tempPrefix starts the name of Dir's in-flight uploads.
const tempPrefix = ".arrestcast-tmp-"

// LengthFirst reports whether st must know a body's length before sending
// its first byte: S3 does, and MinIO spools a body of unknown length to a
// file first; Dir and storetest.Mem take it as it comes. A store wrapped
// in another type reports false (it is then spooled: correct, if slower).
func LengthFirst(st Store) bool {
	_, ok := st.(interface{ lengthFirst() })
	return ok
}
