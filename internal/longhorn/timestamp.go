package longhorn

import (
	"encoding/json"
	"fmt"
	"time"
)

// Timestamp is a time that Longhorn keeps as a plain RFC 3339 string, "" when unset (for example
// Volume.status.lastBackupAt, Backup.status.snapshotCreatedAt). Unlike metav1.Time it reads ""
// as the zero time instead of failing, and writes the zero time as "", as Longhorn does.
//
// +kubebuilder:validation:Type=string
// +kubebuilder:object:generate=false
type Timestamp struct {
	time.Time `json:"-"`
}

// NewTimestamp returns t as a Timestamp, in UTC and truncated to seconds like Longhorn's util.Now.
func NewTimestamp(t time.Time) Timestamp {
	if t.IsZero() {
		return Timestamp{}
	}
	return Timestamp{Time: t.UTC().Truncate(time.Second)}
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

// UnmarshalJSON reads an RFC 3339 string; "" and null give the zero time.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		t.Time = time.Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("decode timestamp %s: %w", b, err)
	}
	if s == "" {
		t.Time = time.Time{}
		return nil
	}
	parsed, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("decode timestamp %q: %w", s, err)
	}
	t.Time = parsed
	return nil
}

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
