package plans

import (
	"strings"
	"testing"
	"testing/fstest"

	. "github.com/onsi/gomega"
)

func TestReplaceDocument(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		line       int
		want       string
	}{
		{"the only document", "a: 1\nb: 2\n", 1, "new: doc\n"},
		{"the first of two", "a: 1\n---\nb: 2\n", 1, "new: doc\n---\nb: 2\n"},
		{"the second of three", "---\na: 1\n---\n# b\nb: 2\n---\nc: 3\n", 5, "---\na: 1\n---\nnew: doc\n---\nc: 3\n"},
		{"the last", "a: 1\n---\nb: 2\n", 3, "a: 1\n---\nnew: doc\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			got, err := ReplaceDocument([]byte(tc.file), tc.line, []byte("new: doc\n"))
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(string(got)).To(Equal(tc.want))
		})
	}
	_, err := ReplaceDocument([]byte("a: 1\n"), 9, []byte("x: 1\n"))
	NewWithT(t).Expect(err).To(MatchError(ContainSubstring("no document at line 9")))
}

// reversedOf is what planner.ReversedPlan makes of the payments plan: clusters swapped,
// failover false, no drill, each volume the activated one with a new standby name, PersistentVolume
// names left to their default.
func reversedOf(p *Plan) *DRPlan {
	r := p.DRPlan
	r.Spec.Primary, r.Spec.Secondary = p.Spec.Secondary, p.Spec.Primary
	r.Spec.Failover, r.Spec.Drill, r.Spec.Suspend = false, nil, false
	r.Spec.Volumes = make([]Volume, len(p.Spec.Volumes))
	for i, v := range p.Spec.Volumes {
		v.Name, v.StandbyName = v.StandbyName, v.Name+"-b"
		if v.PV != nil {
			pv := *v.PV
			pv.Name = ""
			v.PV = &pv
		}
		r.Spec.Volumes[i] = v
	}
	return &r
}

// The reversed plan keeps what the team wrote (comments, order, flow style, defaults left
// unwritten) and changes only what a reversal changes; a document it cannot edit safely is
// written out in full, and either way the result loads as exactly the reversed plan.
func TestReversedDocument(t *testing.T) {
	const other = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: keep-me}\n"
	for _, tc := range []struct {
		name, doc string
		// edited is true when the document is edited in place; want are lines it must hold.
		edited bool
		want   []string
	}{
		{
			name: "block style with comments, a drill and a PersistentVolume",
			doc: `# payments: the shop's database
apiVersion: drplan.io/v1alpha1
kind: DRPlan
metadata:
  name: payments
spec:
  primary: east # where the shop runs
  secondary: west
  failover: true
  suspend: false
  schedule:
    cron: "0 * * * *"
    retain: 5
  rpo: 2h
  drill: {id: q1, namespace: payments-drill}
  volumes:
    # the database first
    - name: pg-data
      standbyName: pg-data-dr
      replicas: 2
      wave: db
      pv: {name: pv-pg-data, fsType: xfs}
  waves:
    - name: db
`,
			edited: true,
			want: []string{"# payments: the shop's database", "  primary: west # where the shop runs", "  secondary: east", "  failover: false",
				"    # the database first", "    - name: pg-data-dr", "      standbyName: pg-data-b", `    cron: "0 * * * *"`,
				"      pv: {fsType: xfs}"},
		},
		{
			name: "a standbyName left to its default is written",
			doc: `apiVersion: drplan.io/v1alpha1
kind: DRPlan
metadata: {name: payments}
spec:
  primary: east
  secondary: west
  schedule: {cron: "@every 1h", retain: 5}
  rpo: 2h
  volumes: [{name: pg-data, replicas: 2, wave: db}]
  waves: [{name: db}]
`,
			edited: true,
			want:   []string{"  primary: west", "  volumes: [{name: pg-data, replicas: 2, wave: db, standbyName: pg-data-b}]"},
		},
		{
			name: "an anchor the edit would change elsewhere too: written out in full",
			doc: `apiVersion: drplan.io/v1alpha1
kind: DRPlan
metadata: {name: payments}
spec:
  primary: &site east
  secondary: west
  schedule: {cron: "@every 1h", retain: 5}
  rpo: 2h
  volumes:
    - {name: pg-data, standbyName: pg-data, replicas: 2, wave: *site}
  waves: [{name: *site}]
`,
			want: []string{"  primary: west", "  backupTarget: default"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			file := other + "---\n" + tc.doc
			set, problems := LoadFS(fstest.MapFS{"payments.yaml": {Data: []byte(file)}}, ".")
			g.Expect(problems).To(BeEmpty())
			p := set.Plans[0]
			reversed := reversedOf(p)
			out, err := ReversedDocument([]byte(file), p, reversed, "# reversed\n")
			g.Expect(err).NotTo(HaveOccurred())
			t.Logf("%s", out)
			g.Expect(string(out)).To(HavePrefix(other+"---\n# reversed\n"), "the file's other documents stay")
			lines := strings.Split(string(out), "\n")
			for _, w := range tc.want {
				g.Expect(lines).To(ContainElement(w))
			}
			g.Expect(strings.Contains(string(out), "backupTarget")).To(Equal(!tc.edited), "defaults are spelled out only when written in full")
			again, problems := LoadFS(fstest.MapFS{"payments.yaml": {Data: out}}, ".")
			g.Expect(problems).To(BeEmpty())
			want, err := Marshal(reversed)
			g.Expect(err).NotTo(HaveOccurred())
			full, problems := LoadFS(fstest.MapFS{"payments.yaml": {Data: want}}, ".")
			g.Expect(problems).To(BeEmpty())
			g.Expect(again.Plans[0].DRPlan).To(Equal(full.Plans[0].DRPlan), "the proposal loads as exactly the reversed plan")
		})
	}
}
