package longhorn_test

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/drplan/drplan/internal/golden"
)

// TestWireFormatGolden pins the JSON every kind puts on the wire: exact keys ("Standby", sizes as
// strings, RFC 3339 times), and which zero values are left out.
func TestWireFormatGolden(t *testing.T) {
	for _, obj := range fixtures() {
		kind := reflect.TypeOf(obj).Elem().Name()
		t.Run(kind, func(t *testing.T) {
			got, err := json.MarshalIndent(obj, "", "  ")
			NewWithT(t).Expect(err).NotTo(HaveOccurred())
			golden.Assert(t, filepath.Join("testdata", "wire", strings.ToLower(kind)+".json"), append(got, '\n'))
		})
		t.Run(kind+"/zero", func(t *testing.T) {
			zero := reflect.New(reflect.TypeOf(obj).Elem()).Interface()
			got, err := json.MarshalIndent(zero, "", "  ")
			NewWithT(t).Expect(err).NotTo(HaveOccurred())
			golden.Assert(t, filepath.Join("testdata", "wire", strings.ToLower(kind)+"-zero.json"), append(got, '\n'))
		})
	}
}
