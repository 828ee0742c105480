package golden

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// UpdateEnv is the environment variable that, set to any non-empty value, makes Assert rewrite
// golden files instead of comparing with them.
const UpdateEnv = "UPDATE_GOLDEN"

// Assert compares got with the golden file at path and fails t, naming the file and the first
// line that differs, when they differ or the file is missing. With UpdateEnv set it writes got
// to path instead, creating its directories.
func Assert(t testing.TB, path string, got []byte) {
	t.Helper()
	if os.Getenv(UpdateEnv) != "" {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatalf("write golden file %s: %v", path, err)
			return
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatalf("write golden file %s: %v", path, err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file %s (%s=1 writes it): %v", path, UpdateEnv, err)
		return
	}
	if bytes.Equal(got, want) {
		return
	}
	line, g, w := firstDiff(got, want)
	t.Fatalf("golden file %s differs at line %d (%s=1 rewrites it):\n got: %q\nwant: %q", path, line, UpdateEnv, g, w)
}

// AssertString is Assert for output held in a string.
func AssertString(t testing.TB, path, got string) {
	t.Helper()
	Assert(t, path, []byte(got))
}

// firstDiff returns the number (from 1) of the first line where got and want differ, and that
// line of each; a missing line is empty.
func firstDiff(got, want []byte) (int, []byte, []byte) {
	gl, wl := bytes.SplitAfter(got, []byte("\n")), bytes.SplitAfter(want, []byte("\n"))
	for i := 0; ; i++ {
		var g, w []byte
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if !bytes.Equal(g, w) || (i >= len(gl) && i >= len(wl)) {
			return i + 1, g, w
		}
	}
}
