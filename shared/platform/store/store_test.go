package store_test

import (
	"context"
	"crypto/md5"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/arrestcast/arrestcast/internal/storetest"
	"github.com/arrestcast/arrestcast/shared/platform/store"
)

func TestMemConformance(t *testing.T) {
	storetest.Conformance(t, storetest.NewMem("bucket-a"), "bucket-a")
}

func TestDirConformance(t *testing.T) {
	d, err := store.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := d.EnsureBucket(context.Background(), "bucket-a"); err != nil {
		t.Fatal(err)
	}
	storetest.Conformance(t, d, "bucket-a")
	// Nothing half-written is left behind by the failed and cancelled puts.
	filepath.WalkDir(d.Root(), func(p string, e os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(e.Name(), ".arrestcast-tmp-") {
			t.Errorf("temporary file left behind: %s", p)
		}
		return nil
	})
}

func TestRetryingMemConformance(t *testing.T) {
	m := storetest.NewMem("bucket-a")
	// Every third call fails; the retrying wrapper must hide it. Calls are
	// counted across goroutines, so under concurrency one operation can land
	// on several multiples of three in a row: give it room.
	m.SetFault(func(call int, op, bucket, key string) error {
		if call%3 == 0 {
			return store.ErrInjected
		}
		return nil
	})
	storetest.Conformance(t, store.WithRetry(m, store.Retry{Attempts: 12, Base: time.Microsecond, Max: time.Microsecond}), "bucket-a")
}

func TestDirLayoutAndETags(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	d, err := store.NewDir(root)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.EnsureBucket(ctx, "data"); err != nil {
		t.Fatal(err)
	}
	if _, err := store.PutBytes(ctx, d, "data", "0-raw-data/data/crimes.csv", []byte("a,b\n"), "text/csv"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "data", "0-raw-data", "data", "crimes.csv"))
	if err != nil || string(b) != "a,b\n" {
		t.Fatalf("file on disk: %q %v", b, err)
	}

	// A file copied in by hand gets its MD5 as ETag, and a rewrite by hand is noticed.
	p := filepath.Join(root, "data", "manual", "in.csv")
	os.MkdirAll(filepath.Dir(p), 0o755)
	os.WriteFile(p, []byte("hand made"), 0o644)
	sum := md5.Sum([]byte("hand made"))
	st, err := d.Stat(ctx, "data", "manual/in.csv")
	if err != nil || st.ETag != hex.EncodeToString(sum[:]) {
		t.Fatalf("stat of hand-made file: %+v %v", st, err)
	}
	os.WriteFile(p, []byte("hand made, again"), 0o644)
	sum = md5.Sum([]byte("hand made, again"))
	st, err = d.Stat(ctx, "data", "manual/in.csv")
	if err != nil || st.ETag != hex.EncodeToString(sum[:]) {
		t.Fatalf("stat after rewrite: %+v %v, want etag %x", st, err, sum)
	}

	// In-flight uploads are invisible to List, and their names are reserved.
	os.WriteFile(filepath.Join(root, "data", "manual", ".arrestcast-tmp-"+"123"), []byte("partial"), 0o600)
	objs, err := d.List(ctx, "data", "manual/")
	if err != nil || len(objs) != 1 || objs[0].Key != "manual/in.csv" {
		t.Fatalf("list with a temp file present: %+v %v", objs, err)
	}
	if _, err := store.PutBytes(ctx, d, "data", "manual/"+".arrestcast-tmp-"+"x", []byte("x"), ""); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("put to a reserved name: %v", err)
	}

	// A key whose prefix is an object cannot be stored as a file.
	if _, err := store.PutBytes(ctx, d, "data", "manual/in.csv/child", []byte("x"), ""); err == nil {
		t.Error("put under an object's key succeeded")
	}
}

