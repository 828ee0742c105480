package longhorn_test

import (
	"testing"

	. "github.com/onsi/gomega"

	"github.com/drplan/drplan/internal/longhorn"
)

// The expected URLs are the shapes REFERENCE §3.4 quotes from Longhorn issues and docs.
func TestEncodeBackupURL(t *testing.T) {
	cases := []struct {
		name                   string
		backup, volume, target string
		want                   string
		wantErr                string
	}{
		{
			name: "s3", backup: "backup-e4228a2b25b74c65", volume: "longhorn-testvol-zkd5jc", target: "s3://backupbucket@us-east-1/backupstore",
			want: "s3://backupbucket@us-east-1/backupstore?backup=backup-e4228a2b25b74c65&volume=longhorn-testvol-zkd5jc",
		},
		{
			name: "nfs", backup: "backup-b69a1249e97f4a27", volume: "pvc-33509786-92d7-427c-9b5a-b6d61d56b063",
			target: "nfs://longhorn-nfs-server.example.com:/opt/backupstore",
			want:   "nfs://longhorn-nfs-server.example.com:/opt/backupstore?backup=backup-b69a1249e97f4a27&volume=pvc-33509786-92d7-427c-9b5a-b6d61d56b063",
		},
		{
			name: "target options kept and re-encoded, keys sorted", backup: "backup-b69a1249e97f4a27", volume: "v1",
			target: "nfs://h:/p?nfsOptions=soft,timeo=330,retrans=3",
			want:   "nfs://h:/p?backup=backup-b69a1249e97f4a27&nfsOptions=soft%2Ctimeo%3D330%2Cretrans%3D3&volume=v1",
		},
		{name: "backup volume only", volume: "v1", target: "s3://b@r/", want: "s3://b@r/?volume=v1"},
		{name: "azure", backup: "backup-1", volume: "v1", target: "azblob://c@core.windows.net/", want: "azblob://c@core.windows.net/?backup=backup-1&volume=v1"},
		{name: "bad volume name", backup: "backup-1", volume: "-v", target: "s3://b@r/", wantErr: "invalid volume name"},
		{name: "empty volume name", backup: "backup-1", volume: "", target: "s3://b@r/", wantErr: "invalid volume name"},
		{name: "bad backup name", backup: "backup/1", volume: "v1", target: "s3://b@r/", wantErr: "invalid backup name"},
		{name: "bad target", backup: "backup-1", volume: "v1", target: "s3://b@r/%zz", wantErr: "parse target url"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			got, err := longhorn.EncodeBackupURL(tc.backup, tc.volume, tc.target)
			if tc.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tc.wantErr)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got).To(Equal(tc.want))

			parsed, err := longhorn.ParseBackupURL(got)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(parsed.BackupName).To(Equal(tc.backup))
			g.Expect(parsed.VolumeName).To(Equal(tc.volume))
			g.Expect(parsed.String()).To(Equal(got))
		})
	}
}

func TestParseBackupURL(t *testing.T) {
	cases := []struct {
		name    string
		in      string
		want    longhorn.BackupURL
		wantErr string
	}{
		{
			name: "s3", in: "s3://backupbucket@us-east-1/backupstore?backup=backup-e4228a2b25b74c65&volume=longhorn-testvol-zkd5jc",
			want: longhorn.BackupURL{TargetURL: "s3://backupbucket@us-east-1/backupstore", VolumeName: "longhorn-testvol-zkd5jc", BackupName: "backup-e4228a2b25b74c65"},
		},
		{
			name: "options stay with the target", in: "nfs://h:/p?backup=backup-1&nfsOptions=soft%2Ctimeo%3D330&volume=v1",
			want: longhorn.BackupURL{TargetURL: "nfs://h:/p?nfsOptions=soft%2Ctimeo%3D330", VolumeName: "v1", BackupName: "backup-1"},
		},
		{name: "volume only", in: "s3://b@r/?volume=v1", want: longhorn.BackupURL{TargetURL: "s3://b@r/", VolumeName: "v1"}},
		{name: "no volume", in: "s3://b@r/?backup=backup-1", wantErr: "invalid volume name"},
		{name: "bad backup", in: "s3://b@r/?backup=..&volume=v1", wantErr: "invalid backup name"},
		{name: "not a url", in: "s3://b@r/%zz?volume=v1", wantErr: "parse backup url"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			got, err := longhorn.ParseBackupURL(tc.in)
			if tc.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tc.wantErr)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got).To(Equal(tc.want))
		})
	}
	NewWithT(t).Expect(longhorn.BackupURL{VolumeName: "-bad"}.String()).To(BeEmpty())
}
