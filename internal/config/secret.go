package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
)

// Token returns the repository's HTTPS token from tokenFile or tokenEnv, or "" when neither is
// set. The file is read at each call, so a rotated token is picked up.
func (a Auth) Token() (string, error) {
	if a.TokenFile == "" && a.TokenEnv == "" {
		return "", nil
	}
	b, err := readSecret(a.TokenFile, a.TokenEnv)
	if err != nil {
		return "", fmt.Errorf("read repository token: %w", err)
	}
	return string(b), nil
}

// Secret returns the webhook's HMAC secret from secretFile or secretEnv.
func (w Webhook) Secret() ([]byte, error) {
	b, err := readSecret(w.SecretFile, w.SecretEnv)
	if err != nil {
		return nil, fmt.Errorf("read webhook secret: %w", err)
	}
	return b, nil
}

// Token returns the forge's API token from tokenFile or tokenEnv.
func (f Forge) Token() (string, error) {
	b, err := readSecret(f.TokenFile, f.TokenEnv)
	if err != nil {
		return "", fmt.Errorf("read %s token: %w", f.Kind, err)
	}
	return string(b), nil
}

// errEmptySecret is returned when the file or variable holding a secret is empty.
var errEmptySecret = errors.New("empty")

// readSecret reads a secret from file, or else from the environment variable env, without its
// trailing newline. Errors name the file or the variable, never the content.
func readSecret(file, env string) ([]byte, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("file %s: %w", file, err)
		}
		b = bytes.TrimRight(b, "\r\n")
		if len(b) == 0 {
			return nil, fmt.Errorf("file %s: %w", file, errEmptySecret)
		}
		return b, nil
	}
	if env == "" {
		return nil, errors.New("neither a file nor an environment variable is configured")
	}
	v, ok := os.LookupEnv(env)
	if !ok {
		return nil, fmt.Errorf("environment variable %s is not set", env)
	}
	if v == "" {
		return nil, fmt.Errorf("environment variable %s: %w", env, errEmptySecret)
	}
	return []byte(v), nil
}
