//go:build integration

package store_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/internal/storetest"
	"github.com/arrestcast/arrestcast/internal/testenv"
	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/platform/store"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

func newMinIO(t *testing.T, srv *testenv.MinIOServer, r store.Retry) *store.MinIO {
	t.Helper()
	m, err := store.NewMinIO(store.MinIOConfig{Endpoint: srv.Endpoint, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, Retry: r})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMinIOConformance(t *testing.T) {
	srv := testenv.MinIO(t)
	storetest.Conformance(t, newMinIO(t, srv, store.Retry{}), srv.NewBucket(t))
}

func TestMinIOEnsureBucket(t *testing.T) {
	srv := testenv.MinIO(t)
	m := newMinIO(t, srv, store.Retry{})
	ctx := context.Background()
	name := testenv.BucketName(t)
	for range 2 {
		if err := m.EnsureBucket(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { m.Client().RemoveBucket(context.Background(), name) })
	if _, err := store.PutBytes(ctx, m, name, "k", []byte("v"), ""); err != nil {
		t.Fatal(err)
	}
	if err := m.Remove(ctx, name, "k"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Stat(ctx, name, "k"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after remove: %v", err)
	}
}

// slowReader yields a body slowly, so readers can look while it uploads.
// It hides bytes.Reader's ReadAt, so minio-go reads it in order.
type slowReader struct {
	r     *bytes.Reader
	reads int
}

func (s *slowReader) Read(p []byte) (int, error) {
	s.reads++
	if s.reads%8 == 0 {
		time.Sleep(15 * time.Millisecond)
	}
	return s.r.Read(p)
}

func (s *slowReader) Seek(off int64, whence int) (int64, error) { return s.r.Seek(off, whence) }

func randomBytes(n int, seed uint64) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, seed))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func md5hex(b []byte) string { s := md5.Sum(b); return hex.EncodeToString(s[:]) }

// TestMinIOAtomicPut: while a large multipart upload runs, readers of the key
// see the old object whole (or not found for a new key), never part of the new one.
func TestMinIOAtomicPut(t *testing.T) {
	srv := testenv.MinIO(t)
	m := newMinIO(t, srv, store.Retry{})
	bucket := srv.NewBucket(t)
	ctx := context.Background()

	old := []byte("id,arrest\n1,false\n")
	if _, err := store.PutBytes(ctx, m, bucket, "atomic/replaced.csv", old, "text/csv"); err != nil {
		t.Fatal(err)
	}
	big := randomBytes(40<<20, 7) // multipart: larger than minio-go's 16 MiB part
	sums := map[string]string{md5hex(old): "old", md5hex(big): "new"}

	var sawOld, sawNew, sawMissing atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	watch := func(key string, missingOK bool) {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			b, obj, err := store.GetBytes(ctx, m, bucket, key, 0)
			switch {
			case errors.Is(err, store.ErrNotFound) && missingOK:
				sawMissing.Add(1)
				continue
			case err != nil:
				errs <- fmt.Errorf("read %s during upload: %w", key, err)
				return
			}
			which, ok := sums[md5hex(b)]
			if !ok || obj.Size != int64(len(b)) {
				errs <- fmt.Errorf("read %s during upload: %d bytes that are neither version", key, len(b))
				return
			}
			if which == "old" {
				sawOld.Add(1)
			} else {
				sawNew.Add(1)
			}
		}
	}
	wg.Add(2)
	go watch("atomic/replaced.csv", false)
	go watch("atomic/new.csv", true)

	for _, key := range []string{"atomic/replaced.csv", "atomic/new.csv"} {
		obj, err := m.Put(ctx, bucket, key, &slowReader{r: bytes.NewReader(big)}, int64(len(big)), "text/csv")
		if err != nil {
			t.Fatal(err)
		}
		if obj.Size != int64(len(big)) {
			t.Errorf("put size %d", obj.Size)
		}
	}
	time.Sleep(200 * time.Millisecond)
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if sawOld.Load() == 0 || sawMissing.Load() == 0 || sawNew.Load() == 0 {
		t.Errorf("readers did not overlap the uploads: old %d, missing %d, new %d", sawOld.Load(), sawMissing.Load(), sawNew.Load())
	}
	t.Logf("reads during uploads: old %d, not found %d, new %d", sawOld.Load(), sawMissing.Load(), sawNew.Load())
}

