package inbox

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

const (
	// minPasswordRunes keeps agent passwords out of reach of a guessing attack that the
	// per-address sign-in limit slows but cannot stop.
	minPasswordRunes = 8
	// generatedPasswordLen and passwordAlphabet make the first-start password: about 114 bits,
	// without characters that are easily confused when read off a terminal (0/O, 1/l/I).
	generatedPasswordLen = 20
	passwordAlphabet     = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
	// firstAgent is the account created when no agent exists.
	firstAgent = "admin"
)

// agentNamePattern matches the names config accepts for agents, so the CLI cannot create an
// account the configuration could not name.
var agentNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// HashPassword returns the bcrypt hash of password, as config's password_hash wants it.
func HashPassword(password string) (string, error) {
	if err := checkPassword(password); err != nil {
		return "", err
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("inbox: hash password: %w", err)
	}
	return string(h), nil
}

func checkPassword(password string) error {
	if n := utf8.RuneCountInString(password); n < minPasswordRunes {
		return fmt.Errorf("inbox: a password needs at least %d characters", minPasswordRunes)
	}
	if len(password) > 72 {
		return errors.New("inbox: a password may have at most 72 bytes (bcrypt ignores the rest)")
	}
	return nil
}

// SetPassword sets user's password in the inbox database at databasePath, creating the agent
// when missing, and signs the agent out everywhere. It is for `gateway inbox-password`; an
// agent that the configuration lists gets the configured hash back at the next start.
func SetPassword(ctx context.Context, databasePath, user, password string) error {
	if err := checkUser(user); err != nil {
		return err
	}
	db, err := openDB(ctx, databasePath)
	if err != nil {
		return fmt.Errorf("inbox: %w", err)
	}
	defer db.Close()
	return setPassword(ctx, db, user, password)
}

// SetPasswordShared is SetPassword for an inbox that keeps its agents in the gateway's
// PostgreSQL database pg (Deps.Postgres); it leaves pg open.
func SetPasswordShared(ctx context.Context, pg *sql.DB, user, password string) error {
	if err := checkUser(user); err != nil {
		return err
	}
	db, err := sharedDB(ctx, pg)
	if err != nil {
		return fmt.Errorf("inbox: %w", err)
	}
	return setPassword(ctx, db, user, password)
}

func checkUser(user string) error {
	if !agentNamePattern.MatchString(user) {
		return fmt.Errorf("inbox: want a user name of lower-case letters, digits, '-' and '_', got %q", user)
	}
	return nil
}

