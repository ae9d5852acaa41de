// Package faasbuild reproduces what faas-cli does with a stack file and a
// template, without containers: `faas-cli build --shrinkwrap` (the build
// context) and the build stage of the template's Dockerfile, run with the local
// Go toolchain. The local stack builds its function processes with it, so they
// are the same binaries an image would hold.
package faasbuild

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/arrestcast/arrestcast/internal/stackfile"
)

// Shrinkwrap writes the build context of function name into out/<name>, as
// faas-cli build --shrinkwrap does: the template folder copied, the handler
// folder into function/, each configuration.copy path into function/<path>.
// It returns the context's folder.
func Shrinkwrap(f *stackfile.File, name, templates, out string) (string, error) {
	fn, ok := f.Functions[name]
	if !ok {
		return "", fmt.Errorf("shrinkwrap: no function %q in stack file", name)
	}
	if fn.Lang == "" || fn.Handler == "" {
		return "", fmt.Errorf("shrinkwrap %s: lang and handler are required", name)
	}
	tmpl := filepath.Join(templates, fn.Lang)
	if _, err := os.Stat(filepath.Join(tmpl, "template.yml")); err != nil {
		return "", fmt.Errorf("shrinkwrap %s: template %q: %w", name, fn.Lang, err)
	}
	ctx := filepath.Join(out, name)
	if err := os.RemoveAll(ctx); err != nil {
		return "", fmt.Errorf("shrinkwrap %s: clean %s: %w", name, ctx, err)
	}
	if err := copyTree(tmpl, ctx); err != nil {
		return "", fmt.Errorf("shrinkwrap %s: copy template: %w", name, err)
	}
	fnDir := filepath.Join(ctx, "function")
	if err := copyTree(f.Path(fn.Handler), fnDir); err != nil {
		return "", fmt.Errorf("shrinkwrap %s: copy handler: %w", name, err)
	}
	for _, p := range f.Configuration.Copy {
		if err := copyTree(f.Path(p), filepath.Join(fnDir, filepath.Clean(p))); err != nil {
			return "", fmt.Errorf("shrinkwrap %s: copy %s: %w", name, p, err)
		}
	}
	return ctx, nil
}

// copyTree copies a file or a folder (recursively) to dst.
func copyTree(src, dst string) error {
	info, err := os.Stat(src)
	if err != nil {
		return err
	}
	if !info.IsDir() {
		return copyFile(src, dst, info.Mode())
	}
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		return copyFile(p, target, fi.Mode())
	})
}

func copyFile(src, dst string, mode fs.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, mode.Perm()|0o200)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
