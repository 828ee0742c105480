package sandbox

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"code.gitea.io/sdk/gitea"

	"github.com/drplan/drplan/internal/planner"
	"github.com/drplan/drplan/internal/report"
	"github.com/drplan/drplan/internal/status"
)

// demoPlan is the plan the demo fails over: three waves (databases, queues, apps).
const (
	demoPlan   = "shop"
	demoFile   = "three-waves.yaml"
	demoBranch = "failover-shop"
)

// Demo runs the whole story by itself and prints it: protection, backups reaching west, a pull
// request flipping failover with its preview, the merge, the waves activating in order, then
// the final status and the pull request's comment. It returns an error when a step does not
// happen within its time.
func (s *Sandbox) Demo(ctx context.Context, w io.Writer) error {
	start := time.Now()
	say := func(format string, args ...any) {
		fmt.Fprintf(w, "[%6s] %s\n", time.Since(start).Round(time.Second), fmt.Sprintf(format, args...))
	}

	say("protect: waiting for the first backups (every minute on east) to be restored on west")
	st, err := s.waitStatus(ctx, 3*time.Minute, func(st status.Status) bool { return allCaughtUp(st) })
	if err != nil {
		return fmt.Errorf("demo: standby volumes not caught up: %w", err)
	}
	for _, p := range st.Plans {
		say("  plan %s: %d standby volume(s) caught up on %s, lag %s", p.Name, len(p.Volumes), p.Secondary, maxLag(p))
	}

	say("open a pull request that sets failover: true in plan %s", demoPlan)
	api, err := s.lab.Gitea.Client(ctx)
	if err != nil {
		return err
	}
	owner := s.lab.Gitea.Admin
	contents, _, err := api.GetContents(owner, repoName, "main", demoFile)
	if err != nil || contents.Content == nil {
		return fmt.Errorf("demo: read %s: %w", demoFile, err)
	}
	raw, err := base64.StdEncoding.DecodeString(*contents.Content)
	if err != nil {
		return fmt.Errorf("demo: decode %s: %w", demoFile, err)
	}
	flipped := strings.Replace(string(raw), "failover: false", "failover: true", 1)
	if flipped == string(raw) {
		return fmt.Errorf("demo: %s has no \"failover: false\" line", demoFile)
	}
	file, _, err := api.UpdateFile(owner, repoName, demoFile, gitea.UpdateFileOptions{
		FileOptions: gitea.FileOptions{Message: "Fail plan shop over to west", BranchName: "main", NewBranchName: demoBranch},
		SHA:         contents.SHA, Content: base64.StdEncoding.EncodeToString([]byte(flipped))})
	if err != nil {
		return fmt.Errorf("demo: push the failover change: %w", err)
	}
	var pr *gitea.PullRequest
	for attempt := 0; ; attempt++ {
		// Gitea may register a new branch a moment after it was written.
		pr, _, err = api.CreatePullRequest(owner, repoName, gitea.CreatePullRequestOption{Head: demoBranch, Base: "main",
			Title: "Fail plan shop over to west", Body: "Opened by drplan sandbox --demo."})
		if err == nil {
			break
		}
		if attempt == 50 {
			return fmt.Errorf("demo: open the pull request: %w", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	say("  pull request #%d: %s", pr.Index, pr.HTMLURL)
	preview, err := s.waitComment(ctx, api, pr.Index, "kind=preview revision="+file.Commit.SHA, 2*time.Minute)
	if err != nil {
		return err
	}
	say("  preview comment: %s", summaryLine(preview))

	say("merge the pull request")
	if _, _, err := api.MergePullRequest(owner, repoName, pr.Index, gitea.MergePullRequestOption{Style: gitea.MergeStyleMerge}); err != nil {
		return fmt.Errorf("demo: merge: %w", err)
	}
	seen := map[string]string{}
	st, err = s.waitStatus(ctx, 5*time.Minute, func(st status.Status) bool {
		fs := failoverOf(st, demoPlan)
		if fs == nil {
			return false
		}
		for _, step := range fs.Steps {
			if seen[step.Name] != string(step.State) {
				seen[step.Name] = string(step.State)
				line := fmt.Sprintf("  failover %s: %s", step.Name, step.State)
				if step.Note != "" {
					line += " (" + step.Note + ")"
				}
				say("%s", line)
			}
		}
		return fs.Phase == planner.FailoverComplete
	})
	if err != nil {
		return fmt.Errorf("demo: failover did not complete: %w", err)
	}
	fs := failoverOf(st, demoPlan)
	say("failover complete: RTO %s, data-loss window %s", fs.RTO.Duration.Round(time.Millisecond), dataLoss(fs))
	final, err := s.waitComment(ctx, api, pr.Index, "failover complete", 2*time.Minute)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\n--- the pull request's comment (#%d) ---\n%s\n--- end of comment ---\n", pr.Index, stripHistory(final))
	say("demo finished")
	return nil
}

// waitStatus polls the agent's status until ok or the timeout.
func (s *Sandbox) waitStatus(ctx context.Context, timeout time.Duration, ok func(status.Status) bool) (status.Status, error) {
	deadline := time.Now().Add(timeout)
	var last status.Status
	for {
		st, _, err := status.Fetch(ctx, s.status)
		if err == nil {
			last = st
			if ok(st) {
				return st, nil
			}
		}
		if time.Now().After(deadline) {
			b, _ := json.Marshal(last.Plans)
			return last, fmt.Errorf("not within %s; last status: %s", timeout, b)
		}
		select {
		case <-ctx.Done():
			return last, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// waitComment waits for the agent's comment on the pull request to contain want.
func (s *Sandbox) waitComment(ctx context.Context, api *gitea.Client, pr int64, want string, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		cs, _, err := api.ListIssueComments(s.lab.Gitea.Admin, repoName, pr, gitea.ListIssueCommentOptions{})
		if err == nil {
			for _, c := range cs {
				if strings.HasPrefix(c.Body, report.Marker) && strings.Contains(stripHistory(c.Body), want) {
					return c.Body, nil
				}
			}
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("demo: no comment with %q on pull request #%d within %s", want, pr, timeout)
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

func allCaughtUp(st status.Status) bool {
	if len(st.Plans) == 0 {
		return false
	}
	for _, p := range st.Plans {
		if p.Invalid || len(p.Volumes) == 0 {
			return false
		}
		for _, v := range p.Volumes {
			if v.State != planner.StandbyCaughtUp {
				return false
			}
		}
	}
	return true
}

func maxLag(p planner.PlanReport) time.Duration {
	var m time.Duration
	for _, v := range p.Volumes {
		m = max(m, v.Lag.Duration)
	}
	return m.Round(time.Second)
}

func failoverOf(st status.Status, plan string) *planner.FailoverReport {
	for _, p := range st.Plans {
		if p.Name == plan {
			return p.FailoverStatus
		}
	}
	return nil
}

func dataLoss(fs *planner.FailoverReport) string {
	if !fs.DataLossKnown {
		return "unknown"
	}
	if fs.DataLoss.Duration == 0 {
		return "none (planned switchover: the final backups were restored)"
	}
	return fs.DataLoss.Duration.Round(time.Second).String()
}

// summaryLine is a comment's first visible line.
func summaryLine(body string) string {
	for _, l := range strings.Split(body, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "<!--") {
			return l
		}
	}
	return ""
}

// stripHistory drops a comment's folded history.
func stripHistory(body string) string {
	if i := strings.Index(body, "<!-- drplan:history -->"); i >= 0 {
		return strings.TrimSpace(body[:i])
	}
	return body
}
