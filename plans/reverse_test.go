package plans

import (
	"testing"

	. "github.com/onsi/gomega"
)

func TestReplaceDocument(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		line       int
		want       string
	}{
		{"the only document", "a: 1\nb: 2\n", 1, "new: doc\n"},
		{"the first of two", "a: 1\n---\nb: 2\n", 1, "new: doc\n---\nb: 2\n"},
		{"the second of three", "---\na: 1\n---\n# b\nb: 2\n---\nc: 3\n", 5, "---\na: 1\n---\nnew: doc\n---\nc: 3\n"},
		{"the last", "a: 1\n---\nb: 2\n", 3, "a: 1\n---\nnew: doc\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			got, err := ReplaceDocument([]byte(tc.file), tc.line, []byte("new: doc\n"))
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(string(got)).To(Equal(tc.want))
		})
	}
	_, err := ReplaceDocument([]byte("a: 1\n"), 9, []byte("x: 1\n"))
	NewWithT(t).Expect(err).To(MatchError(ContainSubstring("no document at line 9")))
}