// TestMinIONotifications wires MinIO as faasd does (chain.WebhookEnv: one
// webhook target per event step on the gateway), installs the chain's rules,
// reads them back, checks idempotence, and sees each manifest start exactly
// the step that follows.
func TestMinIONotifications(t *testing.T) {
	var mu sync.Mutex
	var got []string // "<function> <bucket/key>"
	gateway := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			return // store.MinIO's start-up probe
		}
		var ev struct{ Key string }
		json.NewDecoder(r.Body).Decode(&ev)
		mu.Lock()
		defer mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer tok" {
			got = append(got, "bad token "+r.Header.Get("Authorization"))
		}
		got = append(got, strings.TrimPrefix(r.URL.Path, "/function/")+" "+ev.Key)
	}))
	t.Cleanup(gateway.Close)
	srv := testenv.StartMinIO(t, testenv.MinIOOptions{Env: chain.WebhookEnv(gateway.URL, "tok", t.TempDir())})
	m := newMinIO(t, srv, store.Retry{})
	ctx := context.Background()
	bucket := srv.NewBucket(t) // stands in for the data bucket

	var rules []store.NotifyRule
	for _, r := range chain.Rules() {
		if r.Bucket == chain.DataBucket {
			rules = append(rules, store.NotifyRule{ARN: r.ARN, Prefix: r.Prefix, Suffix: r.Suffix})
		}
	}
	if len(rules) < 2 {
		t.Fatalf("chain has %d rules on the data bucket", len(rules))
	}
	changed, err := m.SetNotifications(ctx, bucket, rules)
	if err != nil || !changed {
		t.Fatalf("first set: changed %v, %v", changed, err)
	}
	back, err := m.Notifications(ctx, bucket)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(back) != fmt.Sprint(store.CanonicalRules(rules)) {
		t.Fatalf("read back %v\nwant %v", back, store.CanonicalRules(rules))
	}
	rev := slices.Clone(rules)
	slices.Reverse(rev)
	rev[0].Events = []string{"s3:ObjectCreated:*"}
	if changed, err := m.SetNotifications(ctx, bucket, rev); err != nil || changed {
		t.Fatalf("same rules again: changed %v, %v", changed, err)
	}

	for _, key := range []string{
		"0-raw-data/monthly-data/2017-12/crimes.csv",
		"0-raw-data/monthly-data/2017-12/manifest.json",
		chain.TempPrefix + "split/2018-01-01/train.csv",
		chain.TempPrefix + "split/2018-01-01/manifest.json",
		"elsewhere/manifest.json",
	} {
		if _, err := store.PutBytes(ctx, m, bucket, key, []byte("{}"), ""); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{ // merge and the monitor both start on download's manifest
		"merge " + bucket + "/0-raw-data/monthly-data/2017-12/manifest.json",
		"monitor " + bucket + "/0-raw-data/monthly-data/2017-12/manifest.json",
		"outliers " + bucket + "/" + chain.TempPrefix + "split/2018-01-01/manifest.json",
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= len(want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second) // room for events that should not come
	mu.Lock()
	sort.Strings(got)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("webhook calls %q\nwant %q", got, want)
	}
	mu.Unlock()

	// Dropping a rule removes it; an ARN the server lacks is refused.
	if changed, err := m.SetNotifications(ctx, bucket, rules[:1]); err != nil || !changed {
		t.Fatalf("drop rules: changed %v, %v", changed, err)
	}
	if back, _ := m.Notifications(ctx, bucket); len(back) != 1 || back[0].ARN != rules[0].ARN {
		t.Errorf("after dropping: %v", back)
	}
	_, err = m.SetNotifications(ctx, bucket, []store.NotifyRule{{ARN: "arn:minio:sqs::NOSUCH:webhook", Suffix: "x"}})
	if err == nil || store.IsTransient(err) {
		t.Errorf("unknown ARN: %v, want a permanent error", err)
	}
}

