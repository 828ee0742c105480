package longhorn

import "encoding/json"

// The structs below hold int64 fields encoded as JSON strings (the ",string" option), as
// Longhorn's do. apimachinery's unstructured converter (used by dynamic clients, apply and
// fake clients) ignores ",string" and would write those sizes as numbers, which the CRDs reject;
// it honours json.Marshaler and json.Unmarshaler, so these structs route it through
// encoding/json.

type (
	plainVolumeSpec   VolumeSpec
	plainEngineSpec   EngineSpec
	plainEngineStatus EngineStatus
	plainBackupSpec   BackupSpec
)

// MarshalJSON encodes s with encoding/json, so that backupBlockSize stays a string everywhere.
func (s BackupSpec) MarshalJSON() ([]byte, error) { return json.Marshal(plainBackupSpec(s)) }

// UnmarshalJSON decodes s with encoding/json, so that backupBlockSize is read from its string.
func (s *BackupSpec) UnmarshalJSON(b []byte) error { return json.Unmarshal(b, (*plainBackupSpec)(s)) }

// MarshalJSON encodes s with encoding/json, so that size stays a string everywhere.
func (s VolumeSpec) MarshalJSON() ([]byte, error) { return json.Marshal(plainVolumeSpec(s)) }

// UnmarshalJSON decodes s with encoding/json, so that size is read from its string.
func (s *VolumeSpec) UnmarshalJSON(b []byte) error { return json.Unmarshal(b, (*plainVolumeSpec)(s)) }

// MarshalJSON encodes s with encoding/json, so that volumeSize stays a string everywhere.
func (s EngineSpec) MarshalJSON() ([]byte, error) { return json.Marshal(plainEngineSpec(s)) }

// UnmarshalJSON decodes s with encoding/json, so that volumeSize is read from its string.
func (s *EngineSpec) UnmarshalJSON(b []byte) error { return json.Unmarshal(b, (*plainEngineSpec)(s)) }

// MarshalJSON encodes s with encoding/json, so that currentSize stays a string everywhere.
func (s EngineStatus) MarshalJSON() ([]byte, error) { return json.Marshal(plainEngineStatus(s)) }

// UnmarshalJSON decodes s with encoding/json, so that currentSize is read from its string.
func (s *EngineStatus) UnmarshalJSON(b []byte) error {
	return json.Unmarshal(b, (*plainEngineStatus)(s))
}
