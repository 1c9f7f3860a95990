// Package pgtest gives a test a PostgreSQL database of its own: a fresh schema in the
// machine's PostgreSQL, dropped when the test ends.
//
// The server is the one at 127.0.0.1:5432, database test, with trust authentication, or the
// one GATEWAY_TEST_POSTGRES_DSN names (a URL or key=value connection string). When it does not
// answer, the test is skipped, saying how to start it, unless CI is set: in CI an unreachable
// PostgreSQL fails the test, so the store's PostgreSQL half is never silently left untested.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

// EnvDSN names the variable that overrides the default server.
const EnvDSN = "GATEWAY_TEST_POSTGRES_DSN"

// DefaultDSN is the machine's PostgreSQL, as test/peers/setup.sh and CI expect it.
const DefaultDSN = "postgres://127.0.0.1:5432/test?sslmode=disable"

// DSN creates a schema of its own for t and returns a connection string whose connections
// use it (search_path); the schema and everything in it is dropped when t ends.
func DSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvDSN)
	if base == "" {
		base = DefaultDSN
	}
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("pgtest: %s: %v", EnvDSN, err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		msg := "PostgreSQL at " + redact(base) + " is unreachable (" + err.Error() + "). Start it (Debian: " +
			"pg_ctlcluster 15 main start, with trust authentication for 127.0.0.1 and a database named test) " +
			"or point " + EnvDSN + " at one"
		if os.Getenv("CI") != "" {
			t.Fatal("pgtest: " + msg + "; CI is set, so this is a failure, not a skip")
		}
		t.Skip("pgtest: " + msg + "; skipped because CI is unset")
	}
	schema := "gwtest_" + randomHex()
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("pgtest: create schema: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err != nil {
			t.Errorf("pgtest: drop schema %s: %v", schema, err)
			return
		}
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("pgtest: drop schema %s: %v", schema, err)
		}
	})
	return withSearchPath(base, schema)
}

// withSearchPath adds search_path to a connection string in either of pgx's forms; pgx sends
// it to the server as a run-time parameter of every connection.
func withSearchPath(dsn, schema string) string {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return strings.TrimSpace(dsn) + " search_path=" + schema
}

// redact hides a password in a URL for messages.
func redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		return u.Redacted()
	}
	return dsn
}

func randomHex() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}
