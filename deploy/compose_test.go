package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const composePath = "compose/compose.yaml"

// compose is the part of the Compose specification that compose.yaml uses; decodeStrict
// refuses any other key, so a misspelled one fails here instead of being ignored.
type compose struct {
	Name     string                    `yaml:"name"`
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]*struct{}      `yaml:"volumes"`
	Secrets  map[string]struct {
		File string `yaml:"file"`
	} `yaml:"secrets"`
}

type composeService struct {
	Build           string            `yaml:"build"`
	Image           string            `yaml:"image"`
	Restart         string            `yaml:"restart"`
	User            string            `yaml:"user"`
	Entrypoint      []string          `yaml:"entrypoint"`
	Command         []string          `yaml:"command"`
	Environment     map[string]string `yaml:"environment"`
	Ports           []string          `yaml:"ports"`
	Volumes         []string          `yaml:"volumes"`
	Secrets         []string          `yaml:"secrets"`
	ReadOnly        bool              `yaml:"read_only"`
	Tmpfs           []string          `yaml:"tmpfs"`
	CapDrop         []string          `yaml:"cap_drop"`
	SecurityOpt     []string          `yaml:"security_opt"`
	StopGracePeriod string            `yaml:"stop_grace_period"`
	StopSignal      string            `yaml:"stop_signal"`
	DependsOn       map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
	Healthcheck struct {
		Test        []string `yaml:"test"`
		Interval    string   `yaml:"interval"`
		Timeout     string   `yaml:"timeout"`
		Retries     int      `yaml:"retries"`
		StartPeriod string   `yaml:"start_period"`
	} `yaml:"healthcheck"`
}

