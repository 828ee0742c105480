package revision

import (
	"testing"

	. "github.com/onsi/gomega"
)

func TestShort(t *testing.T) {
	tests := []struct {
		name, rev, want string
	}{
		{"sha1", "0123456789abcdef0123456789abcdef01234567", "0123456789ab"},
		{"exactly short", "0123456789ab", "0123456789ab"},
		{"shorter", "abc", "abc"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			NewWithT(t).Expect(Short(tt.rev)).To(Equal(tt.want))
		})
	}
}
