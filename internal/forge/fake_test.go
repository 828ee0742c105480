package forge

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"
)

// fault is an answer served instead of the API's, once.
type fault struct {
	status int
	header map[string]string
	body   string
}

// fakeAPI is an httptest server answering with a forge's documented JSON shapes. Handlers are
// registered on mux; faults queued for "METHOD /path" are served first, one per request.
type fakeAPI struct {
	t   *testing.T
	mux *http.ServeMux
	srv *httptest.Server
	// authHeader and authValue are the header every request must carry.
	authHeader, authValue string

	mu       sync.Mutex
	faults   map[string][]fault
	requests []string
	waitLog
}

func newFakeAPI(t *testing.T, authHeader, authValue string) *fakeAPI {
	f := &fakeAPI{t: t, mux: http.NewServeMux(), faults: map[string][]fault{}, authHeader: authHeader, authValue: authValue}
	f.srv = httptest.NewServer(f)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := r.Method + " " + r.URL.Path
	f.mu.Lock()
	f.requests = append(f.requests, key)
	var ft *fault
	if q := f.faults[key]; len(q) > 0 {
		ft, f.faults[key] = &q[0], q[1:]
	}
	f.mu.Unlock()
	if got := r.Header.Get(f.authHeader); got != f.authValue {
		http.Error(w, `{"message":"Bad credentials"}`, http.StatusUnauthorized)
		return
	}
	if r.URL.Query().Has("token") || r.URL.Query().Has("access_token") || r.URL.Query().Has("private_token") {
		f.t.Errorf("%s: token sent in the URL", key)
	}
	if ft != nil {
		for k, v := range ft.header {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(ft.status)
		_, _ = w.Write([]byte(ft.body))
		return
	}
	f.mux.ServeHTTP(w, r)
}

// fail queues faults for method and path.
func (f *fakeAPI) fail(method, path string, fs ...fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults[method+" "+path] = append(f.faults[method+" "+path], fs...)
}

// count returns how many requests method and path got.
func (f *fakeAPI) count(method, path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.requests {
		if r == method+" "+path {
			n++
		}
	}
	return n
}

// counts returns how many requests each method got.
func (f *fakeAPI) counts() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	for _, r := range f.requests {
		m, _, _ := cutSpace(r)
		out[m]++
	}
	return out
}

// waitLog records the waits a retry policy asks for instead of sleeping them: tests assert
// what the client chose to wait, not how long the machine took.
type waitLog struct {
	wmu   sync.Mutex
	waits []time.Duration
}

// retry is fastRetry with its waits recorded in l.
func (l *waitLog) retry() RetryPolicy {
	p := fastRetry
	p.sleep = func(ctx context.Context, d time.Duration) error {
		l.wmu.Lock()
		l.waits = append(l.waits, d)
		l.wmu.Unlock()
		return ctx.Err()
	}
	return p
}

// waited returns the waits between attempts, in order.
func (l *waitLog) waited() []time.Duration {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	return append([]time.Duration(nil), l.waits...)
}

// sum adds durations up.
func sum(ds []time.Duration) time.Duration {
	var t time.Duration
	for _, d := range ds {
		t += d
	}
	return t
}

func cutSpace(s string) (string, string, bool) {
	for i := range s {
		if s[i] == ' ' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// writeJSON writes v as JSON with the status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// pageOf serves items page by page, size per page, with GitHub's and Gitea's Link header
// (rel="next", rel="last") and GitLab's X-Page, X-Next-Page and X-Total-Pages headers.
func pageOf[T any](w http.ResponseWriter, r *http.Request, items []T, size int) []T {
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	if page < 1 {
		page = 1
	}
	last := max((len(items)+size-1)/size, 1)
	lo, hi := min((page-1)*size, len(items)), min(page*size, len(items))
	link := func(p int, rel string) string {
		u := *r.URL
		u.Scheme, u.Host = "http", r.Host
		q := u.Query()
		q.Set("page", strconv.Itoa(p))
		u.RawQuery = q.Encode()
		return fmt.Sprintf("<%s>; rel=%q", u.String(), rel)
	}
	next := ""
	if page < last {
		w.Header().Set("Link", link(page+1, "next")+", "+link(last, "last"))
		next = strconv.Itoa(page + 1)
	}
	w.Header().Set("X-Page", strconv.Itoa(page))
	w.Header().Set("X-Next-Page", next)
	w.Header().Set("X-Total-Pages", strconv.Itoa(last))
	w.Header().Set("X-Per-Page", strconv.Itoa(size))
	w.Header().Set("X-Total", strconv.Itoa(len(items)))
	return items[lo:hi]
}

// fastRetry retries quickly, so that tests of backoff take milliseconds.
var fastRetry = RetryPolicy{MaxAttempts: 4, BaseDelay: 10 * time.Millisecond, MaxDelay: 40 * time.Millisecond, MaxWait: 5 * time.Second}
