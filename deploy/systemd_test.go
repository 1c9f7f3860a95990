package deploy

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const unitFile = "systemd/gateway.service"

// unit is a systemd unit file: section, then key, then every value given, in order.
type unit map[string]map[string][]string

// parseUnit reads the key=value lines of a unit file. It knows only what gateway.service
// uses: no line continuations, no quoting beyond what the checks below undo.
func parseUnit(t *testing.T, path string) unit {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	u := unit{}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
			continue
		case strings.HasSuffix(line, `\`):
			t.Fatalf("%s:%d: line continuations are not understood by this test", path, n)
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = strings.Trim(line, "[]")
			if u[section] == nil {
				u[section] = map[string][]string{}
			}
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		require.True(t, ok, "%s:%d: want key=value, got %q", path, n, line)
		require.NotEmpty(t, section, "%s:%d: key outside a section", path, n)
		key = strings.TrimSpace(key)
		u[section][key] = append(u[section][key], strings.TrimSpace(value))
	}
	require.NoError(t, sc.Err())
	return u
}

// one returns the single value of a key, failing when it is missing or repeated.
func (u unit) one(t *testing.T, section, key string) string {
	t.Helper()
	v := u[section][key]
	require.Len(t, v, 1, "[%s] %s: want exactly one value, got %q", section, key, v)
	return v[0]
}

// environment returns the variables that Environment= lines set.
func (u unit) environment(t *testing.T) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, line := range u["Service"]["Environment"] {
		for _, assign := range strings.Fields(line) {
			k, v, ok := strings.Cut(strings.Trim(assign, `"`), "=")
			require.True(t, ok, "Environment=%s", line)
			env[k] = v
		}
	}
	return env
}

// credentials returns the names of LoadCredential= lines.
func (u unit) credentials(t *testing.T) []string {
	t.Helper()
	var names []string
	for _, v := range u["Service"]["LoadCredential"] {
		name, src, ok := strings.Cut(v, ":")
		require.True(t, ok && filepath.IsAbs(src), "LoadCredential=%s: want name:/absolute/path", v)
		names = append(names, name)
	}
	return names
}

// parseTimespan reads the systemd time spans a unit is likely to hold: "45s", "1min 30s",
// "2min", or a bare number of seconds.
func parseTimespan(t *testing.T, s string) time.Duration {
	t.Helper()
	units := map[string]time.Duration{
		"ms": time.Millisecond, "s": time.Second, "sec": time.Second, "m": time.Minute, "min": time.Minute,
		"h": time.Hour, "hr": time.Hour,
	}
	var total time.Duration
	for _, part := range strings.Fields(s) {
		i := strings.IndexFunc(part, func(r rune) bool { return r < '0' || r > '9' })
		if i < 0 {
			i = len(part)
		}
		n, err := strconv.Atoi(part[:i])
		require.NoError(t, err, "time span %q", s)
		unit := time.Second
		if suffix := part[i:]; suffix != "" {
			var ok bool
			unit, ok = units[suffix]
			require.True(t, ok, "time span %q: unknown unit %q", s, suffix)
		}
		total += time.Duration(n) * unit
	}
	return total
}

func TestParseTimespan(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"45":         45 * time.Second,
		"45s":        45 * time.Second,
		"1min 30s":   90 * time.Second,
		"2min":       2 * time.Minute,
		"1h 500ms":   time.Hour + 500*time.Millisecond,
		"5min 15sec": 5*time.Minute + 15*time.Second,
	} {
		require.Equal(t, want, parseTimespan(t, in), in)
	}
}

