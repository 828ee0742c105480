package strictyaml

import (
	"testing"

	. "github.com/onsi/gomega"
)

func TestFieldErrorsAdd(t *testing.T) {
	g := NewWithT(t)
	var errs FieldErrors
	g.Expect(errs).To(BeNil())
	errs.Add("spec.primary", "required")
	errs.Add("spec.volumes[1].name", "volume %q is listed twice", "pg-data")
	g.Expect(errs).To(Equal(FieldErrors{
		{Path: "spec.primary", Message: "required"},
		{Path: "spec.volumes[1].name", Message: `volume "pg-data" is listed twice`},
	}))
}
