package testenv

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"text/template"
	"time"

	"code.gitea.io/sdk/gitea"

	"github.com/drplan/drplan/internal/freeport"
)

// Gitea is a running Gitea server on loopback with an admin user and an API token.
type Gitea struct {
	// URL is the server's root URL, ending in a slash.
	URL string
	// Admin and Password log in to the web UI and the API.
	Admin, Password string
	// Token is an admin API token with every scope.
	Token string
	// Dir holds app.ini, the database, the repositories and log/.
	Dir string

	cmd *exec.Cmd
	// done is closed when the process exited, with its status in exitErr.
	done    chan struct{}
	exitErr error
}

const giteaAppIni = `APP_NAME = drplan test forge
RUN_USER = {{.User}}
RUN_MODE = prod
WORK_PATH = {{.Dir}}
; A throwaway server on loopback; Gitea refuses root otherwise.
I_AM_BEING_UNSAFE_RUNNING_AS_ROOT = true

[server]
PROTOCOL = http
HTTP_ADDR = 127.0.0.1
HTTP_PORT = {{.Port}}
ROOT_URL = http://127.0.0.1:{{.Port}}/
DISABLE_SSH = true
START_SSH_SERVER = false
OFFLINE_MODE = true
LFS_START_SERVER = false
STATIC_ROOT_PATH = {{.Static}}
APP_DATA_PATH = {{.Dir}}/data

[database]
DB_TYPE = sqlite3
PATH = {{.Dir}}/gitea.db
SQLITE_JOURNAL_MODE = WAL

[repository]
ROOT = {{.Dir}}/repos
DEFAULT_BRANCH = main

[security]
INSTALL_LOCK = true
SECRET_KEY = {{.Secret}}
PASSWORD_HASH_ALGO = pbkdf2_hi

[service]
DISABLE_REGISTRATION = true
DEFAULT_ALLOW_CREATE_ORGANIZATION = true

[webhook]
; The agent's webhook listens on loopback.
ALLOWED_HOST_LIST = loopback
DELIVER_TIMEOUT = 5

[indexer]
ISSUE_INDEXER_TYPE = db
REPO_INDEXER_ENABLED = false

[cron]
ENABLED = false

[mailer]
ENABLED = false

[oauth2]
ENABLED = false

[actions]
ENABLED = false

[log]
MODE = file
LEVEL = Warn
ROOT_PATH = {{.Dir}}/log
`

