package deploy

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/casino-support/gateway/config"
	"github.com/casino-support/gateway/connectors/channel/webchat"
	"github.com/casino-support/gateway/connectors/helpdesk/inbox"
	"github.com/casino-support/gateway/connectors/settings"
)

// deployedTypes are the connector types the deployment examples use. The gateway's own table
// of types lives in its main package (cmd/gateway/wire.go), which tests elsewhere cannot
// import; a type an example starts to use fails the examples' tests until it is added here.
var deployedTypes = config.Catalog{
	Channels:     map[string]config.NewSettings{"webchat": func() settings.Settings { return webchat.DefaultConfig() }},
	Helpdesks:    map[string]config.NewSettings{"inbox": func() settings.Settings { return inbox.DefaultConfig() }},
	StoreDrivers: []string{"sqlite", "postgres"},
}

// stopMargin is how much longer than shutdown_timeout a runtime must wait after SIGTERM before
// it kills the gateway: once the drain's deadline has passed, the gateway still ends its
// streams and closes the connectors and the store, and a kill in the middle of that is a
// crash.
const stopMargin = 5 * time.Second

// role says what a YAML file under deploy/ is, and so which test reads it.
type role int

const (
	gatewayConfig   role = iota // a gateway configuration file, loaded by config.Load
	composeFile                 // Docker Compose
	kubeManifests               // Kubernetes objects
	replicasCompose             // Docker Compose with PostgreSQL and replicas (replicas_test.go)
	replicasKube                // Kubernetes objects of the replicas (replicas_test.go)
)

// yamlFiles lists every YAML file under deploy/ and the test that covers it, so that a new
// one cannot go untested: TestEveryYAMLFileIsChecked fails until it is added here.
var yamlFiles = map[string]role{
	"systemd/gateway.yaml":        gatewayConfig,
	"compose/gateway.yaml":        gatewayConfig,
	"compose/compose.yaml":        composeFile,
	"kubernetes/configmap.yaml":   kubeManifests,
	"kubernetes/secret.yaml":      kubeManifests,
	"kubernetes/service.yaml":     kubeManifests,
	"kubernetes/statefulset.yaml": kubeManifests,

	"replicas/compose/compose.yaml":       replicasCompose,
	"replicas/compose/gateway.yaml":       gatewayConfig,
	"replicas/kubernetes/configmap.yaml":  replicasKube,
	"replicas/kubernetes/deployment.yaml": replicasKube,
	"replicas/kubernetes/pdb.yaml":        replicasKube,
	"replicas/kubernetes/secret.yaml":     replicasKube,
	"replicas/kubernetes/service.yaml":    replicasKube,
}

func TestEveryYAMLFileIsChecked(t *testing.T) {
	var found []string
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ext := filepath.Ext(path); !d.IsDir() && (ext == ".yaml" || ext == ".yml") {
			found = append(found, filepath.ToSlash(path))
		}
		return nil
	})
	require.NoError(t, err)
	for _, path := range found {
		_, ok := yamlFiles[path]
		require.True(t, ok, "%s is checked by no test: add it to yamlFiles and to the test of its kind", path)
	}
	require.Len(t, found, len(yamlFiles), "yamlFiles names files that are gone: %v", found)
}

// TestReadmeNamesEveryFile keeps deploy/README.md's table of files complete.
func TestReadmeNamesEveryFile(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	err = filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path == "compose/secrets" || path == "replicas/compose/secrets" { // the operator's own, ignored by git
				return filepath.SkipDir
			}
			return nil
		}
		name := d.Name()
		if path == "README.md" || path == "doc.go" || name == ".gitignore" || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		require.Contains(t, string(readme), "`"+filepath.ToSlash(path)+"`", "README.md does not say what %s is for", path)
		return nil
	})
	require.NoError(t, err)
}

// loadConfig loads a gateway configuration as the gateway does (config.Load runs config.Parse
// on the file's content), with only the environment variables given and relative *_file
// paths taken from configDir, where the runtime puts the file. mounts maps directories of the
// runtime (where it mounts secrets) to directories of the test: every *_file path must lie
// under one of them, which is what proves the runtime provides the file; the test then reads
// it from the test's directory instead.
func loadConfig(t *testing.T, name string, data []byte, configDir string, env map[string]string, mounts map[string]string) *config.Config {
	t.Helper()
	if len(mounts) > 0 {
		var doc yaml.Node
		require.NoError(t, yaml.Unmarshal(data, &doc), name)
		for _, n := range secretFileNodes(&doc) {
			rel, dir := "", ""
			for d := range mounts {
				if r, ok := strings.CutPrefix(n.Value, d+"/"); ok {
					rel, dir = r, d
				}
			}
			require.NotEmpty(t, dir, "%s: %s is in no directory the runtime mounts secrets at (%v)", name, n.Value, keys(mounts))
			n.Value = filepath.Join(mounts[dir], rel)
		}
		var err error
		data, err = yaml.Marshal(&doc)
		require.NoError(t, err)
	}
	getenv := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	cfg, err := config.Parse(data, configDir, getenv, deployedTypes)
	require.NoError(t, err, "%s with environment %v", name, env)
	return cfg
}

