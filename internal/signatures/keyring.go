package signatures

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"golang.org/x/crypto/ssh"
)

// pgpArmorBegin starts every ASCII-armored OpenPGP block (key, signature or message).
const pgpArmorBegin = "-----BEGIN PGP "

// KeyRing is a set of trusted public keys: OpenPGP entities and SSH keys. The zero value is
// an empty ring that trusts no key. A KeyRing is not safe for concurrent Add; Verify may be
// called concurrently once loading is done.
type KeyRing struct {
	pgp openpgp.EntityList
	// ssh holds the SSH keys by their wire encoding.
	ssh map[string]sshKey
}

// sshKey is a trusted SSH public key and the comment of its authorized_keys line.
type sshKey struct {
	key     ssh.PublicKey
	comment string
}

// Load reads the trusted keys in paths. A path is a key file, or a directory whose regular
// files are all key files, as a mounted Kubernetes Secret: hidden entries (the Secret's
// "..data" and timestamped directories) and sub-directories are skipped, symbolic links to
// files are followed. A directory without key files is an error.
func Load(paths ...string) (*KeyRing, error) {
	r := &KeyRing{}
	for _, p := range paths {
		if err := r.load(p); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Parse reads the trusted keys in data, as Add does, into a new KeyRing.
func Parse(name string, data []byte) (*KeyRing, error) {
	r := &KeyRing{}
	if err := r.Add(name, data); err != nil {
		return nil, err
	}
	return r, nil
}

// Add adds the keys in data, named name in errors (a file name or a Secret key). data is
// either ASCII-armored OpenPGP public keys, one or several blocks each with one or several
// keys, or SSH public keys in authorized_keys format, one a line, with blank lines and
// "#" comments allowed. Data that holds neither, an OpenPGP private key, or an unreadable SSH
// line is an error naming name (and the line); the ring is then unchanged.
func (r *KeyRing) Add(name string, data []byte) error {
	var err error
	if bytes.Contains(data, []byte(pgpArmorBegin)) {
		var el openpgp.EntityList
		if el, err = parseOpenPGP(data); err == nil {
			r.pgp = append(r.pgp, el...)
		}
	} else {
		var keys []sshKey
		if keys, err = parseAuthorizedKeys(data); err == nil {
			if r.ssh == nil {
				r.ssh = make(map[string]sshKey, len(keys))
			}
			for _, k := range keys {
				r.ssh[string(k.key.Marshal())] = k
			}
		}
	}
	if err != nil {
		return fmt.Errorf("read trusted keys %s: %w", name, err)
	}
	return nil
}

// Len returns how many keys the ring trusts: OpenPGP entities (primary keys) and SSH keys.
func (r *KeyRing) Len() int {
	return len(r.pgp) + len(r.ssh)
}

// load adds the key file at path, or the key files in the directory at path.
func (r *KeyRing) load(path string) error {
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("read trusted keys: %w", err)
	}
	if !info.IsDir() {
		return r.loadFile(path)
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return fmt.Errorf("read trusted keys: %w", err)
	}
	files := 0
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		p := filepath.Join(path, e.Name())
		// Stat, not the entry's type: a Secret's keys are symbolic links into "..data".
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("read trusted keys: %w", err)
		}
		if !fi.Mode().IsRegular() {
			continue
		}
		if err := r.loadFile(p); err != nil {
			return err
		}
		files++
	}
	if files == 0 {
		return fmt.Errorf("read trusted keys %s: no key files in the directory", path)
	}
	return nil
}

func (r *KeyRing) loadFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read trusted keys: %w", err)
	}
	return r.Add(path, data)
}

// parseOpenPGP reads every armored block in data; each must be a public key block.
func parseOpenPGP(data []byte) (openpgp.EntityList, error) {
	var out openpgp.EntityList
	for i, start := range armorStarts(data) {
		block, err := armor.Decode(bytes.NewReader(data[start:]))
		if err != nil {
			return nil, fmt.Errorf("armored block %d: %w", i+1, err)
		}
		if block.Type != openpgp.PublicKeyType {
			return nil, fmt.Errorf("armored block %d is a %q, not a %q", i+1, block.Type, openpgp.PublicKeyType)
		}
		el, err := openpgp.ReadKeyRing(block.Body)
		if err != nil {
			return nil, fmt.Errorf("armored block %d: %w", i+1, err)
		}
		out = append(out, el...)
	}
	if len(out) == 0 {
		return nil, errors.New("no OpenPGP public key found")
	}
	return out, nil
}

// armorStarts returns the offsets of the lines that start an armored OpenPGP block.
func armorStarts(data []byte) []int {
	var starts []int
	for off := 0; off < len(data); {
		if bytes.HasPrefix(data[off:], []byte(pgpArmorBegin)) {
			starts = append(starts, off)
		}
		eol := bytes.IndexByte(data[off:], '\n')
		if eol < 0 {
			break
		}
		off += eol + 1
	}
	return starts
}

// parseAuthorizedKeys reads SSH public keys, one a line in authorized_keys format. Errors
// name the line but never quote it: a misplaced private key must not reach a log.
func parseAuthorizedKeys(data []byte) ([]sshKey, error) {
	var keys []sshKey
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, comment, options, _, err := ssh.ParseAuthorizedKey([]byte(line))
		if err != nil {
			return nil, fmt.Errorf("line %d: not an OpenPGP or SSH public key: %w", i+1, err)
		}
		if _, ok := key.(*ssh.Certificate); ok {
			return nil, fmt.Errorf("line %d: SSH certificates are not supported, give the plain public key", i+1)
		}
		for _, o := range options {
			if strings.EqualFold(o, "cert-authority") {
				return nil, fmt.Errorf("line %d: cert-authority keys are not supported, give the signers' public keys", i+1)
			}
		}
		keys = append(keys, sshKey{key: key, comment: comment})
	}
	if len(keys) == 0 {
		return nil, errors.New("no OpenPGP or SSH public key found")
	}
	return keys, nil
}