func TestMinIOLifecycle(t *testing.T) {
	srv := testenv.MinIO(t)
	m := newMinIO(t, srv, store.Retry{})
	ctx := context.Background()
	bucket := srv.NewBucket(t)

	if rules, err := m.ExpiryRules(ctx, bucket); err != nil || len(rules) != 0 {
		t.Fatalf("fresh bucket: %v %v", rules, err)
	}
	if _, err := m.EnsureVersioning(ctx, bucket); err != nil {
		t.Fatal(err)
	}
	if changed, err := m.EnsureExpiry(ctx, bucket, chain.TempPrefix, chain.TempExpiryDays, chain.TempNoncurrentDays); err != nil || !changed {
		t.Fatalf("first EnsureExpiry: %v %v", changed, err)
	}
	if changed, err := m.EnsureExpiry(ctx, bucket, chain.TempPrefix, chain.TempExpiryDays, chain.TempNoncurrentDays); err != nil || changed {
		t.Fatalf("second EnsureExpiry: changed %v, %v", changed, err)
	}
	if _, err := m.EnsureExpiry(ctx, bucket, "scratch/", 1, 0); err != nil {
		t.Fatal(err)
	}
	if changed, err := m.EnsureExpiry(ctx, bucket, chain.TempPrefix, 30, chain.TempNoncurrentDays); err != nil || !changed {
		t.Fatalf("new days: %v %v", changed, err)
	}
	rules, err := m.ExpiryRules(ctx, bucket)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprint([]store.ExpiryRule{
		{ID: store.ExpiryID(chain.TempPrefix), Prefix: chain.TempPrefix, Days: 30, NoncurrentDays: chain.TempNoncurrentDays},
		{ID: store.ExpiryID("scratch/"), Prefix: "scratch/", Days: 1},
	})
	if fmt.Sprint(rules) != want {
		t.Fatalf("rules %v, want %v", rules, want)
	}
	if _, err := m.EnsureExpiry(ctx, bucket, "x/", 0, 0); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("zero days: %v", err)
	}
}

// TestMinIOVersions: with versioning on, writing a key again keeps the old
// version readable by its ID (Open, Copy), Get and Stat see the newest, and
// turning versioning on is idempotent.
func TestMinIOVersions(t *testing.T) {
	srv := testenv.MinIO(t)
	m := newMinIO(t, srv, store.Retry{})
	ctx := context.Background()
	bucket := srv.NewBucket(t)
	if changed, err := m.EnsureVersioning(ctx, bucket); err != nil || !changed {
		t.Fatalf("first EnsureVersioning: %v %v", changed, err)
	}
	if changed, err := m.EnsureVersioning(ctx, bucket); err != nil || changed {
		t.Fatalf("second EnsureVersioning: %v %v", changed, err)
	}
	v1, err := store.PutBytes(ctx, m, bucket, "k.csv", []byte("first\n"), "text/csv")
	if err != nil {
		t.Fatal(err)
	}
	v2, err := store.PutBytes(ctx, m, bucket, "k.csv", []byte("second version\n"), "text/csv")
	if err != nil {
		t.Fatal(err)
	}
	if v1.VersionID == "" || v2.VersionID == "" || v1.VersionID == v2.VersionID {
		t.Fatalf("version IDs %q and %q", v1.VersionID, v2.VersionID)
	}
	for _, c := range []struct {
		ref  store.Ref
		want string
	}{{v1.Ref(), "first\n"}, {v2.Ref(), "second version\n"}, {store.At(bucket, "k.csv"), "second version\n"}} {
		b, obj, err := store.ReadAll(ctx, m, c.ref, 0)
		if err != nil || string(b) != c.want {
			t.Fatalf("read %+v: %q %v, want %q", c.ref, b, err, c.want)
		}
		if c.ref.VersionID != "" && (obj.VersionID != c.ref.VersionID || obj.ETag != c.ref.ETag) {
			t.Errorf("read %s: object %+v", c.ref.VersionID, obj)
		}
	}
	if st, err := m.Stat(ctx, bucket, "k.csv"); err != nil || st.VersionID != v2.VersionID {
		t.Errorf("stat: %+v %v, want version %s", st, err, v2.VersionID)
	}
	cp, err := m.Copy(ctx, v1.Ref(), bucket, "copy/k.csv")
	if err != nil || cp.ETag != v1.ETag || cp.VersionID == "" {
		t.Fatalf("copy of v1: %+v %v", cp, err)
	}
	if _, _, err := store.ReadAll(ctx, m, store.Ref{Bucket: bucket, Key: "k.csv", VersionID: "no-such-version"}, 0); err == nil {
		t.Error("a version that does not exist was read")
	}
}

