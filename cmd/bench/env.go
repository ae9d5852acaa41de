package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// pyModules are the Python modules the reference needs, with the Debian
// package of each.
var pyModules = []struct {
	Module, Package string
	Optional        bool // the reference runs without it (seed_recipe.py then reports no per-step RSS)
}{
	{"pandas", "python3-pandas", false},
	{"numpy", "python3-numpy", false},
	{"scipy", "python3-scipy", false},
	{"sklearn", "python3-sklearn", false},
	{"imblearn", "python3-imblearn", false},
	{"xgboost", "python3-xgboost", false},
	{"psutil", "python3-psutil", true},
	{"fastapi", "python3-fastapi", false},
	{"uvicorn", "python3-uvicorn", false},
}

// requiredMissing keeps the modules the reference cannot do without.
func requiredMissing(missing []string) []string {
	var out []string
	for _, m := range pyModules {
		if !m.Optional && slices.Contains(missing, m.Module) {
			out = append(out, m.Module)
		}
	}
	return out
}

// missingModules asks the interpreter which modules it cannot import.
func (b *bench) missingModules(ctx context.Context) ([]string, error) {
	var mods []string
	for _, m := range pyModules {
		mods = append(mods, m.Module)
	}
	script := "import importlib.util, json, sys; print(json.dumps([m for m in sys.argv[1:] if importlib.util.find_spec(m) is None]))"
	out, _, err := b.run(ctx, "python-check", b.cfg.Python, append([]string{"-c", script}, mods...), nil, 2*time.Minute)
	if err != nil {
		return nil, err
	}
	var missing []string
	if err := json.Unmarshal(out, &missing); err != nil {
		return nil, fmt.Errorf("python module check: %w", err)
	}
	return missing, nil
}

func debPackages(modules []string) []string {
	var pkgs []string
	for _, m := range pyModules {
		for _, mm := range modules {
			if m.Module == mm {
				pkgs = append(pkgs, m.Package)
			}
		}
	}
	return pkgs
}

// ensurePython makes the Python reference runnable: it installs the missing
// Debian packages when run as root, else it says what to install.
func (b *bench) ensurePython(ctx context.Context) {
	pkgs := []string{"python3"}
	if fileExists(b.cfg.Python) {
		missing, err := b.missingModules(ctx)
		if err != nil {
			b.missing = append(b.missing, "cannot check the Python modules: "+err.Error())
			return
		}
		pkgs = debPackages(missing)
		if len(pkgs) == 0 {
			b.pyOK = true
			return
		}
	}
	if err := b.aptInstall(ctx, pkgs); err != nil {
		msg := fmt.Sprintf("the Python reference needs %s (apt-get install -y %s): %v", strings.Join(pkgs, ", "), strings.Join(pkgs, " "), err)
		if fileExists(b.cfg.Python) {
			if missing, err2 := b.missingModules(ctx); err2 == nil && len(requiredMissing(missing)) == 0 {
				slog.Warn("optional Python modules missing", "modules", missing, "why", err)
				b.pyOK = true
				return
			}
		}
		b.missing = append(b.missing, msg)
		return
	}
	missing, err := b.missingModules(ctx)
	if err != nil || len(requiredMissing(missing)) > 0 {
		b.missing = append(b.missing, fmt.Sprintf("Python modules still missing after installing: %v %v", missing, err))
		return
	}
	b.pyOK = true
}

// ensureWrk installs wrk for the cross-check when it can; without it the
// load test runs with loadgen alone.
func (b *bench) ensureWrk(ctx context.Context) {
	if _, err := exec.LookPath("wrk"); err == nil {
		return
	}
	if err := b.aptInstall(ctx, []string{"wrk"}); err != nil {
		slog.Info("wrk not installed: loadgen only", "why", err)
	}
}

// aptInstall installs Debian packages when this is root on Debian.
func (b *bench) aptInstall(ctx context.Context, pkgs []string) error {
	if !b.cfg.Install {
		return fmt.Errorf("not installing (-install=false)")
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("not root: install them with sudo apt-get install -y %s", strings.Join(pkgs, " "))
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		return fmt.Errorf("no apt-get on this machine: install %s", strings.Join(pkgs, " "))
	}
	slog.Info("installing Debian packages", "packages", pkgs)
	env := []string{"DEBIAN_FRONTEND=noninteractive"}
	if _, _, err := b.run(ctx, "apt-update", "apt-get", []string{"update", "-q"}, env, 10*time.Minute); err != nil {
		return err
	}
	_, _, err := b.run(ctx, "apt-install", "apt-get", append([]string{"install", "-y", "-q"}, pkgs...), env, 20*time.Minute)
	return err
}

// machine describes where the numbers were taken.
func (b *bench) machine(ctx context.Context) Machine {
	m := Machine{Date: time.Now().UTC(), Cores: runtime.NumCPU(), Libraries: map[string]string{}}
	m.Host, _ = os.Hostname()
	m.CPU = cpuModel()
	m.MemoryMB = memTotalMB()
	m.OS = osName()
	if k, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(k))
	}
	m.LoadAverage = loadAverageText()
	if out, _, err := b.run(ctx, "go-version", "go", []string{"env", "GOVERSION"}, nil, time.Minute); err == nil {
		m.Go = strings.TrimSpace(string(out))
	} else {
		m.Go = runtime.Version()
	}
	if out, _, err := b.run(ctx, "git-rev", "git", []string{"rev-parse", "--short", "HEAD"}, nil, time.Minute); err == nil {
		m.Commit = strings.TrimSpace(string(out))
		if st, _, err := b.run(ctx, "git-status", "git", []string{"status", "--porcelain", "--untracked-files=no"}, nil, time.Minute); err == nil && len(strings.TrimSpace(string(st))) > 0 {
			m.Commit += " (with uncommitted changes)"
		}
	}
	if b.pyOK || fileExists(b.cfg.Python) {
		script := `import json, sys, importlib
v = {"python": sys.version.split()[0]}
for m in ["pandas", "numpy", "scipy", "sklearn", "imblearn", "xgboost", "fastapi", "uvicorn", "pydantic", "h11", "httptools", "uvloop"]:
    try:
        v[m] = importlib.import_module(m).__version__
    except Exception:
        pass
print(json.dumps(v))`
		if out, _, err := b.run(ctx, "python-versions", b.cfg.Python, []string{"-c", script}, nil, 2*time.Minute); err == nil {
			var v map[string]string
			if json.Unmarshal(out, &v) == nil {
				m.Python = v["python"]
				delete(v, "python")
				for k, x := range v {
					m.Libraries[k] = x
				}
			}
		}
	}
	if out, err := exec.CommandContext(ctx, "wrk", "--version").CombinedOutput(); err == nil || len(out) > 0 {
		if f := regexp.MustCompile(`wrk (\S+)`).FindSubmatch(out); f != nil {
			m.Libraries["wrk"] = string(f[1])
		}
	}
	return m
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

func memTotalMB() int {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
			kb, _ := strconv.Atoi(f[1])
			return kb / 1024
		}
	}
	return 0
}

func osName() string {
	b, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return runtime.GOOS
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return runtime.GOOS
}

func loadAverageText() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// loadAverage is the 1-minute load average, 0 when unknown.
func loadAverage() float64 {
	f := strings.Fields(loadAverageText())
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}
