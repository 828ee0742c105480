package signatures_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/memory"
	. "github.com/onsi/gomega"

	"github.com/drplan/drplan/internal/signatures"
)

// decodeCommit stores a raw commit object and decodes it, as go-git reads one from a clone.
func decodeCommit(t *testing.T, raw []byte) *object.Commit {
	t.Helper()
	s := memory.NewStorage()
	o := s.NewEncodedObject()
	o.SetType(plumbing.CommitObject)
	w, err := o.Writer()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	h, err := s.SetEncodedObject(o)
	if err != nil {
		t.Fatal(err)
	}
	c, err := object.GetCommit(s, h)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestVerifyGitSignedCommits checks commits that git signed with gpg and ssh-keygen
// (testdata/generate.sh), so that the payload and formats match git's, not only go-git's.
func TestVerifyGitSignedCommits(t *testing.T) {
	ring, err := signatures.Load("testdata/trusted.asc", "testdata/trusted_keys")
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		file string
		want signatures.Signer
	}{
		{"commit_pgp_ed25519.txt", signatures.Signer{Kind: signatures.KindOpenPGP, Fingerprint: "18FFFF09766F4D39C68599A9ED117659156BFF8B", Identity: "Pat Ed <pat@example.com>"}},
		{"commit_pgp_rsa.txt", signatures.Signer{Kind: signatures.KindOpenPGP, Fingerprint: "E8D51B77432B8D97BF34E98C35DD3FAABF34BE64", Identity: "Pat Rsa <pat.rsa@example.com>"}},
		{"commit_ssh_ed25519.txt", signatures.Signer{Kind: signatures.KindSSH, Fingerprint: "SHA256:lEP+aJzz6ZhC7BHxWSvLRb7eF7BdZOVXn0cRI648eNA", Identity: "sam-ed25519@example.com"}},
		{"commit_ssh_rsa.txt", signatures.Signer{Kind: signatures.KindSSH, Fingerprint: "SHA256:B96MSUXx0T8IxDCaICBGxCit+aUNWT0omNUv4+KKmvA", Identity: "sam-rsa@example.com"}},
		{"commit_ssh_ecdsa.txt", signatures.Signer{Kind: signatures.KindSSH, Fingerprint: "SHA256:PjvOygaA6zPAhy7um5yDTlURCUTKLyNcnsQq1ssOBmk", Identity: "sam-ecdsa@example.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			g := NewWithT(t)
			raw, err := os.ReadFile(filepath.Join("testdata", tt.file))
			g.Expect(err).NotTo(HaveOccurred())

			got, err := ring.Verify(decodeCommit(t, raw))
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got).To(Equal(tt.want))

			// The same object with one byte of its message changed no longer verifies.
			altered := bytes.Replace(raw, []byte("fail over ("), []byte("fail over!("), 1)
			g.Expect(altered).NotTo(Equal(raw))
			_, err = ring.Verify(decodeCommit(t, altered))
			g.Expect(err).To(MatchError(signatures.ErrBadSignature))
		})
	}
}
