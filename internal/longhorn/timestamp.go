package longhorn

import (
	"encoding/json"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Timestamp is a time that Longhorn keeps as a plain RFC 3339 string, "" when unset (for example
// Volume.status.lastBackupAt, Backup.status.snapshotCreatedAt). Unlike metav1.Time it reads ""
// as the zero time instead of failing, and writes the zero time as "" (not null), as Longhorn
// does. It embeds metav1.Time, so equality.Semantic compares it by instant and ts.Time.Time is
// the plain time.Time.
//
// +kubebuilder:validation:Type=string
// +kubebuilder:object:generate=false
type Timestamp struct {
	metav1.Time `json:"-"`
}

// NewTimestamp returns t as a Timestamp, in UTC and truncated to seconds like Longhorn's util.Now.
func NewTimestamp(t time.Time) Timestamp {
	if t.IsZero() {
		return Timestamp{}
	}
	return Timestamp{Time: metav1.NewTime(t.UTC().Truncate(time.Second))}
}

// String returns the RFC 3339 form, "" for the zero time.
func (t Timestamp) String() string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// MarshalJSON writes the RFC 3339 form, "" for the zero time.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	return json.Marshal(t.String())
}

// ToUnstructured gives apimachinery's unstructured converter the same string as MarshalJSON
// (metav1.Time's would write null for the zero time).
func (t Timestamp) ToUnstructured() any {
	return t.String()
}

// UnmarshalJSON reads an RFC 3339 string; "" and null give the zero time.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*t = Timestamp{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("decode timestamp %s: %w", b, err)
	}
	if s == "" {
		*t = Timestamp{}
		return nil
	}
	parsed, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("decode timestamp %q: %w", s, err)
	}
	*t = Timestamp{Time: metav1.NewTime(parsed.UTC())}
	return nil
}

// IsZero reports whether t is unset (a value method, unlike metav1.Time's; omitzero uses it).
func (t Timestamp) IsZero() bool { return t.Time.Time.IsZero() }

// After reports whether t is after u.
func (t Timestamp) After(u Timestamp) bool { return t.Time.After(u.Time.Time) }

// Equal reports whether t and u are the same instant.
func (t Timestamp) Equal(u Timestamp) bool { return t.Time.Equal(&u.Time) }

// DeepCopyInto copies t into out; time.Time is a value and shares only its immutable Location.
func (t *Timestamp) DeepCopyInto(out *Timestamp) {
	*out = *t
}

// DeepCopy returns a copy of t.
func (t *Timestamp) DeepCopy() *Timestamp {
	if t == nil {
		return nil
	}
	out := new(Timestamp)
	t.DeepCopyInto(out)
	return out
}
