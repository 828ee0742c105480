package signatures_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/go-git/go-git/v5"
	. "github.com/onsi/gomega"

	"github.com/drplan/drplan/internal/signatures"
)

func TestParse(t *testing.T) {
	alice := newPGPKey(t, "Alice", "alice@example.com")
	bob := newPGPKey(t, "Bob", "bob@example.com")
	carol := newSSHKey(t, "carol@laptop")
	dave := newSSHKey(t, "dave@desktop")

	var private strings.Builder
	w, err := armor.Encode(&private, openpgp.PrivateKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.SerializePrivate(w, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	const opensshPrivate = "-----BEGIN OPENSSH PRIVATE KEY-----\n" +
		"b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n" +
		"-----END OPENSSH PRIVATE KEY-----\n"

	tests := []struct {
		name    string
		data    string
		wantLen int
		// wantErr is text the error must show, besides the file name.
		wantErr string
	}{
		{name: "one openpgp key", data: string(armorPublic(t, alice)), wantLen: 1},
		{name: "two openpgp keys in one block", data: string(armorPublic(t, alice, bob)), wantLen: 2},
		{
			name:    "two armored blocks, text around them",
			data:    "Alice's key:\n" + string(armorPublic(t, alice)) + "\nBob's key:\n" + string(armorPublic(t, bob)),
			wantLen: 2,
		},
		{
			name:    "authorized_keys with comments, blank lines, options and CRLF",
			data:    "# signers\r\n\r\n" + carol.line + "\r\n  # dave\n" + `no-pty,namespaces="git" ` + dave.line + "\n",
			wantLen: 2,
		},
		{name: "one ssh key without newline or comment", data: strings.Fields(carol.line)[0] + " " + strings.Fields(carol.line)[1], wantLen: 1},
		{name: "garbage", data: "not a key\n", wantErr: "line 1: not an OpenPGP or SSH public key"},
		{name: "garbage after a good ssh key", data: "# ok\n" + carol.line + "\nssh-ed25519 AAAAbroken\n", wantErr: "line 3:"},
		{name: "empty", data: "", wantErr: "no OpenPGP or SSH public key found"},
		{name: "only comments", data: "# nothing yet\n\n", wantErr: "no OpenPGP or SSH public key found"},
		{name: "openpgp private key", data: private.String(), wantErr: `is a "PGP PRIVATE KEY BLOCK", not a "PGP PUBLIC KEY BLOCK"`},
		{name: "openssh private key", data: opensshPrivate, wantErr: "line 1: not an OpenPGP or SSH public key"},
		{name: "ssh certificate authority", data: "cert-authority " + carol.line, wantErr: "line 1: cert-authority keys are not supported"},
		{
			name:    "broken armor",
			data:    "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n!!!!\n-----END PGP PUBLIC KEY BLOCK-----\n",
			wantErr: "armored block 1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			const name = "secret/drplan-signers/keys"

			ring, err := signatures.Parse(name, []byte(tt.data))

			if tt.wantErr != "" {
				g.Expect(err).To(MatchError(And(ContainSubstring(name), ContainSubstring(tt.wantErr))))
				// Never quote key material: a misplaced private key must not reach a log.
				g.Expect(err.Error()).NotTo(ContainSubstring("b3BlbnNzaC1rZXkt"))
				g.Expect(ring).To(BeNil())
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(ring.Len()).To(Equal(tt.wantLen))
		})
	}
}

func TestAddLeavesRingUnchangedOnError(t *testing.T) {
	g := NewWithT(t)
	carol := newSSHKey(t, "carol")
	ring, err := signatures.Parse("carol.pub", []byte(carol.line))
	g.Expect(err).NotTo(HaveOccurred())

	err = ring.Add("mixed.pub", []byte(newSSHKey(t, "dave").line+"\ngarbage\n"))

	g.Expect(err).To(MatchError(ContainSubstring("mixed.pub: line 2")))
	g.Expect(ring.Len()).To(Equal(1))
}

// secretDir lays out files as the kubelet mounts a Secret: the data in a timestamped hidden
// directory, "..data" linking to it, and each key a link through "..data".
func secretDir(t *testing.T, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	ts := "..2026_01_01_00_00_00.000000001"
	if err := os.Mkdir(filepath.Join(dir, ts), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, ts, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join("..data", name), filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(ts, filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestLoad(t *testing.T) {
	alice := newPGPKey(t, "Alice", "alice@example.com")
	bob := newPGPKey(t, "Bob", "bob@example.com")
	carol := newSSHKey(t, "carol@laptop")

	t.Run("secret directory", func(t *testing.T) {
		g := NewWithT(t)
		dir := secretDir(t, map[string][]byte{
			"team.asc":    armorPublic(t, alice, bob),
			"signers.pub": []byte(carol.line + "\n"),
			"more.pub":    []byte("# carol again\n" + carol.line + "\n"),
		})
		// Neither a hidden file nor a sub-directory is read.
		g.Expect(os.WriteFile(filepath.Join(dir, ".garbage"), []byte("garbage"), 0o644)).To(Succeed())
		g.Expect(os.Mkdir(filepath.Join(dir, "nested"), 0o755)).To(Succeed())
		g.Expect(os.WriteFile(filepath.Join(dir, "nested", "garbage"), []byte("garbage"), 0o644)).To(Succeed())

		ring, err := signatures.Load(dir)

		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(ring.Len()).To(Equal(3), "two openpgp keys, one ssh key listed twice")
		r := newRepo(t)
		for _, opts := range []git.CommitOptions{{SignKey: bob}, {Signer: sshCommitSigner{key: carol}}} {
			_, err := ring.Verify(commitPlan(t, r, "true", opts))
			g.Expect(err).NotTo(HaveOccurred())
		}
	})

	t.Run("files and directories together", func(t *testing.T) {
		g := NewWithT(t)
		dir := t.TempDir()
		file := filepath.Join(t.TempDir(), "alice.asc")
		g.Expect(os.WriteFile(file, armorPublic(t, alice), 0o644)).To(Succeed())
		g.Expect(os.WriteFile(filepath.Join(dir, "carol.pub"), []byte(carol.line), 0o644)).To(Succeed())

		ring, err := signatures.Load(file, dir)

		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(ring.Len()).To(Equal(2))
	})

	errTests := []struct {
		name string
		// paths returns the paths to load and the text the error must show.
		paths func(t *testing.T) ([]string, string)
	}{
		{
			name: "missing path",
			paths: func(t *testing.T) ([]string, string) {
				p := filepath.Join(t.TempDir(), "absent")
				return []string{p}, p
			},
		},
		{
			name: "empty directory",
			paths: func(t *testing.T) ([]string, string) {
				dir := secretDir(t, nil)
				return []string{dir}, dir + ": no key files in the directory"
			},
		},
		{
			name: "garbage file in a directory",
			paths: func(t *testing.T) ([]string, string) {
				dir := secretDir(t, map[string][]byte{"a.pub": []byte(carol.line), "b.pub": []byte("hello\n")})
				return []string{dir}, filepath.Join(dir, "b.pub") + ": line 1: not an OpenPGP or SSH public key"
			},
		},
		{
			name: "garbage file after a good one",
			paths: func(t *testing.T) ([]string, string) {
				dir := t.TempDir()
				good, bad := filepath.Join(dir, "good.asc"), filepath.Join(dir, "bad.asc")
				if err := os.WriteFile(good, armorPublic(t, alice), 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(bad, []byte("-----BEGIN PGP SIGNATURE-----\n\n-----END PGP SIGNATURE-----\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				return []string{good, bad}, bad + ": armored block 1"
			},
		},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			paths, want := tt.paths(t)

			ring, err := signatures.Load(paths...)

			g.Expect(err).To(MatchError(ContainSubstring(want)))
			g.Expect(ring).To(BeNil())
		})
	}
}
