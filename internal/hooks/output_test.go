package hooks

import (
	"strings"
	"testing"

	. "github.com/onsi/gomega"
)

func TestTail(t *testing.T) {
	for _, tc := range []struct {
		name   string
		limit  int
		writes []string
		want   string
	}{
		{name: "short", limit: 8, writes: []string{"hi\n"}, want: "hi"},
		{name: "keeps the end", limit: 8, writes: []string{"0123456789", "ab"}, want: "456789ab"},
		{name: "whole characters only", limit: 5, writes: []string{"xxé日本"}, want: "本"},
		{name: "many writes", limit: outputLimit, writes: []string{strings.Repeat("a", outputLimit), "end\n"}, want: strings.Repeat("a", outputLimit-4) + "end"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			b := newTail(tc.limit)
			for _, w := range tc.writes {
				n, err := b.Write([]byte(w))
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(n).To(Equal(len(w)))
			}
			g.Expect(b.String()).To(Equal(tc.want))
		})
	}
}
