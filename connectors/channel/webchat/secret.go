package webchat

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// minSecretLen is the shortest HMAC key accepted: a short key can be brute-forced offline from
// one token, and then anyone can chat as any player.
const minSecretLen = 16

// tokenSecret returns the configured secret, or the one generated on an earlier start and kept
// at <dir>/<name>.key, or generates and keeps a new one. Keeping it means visitors' tokens (and
// so their history) survive restarts.
func tokenSecret(configured, dir, name string, log *slog.Logger) ([]byte, error) {
	if configured != "" {
		if len(configured) < minSecretLen {
			return nil, fmt.Errorf("token_secret: want at least %d bytes", minSecretLen)
		}
		return []byte(configured), nil
	}
	if dir == "" {
		return nil, errors.New("token_secret is not set and there is no secrets directory to keep a generated one")
	}
	path := filepath.Join(dir, name+".key")
	if key, err := readKey(path, log); err == nil || !errors.Is(err, os.ErrNotExist) {
		return key, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create secrets directory: %w", err)
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("generate token secret: %w", err)
	}
	key := hex.EncodeToString(b[:])
	if err := createOnce(path, []byte(key+"\n")); err != nil {
		if errors.Is(err, os.ErrExist) {
			// Another process sharing the directory won the race: use its key.
			return readKey(path, log)
		}
		return nil, fmt.Errorf("keep token secret: %w", err)
	}
	log.Info("generated a visitor token secret", "path", path)
	return []byte(key), nil
}

func readKey(path string, log *slog.Logger) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read token secret: %w", err)
	}
	key := strings.TrimSpace(string(b))
	if len(key) < minSecretLen {
		return nil, fmt.Errorf("token secret %s: want at least %d bytes; delete it to generate a new one", path, minSecretLen)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		log.Warn("token secret is readable by others; chmod 600 it", "path", path, "mode", fi.Mode().Perm().String())
	}
	return []byte(key), nil
}

// createOnce writes data to a temporary file and links it into place, so path either does not
// exist or holds the whole key, even after a crash, and an existing key is never replaced.
func createOnce(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".key-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // CreateTemp made it 0600
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Link(tmp.Name(), path)
}
