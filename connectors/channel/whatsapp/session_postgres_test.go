package whatsapp

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"go.mau.fi/whatsmeow/proto/waAdv"
	"go.mau.fi/whatsmeow/types"

	"github.com/casino-support/gateway/normalize"
	"github.com/casino-support/gateway/router/store/pgtest"
)

// TestPostgresSession: with the gateway's store on PostgreSQL, each instance's session (the
// linked device's keys and the ledger) lives in a schema of its own in that database, which
// whatsmeow upgrades with its PostgreSQL dialect over pgx; two instances stay apart, and a
// paired device is found again by the next process, as another replica would find it.
func TestPostgresSession(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	// The schemas lie outside pgtest's own, so the test drops them itself; a "-" in the
	// name, which instance names allow, needs the schema quoted.
	suffix := randomSuffix()
	one, two := normalize.InstanceName("wa-one-"+suffix), normalize.InstanceName("wa_two_"+suffix)
	t.Cleanup(func() { dropSchemas(t, dsn, one, two) })

	s1, err := openInstanceSession(ctx, one, "", dsn, nil)
	require.NoError(t, err)
	s2, err := openInstanceSession(ctx, two, "", dsn, nil)
	require.NoError(t, err, "the second instance's upgrade must not take the first one's tables for its own")
	for name, s := range map[normalize.InstanceName]*Session{one: s1, two: s2} {
		var schema string
		var version int
		require.NoError(t, s.db.QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema))
		require.Equal(t, SessionSchema(string(name)), schema)
		require.NoError(t, s.db.QueryRowContext(ctx, "SELECT version FROM whatsmeow_version").Scan(&version))
		require.Positive(t, version, "whatsmeow's tables in %s", schema)
	}

	cli, err := s1.NewClient(ctx)
	require.NoError(t, err)
	require.False(t, cli.Paired(), "a new session starts unpaired")
	// Pairing ends with whatsmeow saving the device; saved here as it would be.
	dev := s1.container.NewDevice()
	jid := types.NewADJID("4915112345678", 0, 1)
	dev.ID = &jid
	dev.Account = &waAdv.ADVSignedDeviceIdentity{Details: []byte("details"), AccountSignature: make([]byte, 64),
		AccountSignatureKey: make([]byte, 32), DeviceSignature: make([]byte, 64)}
	require.NoError(t, dev.Save(ctx))

	require.NoError(t, s1.ledger.wrote(ctx, "+4915112345678"))
	require.NoError(t, s1.ledger.sending(ctx, "3EB0AA", "gw-1"))
	s1.ledger.now = func() time.Time { return time.Now().Add(sentKeep + time.Hour) }
	require.NoError(t, s1.ledger.prune(ctx), "milliseconds fit the ledger's columns")
	s1.ledger.now = time.Now
	require.NoError(t, s1.ledger.sending(ctx, "3EB0BB", "gw-2"))
	ok, err := s2.ledger.hasWritten(ctx, "+4915112345678")
	require.NoError(t, err)
	require.False(t, ok, "instances keep their ledgers apart")
	require.NoError(t, s1.Close())
	require.NoError(t, s2.Close())

	// The next process, here or on another replica, finds the device and the ledger.
	s1, err = openInstanceSession(ctx, one, "", dsn, nil)
	require.NoError(t, err, "the upgrade is idempotent")
	defer s1.Close()
	got, err := s1.device(ctx)
	require.NoError(t, err)
	require.NotNil(t, got)
	require.Equal(t, jid, *got.ID)
	require.Equal(t, dev.NoiseKey.Priv, got.NoiseKey.Priv)
	ok, err = s1.ledger.hasWritten(ctx, "+4915112345678")
	require.NoError(t, err)
	require.True(t, ok)
	id, err := s1.ledger.messageOf(ctx, "3EB0BB")
	require.NoError(t, err)
	require.Equal(t, normalize.MessageID("gw-2"), id)
	id, err = s1.ledger.messageOf(ctx, "3EB0AA")
	require.NoError(t, err)
	require.Empty(t, id, "pruned")
}

func randomSuffix() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func dropSchemas(t *testing.T, dsn string, names ...normalize.InstanceName) {
	db, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	defer db.Close()
	for _, n := range names {
		_, err := db.ExecContext(context.Background(), "DROP SCHEMA IF EXISTS "+pgx.Identifier{SessionSchema(string(n))}.Sanitize()+" CASCADE")
		require.NoError(t, err)
	}
}
