package source

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"github.com/skeema/knownhosts"
)

// authMethod builds the go-git credentials for s, or nil for anonymous HTTPS.
func (s settings) authMethod() (transport.AuthMethod, error) {
	if s.ssh {
		return s.sshAuth()
	}
	if s.Auth.Token == "" && s.Auth.Username == "" {
		return nil, nil
	}
	user := s.Auth.Username
	if user == "" {
		user = "git"
	}
	return &githttp.BasicAuth{Username: user, Password: s.Auth.Token}, nil
}

func (s settings) sshAuth() (transport.AuthMethod, error) {
	ep, err := transport.NewEndpoint(s.URL)
	if err != nil {
		return nil, fmt.Errorf("url %s: not a git URL", s.url)
	}
	user := ep.User
	if user == "" {
		user = "git"
	}
	keys, err := gitssh.NewPublicKeys(user, s.Auth.SSHPrivateKey, s.Auth.SSHPassphrase)
	if err != nil {
		// The key parser's messages do not include key material.
		return nil, fmt.Errorf("ssh private key: %w", err)
	}
	db, err := knownHostsDB(s.Auth.SSHKnownHosts)
	if err != nil {
		return nil, err
	}
	port := ep.Port
	if port == 0 {
		port = 22
	}
	keys.HostKeyCallback = db.HostKeyCallback()
	keys.HostKeyAlgorithms = db.HostKeyAlgorithms(net.JoinHostPort(ep.Host, fmt.Sprint(port)))
	return keys, nil
}

// knownHostsDB parses known_hosts content. The parsers read files, so the (public) content goes
// through a temporary file that is removed at once.
func knownHostsDB(content []byte) (*knownhosts.HostKeyDB, error) {
	f, err := os.CreateTemp("", "drplan-known-hosts-")
	if err != nil {
		return nil, fmt.Errorf("parse known_hosts: %w", err)
	}
	defer func() { _ = os.Remove(f.Name()) }()
	_, werr := f.Write(content)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return nil, fmt.Errorf("parse known_hosts: %w", werr)
	}
	db, err := knownhosts.NewDB(f.Name())
	if err != nil {
		return nil, fmt.Errorf("parse known_hosts: %s", strings.ReplaceAll(err.Error(), f.Name(), "known_hosts"))
	}
	return db, nil
}

// secrets lists the strings that must never leave the package, in the forms they may take in
// messages (as given, and escaped inside a URL).
func (s settings) secrets() []string {
	var out []string
	add := func(v string) {
		if v == "" {
			return
		}
		out = append(out, v, url.QueryEscape(v), url.PathEscape(v))
	}
	add(s.Auth.Token)
	add(s.Auth.SSHPassphrase)
	if s.Auth.Token == "" {
		// A user name without a password is itself the token (https://TOKEN@host/...).
		add(s.Auth.Username)
	}
	if u, err := url.Parse(s.URL); err == nil && u.User != nil {
		p, ok := u.User.Password()
		if ok {
			add(p)
		} else {
			add(u.User.Username())
		}
	}
	return out
}
