package longhorn_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/drplan/drplan/internal/longhorn"
)

// realCRDPath is Longhorn v1.10.2's CRD set, beside the repository (never copied into it).
const realCRDPath = "../shared/longhorn/crds-v1.10.2.yaml"

// moduleRoot walks up from the test's directory to go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("getwd: %v", err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			t.Fatalf("no go.mod above %s", dir)
		}
	}
}

// loadCRDs reads every CustomResourceDefinition of a multi-document YAML file.
func loadCRDs(path string) ([]*apiextensionsv1.CustomResourceDefinition, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read crds %s: %w", path, err)
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(raw), 4096)
	var out []*apiextensionsv1.CustomResourceDefinition
	for {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := dec.Decode(crd); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, fmt.Errorf("decode crds %s: %w", path, err)
		}
		if crd.Kind == "CustomResourceDefinition" {
			out = append(out, crd)
		}
	}
}

func realCRDs(t *testing.T) []*apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	crds, err := loadCRDs(filepath.Join(moduleRoot(t), realCRDPath))
	if err != nil {
		t.Fatalf("the real Longhorn CRDs are required for this test: %v", err)
	}
	return crds
}

// schemaOf returns the openAPIV3Schema of kind in version v1beta2 of crds, or nil.
func schemaOf(crds []*apiextensionsv1.CustomResourceDefinition, kind string) *apiextensionsv1.JSONSchemaProps {
	for _, crd := range crds {
		if crd.Spec.Group != longhorn.GroupName || crd.Spec.Names.Kind != kind {
			continue
		}
		for _, v := range crd.Spec.Versions {
			if v.Name == longhorn.SchemeGroupVersion.Version && v.Schema != nil {
				return v.Schema.OpenAPIV3Schema
			}
		}
	}
	return nil
}

var (
	timeType      = reflect.TypeFor[metav1.Time]()
	durationType  = reflect.TypeFor[metav1.Duration]()
	timestampType = reflect.TypeFor[longhorn.Timestamp]()
	objectMeta    = reflect.TypeFor[metav1.ObjectMeta]()
)

// conformance walks a Go type by reflection, following its json tags, and reports every field
// path that is missing from schema or whose Go type does not fit the schema's type.
type conformance struct {
	problems []string
}

func (c *conformance) addf(path, format string, args ...any) {
	c.problems = append(c.problems, path+": "+fmt.Sprintf(format, args...))
}

// jsonField is one field as encoding/json sees it.
type jsonField struct {
	name      string
	inline    bool
	omitempty bool
	asString  bool
}

func parseTag(f reflect.StructField) (jsonField, bool) {
	tag, ok := f.Tag.Lookup("json")
	if tag == "-" {
		return jsonField{}, false
	}
	parts := strings.Split(tag, ",")
	jf := jsonField{name: parts[0]}
	for _, opt := range parts[1:] {
		switch opt {
		case "inline":
			jf.inline = true
		case "omitempty", "omitzero":
			jf.omitempty = true
		case "string":
			jf.asString = true
		}
	}
	if f.Anonymous && (!ok || jf.name == "") {
		jf.inline = true
	}
	if jf.name == "" {
		jf.name = f.Name
	}
	return jf, f.IsExported() || jf.inline
}

// checkStruct checks the fields of struct type t against the object schema s.
func (c *conformance) checkStruct(t reflect.Type, s *apiextensionsv1.JSONSchemaProps, path string) {
	for i := range t.NumField() {
		f := t.Field(i)
		jf, ok := parseTag(f)
		if !ok {
			continue
		}
		ft := f.Type
		if jf.inline {
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct && ft != timeType {
				c.checkStruct(ft, s, path)
				continue
			}
		}
		fieldPath := strings.TrimPrefix(path+"."+jf.name, ".")
		prop, found := s.Properties[jf.name]
		if !found {
			c.addf(fieldPath, "no such field in the CRD schema")
			continue
		}
		if canBeNull(f.Type) && !jf.omitempty && !prop.Nullable {
			c.addf(fieldPath, "Go %s can be sent as null but the schema is not nullable", f.Type)
		}
		c.checkValue(f.Type, &prop, fieldPath, jf.asString)
	}
}

func canBeNull(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface:
		return true
	}
	return t == timeType // metav1.Time writes its zero value as null
}

