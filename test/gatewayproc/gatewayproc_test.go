package gatewayproc

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestConfigNamesTheStore(t *testing.T) {
	s := Setup{Port: 1234, DataDir: "/tmp/d", TelegramURL: "http://tg", Token: "t", ReceiverURL: "http://rc", Secret: "s", APIToken: "a"}
	require.Contains(t, s.Config(), "store: {driver: sqlite}")
	s.PostgresDSN = "postgres://h/db?search_path=x"
	require.Contains(t, s.Config(), `store: {driver: postgres, dsn: "postgres://h/db?search_path=x"}`)
}

func TestFreePortIsFree(t *testing.T) {
	p, err := FreePort()
	require.NoError(t, err)
	require.Positive(t, p)
}