func setPassword(ctx context.Context, db *database, user, password string) error {
	hash, err := HashPassword(password)
	if err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("inbox: set password: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO agents (name, display_name, password_hash, from_config, created_at)
		VALUES (?, ?, ?, 0, ?) ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash`,
		user, user, hash, millis(time.Now())); err != nil {
		return fmt.Errorf("inbox: set password of %s: %w", user, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE agent = ?`, user); err != nil {
		return fmt.Errorf("inbox: sign out %s: %w", user, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("inbox: set password of %s: %w", user, err)
	}
	return nil
}

// syncAgents makes the stored agents match the configuration (its hashes win; a changed hash
// signs the agent out; agents it no longer lists are removed) and creates the first account
// when no agent exists at all.
func (i *Inbox) syncAgents(ctx context.Context) error {
	tx, err := i.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sync agents: %w", err)
	}
	defer tx.Rollback()
	now := millis(i.now())
	names := make([]any, 0, len(i.cfg.Agents))
	for _, a := range i.cfg.Agents {
		names = append(names, a.Name)
		hash := a.PasswordHash.Value()
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE agent = ?
			AND EXISTS (SELECT 1 FROM agents WHERE name = ? AND password_hash != ?)`, a.Name, a.Name, hash); err != nil {
			return fmt.Errorf("sync agent %s: %w", a.Name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO agents (name, display_name, password_hash, from_config, admin, created_at)
			VALUES (?, ?, ?, 1, ?, ?) ON CONFLICT (name) DO UPDATE SET display_name = excluded.display_name,
			password_hash = excluded.password_hash, from_config = 1, admin = excluded.admin`,
			a.Name, firstNonEmpty(a.DisplayName, a.Name), hash, flag(a.Admin), now); err != nil {
			return fmt.Errorf("sync agent %s: %w", a.Name, err)
		}
	}
	dropped := `DELETE FROM agents WHERE from_config = 1`
	if len(names) > 0 {
		dropped += ` AND name NOT IN (?` + strings.Repeat(", ?", len(names)-1) + `)`
	}
	if _, err := tx.ExecContext(ctx, dropped, names...); err != nil {
		return fmt.Errorf("remove agents no longer configured: %w", err)
	}
	var count int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM agents`).Scan(&count); err != nil {
		return fmt.Errorf("count agents: %w", err)
	}
	var password string
	var existing []string
	if count > 0 {
		if existing, err = agentNames(ctx, tx, shownAgents); err != nil {
			return err
		}
	}
	if count == 0 {
		if password, err = generatePassword(); err != nil {
			return err
		}
		hash, err := HashPassword(password)
		if err != nil {
			return err
		}
		// The only account, so the admin: nobody else could pair a channel from the inbox.
		if _, err := tx.ExecContext(ctx, `INSERT INTO agents (name, display_name, password_hash, from_config, admin, created_at)
			VALUES (?, ?, ?, 0, 1, ?)`, firstAgent, firstAgent, hash, now); err != nil {
			return fmt.Errorf("create first agent: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sync agents: %w", err)
	}
	page := strings.TrimSuffix(i.deps.PublicURL, "/") + i.cfg.Path
	if password != "" {
		// Printed only after the commit: a password shown for an account that does not exist
		// would lock the operator out.
		fmt.Fprintf(i.deps.Out, "Inbox: sign in at %s as %s with password %s (shown once; change it with: %s --user %s)\n",
			page, firstAgent, password, i.deps.PasswordCommand, firstAgent)
		i.log.Info("created the first inbox agent; its password was printed once", "agent", firstAgent)
		return nil
	}
	// A restart: the first start's password scrolled away long ago, and an operator who lost
	// it needs to know the way back in without reading the docs.
	who := strings.Join(existing, ", ")
	if count > len(existing) {
		who += fmt.Sprintf(" and %d more", count-len(existing))
	}
	fmt.Fprintf(i.deps.Out, "Inbox: sign in at %s as %s (forgot a password? set a new one with: %s --user NAME)\n",
		page, who, i.deps.PasswordCommand)
	return nil
}

// shownAgents is how many agent names a restart prints; the rest are counted.
const shownAgents = 5

// agentNames returns the first limit agent names in order.
func agentNames(ctx context.Context, tx *txn, limit int) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT name FROM agents ORDER BY name LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("list agents: %w", err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("list agents: %w", err)
		}
		names = append(names, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list agents: %w", err)
	}
	return names, nil
}

// generatePassword draws generatedPasswordLen characters of passwordAlphabet uniformly from
// crypto/rand (rejecting bytes past the last whole multiple of the alphabet's size).
func generatePassword() (string, error) {
	limit := byte(256 - 256%len(passwordAlphabet))
	out := make([]byte, 0, generatedPasswordLen)
	buf := make([]byte, 2*generatedPasswordLen)
	for len(out) < generatedPasswordLen {
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("generate password: %w", err)
		}
		for _, b := range buf {
			if b < limit && len(out) < generatedPasswordLen {
				out = append(out, passwordAlphabet[int(b)%len(passwordAlphabet)])
			}
		}
	}
	return string(out), nil
}

// agent is a stored account as sign-in needs it.
type agent struct {
	Name        string
	DisplayName string
	Hash        string
}

// findAgent returns the agent called name; found is false for an unknown name.
func (i *Inbox) findAgent(ctx context.Context, name string) (a agent, found bool, err error) {
	err = i.db.QueryRowContext(ctx, `SELECT name, display_name, password_hash FROM agents WHERE name = ?`, name).
		Scan(&a.Name, &a.DisplayName, &a.Hash)
	if errors.Is(err, sql.ErrNoRows) {
		return agent{}, false, nil
	}
	if err != nil {
		return agent{}, false, fmt.Errorf("find agent: %w", err)
	}
	return a, true, nil
}

// flag is a boolean column's value: INTEGER 0 or 1 in both dialects (SQLite has no BOOLEAN,
// and PostgreSQL does not take a Go bool for an INTEGER).
func flag(b bool) int {
	if b {
		return 1
	}
	return 0
}