// StartGitea starts Gitea with its state under dir and creates the admin user and token.
func StartGitea(ctx context.Context, dir string, tools Tools) (*Gitea, error) {
	port, err := freeport.Port()
	if err != nil {
		return nil, fmt.Errorf("start gitea: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "log"), 0o755); err != nil {
		return nil, fmt.Errorf("start gitea: %w", err)
	}
	secret := make([]byte, 16)
	_, _ = rand.Read(secret)
	var ini bytes.Buffer
	user := "root"
	if u := os.Getenv("USER"); u != "" {
		user = u
	}
	if err := template.Must(template.New("app.ini").Parse(giteaAppIni)).Execute(&ini, map[string]any{
		"User": user, "Dir": dir, "Port": port, "Static": tools.GiteaStatic, "Secret": hex.EncodeToString(secret),
	}); err != nil {
		return nil, fmt.Errorf("start gitea: render app.ini: %w", err)
	}
	config := filepath.Join(dir, "app.ini")
	if err := os.WriteFile(config, ini.Bytes(), 0o600); err != nil {
		return nil, fmt.Errorf("start gitea: %w", err)
	}
	g := &Gitea{
		URL:      fmt.Sprintf("http://127.0.0.1:%d/", port),
		Admin:    "drplan-admin",
		Password: "drplan-admin-password",
		Dir:      dir,
	}
	// Migrate the fresh database, then create the admin user in it.
	for _, step := range []struct {
		what string
		args []string
	}{
		{"migrate database", []string{"migrate", "--config", config}},
		{"create admin user", []string{"admin", "user", "create", "--config", config,
			"--username", g.Admin, "--password", g.Password, "--email", "admin@drplan.test",
			"--admin", "--must-change-password=false"}},
	} {
		cmd := exec.CommandContext(ctx, tools.Gitea, step.args...)
		cmd.Dir = dir
		cmd.Env = giteaEnv(dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("start gitea: %s: %w: %s", step.what, err, tail(out))
		}
	}

	logFile, err := os.Create(filepath.Join(dir, "log", "stdout.log"))
	if err != nil {
		return nil, fmt.Errorf("start gitea: %w", err)
	}
	g.cmd = exec.Command(tools.Gitea, "web", "--config", config)
	g.cmd.Dir = dir
	g.cmd.Env = giteaEnv(dir)
	g.cmd.Stdout, g.cmd.Stderr = logFile, logFile
	g.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := g.cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("start gitea: %w", err)
	}
	g.done = make(chan struct{})
	go func() { g.exitErr = g.cmd.Wait(); _ = logFile.Close(); close(g.done) }()

	if err := g.waitReady(ctx, 60*time.Second); err != nil {
		_ = g.Stop()
		return nil, err
	}
	client, err := gitea.NewClient(g.URL, gitea.SetBasicAuth(g.Admin, g.Password), gitea.SetContext(ctx))
	if err != nil {
		_ = g.Stop()
		return nil, fmt.Errorf("start gitea: api client: %w", err)
	}
	tok, _, err := client.CreateAccessToken(gitea.CreateAccessTokenOption{
		Name:   "drplan-test",
		Scopes: []gitea.AccessTokenScope{gitea.AccessTokenScopeAll},
	})
	if err != nil {
		_ = g.Stop()
		return nil, fmt.Errorf("start gitea: create admin token: %w", err)
	}
	g.Token = tok.Token
	return g, nil
}

// Client returns an API client authenticated with the admin token.
func (g *Gitea) Client(ctx context.Context) (*gitea.Client, error) {
	c, err := gitea.NewClient(g.URL, gitea.SetToken(g.Token), gitea.SetContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("gitea client for %s: %w", g.URL, err)
	}
	return c, nil
}

// CreateRepo creates an empty repository owned by the admin and returns its HTTP clone URL.
func (g *Gitea) CreateRepo(ctx context.Context, name string) (string, error) {
	c, err := g.Client(ctx)
	if err != nil {
		return "", err
	}
	repo, _, err := c.CreateRepo(gitea.CreateRepoOption{Name: name, DefaultBranch: "main"})
	if err != nil {
		return "", fmt.Errorf("create gitea repo %s: %w", name, err)
	}
	return repo.CloneURL, nil
}

// Stop kills the server's process group and waits for it.
func (g *Gitea) Stop() error {
	if g == nil || g.cmd == nil || g.cmd.Process == nil {
		return nil
	}
	_ = syscall.Kill(-g.cmd.Process.Pid, syscall.SIGTERM)
	// Stopped on purpose: the exit status says nothing.
	select {
	case <-g.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-g.cmd.Process.Pid, syscall.SIGKILL)
		<-g.done
	}
	g.cmd = nil
	return nil
}

func (g *Gitea) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-g.done:
			log, _ := os.ReadFile(filepath.Join(g.Dir, "log", "stdout.log"))
			return fmt.Errorf("start gitea: exited early: %w: %s", g.exitErr, tail(log))
		default:
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, g.URL+"api/v1/version", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("start gitea: not ready at %s after %s", g.URL, timeout)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("start gitea: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func giteaEnv(dir string) []string {
	return append(os.Environ(), "GITEA_WORK_DIR="+dir, "HOME="+dir, "GIT_CONFIG_NOSYSTEM=1")
}

func tail(b []byte) string {
	const n = 2000
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return strconv.Quote(string(b))
}
