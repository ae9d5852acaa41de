package devstack

import (
	"debug/buildinfo"
	"regexp"
	"strings"
)

// versionVar is what the template's Dockerfile stamps the code version into
// (go build -ldflags "-X <versionVar>=$GIT_COMMIT").
const versionVar = "github.com/arrestcast/arrestcast/shared/config.Version"

// BinaryVersion is the code version a function binary was built with: the
// value its -ldflags (which Go records in the binary) gave versionVar. ""
// when the file is no Go binary or was built without it.
func BinaryVersion(path string) string {
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		return ""
	}
	for _, s := range bi.Settings {
		if s.Key == "-ldflags" {
			return stampedVersion(s.Value)
		}
	}
	return ""
}

// stampedVersion finds -X versionVar=V (or -X=versionVar=V) in ldflags.
func stampedVersion(ldflags string) string {
	fields := strings.Fields(ldflags)
	for i, f := range fields {
		x, ok := strings.CutPrefix(f, "-X=")
		if !ok && (f == "-X" || f == "--X") && i+1 < len(fields) {
			x, ok = fields[i+1], true
		}
		if !ok {
			continue
		}
		if v, found := strings.CutPrefix(strings.Trim(x, `'"`), versionVar+"="); found {
			return v
		}
	}
	return ""
}

var longCommit = regexp.MustCompile(`^([0-9a-f]{7})[0-9a-f]{1,33}(-dirty)?$`)

// ShortVersion is a code version as `git rev-parse --short` writes a
// commit (7 hex digits, "-dirty" kept); other versions stay as they are.
func ShortVersion(v string) string {
	if m := longCommit.FindStringSubmatch(v); m != nil {
		return m[1] + m[2]
	}
	return v
}
