package e2e

import (
	"debug/elf"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// imageUID is the user the Dockerfile's image runs as (USER 65532:65532).
const imageUID = 65532

// The project's machines have no Docker engine, so the image itself is never built in CI.
// TestScratchImage checks what the image depends on instead: the binary built as the
// Dockerfile builds it is static, and it serves the web chat and the inbox from an otherwise empty
// root (only the CA bundle, an empty /data and /tmp, as the image has) as the image's non-root
// user, answers the image's HEALTHCHECK, writes its state under /data and stops cleanly on
// SIGTERM. It is given a file with
// the embedded default's connectors and a free port rather than none, so the test does not
// depend on port 8080 being free.
func TestScratchImage(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("chroot needs root")
		}
		t.Skip("chroot needs root: run the tests as root")
	}
	// The root below mirrors these lines of the Dockerfile; keep them together.
	dockerfile, err := os.ReadFile("../../Dockerfile")
	require.NoError(t, err)
	for _, line := range []string{
		`RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/gateway ./cmd/gateway`,
		`mkdir -p /out/data /out/tmp && chmod 1777 /out/tmp`,
		`COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt`,
		`COPY --from=build --chown=65532:65532 /out/data /data`,
		`COPY --from=build /out/tmp /tmp`,
		`USER 65532:65532`,
		`CMD ["/gateway", "healthcheck"]`,
	} {
		require.Contains(t, string(dockerfile), line, "the Dockerfile changed: update TestScratchImage with it")
	}
	root := t.TempDir()
	require.NoError(t, os.Chmod(root, 0o755)) // the image's / is readable by its user
	bin := filepath.Join(root, "gateway")
	// The Dockerfile's build command, word for word.
	build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "github.com/casino-support/gateway/cmd/gateway")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	requireStatic(t, bin)

	certs := filepath.Join(root, "etc/ssl/certs/ca-certificates.crt")
	require.NoError(t, os.MkdirAll(filepath.Dir(certs), 0o755))
	if bundle, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt"); err == nil {
		require.NoError(t, os.WriteFile(certs, bundle, 0o644))
	}
	tmp := filepath.Join(root, "tmp")
	require.NoError(t, os.Mkdir(tmp, 0o755))
	require.NoError(t, os.Chmod(tmp, 0o1777|os.ModeSticky)) // as the Dockerfile's chmod 1777
	data := filepath.Join(root, "data")
	require.NoError(t, os.Mkdir(data, 0o755))
	require.NoError(t, os.Chown(data, imageUID, imageUID))
	port := freePort(t)
	// The embedded default's web chat and inbox, spelled out: a file has only what it lists.
	cfg := fmt.Sprintf(`listen: 127.0.0.1:%d
channels: [{name: web, type: webchat}]
helpdesks: [{name: inbox, type: inbox}]
default_helpdesk: inbox
`, port)
	require.NoError(t, os.WriteFile(filepath.Join(root, "gateway.yaml"), []byte(cfg), 0o644))

	logs := &lockedBuffer{}
	cmd := exec.Command("/gateway", "serve")
	cmd.Dir = "/"
	cmd.Env = []string{"GATEWAY_CONFIG=/gateway.yaml"} // nothing else: scratch has no HOME, no PATH
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root, Credential: &syscall.Credential{Uid: imageUID, Gid: imageUID}}
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		if t.Failed() {
			t.Logf("gateway log:\n%s", logs.String())
		}
	})

	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 30*time.Second, 50*time.Millisecond, "ready in the empty root")
	for _, page := range []string{"/chat/", "/inbox/"} {
		resp, err := http.Get(base + page)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", page, body)
	}
	// The image's HEALTHCHECK, run in the same root as the same user.
	probe := exec.Command("/gateway", "healthcheck")
	probe.Dir, probe.Env = "/", cmd.Env
	probe.SysProcAttr = &syscall.SysProcAttr{Chroot: root, Credential: &syscall.Credential{Uid: imageUID, Gid: imageUID}}
	out, err = probe.CombinedOutput()
	require.NoError(t, err, "healthcheck: %s", out)

	st, err := os.Stat(filepath.Join(data, "gateway.db"))
	require.NoError(t, err, "the database is under /data")
	require.EqualValues(t, imageUID, st.Sys().(*syscall.Stat_t).Uid, "written by the image's user")

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-exited:
		require.NoError(t, err, "exit status after SIGTERM")
	case <-time.After(30 * time.Second):
		t.Fatal("no exit within 30s of SIGTERM")
	}
	require.False(t, strings.Contains(logs.String(), `"level":"ERROR"`), "errors logged: %s", logs.String())
	// Without /proc, serve re-executes itself by the path it was started by (cmd/gateway/sysmon.go).
	require.NotContains(t, logs.String(), "running without GODEBUG")
}

// requireStatic fails unless bin needs no dynamic loader and no shared library, as a binary
// in a FROM scratch image must.
func requireStatic(t *testing.T, bin string) {
	t.Helper()
	f, err := elf.Open(bin)
	require.NoError(t, err)
	defer f.Close()
	for _, p := range f.Progs {
		require.NotEqual(t, elf.PT_INTERP, p.Type, "the binary asks for a dynamic loader")
	}
	libs, err := f.ImportedLibraries()
	require.NoError(t, err)
	require.Empty(t, libs, "the binary needs shared libraries")
}
