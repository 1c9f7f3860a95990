package config

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// maxSecretFile bounds what a *_file reference reads, so that pointing one at a device such
// as /dev/zero fails instead of eating the memory.
const maxSecretFile = 1 << 20

// readSecretFile returns the content of a secret file, minus one trailing newline (as left
// by editors and `echo`), resolving a relative name against baseDir, the directory of the
// configuration file, so that the configuration means the same whatever the working directory.
func readSecretFile(baseDir, name string) (string, error) {
	if !filepath.IsAbs(name) && baseDir != "" {
		name = filepath.Join(baseDir, name)
	}
	f, err := os.Open(name)
	if err != nil {
		return "", fmt.Errorf("read secret file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return "", fmt.Errorf("read secret file %s: %w", name, err)
	}
	if len(b) > maxSecretFile {
		return "", fmt.Errorf("read secret file %s: larger than %d bytes", name, maxSecretFile)
	}
	s := string(b)
	if t, ok := strings.CutSuffix(s, "\n"); ok {
		s = strings.TrimSuffix(t, "\r")
	}
	return s, nil
}