func TestMemFaultInjection(t *testing.T) {
	ctx := context.Background()
	m := storetest.NewMem("b-1")
	m.FailNth(2, nil)
	if _, err := store.PutBytes(ctx, m, "b-1", "k", []byte("x"), ""); err != nil {
		t.Fatalf("first call failed: %v", err)
	}
	_, err := m.Stat(ctx, "b-1", "k")
	if !errors.Is(err, store.ErrInjected) || !store.IsTransient(err) {
		t.Fatalf("second call: %v, want the injected transient fault", err)
	}
	if _, err := m.Stat(ctx, "b-1", "k"); err != nil {
		t.Fatalf("third call: %v", err)
	}
	if m.Calls() != 3 {
		t.Errorf("Calls() = %d, want 3", m.Calls())
	}
}

func TestRetry(t *testing.T) {
	ctx := context.Background()
	fast := store.Retry{Attempts: 3, Base: time.Millisecond, Max: 2 * time.Millisecond}

	t.Run("TransientRetried", func(t *testing.T) {
		m := storetest.NewMem("b-1")
		store.PutBytes(ctx, m, "b-1", "k", []byte("v"), "")
		s := store.WithRetry(m, fast)
		m.FailNth(1, nil)
		m.FailNth(2, nil)
		before := m.Calls()
		b, _, err := store.GetBytes(ctx, s, "b-1", "k", 0)
		if err != nil || string(b) != "v" {
			t.Fatalf("get after two transient faults: %q %v", b, err)
		}
		if n := m.Calls() - before; n != 3 {
			t.Errorf("%d calls, want 3", n)
		}
	})

	t.Run("GivesUpAfterAttempts", func(t *testing.T) {
		m := storetest.NewMem("b-1")
		m.SetFault(func(int, string, string, string) error { return store.ErrInjected })
		_, err := store.WithRetry(m, fast).Stat(ctx, "b-1", "k")
		if !errors.Is(err, store.ErrInjected) || !store.IsTransient(err) || !strings.Contains(err.Error(), "3 attempts") {
			t.Fatalf("err = %v, want the transient fault after 3 attempts", err)
		}
		if m.Calls() != 3 {
			t.Errorf("%d calls, want 3", m.Calls())
		}
	})

	t.Run("PermanentNotRetried", func(t *testing.T) {
		m := storetest.NewMem("b-1")
		_, err := store.WithRetry(m, fast).Stat(ctx, "b-1", "missing")
		if !errors.Is(err, store.ErrNotFound) || m.Calls() != 1 {
			t.Fatalf("err = %v after %d calls, want store.ErrNotFound after 1", err, m.Calls())
		}
	})

	t.Run("PutReplaysStreamedBody", func(t *testing.T) {
		m := storetest.NewMem("b-1")
		s := store.WithRetry(m, fast)
		for _, size := range []int64{-1, 11, store.SpoolInMemory + 10} {
			body := strings.Repeat("z", int(max(size, 11)))
			m.FailNth(1, nil)
			obj, err := s.Put(ctx, "b-1", "k", io.MultiReader(strings.NewReader(body)), size, "")
			if err != nil {
				t.Fatalf("size %d: %v", size, err)
			}
			got, _, _ := store.GetBytes(ctx, m, "b-1", "k", 0)
			if string(got) != body || obj.Size != int64(len(body)) {
				t.Fatalf("size %d: stored %d bytes, want %d", size, len(got), len(body))
			}
		}
	})

	t.Run("StopsWhenContextDone", func(t *testing.T) {
		m := storetest.NewMem("b-1")
		m.SetFault(func(int, string, string, string) error { return store.ErrInjected })
		cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := store.WithRetry(m, store.Retry{Attempts: 1000, Base: 20 * time.Millisecond, Max: 20 * time.Millisecond}).Stat(cctx, "b-1", "k")
		if err == nil || time.Since(start) > time.Second {
			t.Fatalf("err %v after %v", err, time.Since(start))
		}
	})

	t.Run("BackoffBounded", func(t *testing.T) {
		p := store.Retry{Base: 100 * time.Millisecond, Max: time.Second}
		for attempt := 1; attempt < 70; attempt++ {
			want := min(p.Base<<min(attempt-1, 20), p.Max)
			for range 20 {
				d := p.Backoff(attempt)
				if d < want/2 || d > want {
					t.Fatalf("attempt %d: wait %v outside [%v, %v]", attempt, d, want/2, want)
				}
			}
		}
	})
}

