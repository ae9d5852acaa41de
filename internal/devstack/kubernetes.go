package devstack

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// KubernetesFunctionsFile holds the Function resources made from stack.yml.
const KubernetesFunctionsFile = "deploy/kubernetes/functions.yml"

const kubernetesHeader = `# Generated from stack.yml by faas-cli generate --api=openfaas.com/v1 -f stack.yml (make kubernetes:
# REGISTRY and TAG unset). Do not edit: internal/deploycheck regenerates it and fails on drift.
`

// KubernetesFunctions is what KubernetesFunctionsFile must hold: the real
// faas-cli's `generate --api=openfaas.com/v1 -f stack.yml`, run in root (its
// environment_file paths are relative to it) with nothing of this
// environment but PATH, so ${REGISTRY}, ${TAG} and the rest take their
// defaults.
func KubernetesFunctions(ctx context.Context, root, faasCLI string) ([]byte, error) {
	home, err := os.MkdirTemp("", "faas-cli-home-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(home)
	cmd := exec.CommandContext(ctx, faasCLI, "generate", "--api=openfaas.com/v1", "-f", "stack.yml")
	cmd.Dir = root
	cmd.Env = []string{"HOME=" + home, "PATH=" + os.Getenv("PATH")}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("faas-cli generate: %w\n%s", err, strings.TrimSpace(stderr.String()))
	}
	return append([]byte(kubernetesHeader), out...), nil
}

// WriteKubernetesFunctions regenerates KubernetesFunctionsFile (make kubernetes).
func WriteKubernetesFunctions(ctx context.Context, root, faasCLI string) error {
	b, err := KubernetesFunctions(ctx, root, faasCLI)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(root, KubernetesFunctionsFile), b, 0o644)
}
