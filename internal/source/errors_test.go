package source

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/transport"
	. "github.com/onsi/gomega"
)

func TestRedactedErrors(t *testing.T) {
	const token = "tok/en+with=chars"
	raw := "https://bot:" + url.PathEscape(token) + "@git.example/org/plans.git"
	s, err := Options{URL: raw, Ref: Ref{Branch: "main"}, CacheDir: "/c", Auth: Auth{SSHPassphrase: ""}}.settle()
	if err != nil {
		t.Fatal(err)
	}
	red := newRedactor(s)
	cases := []struct {
		name      string
		cause     error
		wantMsg   string
		wantKinds []error
	}{
		{name: "raw URL in the cause", cause: fmt.Errorf("dial %s: connection refused", raw),
			wantMsg: "fetch: dial https://git.example/org/plans.git: connection refused"},
		{name: "token as is", cause: errors.New("server said: bad token " + token),
			wantMsg: "fetch: server said: bad token ***"},
		{name: "token query-escaped", cause: errors.New("GET /?t=" + url.QueryEscape(token)),
			wantMsg: "fetch: GET /?t=***"},
		{name: "auth kind", cause: fmt.Errorf("%w: Unauthorized", transport.ErrAuthenticationRequired),
			wantMsg: "fetch: authentication required: Unauthorized", wantKinds: []error{ErrAuth}},
		{name: "forbidden is auth too", cause: transport.ErrAuthorizationFailed,
			wantMsg: "fetch: authorization failed", wantKinds: []error{ErrAuth}},
		{name: "repository kind", cause: transport.ErrRepositoryNotFound,
			wantMsg: "fetch: repository not found", wantKinds: []error{ErrRepositoryNotFound}},
		{name: "empty remote", cause: transport.ErrEmptyRemoteRepository, wantMsg: "fetch: remote repository is empty", wantKinds: []error{ErrRefNotFound}},
		{name: "canceled", cause: fmt.Errorf("fetch pack: %w", context.Canceled), wantMsg: "fetch: fetch pack: context canceled", wantKinds: []error{context.Canceled}},
		{name: "own kinds", cause: fmt.Errorf("directory plans: %w", ErrPathNotFound), wantMsg: "fetch: directory plans: path not found", wantKinds: []error{ErrPathNotFound}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			err := red.wrap("fetch", tc.cause)
			g.Expect(err.Error()).To(Equal(tc.wantMsg))
			g.Expect(err.Error()).NotTo(ContainSubstring(token))
			for _, k := range []error{ErrAuth, ErrRepositoryNotFound, ErrRefNotFound, ErrPathNotFound, ErrTooLarge, context.Canceled} {
				g.Expect(errors.Is(err, k)).To(Equal(containsErr(tc.wantKinds, k)), "kind %v", k)
			}
			// The raw cause is not reachable through the chain.
			g.Expect(errors.Is(err, tc.cause)).To(Equal(containsErr(tc.wantKinds, tc.cause)))
		})
	}
	g := NewWithT(t)
	g.Expect(red.wrap("fetch", nil)).To(BeNil())
}
