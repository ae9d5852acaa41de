package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// MinIOConfig says how to reach a MinIO (or any S3) server.
type MinIOConfig struct {
	Endpoint  string // host:port, no scheme
	AccessKey string
	SecretKey string
	Secure    bool   // https
	Region    string // "" means us-east-1, MinIO's default
	Retry     Retry  // policy for transient errors; the zero value is sensible
	Logger    *slog.Logger
}

// MinIO is the Store over a MinIO server. minio-go's own retries are turned
// off so that Retry alone bounds how long a call keeps trying.
type MinIO struct {
	c     *minio.Client
	core  minio.Core
	retry Retry
	log   *slog.Logger
}

// NewMinIO returns a store for the server in cfg. It does not contact the
// server: the first call does.
func NewMinIO(cfg MinIOConfig) (*MinIO, error) {
	if cfg.Endpoint == "" {
		return nil, errors.New("store: minio endpoint is empty")
	}
	if strings.Contains(cfg.Endpoint, "://") {
		return nil, fmt.Errorf("store: minio endpoint %q: want host:port without a scheme (set Secure for https)", cfg.Endpoint)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1" // known region: no bucket-location request per bucket
	}
	c, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:      credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:     cfg.Secure,
		Region:     cfg.Region,
		MaxRetries: 1,
	})
	if err != nil {
		return nil, fmt.Errorf("store: minio client for %s: %w", cfg.Endpoint, err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	r := cfg.Retry
	r.Logger = log
	return &MinIO{c: c, core: minio.Core{Client: c}, retry: r, log: log}, nil
}

// Client returns the underlying minio-go client, for what Store does not cover.
func (m *MinIO) Client() *minio.Client { return m.c }

// classify maps S3 error codes onto this package's sentinel errors, keeping
// the original in the chain.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		switch resp.Code {
		case "NoSuchKey", "NoSuchVersion":
			return fmt.Errorf("%w: %w", ErrNotFound, err)
		case "NoSuchBucket":
			return fmt.Errorf("%w: %w", ErrNoBucket, err)
		case "InvalidBucketName", "XMinioInvalidObjectName", "InvalidObjectName", "KeyTooLongError":
			return fmt.Errorf("%w: %w", ErrInvalid, err)
		}
	}
	return err
}

func fromInfo(bucket string, info minio.ObjectInfo) Object {
	return Object{
		Bucket:    bucket,
		Key:       info.Key,
		VersionID: version(info.VersionID),
		ETag:      strings.Trim(info.ETag, `"`),
		Size:      info.Size,
		Modified:  info.LastModified.UTC(),
	}
}

// version is S3's version ID as this package carries it: "" for none (a
// bucket that never had versioning calls its one version "null").
func version(id string) string {
	if id == "null" {
		return ""
	}
	return id
}

// Get implements Store.
func (m *MinIO) Get(ctx context.Context, bucket, key string) (io.ReadCloser, Object, error) {
	return m.Open(ctx, At(bucket, key))
}

// Open implements Store. A read that breaks off on a transient error resumes
// where it stopped with a ranged request pinned to the version (and ETag)
// it opened, so the caller gets exactly that version or an error.
func (m *MinIO) Open(ctx context.Context, ref Ref) (io.ReadCloser, Object, error) {
	bucket, key := ref.Bucket, ref.Key
	var body io.ReadCloser
	var info minio.ObjectInfo
	err := m.retry.Do(ctx, "get", func(ctx context.Context) error {
		var err error
		body, info, _, err = m.core.GetObject(ctx, bucket, key, minio.GetObjectOptions{VersionID: ref.VersionID})
		return classify(err)
	})
	if err != nil {
		return nil, Object{}, OpError("get", bucket, key, err)
	}
	obj := fromInfo(bucket, info)
	obj.Key = key
	if obj.VersionID == "" {
		obj.VersionID = ref.VersionID
	}
	return &resumingReader{m: m, ctx: ctx, obj: obj, body: body}, obj, nil
}

type resumingReader struct {
	m       *MinIO
	ctx     context.Context
	obj     Object
	body    io.ReadCloser
	off     int64
	resumes int
}

// maxResumes bounds how often one Get may resume a broken read.
const maxResumes = 10

func (r *resumingReader) Read(p []byte) (int, error) {
	for {
		if r.body == nil {
			return 0, OpError("get", r.obj.Bucket, r.obj.Key, errors.New("read after close"))
		}
		n, err := r.body.Read(p)
		r.off += int64(n)
		if err == nil || err == io.EOF {
			return n, err
		}
		if !IsTransient(err) || r.ctx.Err() != nil || r.resumes >= maxResumes || r.off >= r.obj.Size {
			return n, OpError("get", r.obj.Bucket, r.obj.Key, fmt.Errorf("read body at byte %d: %w", r.off, err))
		}
		r.resumes++
		r.m.log.LogAttrs(r.ctx, slog.LevelWarn, "store: read broke off, resuming",
			slog.String("bucket", r.obj.Bucket), slog.String("key", r.obj.Key),
			slog.Int64("offset", r.off), slog.String("error", err.Error()))
		r.body.Close()
		r.body = nil
		if rerr := r.reopen(); rerr != nil {
			return n, OpError("get", r.obj.Bucket, r.obj.Key, fmt.Errorf("resume read at byte %d: %w", r.off, rerr))
		}
		if n > 0 {
			return n, nil
		}
	}
}

