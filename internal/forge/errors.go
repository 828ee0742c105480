package forge

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/go-github/v84/github"
)

// Classes of forge errors, for errors.Is. Each error the package returns wraps at most one.
var (
	// ErrRateLimited: the forge refused the request for its rate limits (429, or 403 with
	// GitHub's primary or secondary limit), after the retries the policy and the context
	// allowed. RetryAfter says when the forge asked to be called again. Transient.
	ErrRateLimited = errors.New("forge rate limit exceeded")
	// ErrUnavailable: the forge did not answer, or answered 5xx or 408. Transient.
	ErrUnavailable = errors.New("forge unavailable")
	// ErrUnauthorized: the token is missing, invalid or lacks a permission (401, or 403 not
	// for rate limits). Needs a human.
	ErrUnauthorized = errors.New("forge refused the token")
	// ErrNotFound: the repository, pull request, commit or comment does not exist, or the
	// token cannot see it (404).
	ErrNotFound = errors.New("not found on forge")
	// ErrNotSupported: the forge has no such feature (commit comments on Gitea).
	ErrNotSupported = errors.New("not supported by this forge")
)

// APIError is a request the forge refused or did not answer, with its class in Class.
type APIError struct {
	// Class is one of the Err* classes, or nil for another refusal (a 4xx such as 422).
	Class error
	// Status is the HTTP status, 0 when no answer came.
	Status int
	// RetryAfter is how long the forge asked to wait, when it said.
	RetryAfter time.Duration
	// Err is the client library's error.
	Err error
}

func (e *APIError) Error() string {
	msg := "no answer"
	if e.Err != nil {
		msg = e.Err.Error()
	}
	switch {
	case e.Class != nil && e.Status != 0:
		return fmt.Sprintf("%v (HTTP %d): %s", e.Class, e.Status, msg)
	case e.Class != nil:
		return fmt.Sprintf("%v: %s", e.Class, msg)
	case e.Status != 0:
		return fmt.Sprintf("HTTP %d: %s", e.Status, msg)
	}
	return msg
}

// Unwrap returns the class and the library's error, so errors.Is matches both.
func (e *APIError) Unwrap() []error {
	var out []error
	if e.Class != nil {
		out = append(out, e.Class)
	}
	if e.Err != nil {
		out = append(out, e.Err)
	}
	return out
}

// RetryAfter returns how long a rate-limited forge asked to wait before the next call.
func RetryAfter(err error) (time.Duration, bool) {
	if ae, ok := errors.AsType[*APIError](err); ok && ae.RetryAfter > 0 {
		return ae.RetryAfter, true
	}
	return 0, false
}

// reply is what classify needs of an HTTP answer (its body was read and closed by the SDK).
type reply struct {
	status int
	header http.Header
}

// replyOf takes the status and headers of an SDK's answer; nil when none came.
func replyOf(resp *http.Response) *reply {
	if resp == nil {
		return nil
	}
	return &reply{status: resp.StatusCode, header: resp.Header}
}

// classify turns a client library's error and the answer it came with (nil when none came)
// into an APIError. It returns nil for a nil err.
func classify(resp *reply, err error) error {
	if err == nil {
		return nil
	}
	ae := &APIError{Err: err}
	if resp != nil {
		ae.Status = resp.status
	}
	// go-github refuses a request locally while a known rate limit lasts; it sends nothing.
	if rl, ok := errors.AsType[*github.RateLimitError](err); ok {
		ae.Class = ErrRateLimited
		if d := time.Until(rl.Rate.Reset.Time); d > 0 {
			ae.RetryAfter = d
		}
		return ae
	}
	if ab, ok := errors.AsType[*github.AbuseRateLimitError](err); ok {
		ae.Class = ErrRateLimited
		// Without Retry-After, GitHub asks for at least a minute.
		ae.RetryAfter = time.Minute
		if ab.RetryAfter != nil {
			ae.RetryAfter = *ab.RetryAfter
		}
		return ae
	}
	if resp == nil {
		// No answer: the network, or the caller's deadline that the forge did not meet.
		ae.Class = ErrUnavailable
		return ae
	}
	if limited, wait := rateLimited(resp.status, resp.header, nil); limited {
		ae.Class, ae.RetryAfter = ErrRateLimited, wait
		return ae
	}
	switch code := resp.status; {
	case code >= 500 || code == http.StatusRequestTimeout:
		ae.Class = ErrUnavailable
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		ae.Class = ErrUnauthorized
	case code == http.StatusNotFound:
		ae.Class = ErrNotFound
	}
	return ae
}
