package store

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
)

// Dir is a Store over a local folder laid out as ROOT/<bucket>/<key>, so the
// command-line pipeline's outputs are plain files. Puts write a temporary file
// beside the target and rename it into place (atomic on one file system).
// ETags are the hex MD5 of the file, computed on demand and cached per
// (inode, size, mtime), so files copied in by hand get correct ETags too.
type Dir struct {
	root string

	mu   sync.Mutex
	sums map[string]dirSum // absolute path → cached ETag
}

type dirSum struct {
	ino, size, mtime int64
	etag             string
}

// NewDir returns a Dir store rooted at root, creating the folder if needed.
func NewDir(root string) (*Dir, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("store dir %s: %w", root, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("store dir %s: %w", root, err)
	}
	return &Dir{root: abs, sums: map[string]dirSum{}}, nil
}

// Root returns the folder the store lives in.
func (d *Dir) Root() string { return d.root }

// Path returns the file that holds bucket/key (which need not exist).
func (d *Dir) Path(bucket, key string) (string, error) {
	if err := CheckBucket(bucket); err != nil {
		return "", err
	}
	if err := CheckKey(key); err != nil {
		return "", err
	}
	return filepath.Join(d.root, bucket, filepath.FromSlash(key)), nil
}

// EnsureBucket creates the bucket's folder if it does not exist.
func (d *Dir) EnsureBucket(ctx context.Context, bucket string) error {
	if err := CheckBucket(bucket); err != nil {
		return OpError("make-bucket", bucket, "", err)
	}
	if err := os.MkdirAll(filepath.Join(d.root, bucket), 0o755); err != nil {
		return OpError("make-bucket", bucket, "", err)
	}
	return nil
}

// missing maps a failed open/stat of bucket/key to ErrNoBucket, ErrNotFound
// or the error itself.
func (d *Dir) missing(bucket string, err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		if _, berr := os.Stat(filepath.Join(d.root, bucket)); errors.Is(berr, fs.ErrNotExist) {
			return ErrNoBucket
		}
		return ErrNotFound
	}
	return err
}

// Open implements Store. A folder keeps no versions: only the latest.
func (d *Dir) Open(ctx context.Context, ref Ref) (io.ReadCloser, Object, error) {
	if ref.VersionID != "" {
		return nil, Object{}, OpError("get", ref.Bucket, ref.Key, fmt.Errorf("%w: version %s (a folder keeps none)", ErrNotFound, ref.VersionID))
	}
	return d.Get(ctx, ref.Bucket, ref.Key)
}

// Copy implements Store: a hard link where it can make one, else a read
// and a Put.
func (d *Dir) Copy(ctx context.Context, src Ref, bucket, key string) (Object, error) {
	if obj, ok := d.link(ctx, src, bucket, key); ok {
		return obj, nil
	}
	return CopyByReading(ctx, d, src, bucket, key)
}

// link makes bucket/key a second name of src's file. A Put never writes a
// file in place (it renames a new one over the key), so both names keep
// the same bytes whatever is written later, and the copy costs no read,
// write or checksum (the ETag cached for the source's inode is the copy's).
// false: not linked (no such source, another file system...), nothing
// changed; the caller copies by reading, which reports what was wrong.
func (d *Dir) link(ctx context.Context, src Ref, bucket, key string) (Object, bool) {
	if ctx.Err() != nil || src.VersionID != "" {
		return Object{}, false
	}
	sp, err := d.Path(src.Bucket, src.Key)
	if err != nil {
		return Object{}, false
	}
	dp, err := d.Path(bucket, key)
	if err != nil {
		return Object{}, false
	}
	fi, err := os.Stat(sp)
	if err != nil || !fi.Mode().IsRegular() {
		return Object{}, false
	}
	if _, err := os.Stat(filepath.Join(d.root, bucket)); err != nil {
		return Object{}, false
	}
	dir := filepath.Dir(dp)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Object{}, false
	}
	tmp, err := os.CreateTemp(dir, tempPrefix+"*")
	if err != nil {
		return Object{}, false
	}
	name := tmp.Name()
	tmp.Close()
	os.Remove(name)
	if err := os.Link(sp, name); err != nil {
		return Object{}, false
	}
	lfi, err := os.Stat(name)
	if err != nil || !os.SameFile(fi, lfi) { // the source was replaced meanwhile
		os.Remove(name)
		return Object{}, false
	}
	if err := os.Rename(name, dp); err != nil {
		os.Remove(name)
		return Object{}, false
	}
	if df, err := os.Open(dir); err == nil { // persist the rename itself
		df.Sync()
		df.Close()
	}
	d.mu.Lock()
	if c, ok := d.sums[sp]; ok && c.sameFile(sumKey(lfi)) {
		d.sums[dp] = c
	}
	d.mu.Unlock()
	obj, err := d.statPath(bucket, key, dp)
	if err != nil {
		return Object{}, false
	}
	return obj, true
}

