package webhook

import (
	"crypto/sha256"
	"sync"
)

// recentDeliveries is how many deliveries a Handler remembers to recognise a replay.
const recentDeliveries = 1024

// recent remembers the last n keys added, oldest forgotten first.
type recent struct {
	mu    sync.Mutex
	keys  map[string]bool
	order []string
	n     int
}

func newRecent(n int) *recent { return &recent{keys: map[string]bool{}, n: n} }

// add records key and reports whether it is new.
func (r *recent) add(key string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.keys[key] {
		return false
	}
	if len(r.order) == r.n {
		delete(r.keys, r.order[0])
		r.order = r.order[1:]
	}
	r.keys[key] = true
	r.order = append(r.order, key)
	return true
}

func sha256Sum(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}
