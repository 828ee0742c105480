package longhornsim

import (
	"crypto/sha512"
	"encoding/hex"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/drplan/drplan/internal/longhorn"
)

// Volume names (REFERENCE §10.4).

// nameMaximumLength is datastore.NameMaximumLength: volumes and recurring jobs have at most 40
// characters.
const nameMaximumLength = 40

// nameRE is util.ValidateName, which the volume and backup validators apply to names.
var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]+$`)

// autoCorrectName is util.AutoCorrectName, which the volume mutator applies to a new volume's
// name: lower case, and a name longer than maxLength cut to maxLength-9 characters (trailing
// dashes dropped) followed by "-" and the first 8 hex digits of the SHA-512 of the original name.
func autoCorrectName(name string, maxLength int) string {
	newName := strings.ToLower(name)
	if len(name) > maxLength {
		sum := sha512.Sum512([]byte(name))
		suffix := "-" + hex.EncodeToString(sum[:])[:8]
		newName = strings.TrimRight(newName[:maxLength-len(suffix)], "-") + suffix
	}
	return newName
}

// checkVolume is datastore.CheckVolume's name checks, which the volume validator runs on create
// and update: a DNS-1123 label (so no dots), of at most nameMaximumLength characters.
func checkVolume(v *longhorn.Volume) *admitError {
	if errs := validation.IsDNS1123Label(v.Name); len(errs) != 0 {
		return invalid("", "invalid volume name: %+v", errs)
	}
	if len(v.Name) > nameMaximumLength {
		return invalid("", "volume name is too long %v, must be less than %v characters", v.Name, nameMaximumLength)
	}
	return nil
}