// Get implements Store.
func (d *Dir) Get(ctx context.Context, bucket, key string) (io.ReadCloser, Object, error) {
	if err := ctx.Err(); err != nil {
		return nil, Object{}, OpError("get", bucket, key, err)
	}
	p, err := d.Path(bucket, key)
	if err != nil {
		return nil, Object{}, OpError("get", bucket, key, err)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, Object{}, OpError("get", bucket, key, d.missing(bucket, err))
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = ErrNotFound // a folder: a key prefix, not an object
	}
	if err != nil {
		f.Close()
		return nil, Object{}, OpError("get", bucket, key, err)
	}
	// The ETag is taken from the opened file, so it names exactly the bytes
	// this reader yields even if the key is replaced meanwhile.
	etag, err := d.etag(p, fi, f)
	if err != nil {
		f.Close()
		return nil, Object{}, OpError("get", bucket, key, err)
	}
	return f, object(bucket, key, fi, etag), nil
}

// Stat implements Store.
func (d *Dir) Stat(ctx context.Context, bucket, key string) (Object, error) {
	if err := ctx.Err(); err != nil {
		return Object{}, OpError("stat", bucket, key, err)
	}
	p, err := d.Path(bucket, key)
	if err != nil {
		return Object{}, OpError("stat", bucket, key, err)
	}
	obj, err := d.statPath(bucket, key, p)
	return obj, OpError("stat", bucket, key, err)
}

func (d *Dir) statPath(bucket, key, p string) (Object, error) {
	f, err := os.Open(p)
	if err != nil {
		return Object{}, d.missing(bucket, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Object{}, err
	}
	if !fi.Mode().IsRegular() {
		return Object{}, ErrNotFound
	}
	etag, err := d.etag(p, fi, f)
	if err != nil {
		return Object{}, err
	}
	return object(bucket, key, fi, etag), nil
}

func object(bucket, key string, fi fs.FileInfo, etag string) Object {
	return Object{Bucket: bucket, Key: key, ETag: etag, Size: fi.Size(), Modified: fi.ModTime().UTC()}
}

// sameFile reports whether s and o were taken of the same file unchanged
// (inode, size and modification time).
func (s dirSum) sameFile(o dirSum) bool {
	return s.ino == o.ino && s.size == o.size && s.mtime == o.mtime
}

func sumKey(fi fs.FileInfo) dirSum {
	s := dirSum{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		s.ino = int64(st.Ino)
	}
	return s
}

// etag returns the cached MD5 of the file at p, or computes it from f.
func (d *Dir) etag(p string, fi fs.FileInfo, f *os.File) (string, error) {
	want := sumKey(fi)
	d.mu.Lock()
	c, ok := d.sums[p]
	d.mu.Unlock()
	if ok && c.sameFile(want) {
		return c.etag, nil
	}
	h := md5.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, fi.Size())); err != nil {
		return "", fmt.Errorf("checksum: %w", err)
	}
	want.etag = hex.EncodeToString(h.Sum(nil))
	d.mu.Lock()
	d.sums[p] = want
	d.mu.Unlock()
	return want.etag, nil
}

// Put implements Store: temp file in the target's folder, fsync, rename.
func (d *Dir) Put(ctx context.Context, bucket, key string, r io.Reader, size int64, contentType string) (Object, error) {
	p, err := d.Path(bucket, key)
	if err != nil {
		return Object{}, OpError("put", bucket, key, err)
	}
	obj, err := d.put(ctx, bucket, key, p, r, size)
	return obj, OpError("put", bucket, key, err)
}

