package signatures_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/go-git/go-billy/v5/memfs"
	"github.com/go-git/go-billy/v5/util"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/memory"
	"github.com/hiddeco/sshsig"
	"golang.org/x/crypto/ssh"
)

// newPGPKey generates an OpenPGP key (EdDSA, as gpg makes by default) with one user id.
func newPGPKey(t *testing.T, name, email string) *openpgp.Entity {
	t.Helper()
	e, err := openpgp.NewEntity(name, "", email, &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA})
	if err != nil {
		t.Fatalf("generate openpgp key: %v", err)
	}
	return e
}

// armorPublic returns one ASCII-armored public key block holding the public keys of entities.
func armorPublic(t *testing.T, entities ...*openpgp.Entity) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PublicKeyType, nil)
	if err != nil {
		t.Fatalf("armor: %v", err)
	}
	for _, e := range entities {
		if err := e.Serialize(w); err != nil {
			t.Fatalf("serialize public key: %v", err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatalf("armor: %v", err)
	}
	return buf.Bytes()
}

// pgpFingerprint is the fingerprint as Signer reports it.
func pgpFingerprint(e *openpgp.Entity) string {
	return fmt.Sprintf("%X", e.PrimaryKey.Fingerprint)
}

// sshKey is a generated ed25519 SSH key and its authorized_keys line.
type sshKey struct {
	signer ssh.Signer
	// line is the public key in authorized_keys format, with comment.
	line string
}

func newSSHKey(t *testing.T, comment string) sshKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatalf("generate ssh key: %v", err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatalf("ssh signer: %v", err)
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(s.PublicKey()))) + " " + comment
	return sshKey{signer: s, line: line}
}

func (k sshKey) fingerprint() string { return ssh.FingerprintSHA256(k.signer.PublicKey()) }

// sshCommitSigner signs commits as git does with gpg.format=ssh: an armored SSH signature of
// the commit in the "git" namespace (or another, to test that it is refused), over SHA-512.
type sshCommitSigner struct {
	key       sshKey
	namespace string
}

var _ git.Signer = sshCommitSigner{}

func (s sshCommitSigner) Sign(message io.Reader) ([]byte, error) {
	ns := s.namespace
	if ns == "" {
		ns = "git"
	}
	sig, err := sshsig.Sign(message, s.key.signer, sshsig.HashSHA512, ns)
	if err != nil {
		return nil, err
	}
	return sshsig.Armor(sig), nil
}

// newRepo returns an empty in-memory repository with a work tree.
func newRepo(t *testing.T) *git.Repository {
	t.Helper()
	r, err := git.Init(memory.NewStorage(), memfs.New())
	if err != nil {
		t.Fatalf("init repository: %v", err)
	}
	return r
}

// commitPlan writes plans/site-a.yaml with the given failover flag and commits it with opts
// (sign with opts.SignKey or opts.Signer). It returns the commit as decoded from storage.
func commitPlan(t *testing.T, r *git.Repository, failover string, opts git.CommitOptions) *object.Commit {
	t.Helper()
	wt, err := r.Worktree()
	if err != nil {
		t.Fatalf("worktree: %v", err)
	}
	if err := util.WriteFile(wt.Filesystem, "plans/site-a.yaml", []byte("failover: "+failover+"\n"), 0o644); err != nil {
		t.Fatalf("write plan: %v", err)
	}
	if _, err := wt.Add("plans/site-a.yaml"); err != nil {
		t.Fatalf("add plan: %v", err)
	}
	opts.Author = &object.Signature{Name: "Alice", Email: "alice@example.com", When: time.Unix(1767225600, 0).UTC()}
	opts.AllowEmptyCommits = true
	h, err := wt.Commit("set failover: "+failover, &opts)
	if err != nil {
		t.Fatalf("commit: %v", err)
	}
	c, err := r.CommitObject(h)
	if err != nil {
		t.Fatalf("read commit: %v", err)
	}
	return c
}

// forge stores a new commit object made of c's fields, signature included, changed by alter,
// and returns it as decoded from storage: what an attacker who reuses a signature pushes.
func forge(t *testing.T, r *git.Repository, c *object.Commit, alter func(*object.Commit)) *object.Commit {
	t.Helper()
	f := &object.Commit{
		Author:       c.Author,
		Committer:    c.Committer,
		PGPSignature: c.PGPSignature,
		Message:      c.Message,
		TreeHash:     c.TreeHash,
		ParentHashes: c.ParentHashes,
	}
	alter(f)
	o := r.Storer.NewEncodedObject()
	if err := f.Encode(o); err != nil {
		t.Fatalf("encode forged commit: %v", err)
	}
	h, err := r.Storer.SetEncodedObject(o)
	if err != nil {
		t.Fatalf("store forged commit: %v", err)
	}
	forged, err := r.CommitObject(h)
	if err != nil {
		t.Fatalf("read forged commit: %v", err)
	}
	return forged
}