// checkValue checks one Go type against one schema node.
func (c *conformance) checkValue(t reflect.Type, s *apiextensionsv1.JSONSchemaProps, path string, asString bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	want := func(typ string) bool {
		if s.Type != typ {
			c.addf(path, "Go %s needs schema type %q, CRD has %q", t, typ, s.Type)
			return false
		}
		return true
	}
	switch {
	case t == timeType:
		if want("string") && s.Format != "date-time" {
			c.addf(path, "metav1.Time needs format date-time; CRD has a plain string (Longhorn writes \"\" there, which metav1.Time cannot read: use longhorn.Timestamp)")
		}
		return
	case t == durationType || t == timestampType:
		want("string")
		return
	case t == objectMeta:
		want("object")
		return
	}
	switch t.Kind() {
	case reflect.String:
		want("string")
	case reflect.Bool:
		want("boolean")
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if asString {
			if want("string") && s.Format != "" && s.Format != "int64" && s.Format != "int32" {
				c.addf(path, "Go %s as a string needs an integer format, CRD has format %q", t, s.Format)
			}
			return
		}
		if want("integer") && s.Format == "int32" && t.Bits() > 32 {
			c.addf(path, "Go %s does not fit format int32", t)
		}
	case reflect.Float32, reflect.Float64:
		want("number")
	case reflect.Struct:
		if want("object") {
			c.checkStruct(t, s, path)
		}
	case reflect.Slice:
		if want("array") {
			if s.Items == nil || s.Items.Schema == nil {
				c.addf(path, "array without an item schema")
				return
			}
			c.checkValue(t.Elem(), s.Items.Schema, path+"[]", false)
		}
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			c.addf(path, "map key %s is not a string", t.Key())
			return
		}
		if want("object") {
			if s.AdditionalProperties == nil || s.AdditionalProperties.Schema == nil {
				if !ptrTrue(s.XPreserveUnknownFields) {
					c.addf(path, "map needs additionalProperties in the schema")
				}
				return
			}
			c.checkValue(t.Elem(), s.AdditionalProperties.Schema, path+"{}", false)
		}
	default:
		c.addf(path, "Go kind %s is not supported by the checker", t.Kind())
	}
}

func ptrTrue(b *bool) bool { return b != nil && *b }

// checkKind checks obj's type against kind's schema in crds.
func checkKind(crds []*apiextensionsv1.CustomResourceDefinition, kind string, obj any) []string {
	s := schemaOf(crds, kind)
	if s == nil {
		return []string{kind + ": no v1beta2 schema in the CRDs"}
	}
	c := &conformance{}
	c.checkStruct(reflect.TypeOf(obj).Elem(), s, kind)
	sort.Strings(c.problems)
	return c.problems
}

func kinds() map[string]any {
	return map[string]any{
		"Volume":       &longhorn.Volume{},
		"Engine":       &longhorn.Engine{},
		"Backup":       &longhorn.Backup{},
		"BackupVolume": &longhorn.BackupVolume{},
		"BackupTarget": &longhorn.BackupTarget{},
		"RecurringJob": &longhorn.RecurringJob{},
		"Setting":      &longhorn.Setting{},
	}
}

// TestConformsToRealCRDs checks, field by field, that every field path the types declare
// exists in Longhorn v1.10.2's CRDs with a compatible type.
func TestConformsToRealCRDs(t *testing.T) {
	crds := realCRDs(t)
	for kind, obj := range kinds() {
		t.Run(kind, func(t *testing.T) {
			NewWithT(t).Expect(checkKind(crds, kind, obj)).To(BeEmpty())
		})
	}
}

// TestConformsToGeneratedCRDs checks the same against the project's own generated CRDs, which
// e2e and the sandbox install: they must describe exactly the same fields. Snapshot is checked
// here only: the extracted CRD file does not hold it (its fields follow longhorn-manager
// v1.10.2's snapshot.go).
func TestConformsToGeneratedCRDs(t *testing.T) {
	crds, err := longhorn.CRDs()
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	all := kinds()
	all["Snapshot"] = &longhorn.Snapshot{}
	for kind, obj := range all {
		t.Run(kind, func(t *testing.T) {
			NewWithT(t).Expect(checkKind(crds, kind, obj)).To(BeEmpty())
		})
	}
}

