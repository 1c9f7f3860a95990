package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse checks that no input makes Parse panic, that it returns either a Config or a
// *ValidationError with at least one problem, and that an accepted Config is valid.
func FuzzParse(f *testing.F) {
	example, err := os.ReadFile("example.yaml")
	if err != nil {
		f.Fatal(err)
	}
	seeds := []string{
		string(example),
		"",
		"---\n",
		"listen: ':8080'\n---\nlisten: ':9090'\n",
		"- a\n- b\n",
		"log: [\n",
		"delivery:\n  workers: many\n  lease: 5\n",
		"admin:\n  token: ${ADMIN_TOKEN}\n  token_file: token\n",
		"admin:\n  token_file: token\n",
		"admin:\n  token: a$${b}${UNSET:-x}${EMPTY}\n",
		"channels:\n  - name: chat\n    type: loopback\n    send_url: http://x/\n    sendurl: x\n",
		"channels:\n  - name: x\n    type: telgram\n",
		"helpdesks:\n  - &h {name: d, type: loopback, url: 'http://x/'}\n  - *h\nroutes: [{helpdesk: d, match: {kinds: [loopback]}}]\n",
		"a: &a {b: *a}\n",
		"routes:\n  - <<: {helpdesk: d}\n",
		"? [a]\n: b\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "token"), []byte("s3cret\n"), 0o600); err != nil {
		f.Fatal(err)
	}
	getenv := env(map[string]string{"ADMIN_TOKEN": "t", "EMPTY": "", "PUBLIC_URL": "https://support.example"})

	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := parse(data, dir, getenv)
		if err != nil {
			if cfg != nil {
				t.Fatalf("Parse returned a Config with error %v", err)
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || len(ve.Errors) == 0 {
				t.Fatalf("Parse returned %T %v, want a non-empty *ValidationError", err, err)
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if strings.TrimSpace(line) == "" {
					t.Fatalf("empty problem line in %q", err.Error())
				}
			}
			return
		}
		if cfg == nil {
			t.Fatal("Parse returned neither a Config nor an error")
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("Parse accepted a Config that Validate rejects: %v", err)
		}
	})
}
