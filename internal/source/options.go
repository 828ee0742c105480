package source

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"k8s.io/utils/clock"
)

// DefaultMaxBytes bounds the size of the files a snapshot holds in memory.
const DefaultMaxBytes int64 = 32 << 20

// Options configure a Source.
type Options struct {
	// URL of the repository: https://, http:// or ssh:// (or scp-like user@host:path).
	// User info in the URL is used as credentials when Auth has none, and never logged.
	URL string
	// Ref selects the tracked revision.
	Ref Ref
	// Path is the directory of the plans inside the repository; the root when empty.
	Path string
	// CacheDir holds the bare clone (in a sub-directory keyed by the URL). Reused across restarts.
	CacheDir string
	// Auth carries the credentials' values.
	Auth Auth
	// CABundle is an additional PEM bundle trusted for HTTPS.
	CABundle []byte
	// MaxBytes bounds the total size of the files under Path; DefaultMaxBytes when zero.
	MaxBytes int64
	// Clock is used for Status times; the real clock when nil.
	Clock clock.PassiveClock
}

// Ref names what a Source tracks: a branch, a tag, or a commit (optionally with the branch that
// holds it, to narrow the fetch).
type Ref struct {
	// Branch is a branch name such as "main".
	Branch string
	// Tag is a tag name such as "v1.2.0"; it excludes Branch and Commit.
	Tag string
	// Commit is a full hexadecimal commit SHA.
	Commit string
}

// String describes the ref for logs and errors.
func (r Ref) String() string {
	switch {
	case r.Commit != "" && r.Branch != "":
		return "commit " + r.Commit + " on branch " + r.Branch
	case r.Commit != "":
		return "commit " + r.Commit
	case r.Tag != "":
		return "tag " + r.Tag
	default:
		return "branch " + r.Branch
	}
}

func (r Ref) validate() error {
	switch {
	case r.Tag != "" && (r.Branch != "" || r.Commit != ""):
		return errors.New("ref: tag excludes branch and commit")
	case r.Tag == "" && r.Branch == "" && r.Commit == "":
		return errors.New("ref: one of branch, tag or commit is required")
	}
	if r.Branch != "" {
		if err := plumbing.NewBranchReferenceName(r.Branch).Validate(); err != nil {
			return fmt.Errorf("ref: invalid branch %q", r.Branch)
		}
	}
	if r.Tag != "" {
		if err := plumbing.NewTagReferenceName(r.Tag).Validate(); err != nil {
			return fmt.Errorf("ref: invalid tag %q", r.Tag)
		}
	}
	if r.Commit != "" {
		if _, err := hex.DecodeString(r.Commit); err != nil || len(r.Commit) != 40 {
			return fmt.Errorf("ref: commit %q is not a full 40-character hexadecimal SHA", r.Commit)
		}
	}
	return nil
}

// Auth holds credential values, already read from files or the environment by the caller.
// Its String, GoString and MarshalLog never show them.
type Auth struct {
	// Username goes with Token in HTTPS basic auth; "git" when empty (Gitea, GitHub and GitLab
	// accept any user name with a token as the password).
	Username string
	// Token is an HTTPS access token, sent as the basic-auth password.
	Token string
	// SSHPrivateKey is a PEM private key for ssh:// URLs.
	SSHPrivateKey []byte
	// SSHPassphrase decrypts SSHPrivateKey when it is encrypted.
	SSHPassphrase string
	// SSHKnownHosts is the content of a known_hosts file; required with SSH, the host key is
	// always verified.
	SSHKnownHosts []byte
}

// String says which credentials are set, never their values.
func (a Auth) String() string {
	var parts []string
	if a.Token != "" {
		parts = append(parts, "token")
	}
	if len(a.SSHPrivateKey) > 0 {
		parts = append(parts, "ssh key")
	}
	if len(a.SSHKnownHosts) > 0 {
		parts = append(parts, "known_hosts")
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "+")
}

// GoString is String, so %#v does not print secrets either.
func (a Auth) GoString() string { return a.String() }

// MarshalLog implements logr.Marshaler.
func (a Auth) MarshalLog() any { return a.String() }

// MarshalJSON keeps secrets out of JSON-encoded logs and dumps.
func (a Auth) MarshalJSON() ([]byte, error) { return []byte(`"` + a.String() + `"`), nil }

// settings are validated Options with defaults applied.
type settings struct {
	Options
	// url is the URL without user info, used for the remote and in every message.
	url string
	// ssh is true for ssh:// and scp-like URLs.
	ssh bool
	// path is the cleaned sub-path, "." for the root.
	path string
}

func (o Options) settle() (settings, error) {
	s := settings{Options: o}
	if o.URL == "" {
		return s, errors.New("url is required")
	}
	ep, err := transport.NewEndpoint(o.URL)
	if err != nil {
		return s, fmt.Errorf("url %s: not a git URL", SanitizeURL(o.URL))
	}
	switch ep.Protocol {
	case "http", "https":
	case "ssh":
		s.ssh = true
	default:
		return s, fmt.Errorf("url %s: protocol %q not supported (https, http or ssh)", SanitizeURL(o.URL), ep.Protocol)
	}
	s.url = SanitizeURL(o.URL)
	if !s.ssh && (ep.User != "" || ep.Password != "") && s.Auth.Token == "" {
		// Credentials in the URL are moved out of it: the remote stored in the cache and every
		// message use the sanitized URL. A lone user name may be a token (GitHub accepts that).
		s.Auth.Username, s.Auth.Token = ep.User, ep.Password
	}
	if s.ssh {
		if s.Auth.Token != "" {
			return s, fmt.Errorf("url %s: a token needs an https URL, not ssh", s.url)
		}
		if len(s.Auth.SSHPrivateKey) == 0 || len(s.Auth.SSHKnownHosts) == 0 {
			return s, fmt.Errorf("url %s: ssh needs a private key and known_hosts", s.url)
		}
	} else if len(s.Auth.SSHPrivateKey) > 0 {
		return s, fmt.Errorf("url %s: an ssh key needs an ssh URL", s.url)
	}
	if err := o.Ref.validate(); err != nil {
		return s, err
	}
	p := path.Clean("/" + strings.TrimSpace(o.Path))
	if strings.Contains(o.Path, "..") {
		return s, fmt.Errorf("path %q must stay inside the repository", o.Path)
	}
	s.path = strings.TrimPrefix(p, "/")
	if s.path == "" {
		s.path = "."
	}
	if o.CacheDir == "" {
		return s, errors.New("cache directory is required")
	}
	if s.MaxBytes <= 0 {
		s.MaxBytes = DefaultMaxBytes
	}
	if s.Clock == nil {
		s.Clock = clock.RealClock{}
	}
	return s, nil
}

// SanitizeURL strips user info (user names, passwords and tokens) from a URL. Scp-like SSH
// addresses keep a plain user name such as "git@", which is not a secret.
func SanitizeURL(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Scheme != "" && u.Host != "" {
		u.User = nil
		return u.String()
	}
	// scp-like: [user@]host:path
	if at := strings.Index(raw, "@"); at >= 0 {
		if colon := strings.Index(raw, ":"); colon >= 0 && colon < at {
			return raw[at+1:]
		}
	}
	return raw
}

func (s settings) now() time.Time { return s.Clock.Now() }