// composeVar is a variable reference Compose replaces in compose.yaml itself.
var composeVar = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:?-([^}]*))?\}`)

// interpolate does what Compose does to a value of compose.yaml, given the variables of the
// shell that runs it: ${NAME} is NAME's value or "", and ${NAME:-default} (or
// ${NAME-default}) falls back to default when NAME is unset (or, with ":", empty).
func interpolate(s string, shell map[string]string) string {
	s = composeVar.ReplaceAllStringFunc(s, func(ref string) string {
		m := composeVar.FindStringSubmatch(ref)
		v, set := shell[m[1]]
		switch {
		case m[2] == "":
			return v
		case !set, strings.HasPrefix(m[2], ":") && v == "":
			return m[3]
		}
		return v
	})
	return strings.ReplaceAll(s, "$$", "$")
}

func TestCompose(t *testing.T) {
	data, err := os.ReadFile(composePath)
	require.NoError(t, err)
	var c compose
	require.NoError(t, decodeStrict(data, &c), composePath)
	require.Len(t, c.Services, 1)
	svc, ok := c.Services["gateway"]
	require.True(t, ok, "the service is named gateway")
	dir := filepath.Dir(composePath)
	img := readImage(t)

	// The image is the repository's Dockerfile, run as it is.
	require.FileExists(t, filepath.Join(dir, svc.Build, "Dockerfile"))
	require.Equal(t, "..", filepath.Clean(filepath.Join(dir, svc.Build)), "build: the repository root")
	require.Empty(t, svc.Entrypoint, "the image's ENTRYPOINT %v runs the gateway", img.entrypoint)
	require.Contains(t, [][]string{nil, {"serve"}}, svc.Command)
	require.Contains(t, []string{"", img.user}, svc.User, "the image's user owns /data")

	// The config file: mounted read-only where GATEWAY_CONFIG points.
	// The environment of the container, started from a shell that sets nothing.
	containerEnv := func(shell map[string]string) map[string]string {
		env := map[string]string{}
		for k, v := range svc.Environment {
			env[k] = interpolate(v, shell)
		}
		return env
	}
	env := containerEnv(nil)
	configPath := env["GATEWAY_CONFIG"]
	require.True(t, filepath.IsAbs(configPath), "GATEWAY_CONFIG=%q", configPath)
	mounts := map[string]string{} // target -> source
	for _, v := range svc.Volumes {
		parts := strings.Split(v, ":")
		require.Contains(t, []int{2, 3}, len(parts), "volume %q: want source:target[:mode]", v)
		if len(parts) == 3 {
			require.Equal(t, "ro", parts[2], "volume %q: the only mode used is ro", v)
		}
		require.NotContains(t, mounts, parts[1], "two volumes at %s", parts[1])
		mounts[parts[1]] = parts[0]
		if parts[1] == configPath {
			require.Len(t, parts, 3, "the config is mounted read-only")
		}
	}
	configSource, ok := mounts[configPath]
	require.True(t, ok, "no volume at GATEWAY_CONFIG %s", configPath)
	configFile := filepath.Join(dir, configSource)
	configData, err := os.ReadFile(configFile)
	require.NoError(t, err)

	// Secrets: each *_file is a secret of the service, which Compose mounts at
	// /run/secrets/<name>, from a file beside compose.yaml.
	var names []string
	for _, name := range svc.Secrets {
		s, ok := c.Secrets[name]
		require.True(t, ok, "secret %s is not defined", name)
		require.NotEmpty(t, s.File)
		require.False(t, filepath.IsAbs(s.File), "secret %s: a file beside compose.yaml", name)
		names = append(names, name)
	}
	var used []string
	for _, p := range secretFiles(t, configData) {
		name, ok := strings.CutPrefix(p, "/run/secrets/")
		require.True(t, ok, "%s: %s is not a Compose secret", configFile, p)
		used = append(used, name)
	}
	require.ElementsMatch(t, names, used, "the service's secrets and the config's /run/secrets/* files")
	secretMounts := map[string]string{"/run/secrets": writeSecrets(t, names...)}
	cfg := loadConfig(t, configFile, configData, filepath.Dir(configPath), env, secretMounts)
	require.Equal(t, "test-admin_token", cfg.Admin.Token.Value())
	// README sets PUBLIC_URL in the shell that runs compose; it must reach public_url.
	const url = "https://support.casino.test"
	withURL := loadConfig(t, configFile, configData, filepath.Dir(configPath), containerEnv(map[string]string{"PUBLIC_URL": url}), secretMounts)
	require.Equal(t, url, withURL.PublicURL, "PUBLIC_URL in the shell is the gateway's public_url")

	// /data: a named volume, the image's VOLUME and the config's data_dir.
	dataSource, ok := mounts[cfg.DataDir]
	require.True(t, ok, "no volume at data_dir %s", cfg.DataDir)
	require.Contains(t, c.Volumes, dataSource, "data_dir is on a named volume, which survives the container")
	require.Contains(t, img.volumes, cfg.DataDir, "data_dir is the image's VOLUME")
	writable := []string{cfg.DataDir}
	if svc.ReadOnly {
		writable = append(writable, svc.Tmpfs...)
	}
	requireWritable(t, cfg, writable...)
	require.Contains(t, writable, "/tmp", "Go's multipart parser and SQLite need a writable /tmp, which the image lacks")

	// The published port is the one the gateway listens on.
	port := listenPort(t, cfg)
	require.NotEmpty(t, svc.Ports)
	for _, p := range svc.Ports {
		parts := strings.Split(p, ":")
		require.Equal(t, strconv.Itoa(port), parts[len(parts)-1], "port %q: the container side is listen's port", p)
	}

	// Stopping: SIGTERM, and time for the drain.
	require.Contains(t, []string{"", "SIGTERM"}, svc.StopSignal)
	grace, err := time.ParseDuration(svc.StopGracePeriod)
	require.NoError(t, err, "stop_grace_period (Docker's default, 10s, is too short)")
	requireStopsInTime(t, "stop_grace_period", grace, cfg)

	// The healthcheck runs the image's own binary: a FROM scratch image has nothing else.
	hc := svc.Healthcheck
	require.GreaterOrEqual(t, len(hc.Test), 3)
	require.Equal(t, "CMD", hc.Test[0], "exec form: there is no shell for CMD-SHELL")
	require.Equal(t, img.entrypoint[0], hc.Test[1])
	require.Equal(t, "healthcheck", hc.Test[2])
	timeout, err := time.ParseDuration(hc.Timeout)
	require.NoError(t, err)
	if i := slices.Index(hc.Test, "--timeout"); i >= 0 {
		own, err := time.ParseDuration(hc.Test[i+1])
		require.NoError(t, err)
		require.Less(t, own, timeout, "the check gives up, with its reason, before Docker kills it")
	}
	for _, d := range []string{hc.Interval, hc.StartPeriod} {
		_, err := time.ParseDuration(d)
		require.NoError(t, err)
	}
}

func TestInterpolate(t *testing.T) {
	shell := map[string]string{"SET": "v", "EMPTY": ""}
	for in, want := range map[string]string{
		"${PUBLIC_URL:-http://localhost:8080}": "http://localhost:8080",
		"${SET:-d}":                            "v",
		"${EMPTY:-d}":                          "d",
		"${EMPTY-d}":                           "",
		"${UNSET-d}":                           "d",
		"x${UNSET}y":                           "xy",
		"x${SET}y":                             "xvy",
		"pa$$word":                             "pa$word",
		"/etc/gateway/gateway.yaml":            "/etc/gateway/gateway.yaml",
	} {
		require.Equal(t, want, interpolate(in, shell), in)
	}
}
