package forge

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-logr/logr"
)

// RetryPolicy bounds the retries of one request.
type RetryPolicy struct {
	// MaxAttempts is the number of attempts, the first included.
	MaxAttempts int
	// BaseDelay is the first backoff; each further one doubles, with jitter.
	BaseDelay time.Duration
	// MaxDelay caps a computed backoff.
	MaxDelay time.Duration
	// MaxWait is the longest wait the forge may ask for (Retry-After, rate-limit reset) that
	// is still waited for; a longer one ends the retries at once with ErrRateLimited.
	MaxWait time.Duration

	// sleep waits d or until ctx ends; nil is a timer. Tests record the waits with it.
	sleep func(ctx context.Context, d time.Duration) error
}

// DefaultRetry is the policy of a zero RetryPolicy: four attempts within about a minute.
var DefaultRetry = RetryPolicy{MaxAttempts: 4, BaseDelay: 500 * time.Millisecond, MaxDelay: 10 * time.Second, MaxWait: time.Minute}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = DefaultRetry.MaxAttempts
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = DefaultRetry.BaseDelay
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = DefaultRetry.MaxDelay
	}
	if p.MaxWait <= 0 {
		p.MaxWait = DefaultRetry.MaxWait
	}
	return p
}

// backoff is the wait before attempt n+1 after n failed ones: BaseDelay·2^(n-1), capped,
// with the upper half jittered so that agents do not retry in step.
func (p RetryPolicy) backoff(n int) time.Duration {
	d := p.BaseDelay << min(n-1, 20)
	if d <= 0 || d > p.MaxDelay {
		d = p.MaxDelay
	}
	return d/2 + rand.N(d/2+1)
}

// retryTransport retries what a forge did not do (5xx, rate limits, no answer) within the
// policy and the request's context. It gives every attempt its own timeout.
type retryTransport struct {
	base      http.RoundTripper
	policy    RetryPolicy
	timeout   time.Duration
	userAgent string
}

// errorBodyLimit bounds what is kept of an error answer between attempts.
const errorBodyLimit = 1 << 20

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		// Keep the body to send it again (the GitLab client's requests come without GetBody).
		b, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		req = req.Clone(ctx)
		req.Body = io.NopCloser(bytes.NewReader(b))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	log := logr.FromContextOrDiscard(ctx)
	for attempt := 1; ; attempt++ {
		r := req.Clone(ctx)
		if attempt > 1 && req.GetBody != nil {
			b, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			r.Body = b
		}
		if r.Header.Get("User-Agent") == "" {
			r.Header.Set("User-Agent", t.userAgent)
		}
		actx, cancel := context.WithTimeout(ctx, t.timeout)
		resp, err := base.RoundTrip(r.WithContext(actx))
		if err != nil {
			cancel()
		} else {
			resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
		}

		retry, wait, limited := t.decide(req, resp, err, attempt)
		if !retry {
			return resp, err
		}
		if resp != nil {
			// Keep the answer: it is returned as is if the retry cannot happen.
			resp = buffered(resp)
		}
		if wait > t.policy.MaxWait {
			return resp, err
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= wait {
			return resp, err
		}
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		log.V(1).Info("forge request retried", "method", req.Method, "path", req.URL.Path,
			"status", status, "attempt", attempt, "wait", wait.String(), "rateLimited", limited)
		if t.policy.pause(ctx, wait) != nil {
			return resp, err
		}
	}
}