// TestMinIOStoreDown: with the server gone, calls fail quickly with a
// transient error; a short outage inside the retry window is ridden out.
func TestMinIOStoreDown(t *testing.T) {
	srv := testenv.StartMinIO(t, testenv.MinIOOptions{})
	bucket := srv.NewBucket(t)
	ctx := context.Background()
	m := newMinIO(t, srv, store.Retry{Attempts: 3, Base: 50 * time.Millisecond, Max: 100 * time.Millisecond})
	if _, err := store.PutBytes(ctx, m, bucket, "k", []byte("v"), ""); err != nil {
		t.Fatal(err)
	}
	if err := srv.Kill(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for name, call := range map[string]func() error{
		"get":  func() error { _, _, err := m.Get(ctx, bucket, "k"); return err },
		"stat": func() error { _, err := m.Stat(ctx, bucket, "k"); return err },
		"list": func() error { _, err := m.List(ctx, bucket, ""); return err },
		"put":  func() error { _, err := store.PutBytes(ctx, m, bucket, "k2", []byte("v"), ""); return err },
	} {
		err := call()
		if err == nil || !store.IsTransient(err) || errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s with the store down: %v, want a transient error", name, err)
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("four calls against a dead store took %v", d)
	}

	// An outage shorter than the retry window is invisible to the caller.
	patient := newMinIO(t, srv, store.Retry{Attempts: 60, Base: 100 * time.Millisecond, Max: 500 * time.Millisecond})
	restarted := make(chan error, 1)
	go func() { time.Sleep(300 * time.Millisecond); restarted <- srv.Restart() }()
	if _, err := store.PutBytes(ctx, patient, bucket, "during-outage", []byte("made it"), ""); err != nil {
		t.Fatalf("put across a restart: %v", err)
	}
	if err := <-restarted; err != nil {
		t.Fatal(err)
	}
	b, _, err := store.GetBytes(ctx, m, bucket, "during-outage", 0)
	if err != nil || string(b) != "made it" {
		t.Fatalf("after restart: %q %v", b, err)
	}
}

// TestMinIOResumeRead: a download broken by a server crash resumes where it
// stopped once the server is back, and yields the exact object.
func TestMinIOResumeRead(t *testing.T) {
	srv := testenv.StartMinIO(t, testenv.MinIOOptions{})
	bucket := srv.NewBucket(t)
	ctx := context.Background()
	m := newMinIO(t, srv, store.Retry{Attempts: 60, Base: 100 * time.Millisecond, Max: 500 * time.Millisecond})
	data := randomBytes(64<<20, 11)
	if _, err := store.PutBytes(ctx, m, bucket, "big.bin", data, ""); err != nil {
		t.Fatal(err)
	}
	rc, obj, err := m.Get(ctx, bucket, "big.bin")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	h := md5.New()
	if _, err := io.CopyN(h, rc, 1<<20); err != nil {
		t.Fatal(err)
	}
	if err := srv.Kill(); err != nil {
		t.Fatal(err)
	}
	restarted := make(chan error, 1)
	go func() { time.Sleep(300 * time.Millisecond); restarted <- srv.Restart() }()
	n, err := io.Copy(h, rc)
	if err != nil {
		t.Fatalf("read across a crash: %v after %d more bytes", err, n)
	}
	if err := <-restarted; err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != md5hex(data) || n+1<<20 != obj.Size {
		t.Fatalf("resumed read: %d bytes, md5 %s, want %d bytes, md5 %s", n+1<<20, got, obj.Size, md5hex(data))
	}
	if store.Resumes(rc) <= 0 {
		t.Errorf("the read never resumed (the crash went unnoticed?)")
	}
}
