package storetest

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/arrestcast/arrestcast/shared/platform/store"
)

// Mem is an in-memory Store for unit tests, with fault injection: any call
// can be made to fail with a transient error to exercise retries.
type Mem struct {
	mu      sync.Mutex
	buckets map[string]map[string]memObject
	calls   int                                          // Get/Put/Stat/List calls so far
	faults  map[int]error                                // call number → error to fail it with
	hook    func(call int, op, bucket, key string) error // optional fault function
}

type memObject struct {
	data        []byte // never mutated once stored: Put replaces the slice
	obj         store.Object
	contentType string
}

// NewMem returns an empty store holding the given (empty) buckets.
func NewMem(buckets ...string) *Mem {
	m := &Mem{buckets: map[string]map[string]memObject{}, faults: map[int]error{}}
	for _, b := range buckets {
		m.buckets[b] = map[string]memObject{}
	}
	return m
}

// FailNth makes the n-th store call from now (1 = the next one) fail with
// err, or with ErrInjected (transient) when err is nil.
func (m *Mem) FailNth(n int, err error) {
	if err == nil {
		err = store.ErrInjected
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.faults[m.calls+n] = err
}

// SetFault installs f, asked before every call (call counts from 1 since
// NewMem); a non-nil answer fails the call. nil removes it.
func (m *Mem) SetFault(f func(call int, op, bucket, key string) error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.hook = f
}

// Calls returns how many Get/Put/Stat/List calls were made, failed or not.
func (m *Mem) Calls() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.calls
}

// enter counts a call and returns its injected fault, if any. Callers hold m.mu.
func (m *Mem) enter(op, bucket, key string) error {
	m.calls++
	if err, ok := m.faults[m.calls]; ok {
		delete(m.faults, m.calls)
		return err
	}
	if m.hook != nil {
		return m.hook(m.calls, op, bucket, key)
	}
	return nil
}

// EnsureBucket creates bucket if it does not exist.
func (m *Mem) EnsureBucket(ctx context.Context, bucket string) error {
	if err := store.CheckBucket(bucket); err != nil {
		return store.OpError("make-bucket", bucket, "", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.buckets[bucket]; !ok {
		m.buckets[bucket] = map[string]memObject{}
	}
	return nil
}

// Remove deletes an object; removing a missing one is not an error.
func (m *Mem) Remove(ctx context.Context, bucket, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if b, ok := m.buckets[bucket]; ok {
		delete(b, key)
	}
	return nil
}

func (m *Mem) lookup(op, bucket, key string) (memObject, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.enter(op, bucket, key); err != nil {
		return memObject{}, store.OpError(op, bucket, key, err)
	}
	b, ok := m.buckets[bucket]
	if !ok {
		return memObject{}, store.OpError(op, bucket, key, store.ErrNoBucket)
	}
	o, ok := b[key]
	if !ok {
		return memObject{}, store.OpError(op, bucket, key, store.ErrNotFound)
	}
	return o, nil
}

// Open implements store.Store. Mem keeps no versions: only the latest.
func (m *Mem) Open(ctx context.Context, ref store.Ref) (io.ReadCloser, store.Object, error) {
	if ref.VersionID != "" {
		return nil, store.Object{}, store.OpError("get", ref.Bucket, ref.Key, fmt.Errorf("%w: version %s (Mem keeps none)", store.ErrNotFound, ref.VersionID))
	}
	return m.Get(ctx, ref.Bucket, ref.Key)
}

// Copy implements store.Store.
func (m *Mem) Copy(ctx context.Context, src store.Ref, bucket, key string) (store.Object, error) {
	return store.CopyByReading(ctx, m, src, bucket, key)
}

// Get implements store.Store.
func (m *Mem) Get(ctx context.Context, bucket, key string) (io.ReadCloser, store.Object, error) {
	if err := ctx.Err(); err != nil {
		return nil, store.Object{}, store.OpError("get", bucket, key, err)
	}
	o, err := m.lookup("get", bucket, key)
	if err != nil {
		return nil, store.Object{}, err
	}
	return io.NopCloser(bytes.NewReader(o.data)), o.obj, nil
}

// Stat implements Store.
func (m *Mem) Stat(ctx context.Context, bucket, key string) (store.Object, error) {
	if err := ctx.Err(); err != nil {
		return store.Object{}, store.OpError("stat", bucket, key, err)
	}
	o, err := m.lookup("stat", bucket, key)
	return o.obj, err
}

// Put implements Store. The body is read in full before the object is
// swapped in, so readers never see part of it.
func (m *Mem) Put(ctx context.Context, bucket, key string, r io.Reader, size int64, contentType string) (store.Object, error) {
	if err := store.CheckBucket(bucket); err != nil {
		return store.Object{}, store.OpError("put", bucket, key, err)
	}
	if err := store.CheckKey(key); err != nil {
		return store.Object{}, store.OpError("put", bucket, key, err)
	}
	m.mu.Lock()
	err := m.enter("put", bucket, key)
	_, bucketOK := m.buckets[bucket]
	m.mu.Unlock()
	if err != nil {
		return store.Object{}, store.OpError("put", bucket, key, err)
	}
	if !bucketOK {
		return store.Object{}, store.OpError("put", bucket, key, store.ErrNoBucket)
	}
	data, err := io.ReadAll(store.ContextReader(ctx, r))
	if err != nil {
		return store.Object{}, store.OpError("put", bucket, key, fmt.Errorf("read body: %w", err))
	}
	if size >= 0 && int64(len(data)) != size {
		return store.Object{}, store.OpError("put", bucket, key, fmt.Errorf("%w: announced %d bytes, read %d", store.ErrSize, size, len(data)))
	}
	sum := md5.Sum(data)
	obj := store.Object{Bucket: bucket, Key: key, ETag: hex.EncodeToString(sum[:]), Size: int64(len(data)), Modified: time.Now().UTC()}
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.buckets[bucket]
	if !ok {
		return store.Object{}, store.OpError("put", bucket, key, store.ErrNoBucket)
	}
	b[key] = memObject{data: data, obj: obj, contentType: contentType}
	return obj, nil
}

// List implements Store.
func (m *Mem) List(ctx context.Context, bucket, prefix string) ([]store.Object, error) {
	if err := ctx.Err(); err != nil {
		return nil, store.OpError("list", bucket, prefix, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.enter("list", bucket, prefix); err != nil {
		return nil, store.OpError("list", bucket, prefix, err)
	}
	b, ok := m.buckets[bucket]
	if !ok {
		return nil, store.OpError("list", bucket, prefix, store.ErrNoBucket)
	}
	var out []store.Object
	for k, o := range b {
		if strings.HasPrefix(k, prefix) {
			out = append(out, o.obj)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}