func TestIsTransient(t *testing.T) {
	// A real refused connection, as when MinIO is down.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, refused := net.DialTimeout("tcp", addr, time.Second)
	if refused == nil {
		t.Fatal("dial to a closed port succeeded")
	}

	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"refused", refused, true},
		{"refused in url.Error", &url.Error{Op: "Get", URL: "http://x", Err: refused}, true},
		{"reset", fmt.Errorf("read: %w", syscall.ECONNRESET), true},
		{"unexpected EOF", fmt.Errorf("body: %w", io.ErrUnexpectedEOF), true},
		{"deadline", context.DeadlineExceeded, true},
		{"canceled", fmt.Errorf("x: %w", context.Canceled), false},
		{"slow down", minio.ErrorResponse{Code: "SlowDown", StatusCode: 503}, true},
		{"internal error", minio.ErrorResponse{Code: "InternalError", StatusCode: 500}, true},
		{"bad gateway", minio.ErrorResponse{StatusCode: 502}, true},
		{"too many requests", minio.ErrorResponse{StatusCode: 429}, true},
		{"not initialized", minio.ErrorResponse{Code: "XMinioServerNotInitialized", StatusCode: 503}, true},
		{"no such key", minio.ErrorResponse{Code: "NoSuchKey", StatusCode: 404}, false},
		{"no such key classified", store.Classify(minio.ErrorResponse{Code: "NoSuchKey", StatusCode: 404}), false},
		{"access denied", minio.ErrorResponse{Code: "AccessDenied", StatusCode: 403}, false},
		{"signature", minio.ErrorResponse{Code: "SignatureDoesNotMatch", StatusCode: 403}, false},
		{"not found", store.ErrNotFound, false},
		{"wrapped op error", &store.Error{Op: "get", Bucket: "b", Key: "k", Err: refused}, true},
		{"certificate", &url.Error{Op: "Get", URL: "https://x", Err: x509.UnknownAuthorityError{}}, false},
		{"marked", store.Transient(errors.New("x")), true},
		{"plain", errors.New("boom"), false},
	}
	for _, c := range cases {
		if got := store.IsTransient(c.err); got != c.want {
			t.Errorf("%s: store.IsTransient(%v) = %v, want %v", c.name, c.err, got, c.want)
		}
	}
	if !errors.Is(store.Classify(minio.ErrorResponse{Code: "NoSuchBucket"}), store.ErrNoBucket) {
		t.Error("NoSuchBucket not classified as store.ErrNoBucket")
	}
}

// A Dir copies by a hard link: no bytes are read or written.
func TestDirCopyLinks(t *testing.T) {
	ctx := context.Background()
	d, err := store.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := d.EnsureBucket(ctx, "data"); err != nil {
		t.Fatal(err)
	}
	if err := d.EnsureBucket(ctx, "models"); err != nil {
		t.Fatal(err)
	}
	src, err := store.PutBytes(ctx, d, "data", "a/records.tbl", []byte("rows"), "")
	if err != nil {
		t.Fatal(err)
	}
	cp, err := d.Copy(ctx, src.Ref(), "models", "b/records.tbl")
	if err != nil || cp.ETag != src.ETag {
		t.Fatalf("copy %+v %v, want etag %s", cp, err, src.ETag)
	}
	a, errA := os.Stat(filepath.Join(d.Root(), "data", "a", "records.tbl"))
	b, errB := os.Stat(filepath.Join(d.Root(), "models", "b", "records.tbl"))
	if errA != nil || errB != nil || !os.SameFile(a, b) {
		t.Errorf("the copy is not a link of its source (%v, %v)", errA, errB)
	}
}

// Only MinIO must know a body's length before its first byte.
func TestLengthFirst(t *testing.T) {
	dir, err := store.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if !store.LengthFirst(&store.MinIO{}) || store.LengthFirst(dir) || store.LengthFirst(storetest.NewMem()) {
		t.Error("LengthFirst: MinIO true, Dir and Mem false")
	}
}