// Deliberately wrong views of a Volume and a BackupVolume, for the negative test.
type (
	wrongVolume struct {
		metav1.TypeMeta   `json:",inline"`
		metav1.ObjectMeta `json:"metadata,omitempty"`
		Spec              wrongVolumeSpec   `json:"spec"`
		Status            wrongVolumeStatus `json:"status"`
	}
	wrongVolumeSpec struct {
		Standby          bool                    `json:"standby"`            // key is "Standby"
		Size             int64                   `json:"size"`               // sent as a number, CRD wants a string
		NumberOfReplicas string                  `json:"numberOfReplicas"`   // integer in the CRD
		DiskSelector     map[string]string       `json:"diskSelector"`       // array in the CRD; also null
		Frontend         longhorn.VolumeFrontend `json:"frontend,omitempty"` // right
	}
	wrongVolumeStatus struct {
		LastBackupAt metav1.Time         `json:"lastBackupAt"` // plain string in the CRD
		Conditions   []wrongCondition    `json:"conditions,omitempty"`
		IsStandby    bool                `json:"isStandby,omitempty"` // right
		KubeStatus   map[string][]string `json:"kubernetesStatus,omitempty"`
	}
	wrongCondition struct {
		Type   string `json:"type"`
		Status bool   `json:"status"` // string in the CRD
	}
	wrongBackupVolume struct {
		metav1.TypeMeta   `json:",inline"`
		metav1.ObjectMeta `json:"metadata,omitempty"`
		Spec              struct {
			SyncRequestedAt longhorn.Timestamp `json:"syncRequestedAt,omitzero"` // right: a string
			LastSyncedAt    *metav1.Time       `json:"lastSyncedAt,omitempty"`   // status field, not spec
		} `json:"spec"`
	}
)

// TestConformanceCatchesMistakes proves the checker fails on wrong keys and wrong types.
func TestConformanceCatchesMistakes(t *testing.T) {
	crds := realCRDs(t)
	cases := []struct {
		kind string
		obj  any
		want []string
	}{
		{
			kind: "Volume", obj: &wrongVolume{},
			want: []string{
				"Volume.spec.diskSelector: Go map[string]string can be sent as null but the schema is not nullable",
				`Volume.spec.diskSelector: Go map[string]string needs schema type "object", CRD has "array"`,
				`Volume.spec.numberOfReplicas: Go string needs schema type "string", CRD has "integer"`,
				`Volume.spec.size: Go int64 needs schema type "integer", CRD has "string"`,
				"Volume.spec.standby: no such field in the CRD schema",
				`Volume.status.conditions[].status: Go bool needs schema type "boolean", CRD has "string"`,
				`Volume.status.kubernetesStatus: map needs additionalProperties in the schema`,
				`Volume.status.lastBackupAt: Go v1.Time can be sent as null but the schema is not nullable`,
				`Volume.status.lastBackupAt: metav1.Time needs format date-time; CRD has a plain string (Longhorn writes "" there, which metav1.Time cannot read: use longhorn.Timestamp)`,
			},
		},
		{
			kind: "BackupVolume", obj: &wrongBackupVolume{},
			want: []string{"BackupVolume.spec.lastSyncedAt: no such field in the CRD schema"},
		},
		{
			kind: "Replica", obj: &wrongBackupVolume{},
			want: []string{"Replica: no v1beta2 schema in the CRDs"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.kind, func(t *testing.T) {
			NewWithT(t).Expect(checkKind(crds, tc.kind, tc.obj)).To(Equal(tc.want))
		})
	}
}

// TestGeneratedCRDs checks what CRDs returns: the seven kinds, namespaced, v1beta2 only, served
// and stored, each with a status subresource.
func TestGeneratedCRDs(t *testing.T) {
	g := NewWithT(t)
	crds, err := longhorn.CRDs()
	g.Expect(err).NotTo(HaveOccurred())
	var names []string
	for _, crd := range crds {
		names = append(names, crd.Name)
		g.Expect(crd.Spec.Scope).To(Equal(apiextensionsv1.NamespaceScoped), crd.Name)
		g.Expect(crd.Spec.Versions).To(HaveLen(1), crd.Name)
		v := crd.Spec.Versions[0]
		g.Expect(v.Name).To(Equal("v1beta2"), crd.Name)
		g.Expect(v.Served && v.Storage).To(BeTrue(), crd.Name)
		g.Expect(v.Subresources).NotTo(BeNil(), crd.Name)
		g.Expect(v.Subresources.Status).NotTo(BeNil(), crd.Name)
	}
	g.Expect(names).To(Equal([]string{
		"backups.longhorn.io", "backuptargets.longhorn.io", "backupvolumes.longhorn.io",
		"engines.longhorn.io", "recurringjobs.longhorn.io", "settings.longhorn.io", "snapshots.longhorn.io",
		"volumes.longhorn.io",
	}))
	// Short names as Longhorn's, so kubectl habits carry over.
	real := realCRDs(t)
	for _, crd := range crds {
		for _, r := range real {
			if r.Name == crd.Name {
				g.Expect(crd.Spec.Names.ShortNames).To(Equal(r.Spec.Names.ShortNames), crd.Name)
				g.Expect(crd.Spec.Names.Plural).To(Equal(r.Spec.Names.Plural), crd.Name)
			}
		}
	}
}