func TestSystemdUnit(t *testing.T) {
	u := parseUnit(t, unitFile)
	svc := "Service"

	require.Equal(t, "/usr/local/bin/gateway serve", u.one(t, svc, "ExecStart"))
	env := u.environment(t)
	configPath := env["GATEWAY_CONFIG"]
	require.Equal(t, "/etc/gateway/gateway.yaml", configPath)
	// README installs the file beside the unit at GATEWAY_CONFIG.
	configFile := filepath.Join(filepath.Dir(unitFile), filepath.Base(configPath))
	data, err := os.ReadFile(configFile)
	require.NoError(t, err)

	// The credentials the unit loads are exactly those the config reads, each from the
	// directory systemd names in CREDENTIALS_DIRECTORY.
	creds := u.credentials(t)
	require.NotEmpty(t, creds, "the admin token comes as a credential")
	var used []string
	for _, p := range secretFiles(t, data) {
		name, ok := strings.CutPrefix(p, "${CREDENTIALS_DIRECTORY}/")
		require.True(t, ok, "%s: %s is not a credential: a DynamicUser service reads no root-owned secret elsewhere", configFile, p)
		used = append(used, name)
	}
	require.ElementsMatch(t, creds, used, "LoadCredential= names and the config's ${CREDENTIALS_DIRECTORY}/* files")

	dir := writeSecrets(t, creds...)
	cfg := loadConfig(t, configFile, data, filepath.Dir(configPath), map[string]string{"CREDENTIALS_DIRECTORY": dir}, nil)
	require.Equal(t, "test-admin_token", cfg.Admin.Token.Value(), "admin.token_file reads the credential")

	// The dynamic user may write only its StateDirectory (and its private /tmp).
	require.Equal(t, "yes", u.one(t, svc, "DynamicUser"))
	stateDir := "/var/lib/" + u.one(t, svc, "StateDirectory")
	require.Equal(t, stateDir, cfg.DataDir, "data_dir is the StateDirectory")
	requireWritable(t, cfg, stateDir)

	require.Equal(t, "on-failure", u.one(t, svc, "Restart"))
	requireStopsInTime(t, "TimeoutStopSec", parseTimespan(t, u.one(t, svc, "TimeoutStopSec")), cfg)
	// SIGTERM, KillSignal's default, starts the drain; another signal would not.
	require.Contains(t, []string{"", "SIGTERM"}, strings.Join(u[svc]["KillSignal"], ""))

	for key, want := range map[string]string{
		"NoNewPrivileges": "yes",
		"ProtectSystem":   "strict",
		"ProtectHome":     "yes",
		"PrivateTmp":      "yes", // Go's multipart parser and SQLite write temporary files there
	} {
		require.Equal(t, want, u.one(t, svc, key), key)
	}
	// ProcSubset=pid hides /proc/stat, which the Prometheus process metrics read: /metrics
	// would answer 500.
	require.NotContains(t, u[svc]["ProcSubset"], "pid")
	for _, v := range u[svc]["RestrictAddressFamilies"] {
		require.False(t, strings.HasPrefix(v, "~"), "an allow list, not a deny list")
		require.Subset(t, strings.Fields(v), []string{"AF_INET", "AF_INET6"}, "the gateway listens and calls out over IP")
	}
}

// TestSystemdAnalyze has systemd check the unit itself, where it is installed: the keys are
// known to this systemd and well formed, and the hardening keeps its exposure score.
func TestSystemdAnalyze(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed")
	}
	// verify wants ExecStart's binary to exist; any executable stands in for it, and
	// TestSystemdUnit checks the real ExecStart.
	unitText, err := os.ReadFile(unitFile)
	require.NoError(t, err)
	stub, err := os.Executable()
	require.NoError(t, err)
	unitText = bytes.ReplaceAll(unitText, []byte("/usr/local/bin/gateway"), []byte(stub))
	path := filepath.Join(t.TempDir(), "gateway.service")
	require.NoError(t, os.WriteFile(path, unitText, 0o644))

	out, err := exec.Command(analyze, "verify", "--man=no", path).CombinedOutput()
	require.NoError(t, err, "systemd-analyze verify:\n%s", out)
	// Unknown or malformed keys are only warnings, named after the file: none may be about ours.
	for _, line := range strings.Split(string(out), "\n") {
		require.NotContains(t, line, path, "systemd-analyze verify:\n%s", out)
	}

	// The exposure score, 0 (locked down) to 10; 2.0 and under is systemd's "OK". The
	// threshold is in tenths.
	out, err = exec.Command(analyze, "security", "--offline=true", "--no-pager", "--threshold=20", path).CombinedOutput()
	require.NoError(t, err, "exposure above 2.0, hardening lost:\n%s", out)
	require.Contains(t, string(out), fmt.Sprintf("Overall exposure level for %s", filepath.Base(path)))
}
