package hooks

import (
	"strings"
	"sync"
	"unicode/utf8"
)

const (
	// outputLimit is how much of a hook's output Result.Output keeps: the end.
	outputLimit = 2 << 10
	// errorTailLimit is how much of a pod's output a failed exec's error quotes: the end.
	errorTailLimit = 200
)

// tail keeps the last bytes written to it. It is safe for concurrent writers.
type tail struct {
	mu    sync.Mutex
	limit int
	buf   []byte
}

func newTail(limit int) *tail { return &tail{limit: limit} }

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.limit; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

// String is what was kept, from its first whole character, without surrounding space.
func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.buf
	for len(b) > 0 && !utf8.RuneStart(b[0]) {
		b = b[1:]
	}
	return strings.TrimSpace(string(b))
}

// oneLine folds s on one line: runs of white space become one space.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
