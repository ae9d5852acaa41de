// Package stack reads an OpenFaaS stack file (version 1.0) the way faas-cli does:
// environment substitution (${VAR}, ${VAR:-default}) over the whole file, then
// the provider, configuration.copy and functions. The build tool, the local
// stack and the chain checks all take stack.yml from here, never a copy of it.
package stackfile

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// File is a parsed stack file.
type File struct {
	Version       string              `yaml:"version"`
	Provider      Provider            `yaml:"provider"`
	Configuration Configuration       `yaml:"configuration"`
	Functions     map[string]Function `yaml:"functions"`

	dir string // folder of the stack file: handler and copy paths are relative to it
}

// Provider is the stack file's provider section.
type Provider struct {
	Name    string `yaml:"name"`
	Gateway string `yaml:"gateway"`
}

// Configuration is the stack file's configuration section.
type Configuration struct {
	Templates []struct {
		Name   string `yaml:"name"`
		Source string `yaml:"source"`
	} `yaml:"templates"`
	Copy []string `yaml:"copy"`
}

// Function is one function of the stack file.
type Function struct {
	Lang            string            `yaml:"lang"`
	Handler         string            `yaml:"handler"`
	Image           string            `yaml:"image"`
	Environment     map[string]string `yaml:"environment"`
	EnvironmentFile []string          `yaml:"environment_file"`
	Secrets         []string          `yaml:"secrets"`
	Labels          map[string]string `yaml:"labels"`
	Annotations     map[string]string `yaml:"annotations"`
	Limits          *Resources        `yaml:"limits"`
	Requests        *Resources        `yaml:"requests"`
	BuildArgs       map[string]string `yaml:"build_args"` // docker build --build-arg (faasbuild passes them too)
}

// Resources are a function's memory/cpu limits or requests.
type Resources struct {
	Memory string `yaml:"memory"`
	CPU    string `yaml:"cpu"`
}

// Load reads and env-substitutes the stack file at path, using lookup for
// variables (os.LookupEnv when nil).
func Load(path string, lookup func(string) (string, bool)) (*File, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read stack file: %w", err)
	}
	if lookup == nil {
		lookup = os.LookupEnv
	}
	var f File
	if err := yaml.Unmarshal([]byte(Substitute(string(raw), lookup)), &f); err != nil {
		return nil, fmt.Errorf("parse stack file %s: %w", path, err)
	}
	if f.Provider.Name != "openfaas" {
		return nil, fmt.Errorf("stack file %s: provider name must be openfaas, got %q", path, f.Provider.Name)
	}
	if len(f.Functions) == 0 {
		return nil, fmt.Errorf("stack file %s: no functions", path)
	}
	f.dir = filepath.Dir(path)
	return &f, nil
}

var varRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// Substitute expands ${VAR} and ${VAR:-default} as faas-cli does: an unset or
// empty VAR takes the default (empty without one).
func Substitute(s string, lookup func(string) (string, bool)) string {
	return varRef.ReplaceAllStringFunc(s, func(m string) string {
		p := varRef.FindStringSubmatch(m)
		if v, ok := lookup(p[1]); ok && v != "" {
			return v
		}
		return p[3]
	})
}

// Names returns the function names, sorted.
func (f *File) Names() []string {
	names := make([]string, 0, len(f.Functions))
	for n := range f.Functions {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Path resolves a path of the stack file (handler, copy, environment_file).
func (f *File) Path(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(f.dir, p)
}

// Env returns a function's environment as faas-cli deploys it: each
// environment_file's `environment:` map in order, then `environment`, which wins.
func (f *File) Env(name string) (map[string]string, error) {
	fn, ok := f.Functions[name]
	if !ok {
		return nil, fmt.Errorf("no function %q in stack file", name)
	}
	env := map[string]string{}
	for _, ef := range fn.EnvironmentFile {
		raw, err := os.ReadFile(f.Path(ef))
		if err != nil {
			return nil, fmt.Errorf("function %s: read environment_file: %w", name, err)
		}
		var doc struct {
			Environment map[string]string `yaml:"environment"`
		}
		if err := yaml.Unmarshal(raw, &doc); err != nil {
			return nil, fmt.Errorf("function %s: parse environment_file %s: %w", name, ef, err)
		}
		for k, v := range doc.Environment {
			env[k] = v
		}
	}
	for k, v := range fn.Environment {
		env[k] = v
	}
	return env, nil
}

// Schedule returns the cron schedule of a function annotated
// `topic: cron-function`, as the cron-connector reads it.
func (fn Function) Schedule() (string, bool) {
	topics := strings.Split(fn.Annotations["topic"], ",")
	for _, t := range topics {
		if strings.TrimSpace(t) == "cron-function" && fn.Annotations["schedule"] != "" {
			return fn.Annotations["schedule"], true
		}
	}
	return "", false
}
