package webhook

import (
	"context"
	"sync"
)

// queue holds the newest pending event per key, in arrival order of the keys.
type queue struct {
	mu      sync.Mutex
	pending map[string]Event
	order   []string
	max     int
	wake    chan struct{}
}

func newQueue(max int) *queue {
	return &queue{pending: map[string]Event{}, max: max, wake: make(chan struct{}, 1)}
}

// add queues e, replacing a pending event with the same key. It reports false when the queue
// is full of other keys.
func (q *queue) add(e Event) (coalesced, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	k := e.key()
	_, coalesced = q.pending[k]
	if !coalesced {
		if len(q.order) >= q.max {
			return false, false
		}
		q.order = append(q.order, k)
	}
	q.pending[k] = e
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return coalesced, true
}

// next pops the oldest pending event.
func (q *queue) next() (Event, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.order) == 0 {
		return Event{}, false
	}
	k := q.order[0]
	q.order = q.order[1:]
	e := q.pending[k]
	delete(q.pending, k)
	return e, true
}

// run calls deliver for each event, one at a time, until ctx is done.
func (q *queue) run(ctx context.Context, deliver func(Event)) {
	for {
		for {
			e, ok := q.next()
			if !ok {
				break
			}
			deliver(e)
			if ctx.Err() != nil {
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-q.wake:
		}
	}
}