// secretFileNodes returns the values of every *_file key: the paths of secret files.
func secretFileNodes(n *yaml.Node) []*yaml.Node {
	var out []*yaml.Node
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			out = append(out, secretFileNodes(c)...)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if strings.HasSuffix(n.Content[i].Value, "_file") && n.Content[i+1].Kind == yaml.ScalarNode {
				out = append(out, n.Content[i+1])
			}
			out = append(out, secretFileNodes(n.Content[i+1])...)
		}
	}
	return out
}

// secretFiles returns the paths of the *_file keys of a configuration, as written.
func secretFiles(t *testing.T, data []byte) []string {
	t.Helper()
	var doc yaml.Node
	require.NoError(t, yaml.Unmarshal(data, &doc))
	var out []string
	for _, n := range secretFileNodes(&doc) {
		out = append(out, n.Value)
	}
	return out
}

// writeSecrets creates a directory holding a file of each name, with content test-<name>.
func writeSecrets(t *testing.T, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range names {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte("test-"+name+"\n"), 0o600))
	}
	return dir
}

// writtenPaths lists every file and directory the gateway creates or writes with cfg.
func writtenPaths(cfg *config.Config) []string {
	paths := []string{cfg.DataDir, cfg.Attachments.Dir}
	if cfg.Store.Driver == "sqlite" {
		paths = append(paths, cfg.Store.DSN.Value())
	}
	for _, c := range cfg.Channels {
		if w, ok := c.Settings.(*webchat.Config); ok && w.TokenSecret.Value() == "" {
			paths = append(paths, filepath.Join(cfg.DataDir, "secrets")) // the generated key
		}
	}
	for _, h := range cfg.Helpdesks {
		if f, ok := h.Settings.(settings.FileOwner); ok {
			paths = append(paths, f.DatabaseFile())
		}
	}
	return paths
}

// requireWritable fails unless every path the gateway writes lies in one of dirs.
func requireWritable(t *testing.T, cfg *config.Config, dirs ...string) {
	t.Helper()
	for _, p := range writtenPaths(cfg) {
		ok := false
		for _, d := range dirs {
			ok = ok || within(p, d)
		}
		require.True(t, ok, "the gateway writes %s, outside what the runtime lets it write (%v)", p, dirs)
	}
}

func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && filepath.IsAbs(path) && rel != ".." && !strings.HasPrefix(rel, "../")
}

// listenPort is the port of the configuration's listen address.
func listenPort(t *testing.T, cfg *config.Config) int {
	t.Helper()
	_, port, err := net.SplitHostPort(cfg.Listen)
	require.NoError(t, err)
	n, err := strconv.Atoi(port)
	require.NoError(t, err)
	require.NotZero(t, n, "listen needs a fixed port for probes and port mappings")
	return n
}

// requireStopsInTime fails unless a runtime's wait after SIGTERM outlasts the time the
// gateway keeps serving (shutdown_delay) and then the drain.
func requireStopsInTime(t *testing.T, what string, wait time.Duration, cfg *config.Config) {
	t.Helper()
	require.GreaterOrEqual(t, wait, cfg.ShutdownDelay+cfg.ShutdownTimeout+stopMargin,
		"%s (%s) must exceed shutdown_delay (%s) plus shutdown_timeout (%s) by %s, or the drain is killed",
		what, wait, cfg.ShutdownDelay, cfg.ShutdownTimeout, stopMargin)
}

// image is what the Dockerfile's final stage says about the container.
type image struct {
	entrypoint []string
	user       string // USER as written, uid:gid
	volumes    []string
}

// readImage reads the final stage of the repository's Dockerfile.
func readImage(t *testing.T) image {
	t.Helper()
	data, err := os.ReadFile("../Dockerfile")
	require.NoError(t, err)
	var img image
	for _, line := range strings.Split(string(data), "\n") {
		instr, arg, _ := strings.Cut(strings.TrimSpace(line), " ")
		arg = strings.TrimSpace(arg)
		switch strings.ToUpper(instr) {
		case "FROM":
			img = image{}
		case "ENTRYPOINT":
			require.NoError(t, json.Unmarshal([]byte(arg), &img.entrypoint), "ENTRYPOINT in exec form")
		case "USER":
			img.user = arg
		case "VOLUME":
			require.NoError(t, json.Unmarshal([]byte(arg), &img.volumes), "VOLUME as a JSON list")
		}
	}
	require.NotEmpty(t, img.entrypoint)
	require.NotEmpty(t, img.user)
	return img
}

// uid and gid of the image's USER.
func (img image) ids(t *testing.T) (uid, gid int64) {
	t.Helper()
	u, g, ok := strings.Cut(img.user, ":")
	require.True(t, ok, "USER %s: want uid:gid", img.user)
	uid, err := strconv.ParseInt(u, 10, 64)
	require.NoError(t, err)
	gid, err = strconv.ParseInt(g, 10, 64)
	require.NoError(t, err)
	return uid, gid
}

// decodeStrict decodes one YAML document into v, rejecting keys v has no field for, so that a
// misspelled key fails here rather than being ignored, or refused at deploy time.
func decodeStrict(data []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		return err
	}
	if err := dec.Decode(new(yaml.Node)); !errors.Is(err, io.EOF) {
		return errors.New("more than one YAML document")
	}
	return nil
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
