package signatures_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
	. "github.com/onsi/gomega"

	"github.com/drplan/drplan/internal/signatures"
)

var refusals = []error{signatures.ErrUnsigned, signatures.ErrUntrustedKey, signatures.ErrBadSignature}

func TestVerify(t *testing.T) {
	alice := newPGPKey(t, "Alice", "alice@example.com")
	carol := newPGPKey(t, "Carol", "carol@example.com")
	dave := newPGPKey(t, "Dave", "dave@example.com")
	revoked := newPGPKey(t, "Rita", "rita@example.com")
	mallory := newPGPKey(t, "Mallory", "mallory@example.com")
	bob := newSSHKey(t, "bob@laptop")
	eve := newSSHKey(t, "eve@elsewhere")

	// Rita signs, then revokes her key; the ring holds the revocation.
	ritaRepo := newRepo(t)
	ritaCommit := commitPlan(t, ritaRepo, "true", git.CommitOptions{SignKey: revoked})
	if err := revoked.RevokeKey(packet.KeyCompromised, "lost laptop", nil); err != nil {
		t.Fatal(err)
	}

	// The trusted set as an operator mounts it: a key file each, one holding two keys.
	ring := &signatures.KeyRing{}
	for _, f := range []struct {
		name string
		data []byte
	}{
		{"alice.asc", armorPublic(t, alice)},
		{"carol-dave.asc", armorPublic(t, carol, dave)},
		{"bob.pub", []byte("# Bob's signing key\n" + bob.line + "\n")},
		{"rita-revoked.asc", armorPublic(t, revoked)},
	} {
		if err := ring.Add(f.name, f.data); err != nil {
			t.Fatal(err)
		}
	}

	// Each case builds its commit in a repository of its own.
	tests := []struct {
		name    string
		commit  func(t *testing.T, r *git.Repository) *object.Commit
		want    signatures.Signer
		wantErr error
		// errHas is text the error must show, such as the untrusted key's fingerprint.
		errHas string
	}{
		{
			name: "trusted openpgp key",
			commit: func(t *testing.T, r *git.Repository) *object.Commit {
				return commitPlan(t, r, "true", git.CommitOptions{SignKey: alice})
			},
			want: signatures.Signer{Kind: signatures.KindOpenPGP, Fingerprint: pgpFingerprint(alice), Identity: "Alice <alice@example.com>"},
		},
		{
			name: "trusted openpgp key, second of a file with two",
			commit: func(t *testing.T, r *git.Repository) *object.Commit {
				return commitPlan(t, r, "true", git.CommitOptions{SignKey: dave})
			},
			want: signatures.Signer{Kind: signatures.KindOpenPGP, Fingerprint: pgpFingerprint(dave), Identity: "Dave <dave@example.com>"},
		},
		{
			name: "trusted ssh key",
			commit: func(t *testing.T, r *git.Repository) *object.Commit {
				return commitPlan(t, r, "true", git.CommitOptions{Signer: sshCommitSigner{key: bob}})
			},
			want: signatures.Signer{Kind: signatures.KindSSH, Fingerprint: bob.fingerprint(), Identity: "bob@laptop"},
		},
		{
			name: "unsigned",
			commit: func(t *testing.T, r *git.Repository) *object.Commit {
				return commitPlan(t, r, "true", git.CommitOptions{})
			},
			wantErr: signatures.ErrUnsigned,
		},
		{
			name: "untrusted openpgp key",
			commit: func(t *testing.T, r *git.Repository) *object.Commit {
				return commitPlan(t, r, "true", git.CommitOptions{SignKey: mallory})
			},
			wantErr: signatures.ErrUntrustedKey,
			errHas:  "openpgp key " + pgpFingerprint(mallory),
		},
		{
			name: "untrusted ssh key",
			commit: func(t *testing.T, r *git.Repository) *object.Commit {
				return commitPlan(t, r, "true", git.CommitOptions{Signer: sshCommitSigner{key: eve}})
			},
			wantErr: signatures.ErrUntrustedKey,
			errHas:  "ssh key " + eve.fingerprint(),
		},
		{
			name: "revoked openpgp key",
			commit: func(t *testing.T, r *git.Repository) *object.Commit {
				return ritaCommit
			},
			wantErr: signatures.ErrUntrustedKey,
			errHas:  "openpgp key " + pgpFingerprint(revoked),
		},
		{
			name: "openpgp signature, message altered",
			commit: func(t *testing.T, r *git.Repository) *object.Commit {
				c := commitPlan(t, r, "true", git.CommitOptions{SignKey: alice})
				return forge(t, r, c, func(f *object.Commit) { f.Message = "set failover: true, really\n" })
			},
			wantErr: signatures.ErrBadSignature,
			errHas:  "openpgp key " + pgpFingerprint(alice),
		},
		{
			name: "openpgp signature moved to another tree",
			commit: func(t *testing.T, r *git.Repository) *object.Commit {
				signed := commitPlan(t, r, "false", git.CommitOptions{SignKey: alice})
				other := commitPlan(t, r, "true", git.CommitOptions{})
				return forge(t, r, signed, func(f *object.Commit) { f.TreeHash = other.TreeHash })
			},
			wantErr: signatures.ErrBadSignature,
		},
		{
			name: "ssh signature, message altered",
			commit: func(t *testing.T, r *git.Repository) *object.Commit {
				c := commitPlan(t, r, "true", git.CommitOptions{Signer: sshCommitSigner{key: bob}})
				return forge(t, r, c, func(f *object.Commit) { f.Message = "set failover: true, really\n" })
			},
			wantErr: signatures.ErrBadSignature,
			errHas:  "ssh key " + bob.fingerprint(),
		},
		{
			name: "ssh signature moved to another tree",
			commit: func(t *testing.T, r *git.Repository) *object.Commit {
				signed := commitPlan(t, r, "false", git.CommitOptions{Signer: sshCommitSigner{key: bob}})
				other := commitPlan(t, r, "true", git.CommitOptions{})
				return forge(t, r, signed, func(f *object.Commit) { f.TreeHash = other.TreeHash })
			},
			wantErr: signatures.ErrBadSignature,
		},
		{
			name: "ssh signature in another namespace",
			commit: func(t *testing.T, r *git.Repository) *object.Commit {
				return commitPlan(t, r, "true", git.CommitOptions{Signer: sshCommitSigner{key: bob, namespace: "file"}})
			},
			wantErr: signatures.ErrBadSignature,
			errHas:  "namespace",
		},
		{
			name: "two signatures",
			commit: func(t *testing.T, r *git.Repository) *object.Commit {
				c := commitPlan(t, r, "true", git.CommitOptions{SignKey: alice})
				return forge(t, r, c, func(f *object.Commit) {
					f.PGPSignature = strings.TrimSuffix(c.PGPSignature, "\n") + "\n" + c.PGPSignature
				})
			},
			wantErr: signatures.ErrBadSignature,
			errHas:  "2 signatures",
		},
		{
			name: "x509 signature",
			commit: func(t *testing.T, r *git.Repository) *object.Commit {
				c := commitPlan(t, r, "true", git.CommitOptions{})
				return forge(t, r, c, func(f *object.Commit) {
					f.PGPSignature = "-----BEGIN SIGNED MESSAGE-----\nMIAGCSqGSIb3DQEHAqCAMIACAQExDTALBglghkgBZQMEAgEwgAYJKoZIhvcNAQcB\n-----END SIGNED MESSAGE-----\n"
				})
			},
			wantErr: signatures.ErrBadSignature,
			errHas:  "unsupported signature format",
		},
		{
			name: "garbled openpgp signature",
			commit: func(t *testing.T, r *git.Repository) *object.Commit {
				c := commitPlan(t, r, "true", git.CommitOptions{})
				return forge(t, r, c, func(f *object.Commit) {
					f.PGPSignature = "-----BEGIN PGP SIGNATURE-----\n\nbm90IGEgc2lnbmF0dXJl\n-----END PGP SIGNATURE-----\n"
				})
			},
			wantErr: signatures.ErrBadSignature,
		},
		{
			name: "garbled ssh signature",
			commit: func(t *testing.T, r *git.Repository) *object.Commit {
				c := commitPlan(t, r, "true", git.CommitOptions{})
				return forge(t, r, c, func(f *object.Commit) {
					f.PGPSignature = "-----BEGIN SSH SIGNATURE-----\nbm90IGEgc2lnbmF0dXJl\n-----END SSH SIGNATURE-----\n"
				})
			},
			wantErr: signatures.ErrBadSignature,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			c := tt.commit(t, newRepo(t))

			got, err := ring.Verify(c)

			if tt.wantErr == nil {
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(got).To(Equal(tt.want))
				return
			}
			g.Expect(err).To(MatchError(tt.wantErr))
			for _, other := range refusals {
				if !errors.Is(tt.wantErr, other) {
					g.Expect(errors.Is(err, other)).To(BeFalse(), "also wraps %v", other)
				}
			}
			g.Expect(err.Error()).To(ContainSubstring("commit " + c.Hash.String()))
			g.Expect(err.Error()).To(ContainSubstring(tt.errHas))
			g.Expect(got).To(BeZero())
		})
	}
}

func TestVerifyEmptyRingTrustsNoOne(t *testing.T) {
	g := NewWithT(t)
	r := newRepo(t)
	pgpSigned := commitPlan(t, r, "true", git.CommitOptions{SignKey: newPGPKey(t, "Alice", "alice@example.com")})
	sshSigned := commitPlan(t, r, "true", git.CommitOptions{Signer: sshCommitSigner{key: newSSHKey(t, "bob")}})

	for _, c := range []*object.Commit{pgpSigned, sshSigned} {
		_, err := (&signatures.KeyRing{}).Verify(c)
		g.Expect(err).To(MatchError(signatures.ErrUntrustedKey))
	}
}

func TestSignerString(t *testing.T) {
	tests := []struct {
		name   string
		signer signatures.Signer
		want   string
	}{
		{"with identity", signatures.Signer{Kind: signatures.KindSSH, Fingerprint: "SHA256:abc", Identity: "bob@laptop"}, "ssh key SHA256:abc (bob@laptop)"},
		{"without identity", signatures.Signer{Kind: signatures.KindOpenPGP, Fingerprint: "0A1B"}, "openpgp key 0A1B"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			NewWithT(t).Expect(tt.signer.String()).To(Equal(tt.want))
		})
	}
}
