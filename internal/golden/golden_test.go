package golden

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder is a testing.TB that records failures instead of ending the test.
type recorder struct {
	testing.TB
	failures []string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) {
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}

func (r *recorder) Errorf(format string, args ...any) {
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}

func TestAssert(t *testing.T) {
	t.Setenv(UpdateEnv, "")
	dir := t.TempDir()
	path := filepath.Join(dir, "out.golden")
	if err := os.WriteFile(path, []byte("one\ntwo\nthree\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
		got  string
		// want are substrings of the one failure; none means Assert passes.
		want []string
	}{
		{name: "equal", path: path, got: "one\ntwo\nthree\n"},
		{name: "differing line", path: path, got: "one\nTWO\nthree\n",
			want: []string{path, "line 2", `got: "TWO\n"`, `want: "two\n"`, "UPDATE_GOLDEN=1 rewrites it"}},
		{name: "missing line", path: path, got: "one\ntwo\n",
			want: []string{path, "line 3", `got: ""`, `want: "three\n"`}},
		{name: "missing file", path: filepath.Join(dir, "absent.golden"), got: "x",
			want: []string{filepath.Join(dir, "absent.golden"), "UPDATE_GOLDEN=1 writes it"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &recorder{TB: t}
			AssertString(r, tt.path, tt.got)
			if len(tt.want) == 0 {
				if len(r.failures) != 0 {
					t.Fatalf("Assert failed: %v", r.failures)
				}
				return
			}
			if len(r.failures) != 1 {
				t.Fatalf("Assert recorded %d failures, want 1: %v", len(r.failures), r.failures)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.failures[0], w) {
					t.Errorf("failure %q does not say %q", r.failures[0], w)
				}
			}
		})
	}
}

func TestAssertUpdate(t *testing.T) {
	t.Setenv(UpdateEnv, "yes")
	path := filepath.Join(t.TempDir(), "new", "dir", "out.golden")
	r := &recorder{TB: t}
	Assert(r, path, []byte("fresh\n"))
	if len(r.failures) != 0 {
		t.Fatalf("Assert failed in update mode: %v", r.failures)
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != "fresh\n" {
		t.Fatalf("golden file holds %q, %v; want %q", got, err, "fresh\n")
	}

	// Rewritten in place; compared equal once the variable is unset.
	Assert(r, path, []byte("newer\n"))
	t.Setenv(UpdateEnv, "")
	Assert(r, path, []byte("newer\n"))
	if len(r.failures) != 0 {
		t.Fatalf("Assert failed after rewrite: %v", r.failures)
	}
}
