// Package signatures holds the trusted key set for failover commits and the check that a Git
// commit was signed by one of its keys, as Flux's source-controller checks a revision before
// applying it.
//
// A KeyRing holds ASCII-armored OpenPGP public keys and SSH public keys in authorized_keys
// format, loaded from files or a mounted Secret directory. KeyRing.Verify reads the signature
// go-git decoded from the commit's gpgsig header (OpenPGP or SSH alike), checks it over the
// commit's bytes without that header, and returns the Signer for the audit trail. The decision
// depends only on the commit and the keys; the only I/O is go-git reading the stored commit.
//
// Every refusal wraps exactly one of ErrUnsigned, ErrUntrustedKey or ErrBadSignature, for
// errors.Is; each needs a human, and none is transient.
//
// SSH signatures are checked with github.com/hiddeco/sshsig in the "git" namespace, as git
// and fluxcd/pkg's git packages check them. An SSH key is trusted as a plain key only:
// certificates and cert-authority lines are refused when the ring is loaded.
package signatures
