package source

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"net"
	"testing"

	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	. "github.com/onsi/gomega"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

func testSSHKey(t *testing.T) []byte {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(block)
}

func testHostKey(t *testing.T) ssh.PublicKey {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestHTTPAuth(t *testing.T) {
	cases := []struct {
		name     string
		opts     Options
		wantNil  bool
		wantUser string
		wantPass string
	}{
		{name: "anonymous", opts: Options{URL: "https://g/p.git"}, wantNil: true},
		{name: "token with default user", opts: Options{URL: "https://g/p.git", Auth: Auth{Token: "t0k"}}, wantUser: "git", wantPass: "t0k"},
		{name: "token with user", opts: Options{URL: "https://g/p.git", Auth: Auth{Username: "bot", Token: "t0k"}}, wantUser: "bot", wantPass: "t0k"},
		{name: "token from URL", opts: Options{URL: "https://bot:t0k@g/p.git"}, wantUser: "bot", wantPass: "t0k"},
		{name: "token as URL user", opts: Options{URL: "https://t0k@g/p.git"}, wantUser: "t0k"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			tc.opts.Ref, tc.opts.CacheDir = Ref{Branch: "main"}, "/c"
			s, err := tc.opts.settle()
			g.Expect(err).NotTo(HaveOccurred())
			a, err := s.authMethod()
			g.Expect(err).NotTo(HaveOccurred())
			if tc.wantNil {
				g.Expect(a).To(BeNil())
				return
			}
			g.Expect(a).To(Equal(&githttp.BasicAuth{Username: tc.wantUser, Password: tc.wantPass}))
		})
	}
}

func TestSSHAuthVerifiesHostKey(t *testing.T) {
	g := NewWithT(t)
	host, other := testHostKey(t), testHostKey(t)
	hosts := knownhosts.Line([]string{"[git.example]:2222"}, host) + "\n"
	s, err := Options{URL: "ssh://git@git.example:2222/org/plans.git", Ref: Ref{Branch: "main"}, CacheDir: "/c",
		Auth: Auth{SSHPrivateKey: testSSHKey(t), SSHKnownHosts: []byte(hosts)}}.settle()
	g.Expect(err).NotTo(HaveOccurred())
	a, err := s.authMethod()
	g.Expect(err).NotTo(HaveOccurred())
	keys, ok := a.(*gitssh.PublicKeys)
	g.Expect(ok).To(BeTrue())
	g.Expect(keys.User).To(Equal("git"))
	g.Expect(keys.HostKeyAlgorithms).To(ContainElement(ssh.KeyAlgoED25519))
	addr := &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 2222}
	g.Expect(keys.HostKeyCallback("git.example:2222", addr, host)).To(Succeed())
	g.Expect(keys.HostKeyCallback("git.example:2222", addr, other)).NotTo(Succeed())
	g.Expect(keys.HostKeyCallback("elsewhere.example:2222", addr, host)).NotTo(Succeed())
}

func TestSSHAuthErrors(t *testing.T) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKeyWithPassphrase(priv, "", []byte("right-passphrase"))
	if err != nil {
		t.Fatal(err)
	}
	encrypted := pem.EncodeToMemory(block)
	hosts := []byte(knownhosts.Line([]string{"git.example"}, testHostKey(t)) + "\n")
	cases := []struct {
		name    string
		auth    Auth
		wantErr string
	}{
		{name: "garbage key", auth: Auth{SSHPrivateKey: []byte("not a key"), SSHKnownHosts: hosts}, wantErr: "ssh private key"},
		{name: "wrong passphrase", auth: Auth{SSHPrivateKey: encrypted, SSHPassphrase: "wrong-passphrase", SSHKnownHosts: hosts}, wantErr: "ssh private key"},
		{name: "garbage known_hosts", auth: Auth{SSHPrivateKey: testSSHKey(t), SSHKnownHosts: []byte("git.example ssh-ed25519 !!!\n")}, wantErr: "parse known_hosts"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			_, err := New(Options{URL: "git@git.example:org/plans.git", Ref: Ref{Branch: "main"}, CacheDir: t.TempDir(), Auth: tc.auth})
			g.Expect(err).To(MatchError(ContainSubstring(tc.wantErr)))
			g.Expect(err.Error()).NotTo(ContainSubstring("passphrase"))
			g.Expect(err.Error()).NotTo(ContainSubstring("PRIVATE KEY"))
			g.Expect(err.Error()).NotTo(ContainSubstring("/tmp/"))
		})
	}
}
