package source

import (
	"context"
	"errors"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/transport"
)

// Kinds of failure, for errors.Is. Every error a Source returns is redacted and wraps the kinds
// that apply, never the raw cause (whose text could hold credentials).
var (
	// ErrAuth means the remote refused the credentials, or wants some.
	ErrAuth = errors.New("authentication failed")
	// ErrRepositoryNotFound means the remote has no such repository (or hides it).
	ErrRepositoryNotFound = errors.New("repository not found")
	// ErrRefNotFound means the branch, tag, commit or ref does not exist in the remote.
	ErrRefNotFound = errors.New("ref not found")
	// ErrPathNotFound means the commit has no directory at the plans path.
	ErrPathNotFound = errors.New("path not found")
	// ErrTooLarge means the files under the plans path exceed Options.MaxBytes.
	ErrTooLarge = errors.New("files too large")
)

// kinds are matched in the cause and carried by the redacted error.
var kinds = []struct {
	match, kind error
}{
	{transport.ErrAuthenticationRequired, ErrAuth},
	{transport.ErrAuthorizationFailed, ErrAuth},
	{transport.ErrRepositoryNotFound, ErrRepositoryNotFound},
	{transport.ErrEmptyRemoteRepository, ErrRefNotFound},
	{git.NoMatchingRefSpecError{}, ErrRefNotFound},
	{ErrAuth, ErrAuth},
	{ErrRepositoryNotFound, ErrRepositoryNotFound},
	{ErrRefNotFound, ErrRefNotFound},
	{ErrPathNotFound, ErrPathNotFound},
	{ErrTooLarge, ErrTooLarge},
	{context.Canceled, context.Canceled},
	{context.DeadlineExceeded, context.DeadlineExceeded},
}

// redactedError is the only error type that leaves the package.
type redactedError struct {
	msg   string
	kinds []error
}

func (e *redactedError) Error() string   { return e.msg }
func (e *redactedError) Unwrap() []error { return e.kinds }

// redactor turns causes into redacted errors: the raw URL becomes the sanitized one and every
// secret becomes "***".
type redactor struct {
	r *strings.Replacer
}

func newRedactor(s settings) redactor {
	var pairs []string
	if s.URL != s.url {
		pairs = append(pairs, s.URL, s.url)
	}
	for _, v := range s.secrets() {
		pairs = append(pairs, v, "***")
	}
	return redactor{r: strings.NewReplacer(pairs...)}
}

// wrap returns "<op>: <cause>" redacted, carrying the kinds found in cause.
func (r redactor) wrap(op string, cause error) error {
	if cause == nil {
		return nil
	}
	e := &redactedError{msg: r.r.Replace(op + ": " + cause.Error())}
	for _, k := range kinds {
		if errors.Is(cause, k.match) && !containsErr(e.kinds, k.kind) {
			e.kinds = append(e.kinds, k.kind)
		}
	}
	return e
}

func containsErr(list []error, err error) bool {
	for _, e := range list {
		if e == err { //nolint:errorlint // identity of sentinel kinds in a flat list, not a chain
			return true
		}
	}
	return false
}
