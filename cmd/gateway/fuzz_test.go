package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/casino-support/gateway/config"
)

// FuzzConfig is config's FuzzParse with the real catalog: the loader's own fuzzing sees only
// stand-in settings, while the connectors' settings (their Derive, their Validate, secrets,
// page paths and database files) meet operators' files only here. It checks that no input
// makes Parse panic, that it returns either a Config or a *ValidationError with at least one
// problem, and that an accepted Config is valid.
func FuzzConfig(f *testing.F) {
	files := []string{examplePath}
	deploy, err := filepath.Glob("../../deploy/*/gateway.yaml")
	if err != nil || len(deploy) == 0 {
		f.Fatalf("no deploy configuration to seed with: %v", err)
	}
	files = append(files, deploy...)
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"",
		"channels:\n  - {name: web, type: webchat}\nhelpdesks:\n  - {name: inbox, type: inbox}\ndefault_helpdesk: inbox\n",
		"channels:\n  - {name: tg, type: telegram, token: '1:a', mode: webhook, webhook_secret: s, player_secret_file: secret}\n",
		"channels:\n  - {name: tg, type: telegram, token: '1:a', token_file: secret, greetings: {en: hi, english: hi}}\n",
		"channels:\n  - {name: web, type: webchat, path: /chat, token_secret: short, allowed_origins: ['https://x/'], upload_types: ['image/*']}\n",
		"channels:\n  - {name: a, type: webchat}\n  - {name: b, type: webchat, path: /chat/b}\n",
		"data_dir: ''\nhelpdesks:\n  - {name: inbox, type: inbox, agents: [{name: alice, password_hash: '${HASH}'}, {name: alice}]}\ndefault_helpdesk: inbox\n",
		"helpdesks:\n  - {name: gateway, type: inbox}\n  - {name: b, type: inbox, database: data/gateway.db}\ndefault_helpdesk: gateway\n",
		"helpdesks:\n  - {name: rt, type: rt, url: 'https://rt.example/REST/2.0', token: t, gateway_user: g, poll_interval: 0s}\ndefault_helpdesk: rt\n",
		"helpdesks:\n  - {name: hooks, type: webhook, url: 'https://x/', secret_file: secret, api_token: '${UNSET:-}', max_skew: 1h}\ndefault_helpdesk: hooks\n",
		"helpdesks:\n  - &h {name: d, type: loopback, url: 'http://x/'}\n  - *h\nroutes: [{helpdesk: d, match: {kinds: [telegram, webchat, loopback, rt]}}]\n",
		"channels:\n  - {name: x, type: inbox}\nhelpdesks:\n  - {name: y, type: webchat}\n",
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	for name, content := range map[string]string{"secret": "0123456789abcdef\n", "admin_token": "t\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			f.Fatal(err)
		}
	}
	// The variables example.yaml and the deploy configurations read, so their seeds parse.
	getenv := fakeEnv(map[string]string{
		"ADMIN_TOKEN":            "t",
		"PUBLIC_URL":             "https://support.example",
		"CREDENTIALS_DIRECTORY":  dir,
		"TELEGRAM_PLAYER_SECRET": "casino-telegram-links-2026",
		"HASH":                   agentHash,
	})
	cat := catalog(connectorTypes())

	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := config.Parse(data, dir, getenv, cat)
		if err != nil {
			if cfg != nil {
				t.Fatalf("Parse returned a Config with error %v", err)
			}
			var ve *config.ValidationError
			if !errors.As(err, &ve) || len(ve.Errors) == 0 {
				t.Fatalf("Parse returned %T %v, want a non-empty *config.ValidationError", err, err)
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
