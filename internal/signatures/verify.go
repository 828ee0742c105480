package signatures

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/hiddeco/sshsig"
	"golang.org/x/crypto/ssh"
)

// Why a commit's signature is refused, for errors.Is. Each refusal Verify returns wraps exactly
// one of them, and all three need a human: a later commit must carry a good signature. An error
// that wraps none (reading the stored commit failed) is not a refusal.
var (
	// ErrUnsigned: the commit carries no signature.
	ErrUnsigned = errors.New("commit is not signed")
	// ErrUntrustedKey: the signature was made by a key outside the trusted set, or by a
	// trusted OpenPGP key that has since expired or been revoked. The error names the key.
	ErrUntrustedKey = errors.New("signed by a key that is not trusted")
	// ErrBadSignature: the signature does not verify over the commit (forged, or the commit
	// was altered after signing), is malformed, is one of several, is in another SSH
	// namespace than "git", or is of a kind this package cannot check (X.509).
	ErrBadSignature = errors.New("signature does not verify")
)

// sshNamespace is the namespace git signs commits and tags in.
const sshNamespace = "git"

// Kind is the kind of key that signed a commit.
type Kind string

// The kinds of signature Verify checks.
const (
	KindOpenPGP Kind = "openpgp"
	KindSSH     Kind = "ssh"
)

// Signer is the trusted key that signed a commit, for the audit trail.
type Signer struct {
	// Kind is the kind of the key.
	Kind Kind
	// Fingerprint is the key's fingerprint: the primary key's in upper-case hex for OpenPGP
	// (also when a subkey signed), "SHA256:" and unpadded base64 for SSH, as ssh-keygen -l.
	Fingerprint string
	// Identity is the OpenPGP primary user id ("Name <email>"), or the comment of the SSH
	// key's authorized_keys line; empty when the key has none.
	Identity string
}

// String returns the signer as the audit trail names it: "ssh key SHA256:... (alice)".
func (s Signer) String() string {
	if s.Identity == "" {
		return fmt.Sprintf("%s key %s", s.Kind, s.Fingerprint)
	}
	return fmt.Sprintf("%s key %s (%s)", s.Kind, s.Fingerprint, s.Identity)
}

// Verify checks that commit carries a valid OpenPGP or SSH signature by a key in the ring and
// returns that key. The signature is the one go-git decodes from the gpgsig header into
// commit.PGPSignature, OpenPGP or SSH alike; it is checked over the commit's bytes without
// that header. OpenPGP keys must not have expired or been revoked at the time of the check.
func (r *KeyRing) Verify(commit *object.Commit) (Signer, error) {
	s, err := r.verify(commit)
	if err != nil {
		return Signer{}, fmt.Errorf("verify signature of commit %s: %w", commit.Hash, err)
	}
	return s, nil
}

func (r *KeyRing) verify(commit *object.Commit) (Signer, error) {
	armored := strings.TrimSpace(commit.PGPSignature)
	if armored == "" {
		return Signer{}, ErrUnsigned
	}
	// As git does, refuse several signatures: the commit would have no single signer.
	if n := countArmorBlocks(armored); n > 1 {
		return Signer{}, fmt.Errorf("%w: %d signatures on one commit", ErrBadSignature, n)
	}
	payload, err := signedPayload(commit)
	if err != nil {
		// Not a refusal: a stored commit is read again here, and that read may fail.
		return Signer{}, fmt.Errorf("encode the commit without its signature: %w", err)
	}
	switch {
	case strings.HasPrefix(armored, "-----BEGIN SSH SIGNATURE-----"):
		return r.verifySSH(payload, armored)
	case strings.HasPrefix(armored, "-----BEGIN PGP SIGNATURE-----"):
		return r.verifyOpenPGP(payload, armored)
	default:
		return Signer{}, fmt.Errorf("%w: unsupported signature format", ErrBadSignature)
	}
}

// verifyOpenPGP checks an armored detached OpenPGP signature over payload.
func (r *KeyRing) verifyOpenPGP(payload []byte, armored string) (Signer, error) {
	entity, err := openpgp.CheckArmoredDetachedSignature(r.pgp, bytes.NewReader(payload), strings.NewReader(armored), nil)
	switch {
	case err == nil:
	case errors.Is(err, pgperrors.ErrUnknownIssuer):
		return Signer{}, fmt.Errorf("%w: openpgp key %s", ErrUntrustedKey, pgpIssuer(armored))
	case errors.Is(err, pgperrors.ErrKeyExpired), errors.Is(err, pgperrors.ErrKeyRevoked):
		return Signer{}, fmt.Errorf("%w: openpgp key %s: %w", ErrUntrustedKey, pgpIssuer(armored), err)
	default:
		return Signer{}, fmt.Errorf("%w: openpgp key %s: %w", ErrBadSignature, pgpIssuer(armored), err)
	}
	s := Signer{Kind: KindOpenPGP, Fingerprint: fmt.Sprintf("%X", entity.PrimaryKey.Fingerprint)}
	if id := entity.PrimaryIdentity(); id != nil {
		s.Identity = id.Name
	}
	return s, nil
}

// verifySSH checks an armored SSH signature over payload in the "git" namespace.
func (r *KeyRing) verifySSH(payload []byte, armored string) (Signer, error) {
	sig, err := sshsig.Unarmor([]byte(armored))
	if err != nil {
		return Signer{}, fmt.Errorf("%w: read ssh signature: %w", ErrBadSignature, err)
	}
	fp := ssh.FingerprintSHA256(sig.PublicKey)
	k, ok := r.ssh[string(sig.PublicKey.Marshal())]
	if !ok {
		return Signer{}, fmt.Errorf("%w: ssh key %s", ErrUntrustedKey, fp)
	}
	if err := sshsig.Verify(bytes.NewReader(payload), sig, k.key, sig.HashAlgorithm, sshNamespace); err != nil {
		return Signer{}, fmt.Errorf("%w: ssh key %s: %w", ErrBadSignature, fp, err)
	}
	return Signer{Kind: KindSSH, Fingerprint: fp, Identity: k.comment}, nil
}

// signedPayload returns the bytes a commit signature is made over: the commit object without
// its signature header. For a decoded commit go-git takes them from the stored object.
func signedPayload(commit *object.Commit) ([]byte, error) {
	o := &plumbing.MemoryObject{}
	if err := commit.EncodeWithoutSignature(o); err != nil {
		return nil, err
	}
	rd, err := o.Reader()
	if err != nil {
		return nil, err
	}
	return io.ReadAll(rd)
}

// pgpIssuer names the key that made an armored OpenPGP signature: its fingerprint when the
// signature carries it, else its 64-bit key id.
func pgpIssuer(armored string) string {
	block, err := armor.Decode(strings.NewReader(armored))
	if err != nil {
		return "(unreadable signature)"
	}
	p, err := packet.Read(block.Body)
	if err != nil {
		return "(unreadable signature)"
	}
	sig, ok := p.(*packet.Signature)
	switch {
	case !ok:
		return "(not a signature)"
	case len(sig.IssuerFingerprint) > 0:
		return fmt.Sprintf("%X", sig.IssuerFingerprint)
	case sig.IssuerKeyId != nil:
		return fmt.Sprintf("id %016X", *sig.IssuerKeyId)
	}
	return "(no issuer)"
}

// countArmorBlocks counts the lines of s that start an armored block.
func countArmorBlocks(s string) int {
	n := 0
	for line := range strings.SplitSeq(s, "\n") {
		if strings.HasPrefix(line, "-----BEGIN ") {
			n++
		}
	}
	return n
}