// pause waits d, or less when ctx ends first (then it returns ctx's error).
func (p RetryPolicy) pause(ctx context.Context, d time.Duration) error {
	if p.sleep != nil {
		return p.sleep(ctx, d)
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// decide says whether to retry after attempt n, how long to wait first, and whether the
// forge refused for its rate limits.
func (t *retryTransport) decide(req *http.Request, resp *http.Response, err error, n int) (retry bool, wait time.Duration, limited bool) {
	if n >= t.policy.MaxAttempts || req.Context().Err() != nil {
		return false, 0, false
	}
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	if !replayable {
		return false, 0, false
	}
	idempotent := req.Method != http.MethodPost
	if err != nil {
		// No answer: a create may or may not have happened, so only repeat what is safe.
		return idempotent, t.policy.backoff(n), false
	}
	var body []byte
	if resp.StatusCode == http.StatusForbidden {
		body = peek(resp)
	}
	if ok, w := rateLimited(resp.StatusCode, resp.Header, body); ok {
		if w <= 0 {
			w = t.policy.backoff(n)
		}
		return true, w, true
	}
	switch resp.StatusCode {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		// The request did not reach a working forge: safe to send again, even a create.
		return true, max(retryAfter(resp.Header), t.policy.backoff(n)), false
	case http.StatusInternalServerError, http.StatusRequestTimeout:
		return idempotent, t.policy.backoff(n), false
	}
	return false, 0, false
}

// rateLimited reports whether an answer is a rate-limit refusal and how long the forge asked
// to wait (0 when it did not say). body is the answer's body for a 403, or nil.
func rateLimited(status int, h http.Header, body []byte) (bool, time.Duration) {
	switch status {
	case http.StatusTooManyRequests:
		return true, waitFromHeaders(h)
	case http.StatusForbidden:
		if h.Get("Retry-After") != "" || h.Get("X-RateLimit-Remaining") == "0" || h.Get("RateLimit-Remaining") == "0" {
			return true, waitFromHeaders(h)
		}
		if secondaryLimit(body) {
			// GitHub: without a header, wait at least a minute before retrying.
			if w := waitFromHeaders(h); w > 0 {
				return true, w
			}
			return true, time.Minute
		}
	}
	return false, 0
}

// secondaryLimit reports whether a 403 body is GitHub's secondary (abuse) rate limit, by the
// documentation URL GitHub documents for it.
func secondaryLimit(body []byte) bool {
	var e struct {
		DocumentationURL string `json:"documentation_url"`
	}
	if json.Unmarshal(body, &e) != nil {
		return false
	}
	return strings.HasSuffix(e.DocumentationURL, "secondary-rate-limits") ||
		strings.HasSuffix(e.DocumentationURL, "#abuse-rate-limits")
}

// waitFromHeaders reads Retry-After, then the reset time of an exhausted rate limit (GitHub's
// X-RateLimit-Reset, GitLab's RateLimit-Reset, both in Unix seconds).
func waitFromHeaders(h http.Header) time.Duration {
	if w := retryAfter(h); w > 0 {
		return w
	}
	for _, p := range []string{"X-RateLimit-", "RateLimit-"} {
		if h.Get(p+"Remaining") != "0" {
			continue
		}
		if s, err := strconv.ParseInt(h.Get(p+"Reset"), 10, 64); err == nil {
			if d := time.Until(time.Unix(s, 0)); d > 0 {
				return d
			}
		}
	}
	return 0
}

// retryAfter reads Retry-After, in seconds or as an HTTP date.
func retryAfter(h http.Header) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(time.Until(at), 0)
	}
	return 0
}

// peek reads a bounded copy of an answer's body and puts it back for the caller.
func peek(resp *http.Response) []byte {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, errorBodyLimit))
	rest := resp.Body
	resp.Body = &multiCloser{Reader: io.MultiReader(bytes.NewReader(b), rest), c: rest}
	return b
}

// buffered returns the answer with its body in memory, releasing the connection.
func buffered(resp *http.Response) *http.Response {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, errorBodyLimit))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, errorBodyLimit))
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	resp.ContentLength = int64(len(b))
	return resp
}

// cancelBody ends an attempt's context when its body is closed.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

type multiCloser struct {
	io.Reader
	c io.Closer
}

func (m *multiCloser) Close() error { return m.c.Close() }