func (r *resumingReader) reopen() error {
	return r.m.retry.Do(r.ctx, "get-resume", func(ctx context.Context) error {
		opts := minio.GetObjectOptions{VersionID: r.obj.VersionID}
		if err := opts.SetRange(r.off, 0); err != nil {
			return err
		}
		if r.obj.ETag != "" {
			// A replaced object answers 412 instead of mixing two versions.
			if err := opts.SetMatchETag(r.obj.ETag); err != nil {
				return err
			}
		}
		body, _, _, err := r.m.core.GetObject(ctx, r.obj.Bucket, r.obj.Key, opts)
		if err != nil {
			return classify(err)
		}
		r.body = body
		return nil
	})
}

func (r *resumingReader) Close() error {
	if r.body == nil {
		return nil
	}
	err := r.body.Close()
	r.body = nil
	return err
}

// maxSinglePut is S3's limit for one PUT.
const maxSinglePut = 5 << 30

// Put implements Store. S3 makes an object visible only when its upload
// completes (single or multipart), which gives the atomicity. A body that is
// not seekable is spooled once so that a retry can send it again.
func (m *MinIO) Put(ctx context.Context, bucket, key string, r io.Reader, size int64, contentType string) (Object, error) {
	if err := CheckKey(key); err != nil {
		return Object{}, OpError("put", bucket, key, err)
	}
	open, n, cleanup, err := replayable(r, size)
	if err != nil {
		return Object{}, OpError("put", bucket, key, err)
	}
	defer cleanup()
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	opts := minio.PutObjectOptions{ContentType: contentType}
	if _, ok := r.(io.ReaderAt); !ok && n >= 0 && n <= maxSinglePut {
		// A body that is not in memory (a table formatted as it is sent)
		// goes in one streamed PUT: minio-go's multipart path would buffer
		// every 16 MiB part first.
		opts.DisableMultipart = true
	}
	var info minio.UploadInfo
	err = m.retry.Do(ctx, "put", func(ctx context.Context) error {
		body, err := open()
		if err != nil {
			return err
		}
		info, err = m.c.PutObject(ctx, bucket, key, body, n, opts)
		return classify(err)
	})
	if err != nil {
		return Object{}, OpError("put", bucket, key, err)
	}
	modified := info.LastModified
	if modified.IsZero() {
		modified = time.Now() // S3 does not return it on PUT; this is within a second of it
	}
	return Object{Bucket: bucket, Key: key, VersionID: version(info.VersionID), ETag: strings.Trim(info.ETag, `"`), Size: info.Size, Modified: modified.UTC()}, nil
}

func (m *MinIO) lengthFirst() {}

// Copy implements Store: the server copies the version (no bytes pass
// through the function).
func (m *MinIO) Copy(ctx context.Context, src Ref, bucket, key string) (Object, error) {
	if err := CheckKey(key); err != nil {
		return Object{}, OpError("copy", bucket, key, err)
	}
	var info minio.UploadInfo
	err := m.retry.Do(ctx, "copy", func(ctx context.Context) error {
		var err error
		info, err = m.c.CopyObject(ctx, minio.CopyDestOptions{Bucket: bucket, Object: key},
			minio.CopySrcOptions{Bucket: src.Bucket, Object: src.Key, VersionID: src.VersionID})
		return classify(err)
	})
	if err != nil {
		return Object{}, OpError("copy", bucket, key, err)
	}
	obj := Object{Bucket: bucket, Key: key, VersionID: version(info.VersionID), ETag: strings.Trim(info.ETag, `"`), Size: info.Size, Modified: info.LastModified.UTC()}
	if obj.Size == 0 || obj.Modified.IsZero() {
		// A copy's answer carries neither: the copied version says them.
		var st minio.ObjectInfo
		err := m.retry.Do(ctx, "stat", func(ctx context.Context) error {
			var err error
			st, err = m.c.StatObject(ctx, bucket, key, minio.StatObjectOptions{VersionID: info.VersionID})
			return classify(err)
		})
		if err != nil {
			return Object{}, OpError("copy", bucket, key, err)
		}
		obj.Size, obj.Modified = st.Size, st.LastModified.UTC()
	}
	return obj, nil
}

// Stat implements Store.
func (m *MinIO) Stat(ctx context.Context, bucket, key string) (Object, error) {
	var info minio.ObjectInfo
	err := m.retry.Do(ctx, "stat", func(ctx context.Context) error {
		var err error
		info, err = m.c.StatObject(ctx, bucket, key, minio.StatObjectOptions{})
		return classify(err)
	})
	if err != nil {
		return Object{}, OpError("stat", bucket, key, err)
	}
	obj := fromInfo(bucket, info)
	obj.Key = key
	return obj, nil
}

// List implements Store.
func (m *MinIO) List(ctx context.Context, bucket, prefix string) ([]Object, error) {
	var out []Object
	err := m.retry.Do(ctx, "list", func(ctx context.Context) error {
		out = out[:0]
		ctx, cancel := context.WithCancel(ctx) // stops the lister goroutine on early return
		defer cancel()
		for info := range m.c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
			if info.Err != nil {
				return classify(info.Err)
			}
			out = append(out, fromInfo(bucket, info))
		}
		return ctx.Err()
	})
	if err != nil {
		return nil, OpError("list", bucket, prefix, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// Remove deletes an object; removing a missing one is not an error.
func (m *MinIO) Remove(ctx context.Context, bucket, key string) error {
	err := m.retry.Do(ctx, "remove", func(ctx context.Context) error {
		return classify(m.c.RemoveObject(ctx, bucket, key, minio.RemoveObjectOptions{}))
	})
	return OpError("remove", bucket, key, err)
}
