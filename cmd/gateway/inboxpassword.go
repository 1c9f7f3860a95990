package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/casino-support/gateway/config"
	"github.com/casino-support/gateway/connectors/helpdesk/inbox"
	"github.com/casino-support/gateway/normalize"
)

const passwordAlphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// inboxPasswordCmd sets an inbox agent's password, or prints a bcrypt hash for config files.
func inboxPasswordCmd(ctx context.Context, args []string, env lookupEnv, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("inbox-password", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "configuration file (default: GATEWAY_CONFIG or the embedded default)")
	user := fs.String("user", "", "agent name; created when missing")
	helpdesk := fs.String("helpdesk", "", "inbox instance (default: the only one)")
	fromStdin := fs.Bool("password-stdin", false, "read the new password from standard input instead of generating one")
	hashOnly := fs.Bool("hash", false, "only print a bcrypt hash of the password, for inbox agents in the config file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *user == "" && !*hashOnly {
		fmt.Fprintln(stderr, "gateway inbox-password: --user NAME is required (or --hash)")
		return 2
	}
	password, generated, err := newPassword(*fromStdin, stdin)
	if err != nil {
		fmt.Fprintf(stderr, "gateway inbox-password: %v\n", err)
		return 1
	}
	if *hashOnly {
		hash, err := inbox.HashPassword(password)
		if err != nil {
			fmt.Fprintf(stderr, "gateway inbox-password: %v\n", err)
			return 1
		}
		if generated {
			fmt.Fprintf(stderr, "password: %s\n", password)
		}
		fmt.Fprintln(stdout, hash)
		return 0
	}
	cfg, err := loadConfig(*path, env)
	if err != nil {
		fmt.Fprintf(stderr, "gateway inbox-password: %v\n", err)
		return 1
	}
	box, err := pickInbox(cfg, *helpdesk)
	if err != nil {
		fmt.Fprintf(stderr, "gateway inbox-password: %v\n", err)
		return 2
	}
	if err := setInboxPassword(ctx, cfg, box, *user, password); err != nil {
		fmt.Fprintf(stderr, "gateway inbox-password: %v\n", err)
		return 1
	}
	if generated {
		fmt.Fprintf(stdout, "password of %s set to: %s\n", *user, password)
	} else {
		fmt.Fprintf(stdout, "password of %s changed\n", *user)
	}
	return 0
}

func newPassword(fromStdin bool, stdin io.Reader) (password string, generated bool, err error) {
	if fromStdin {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", false, fmt.Errorf("read password: %w", err)
		}
		password = strings.TrimRight(line, "\r\n")
		if len(password) < 12 {
			return "", false, errors.New("password must have at least 12 characters")
		}
		return password, false, nil
	}
	b := make([]byte, 20)
	for i := range b {
		b[i] = passwordAlphabet[int(randomByte())%len(passwordAlphabet)]
	}
	return string(b), true, nil
}

// randomByte draws uniformly below 256 - 256%len(alphabet), so the modulo is unbiased.
func randomByte() byte {
	limit := byte(256 - 256%len(passwordAlphabet))
	var one [1]byte
	for {
		rand.Read(one[:]) // never fails (crypto/rand)
		if one[0] < limit {
			return one[0]
		}
	}
}

func pickInbox(cfg *config.Config, name string) (*inbox.Config, error) {
	var found []*inbox.Config
	for _, h := range cfg.Helpdesks {
		if box, ok := h.Settings.(*inbox.Config); ok && (name == "" || h.Name == name) {
			found = append(found, box)
		}
	}
	switch {
	case len(found) == 1:
		return found[0], nil
	case len(found) == 0 && name != "":
		return nil, fmt.Errorf("no inbox helpdesk named %q", name)
	case len(found) == 0:
		return nil, errors.New("the configuration has no inbox helpdesk")
	default:
		return nil, errors.New("several inbox helpdesks: choose one with --helpdesk NAME")
	}
}

// inboxPasswordCommand is the command, less "--user NAME", that sets a password of the inbox
// called name of a gateway running cfg read from configFile ("" for the embedded default); the
// inbox prints it at every start. It names the file, so that it changes this inbox's database
// and not the default configuration's ./data/inbox.db, also when serve found the file through
// GATEWAY_CONFIG, which the operator's shell may not have. It names the inbox when there are
// several, since inbox-password then asks which one.
func inboxPasswordCommand(cfg *config.Config, configFile string, name normalize.InstanceName) string {
	cmd := "gateway inbox-password"
	if configFile != "" {
		cmd += " --config " + shellQuote(configFile)
	}
	inboxes := 0
	for _, h := range cfg.Helpdesks {
		if _, ok := h.Settings.(*inbox.Config); ok {
			inboxes++
		}
	}
	if inboxes > 1 {
		cmd += " --helpdesk " + shellQuote(string(name))
	}
	return cmd
}

// shellQuote returns s as one word of a POSIX shell: as it is when no character in it means
// anything to a shell, else in single quotes, so that a path with spaces can be pasted.
func shellQuote(s string) string {
	plain := s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@%+,", r))
	}) < 0
	if plain {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
