package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestServeBindsBeforeCreatingAnything: with the port taken, the first start used to create
// the inbox account and print its password before failing on bind, so the operator saw a
// password for a gateway that never ran. The listener comes first now: a failed bind creates
// nothing and prints no password.
func TestServeBindsBeforeCreatingAnything(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { taken.Close() })
	addr := taken.Addr().String()

	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	cfgPath := filepath.Join(dir, "gateway.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(fmt.Sprintf(`
listen: %s
data_dir: %s
channels: [{name: web, type: webchat}]
helpdesks: [{name: inbox, type: inbox}]
default_helpdesk: inbox
`, addr, data)), 0o600))

	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"serve", "--config", cfgPath}, strings.NewReader(""), &stdout, &stderr)
	require.Equal(t, 1, code, "stderr: %s", stderr.String())
	require.Contains(t, stderr.String(), addr, "the error names the address")
	require.Contains(t, stderr.String(), "address already in use")
	require.NotContains(t, stdout.String(), "password", "no account was made, so no password is shown")
	require.NoFileExists(t, filepath.Join(data, "inbox.db"))
	require.NoFileExists(t, filepath.Join(data, "gateway.db"))
}