func (d *Dir) put(ctx context.Context, bucket, key, p string, r io.Reader, size int64) (Object, error) {
	if err := ctx.Err(); err != nil {
		return Object{}, err
	}
	if _, err := os.Stat(filepath.Join(d.root, bucket)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Object{}, ErrNoBucket
		}
		return Object{}, err
	}
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Object{}, fmt.Errorf("make folder (does a prefix of the key name an object?): %w", err)
	}
	tmp, err := os.CreateTemp(dir, tempPrefix+"*")
	if err != nil {
		return Object{}, fmt.Errorf("create temp file: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	n, sum, err := copySum(newWriteback(tmp), ContextReader(ctx, r))
	if err != nil {
		return Object{}, fmt.Errorf("write body: %w", err)
	}
	if size >= 0 && n != size {
		return Object{}, fmt.Errorf("%w: announced %d bytes, read %d", ErrSize, size, n)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return Object{}, err
	}
	if err := tmp.Sync(); err != nil {
		return Object{}, fmt.Errorf("sync: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return Object{}, fmt.Errorf("close: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return Object{}, err
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return Object{}, fmt.Errorf("rename into place: %w", err)
	}
	committed = true
	if df, err := os.Open(dir); err == nil { // persist the rename itself
		df.Sync()
		df.Close()
	}
	fi, err := os.Stat(p)
	if err != nil {
		return Object{}, err
	}
	etag := hex.EncodeToString(sum)
	s := sumKey(fi)
	s.etag = etag
	d.mu.Lock()
	d.sums[p] = s
	d.mu.Unlock()
	return object(bucket, key, fi, etag), nil
}

// Remove deletes an object; removing a missing one is not an error.
func (d *Dir) Remove(ctx context.Context, bucket, key string) error {
	p, err := d.Path(bucket, key)
	if err != nil {
		return OpError("remove", bucket, key, err)
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return OpError("remove", bucket, key, err)
	}
	return nil
}

// List implements Store. It walks only the folder the prefix reaches into.
func (d *Dir) List(ctx context.Context, bucket, prefix string) ([]Object, error) {
	objs, err := d.list(ctx, bucket, prefix)
	return objs, OpError("list", bucket, prefix, err)
}

func (d *Dir) list(ctx context.Context, bucket, prefix string) ([]Object, error) {
	if err := CheckBucket(bucket); err != nil {
		return nil, err
	}
	bdir := filepath.Join(d.root, bucket)
	if _, err := os.Stat(bdir); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, ErrNoBucket
		}
		return nil, err
	}
	if strings.Contains(prefix, "..") || strings.HasPrefix(prefix, "/") {
		return nil, fmt.Errorf("%w: prefix %q", ErrInvalid, prefix)
	}
	start := bdir
	if i := strings.LastIndex(prefix, "/"); i >= 0 {
		start = filepath.Join(bdir, filepath.FromSlash(prefix[:i]))
	}
	var out []Object
	err := filepath.WalkDir(start, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
				return nil // nothing under this prefix
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if strings.HasPrefix(e.Name(), tempPrefix) {
			return nil
		}
		rel, err := filepath.Rel(bdir, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if e.IsDir() {
			if p != start && !strings.HasPrefix(key+"/", prefix) && !strings.HasPrefix(prefix, key+"/") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasPrefix(key, prefix) {
			return nil
		}
		obj, err := d.statPath(bucket, key, p) // follows symlinks to files
		if errors.Is(err, ErrNotFound) {
			return nil // vanished or not a regular file
		}
		if err != nil {
			return err
		}
		out = append(out, obj)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// ContextReader is r that stops with ctx's error once ctx is done: a long
// copy into a store ends with the call that asked for it.
func ContextReader(ctx context.Context, r io.Reader) io.Reader { return ctxReader{ctx, r} }

// ctxReader stops a long read when ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// copySum copies src to dst and returns the MD5 of what it copied. The sum
// is taken on another goroutine, a few buffers behind the writes: a table's
// body is formatted on every core as it is read, and hashing 50 MB in the
// reader's loop held the whole upload to one core's MD5 speed.
func copySum(dst io.Writer, src io.Reader) (int64, []byte, error) {
	const bufs = 4
	free, full := make(chan []byte, bufs), make(chan []byte, bufs)
	for range bufs {
		free <- getSumBuf()
	}
	defer func() { // every buffer is back once the hasher is done
		for range bufs {
			b := <-free
			sumBufs.Put(&b)
		}
	}()
	h := md5.New()
	hashed := make(chan struct{})
	go func() {
		defer close(hashed)
		for b := range full {
			h.Write(b)
			free <- b[:cap(b)]
		}
	}()
	var n int64
	var err error
	for err == nil {
		b := <-free
		var k int
		k, err = io.ReadFull(src, b)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			err = io.EOF
		}
		if k > 0 {
			if _, werr := dst.Write(b[:k]); werr != nil {
				err = werr
			}
			n += int64(k)
			full <- b[:k]
		} else {
			free <- b
		}
	}
	close(full)
	<-hashed
	if err != io.EOF {
		return n, nil, err
	}
	return n, h.Sum(nil), nil
}

// sumBufs holds copySum's buffers for the next put: a step writes dozens of
// objects, and fresh buffers each time were garbage the heap grew by.
var sumBufs = sync.Pool{New: func() any { b := make([]byte, 128<<10); return &b }}

func getSumBuf() []byte { return *sumBufs.Get().(*[]byte) }
