package source

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

func TestSettle(t *testing.T) {
	key := testSSHKey(t)
	cases := []struct {
		name     string
		opts     Options
		wantErr  string
		wantURL  string
		wantPath string
		wantUser string
		wantTok  string
	}{
		{name: "https branch root", opts: Options{URL: "https://git.example/org/plans.git", Ref: Ref{Branch: "main"}, CacheDir: "/c"},
			wantURL: "https://git.example/org/plans.git", wantPath: "."},
		{name: "sub-path cleaned", opts: Options{URL: "https://git.example/p.git", Ref: Ref{Branch: "main"}, Path: "/clusters//prod/", CacheDir: "/c"},
			wantURL: "https://git.example/p.git", wantPath: "clusters/prod"},
		{name: "token in URL moves to auth", opts: Options{URL: "https://bot:s3cret@git.example/p.git", Ref: Ref{Tag: "v1"}, CacheDir: "/c"},
			wantURL: "https://git.example/p.git", wantPath: ".", wantUser: "bot", wantTok: "s3cret"},
		{name: "auth token wins over URL", opts: Options{URL: "https://bot:old@git.example/p.git", Ref: Ref{Branch: "main"}, CacheDir: "/c", Auth: Auth{Token: "new"}},
			wantURL: "https://git.example/p.git", wantPath: ".", wantTok: "new"},
		{name: "commit with branch", opts: Options{URL: "http://127.0.0.1:3000/a/b.git", Ref: Ref{Branch: "main", Commit: "0123456789abcdef0123456789abcdef01234567"}, CacheDir: "/c"},
			wantURL: "http://127.0.0.1:3000/a/b.git", wantPath: "."},
		{name: "scp-like ssh", opts: Options{URL: "git@git.example:org/plans.git", Ref: Ref{Branch: "main"}, CacheDir: "/c", Auth: Auth{SSHPrivateKey: key, SSHKnownHosts: []byte("x")}},
			wantURL: "git@git.example:org/plans.git", wantPath: "."},
		{name: "missing url", opts: Options{Ref: Ref{Branch: "main"}, CacheDir: "/c"}, wantErr: "url is required"},
		{name: "missing ref", opts: Options{URL: "https://g/p.git", CacheDir: "/c"}, wantErr: "one of branch, tag or commit is required"},
		{name: "tag with branch", opts: Options{URL: "https://g/p.git", Ref: Ref{Tag: "v1", Branch: "main"}, CacheDir: "/c"}, wantErr: "tag excludes branch and commit"},
		{name: "short commit", opts: Options{URL: "https://g/p.git", Ref: Ref{Commit: "abc123"}, CacheDir: "/c"}, wantErr: "not a full 40-character"},
		{name: "bad branch", opts: Options{URL: "https://g/p.git", Ref: Ref{Branch: "a..b"}, CacheDir: "/c"}, wantErr: `invalid branch "a..b"`},
		{name: "path escapes", opts: Options{URL: "https://g/p.git", Ref: Ref{Branch: "main"}, Path: "../etc", CacheDir: "/c"}, wantErr: "must stay inside the repository"},
		{name: "missing cache dir", opts: Options{URL: "https://g/p.git", Ref: Ref{Branch: "main"}}, wantErr: "cache directory is required"},
		{name: "unsupported protocol", opts: Options{URL: "file:///srv/plans", Ref: Ref{Branch: "main"}, CacheDir: "/c"}, wantErr: `protocol "file" not supported`},
		{name: "token over ssh", opts: Options{URL: "ssh://git@g/p.git", Ref: Ref{Branch: "main"}, CacheDir: "/c", Auth: Auth{Token: "t"}}, wantErr: "a token needs an https URL"},
		{name: "ssh without known_hosts", opts: Options{URL: "ssh://git@g/p.git", Ref: Ref{Branch: "main"}, CacheDir: "/c", Auth: Auth{SSHPrivateKey: key}}, wantErr: "ssh needs a private key and known_hosts"},
		{name: "ssh key over https", opts: Options{URL: "https://g/p.git", Ref: Ref{Branch: "main"}, CacheDir: "/c", Auth: Auth{SSHPrivateKey: key}}, wantErr: "an ssh key needs an ssh URL"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			s, err := tc.opts.settle()
			if tc.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tc.wantErr)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(s.url).To(Equal(tc.wantURL))
			g.Expect(s.path).To(Equal(tc.wantPath))
			g.Expect(s.Auth.Username).To(Equal(tc.wantUser))
			g.Expect(s.Auth.Token).To(Equal(tc.wantTok))
			g.Expect(s.MaxBytes).To(Equal(DefaultMaxBytes))
		})
	}
}

func TestSanitizeURL(t *testing.T) {
	cases := []struct{ in, want string }{
		{"https://user:tok@git.example/org/p.git", "https://git.example/org/p.git"},
		{"https://tok@git.example/org/p.git", "https://git.example/org/p.git"},
		{"http://127.0.0.1:3000/a/b.git", "http://127.0.0.1:3000/a/b.git"},
		{"ssh://git:pw@git.example:2222/org/p.git", "ssh://git.example:2222/org/p.git"},
		{"git@git.example:org/p.git", "git@git.example:org/p.git"},
		{"user:pw@git.example:org/p.git", "git.example:org/p.git"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			NewWithT(t).Expect(SanitizeURL(tc.in)).To(Equal(tc.want))
		})
	}
}

// Secrets never show when options are printed or encoded.
func TestAuthNeverPrinted(t *testing.T) {
	opts := Options{URL: "https://g/p.git", Auth: Auth{Token: "tok-XYZZY", SSHPrivateKey: []byte("KEY-XYZZY"),
		SSHPassphrase: "pass-XYZZY", SSHKnownHosts: []byte("hosts")}}
	js, err := json.Marshal(opts)
	g := NewWithT(t)
	g.Expect(err).NotTo(HaveOccurred())
	for _, out := range []string{fmt.Sprintf("%v", opts), fmt.Sprintf("%+v", opts), fmt.Sprintf("%#v", opts), fmt.Sprint(opts.Auth.MarshalLog()), string(js)} {
		g.Expect(out).NotTo(ContainSubstring("XYZZY"))
	}
	g.Expect(opts.Auth.String()).To(Equal("token+ssh key+known_hosts"))
}

func TestBackoff(t *testing.T) {
	b := Backoff{Initial: time.Second, Max: 10 * time.Second, Factor: 2}
	cases := []struct {
		b        Backoff
		failures int
		want     time.Duration
	}{
		{b, 0, 0},
		{b, 1, time.Second},
		{b, 2, 2 * time.Second},
		{b, 4, 8 * time.Second},
		{b, 5, 10 * time.Second},
		{b, 500, 10 * time.Second},
		{Backoff{Initial: time.Second}, 3, 4 * time.Second},
		{Backoff{Initial: time.Second, Factor: 1}, 9, time.Second},
		{DefaultBackoff, 1, 5 * time.Second},
		{DefaultBackoff, 100, 5 * time.Minute},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%v/%d", tc.b, tc.failures), func(t *testing.T) {
			NewWithT(t).Expect(tc.b.Delay(tc.failures)).To(Equal(tc.want))
		})
	}
}
