package faasbuild

import (
	"context"
	"fmt"
	"os"
	"os/exec"
)

// FillModuleCache downloads every module of go.sum into the module cache
// (a no-op when it is full). Offline builds (GOPROXY=off) read the whole
// build list from the cache, and a fresh machine holds only what earlier
// commands happened to need.
func FillModuleCache(ctx context.Context, dir string) error {
	dl := exec.CommandContext(ctx, "go", "mod", "download")
	dl.Dir = dir
	dl.Stdout, dl.Stderr = os.Stderr, os.Stderr
	if err := dl.Run(); err != nil {
		return fmt.Errorf("fill the module cache (go mod download in %s): %w", dir, err)
	}
	return nil
}
