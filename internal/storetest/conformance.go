package storetest

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/shared/platform/store"
)

// Conformance runs the behaviour every Store must share against s, whose
// bucket exists and is empty. The MinIO integration tests run it too.
func Conformance(t *testing.T, s store.Store, bucket string) {
	ctx := context.Background()
	md5hex := func(b []byte) string { s := md5.Sum(b); return hex.EncodeToString(s[:]) }

	t.Run("PutGetStat", func(t *testing.T) {
		data := []byte("id,arrest\n1,true\n2,false\n")
		before := time.Now().Add(-2 * time.Second)
		put, err := store.PutBytes(ctx, s, bucket, "roundtrip/a.csv", data, "text/csv")
		if err != nil {
			t.Fatal(err)
		}
		if put.Bucket != bucket || put.Key != "roundtrip/a.csv" || put.Size != int64(len(data)) || put.ETag != md5hex(data) {
			t.Fatalf("put returned %+v, want size %d etag %s", put, len(data), md5hex(data))
		}
		if put.Modified.Before(before) || put.Modified.After(time.Now().Add(2*time.Second)) {
			t.Errorf("put Modified %v is not about now", put.Modified)
		}
		got, obj, err := store.GetBytes(ctx, s, bucket, "roundtrip/a.csv", 0)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("get returned %q, want %q", got, data)
		}
		if obj.ETag != put.ETag || obj.Size != put.Size || obj.Key != put.Key || obj.Bucket != bucket {
			t.Errorf("get object %+v differs from put %+v", obj, put)
		}
		st, err := s.Stat(ctx, bucket, "roundtrip/a.csv")
		if err != nil {
			t.Fatal(err)
		}
		if st.ETag != put.ETag || st.Size != put.Size || st.Key != put.Key {
			t.Errorf("stat %+v differs from put %+v", st, put)
		}
		if d := st.Modified.Sub(put.Modified); d < -2*time.Second || d > 2*time.Second {
			t.Errorf("stat Modified %v far from put Modified %v", st.Modified, put.Modified)
		}
	})

	t.Run("Overwrite", func(t *testing.T) {
		a, err := store.PutBytes(ctx, s, bucket, "over/x", []byte("first"), "")
		if err != nil {
			t.Fatal(err)
		}
		b, err := store.PutBytes(ctx, s, bucket, "over/x", []byte("second version"), "")
		if err != nil {
			t.Fatal(err)
		}
		if a.ETag == b.ETag {
			t.Fatalf("overwrite kept ETag %s", a.ETag)
		}
		got, obj, err := store.GetBytes(ctx, s, bucket, "over/x", 0)
		if err != nil || string(got) != "second version" || obj.ETag != b.ETag {
			t.Fatalf("after overwrite got %q %+v %v", got, obj, err)
		}
	})

	t.Run("Missing", func(t *testing.T) {
		if _, _, err := s.Get(ctx, bucket, "no/such/key"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("get missing key: %v, want store.ErrNotFound", err)
		}
		if _, err := s.Stat(ctx, bucket, "no/such/key"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("stat missing key: %v, want store.ErrNotFound", err)
		}
		if _, err := s.Stat(ctx, bucket, "roundtrip"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("stat of a key prefix: %v, want store.ErrNotFound", err)
		}
		if _, _, err := s.Get(ctx, "no-such-bucket-x", "k"); !errors.Is(err, store.ErrNoBucket) {
			t.Errorf("get in missing bucket: %v, want store.ErrNoBucket", err)
		}
		if _, err := s.List(ctx, "no-such-bucket-x", ""); !errors.Is(err, store.ErrNoBucket) {
			t.Errorf("list missing bucket: %v, want store.ErrNoBucket", err)
		}
		if _, err := store.PutBytes(ctx, s, "no-such-bucket-x", "k", []byte("x"), ""); !errors.Is(err, store.ErrNoBucket) {
			t.Errorf("put in missing bucket: %v, want store.ErrNoBucket", err)
		}
		var se *store.Error
		_, _, err := s.Get(ctx, bucket, "no/such/key")
		if !errors.As(err, &se) || se.Op != "get" || se.Key != "no/such/key" || !strings.Contains(err.Error(), bucket+"/no/such/key") {
			t.Errorf("error %v does not name the operation and object", err)
		}
		if store.IsTransient(err) {
			t.Errorf("a missing key counted as transient: %v", err)
		}
	})

	t.Run("List", func(t *testing.T) {
		keys := []string{"list/b/2.csv", "list/a/1.csv", "list/a-b/3.csv", "list/a/sub/4.csv", "list/ab.csv", "list/c d/e=f+g.csv", "listing.txt"}
		for _, k := range keys {
			if _, err := store.PutBytes(ctx, s, bucket, k, []byte(k), "text/plain"); err != nil {
				t.Fatal(err)
			}
		}
		cases := map[string][]string{
			"list/":      {"list/a-b/3.csv", "list/a/1.csv", "list/a/sub/4.csv", "list/ab.csv", "list/b/2.csv", "list/c d/e=f+g.csv"},
			"list/a":     {"list/a-b/3.csv", "list/a/1.csv", "list/a/sub/4.csv", "list/ab.csv"},
			"list/a/":    {"list/a/1.csv", "list/a/sub/4.csv"},
			"list/a/sub": {"list/a/sub/4.csv"},
			"list/c d/":  {"list/c d/e=f+g.csv"},
			"list/zzz":   nil,
			"nothing/":   nil,
		}
		for prefix, want := range cases {
			objs, err := s.List(ctx, bucket, prefix)
			if err != nil {
				t.Fatalf("list %q: %v", prefix, err)
			}
			var got []string
			for _, o := range objs {
				got = append(got, o.Key)
				if o.Bucket != bucket || o.Size != int64(len(o.Key)) || o.ETag != md5hex([]byte(o.Key)) {
					t.Errorf("list %q: object %+v has wrong bucket/size/etag", prefix, o)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("list %q = %q, want %q", prefix, got, want)
			}
		}
		all, err := s.List(ctx, bucket, "")
		if err != nil {
			t.Fatal(err)
		}
		for i := 1; i < len(all); i++ {
			if all[i-1].Key >= all[i].Key {
				t.Fatalf("list not sorted: %q before %q", all[i-1].Key, all[i].Key)
			}
		}
	})

	t.Run("SizeMismatchKeepsOld", func(t *testing.T) {
		if _, err := store.PutBytes(ctx, s, bucket, "size/k", []byte("old"), ""); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			body string
			size int64
		}{{"short", 10}, {"much longer than announced", 4}} {
			// Non-seekable readers, as a step streaming its output would pass.
			_, err := s.Put(ctx, bucket, "size/k", io.MultiReader(strings.NewReader(tc.body)), tc.size, "")
			if !errors.Is(err, store.ErrSize) {
				t.Errorf("put %d-byte body announced as %d: %v, want store.ErrSize", len(tc.body), tc.size, err)
			}
			if store.IsTransient(err) {
				t.Errorf("size mismatch counted as transient: %v", err)
			}
			got, _, err := store.GetBytes(ctx, s, bucket, "size/k", 0)
			if err != nil || string(got) != "old" {
				t.Errorf("after failed put, object is %q (%v), want the old one", got, err)
			}
		}
	})

	t.Run("UnknownSizeAndEmpty", func(t *testing.T) {
		body := strings.Repeat("row,1\n", 1000)
		obj, err := s.Put(ctx, bucket, "unknown/size", io.MultiReader(strings.NewReader(body)), -1, "text/csv")
		if err != nil {
			t.Fatal(err)
		}
		if obj.Size != int64(len(body)) {
			t.Errorf("size %d, want %d", obj.Size, len(body))
		}
		got, _, err := store.GetBytes(ctx, s, bucket, "unknown/size", 0)
		if err != nil || string(got) != body {
			t.Fatalf("get unknown-size object: %v (len %d)", err, len(got))
		}
		e, err := store.PutBytes(ctx, s, bucket, "empty/k", nil, "")
		if err != nil {
			t.Fatal(err)
		}
		if e.Size != 0 || e.ETag != md5hex(nil) {
			t.Errorf("empty object %+v", e)
		}
		got, _, err = store.GetBytes(ctx, s, bucket, "empty/k", 0)
		if err != nil || len(got) != 0 {
			t.Errorf("get empty object: %q %v", got, err)
		}
	})

	t.Run("GetBytesMax", func(t *testing.T) {
		if _, err := store.PutBytes(ctx, s, bucket, "max/k", bytes.Repeat([]byte("x"), 100), ""); err != nil {
			t.Fatal(err)
		}
		if _, _, err := store.GetBytes(ctx, s, bucket, "max/k", 99); err == nil {
			t.Error("GetBytes read 100 bytes with max 99")
		}
		if b, _, err := store.GetBytes(ctx, s, bucket, "max/k", 100); err != nil || len(b) != 100 {
			t.Errorf("GetBytes max 100: %d bytes, %v", len(b), err)
		}
	})

	t.Run("ConcurrentReadersSeeWholeVersions", func(t *testing.T) {
		versions := map[string]bool{}
		var payloads [][]byte
		for i := range 4 {
			p := bytes.Repeat([]byte{byte('a' + i)}, 256<<10)
			payloads = append(payloads, p)
			versions[md5hex(p)] = true
		}
		if _, err := store.PutBytes(ctx, s, bucket, "atomic/k", payloads[0], ""); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					b, obj, err := store.GetBytes(ctx, s, bucket, "atomic/k", 0)
					if err != nil {
						if ctx.Err() == nil {
							errs <- err
						}
						return
					}
					if !versions[md5hex(b)] || md5hex(b) != obj.ETag {
						errs <- fmt.Errorf("reader saw %d bytes with md5 %s, ETag %s: not one whole version", len(b), md5hex(b), obj.ETag)
						return
					}
				}
			}()
		}
		for i := range 12 {
			if _, err := store.PutBytes(context.Background(), s, bucket, "atomic/k", payloads[i%4], ""); err != nil {
				t.Error(err)
			}
		}
		cancel()
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})

	t.Run("InvalidKeys", func(t *testing.T) {
		for _, k := range []string{"", "/abs", "a//b", "../up", "a/../b", "a/./b"} {
			if _, err := store.PutBytes(ctx, s, bucket, k, []byte("x"), ""); err == nil {
				t.Errorf("put accepted key %q", k)
			}
		}
	})

	t.Run("Copy", func(t *testing.T) {
		data := []byte("id,arrest\n7,true\n")
		src, err := store.PutBytes(ctx, s, bucket, "copy/src.csv", data, "text/csv")
		if err != nil {
			t.Fatal(err)
		}
		cp, err := s.Copy(ctx, src.Ref(), bucket, "copy/deeper/dst.csv")
		if err != nil {
			t.Fatal(err)
		}
		if cp.Key != "copy/deeper/dst.csv" || cp.Size != int64(len(data)) || cp.ETag != md5hex(data) {
			t.Fatalf("copy returned %+v, want size %d etag %s", cp, len(data), md5hex(data))
		}
		// Writing the source again leaves the copy as it was.
		if _, err := store.PutBytes(ctx, s, bucket, "copy/src.csv", []byte("other"), "text/csv"); err != nil {
			t.Fatal(err)
		}
		got, obj, err := store.GetBytes(ctx, s, bucket, "copy/deeper/dst.csv", 0)
		if err != nil || string(got) != string(data) || obj.ETag != md5hex(data) {
			t.Errorf("copy after its source was replaced: %q %+v %v", got, obj, err)
		}
		if _, err := s.Copy(ctx, store.At(bucket, "copy/none.csv"), bucket, "copy/x.csv"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("copy of a missing object: %v, want not found", err)
		}
		if _, err := s.Stat(ctx, bucket, "copy/x.csv"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a failed copy left an object: %v", err)
		}
	})

	t.Run("CancelledContext", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, _, err := s.Get(cctx, bucket, "roundtrip/a.csv"); !errors.Is(err, context.Canceled) {
			t.Errorf("get with cancelled context: %v", err)
		}
		if _, err := store.PutBytes(cctx, s, bucket, "cancelled/k", []byte("x"), ""); err == nil {
			t.Error("put with cancelled context succeeded")
		}
		if _, err := s.Stat(ctx, bucket, "cancelled/k"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("cancelled put left an object: %v", err)
		}
	})
}
