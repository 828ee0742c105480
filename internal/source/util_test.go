package source

import (
	"os"
	"strconv"
	"time"
)

// timeoutPR bounds how long Gitea takes to move refs/pull/N/head after a push to the branch.
const timeoutPR = 30 * time.Second

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func isEmptyDir(dir string) bool {
	entries, err := os.ReadDir(dir)
	return err == nil && len(entries) == 0
}
