package longhorn_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
)

// updateGolden regenerates the golden files under testdata/ instead of comparing with them.
var updateGolden = os.Getenv("UPDATE_GOLDEN") == "1"

// expectGolden compares got with testdata/<name>, or writes it there under UPDATE_GOLDEN=1.
func expectGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if updateGolden {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatalf("create golden dir: %v", err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatalf("write golden %s: %v", path, err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden %s (regenerate with UPDATE_GOLDEN=1): %v", path, err)
	}
	NewWithT(t).Expect(string(got)).To(Equal(string(want)), "golden %s differs; regenerate with UPDATE_GOLDEN=1 if the change is meant", path)
}

// TestWireFormatGolden pins the JSON every kind puts on the wire: exact keys ("Standby", sizes as
// strings, RFC 3339 times), and which zero values are left out.
func TestWireFormatGolden(t *testing.T) {
	for _, obj := range fixtures() {
		kind := reflect.TypeOf(obj).Elem().Name()
		t.Run(kind, func(t *testing.T) {
			got, err := json.MarshalIndent(obj, "", "  ")
			NewWithT(t).Expect(err).NotTo(HaveOccurred())
			expectGolden(t, "wire/"+strings.ToLower(kind)+".json", append(got, '\n'))
		})
		t.Run(kind+"/zero", func(t *testing.T) {
			zero := reflect.New(reflect.TypeOf(obj).Elem()).Interface()
			got, err := json.MarshalIndent(zero, "", "  ")
			NewWithT(t).Expect(err).NotTo(HaveOccurred())
			expectGolden(t, "wire/"+strings.ToLower(kind)+"-zero.json", append(got, '\n'))
		})
	}
}
