package main

import (
	"bytes"
	"os"
	"strings"
)

func shortArgs(args []string) []string {
	if len(args) > 3 {
		return append(args[:3:3], "…")
	}
	return args
}

// tailOf quotes the last lines of a log for an error message.
func tailOf(path string) string {
	b, err := os.ReadFile(path)
	if err != nil || len(bytes.TrimSpace(b)) == 0 {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 8 {
		lines = lines[len(lines)-8:]
	}
	return " (log " + path + "):\n    " + strings.Join(lines, "\n    ")
}
