package deploy

import (
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/casino-support/gateway/config"
	"github.com/casino-support/gateway/connectors/channel/webchat"
)

// The objects deploy/replicas/kubernetes adds to those of deploy/kubernetes.

type deployment struct {
	typeMeta `yaml:",inline"`
	Spec     struct {
		Replicas *int `yaml:"replicas"`
		Selector struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		Strategy struct {
			Type          string `yaml:"type"`
			RollingUpdate struct {
				MaxSurge       intOrString `yaml:"maxSurge"`
				MaxUnavailable intOrString `yaml:"maxUnavailable"`
			} `yaml:"rollingUpdate"`
		} `yaml:"strategy"`
		Template struct {
			Metadata objectMeta `yaml:"metadata"`
			Spec     podSpec    `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type podDisruptionBudget struct {
	typeMeta `yaml:",inline"`
	Spec     struct {
		MinAvailable *int `yaml:"minAvailable"`
		Selector     struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
	} `yaml:"spec"`
}

type persistentVolumeClaim struct {
	typeMeta `yaml:",inline"`
	Spec     struct {
		AccessModes []string  `yaml:"accessModes"`
		Resources   resources `yaml:"resources"`
	} `yaml:"spec"`
}

// requireReplicaConfig checks what every replica's configuration needs: the one PostgreSQL
// database, a web chat key they share, and a stop that turns /readyz to 503 before the port
// closes for longer than the balancer takes to notice (noticeAfter).
func requireReplicaConfig(t *testing.T, cfg *config.Config, noticeAfter time.Duration) {
	t.Helper()
	require.Equal(t, "postgres", cfg.Store.Driver, "replicas share the store: PostgreSQL")
	require.NotEmpty(t, cfg.Store.DSN.Value())
	for _, c := range cfg.Channels {
		if w, ok := c.Settings.(*webchat.Config); ok {
			require.NotEmpty(t, w.TokenSecret.Value(),
				"channel %s: a token_secret every replica shares, or a visitor's token is good on one replica only", c.Name)
		}
	}
	require.Greater(t, cfg.ShutdownDelay, noticeAfter, "shutdown_delay must outlast the balancer's noticing a 503 from /readyz")
}

func TestReplicasCompose(t *testing.T) {
	const file = "replicas/compose/compose.yaml"
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	var c compose
	require.NoError(t, decodeStrict(data, &c), file)
	dir := filepath.Dir(file)

	var gateways []string
	for name := range c.Services {
		if strings.HasPrefix(name, "gateway-") {
			gateways = append(gateways, name)
		}
	}
	require.GreaterOrEqual(t, len(gateways), 2, "two gateway replicas at least")
	pg, ok := c.Services["postgres"]
	require.True(t, ok, "a postgres service")
	require.True(t, strings.HasPrefix(pg.Image, "postgres:"), "the official image")
	require.Contains(t, pg.Secrets, strings.TrimPrefix(pg.Environment["POSTGRES_PASSWORD_FILE"], "/run/secrets/"))
	require.NotEmpty(t, pg.Healthcheck.Test, "the gateways wait for a healthy database")

	caddy := readCaddyfile(t, filepath.Join(dir, "Caddyfile"))
	proxy, ok := c.Services["proxy"]
	require.True(t, ok, "a proxy service")
	require.True(t, strings.HasPrefix(proxy.Image, "caddy:"), "the official image")
	require.Contains(t, proxy.Volumes, "./Caddyfile:/etc/caddy/Caddyfile:ro")
	require.Len(t, proxy.Ports, 1)
	require.True(t, strings.HasSuffix(proxy.Ports[0], ":"+strconv.Itoa(caddy.port)), "the proxy publishes Caddy's port %d", caddy.port)

	images := map[string]bool{}
	for _, name := range gateways {
		svc := c.Services[name]
		images[svc.Image] = true
		require.Equal(t, "service_healthy", svc.DependsOn["postgres"].Condition, "%s waits for the database", name)
		require.Contains(t, proxy.DependsOn, name)

		env := map[string]string{}
		for k, v := range svc.Environment {
			env[k] = interpolate(v, nil)
		}
		configPath := env["GATEWAY_CONFIG"]
		mounts := map[string]string{}
		for _, v := range svc.Volumes {
			parts := strings.Split(v, ":")
			mounts[parts[1]] = parts[0]
		}
		require.Contains(t, svc.Volumes, mounts[configPath]+":"+configPath+":ro", "%s: the config, read-only", name)
		configData, err := os.ReadFile(filepath.Join(dir, mounts[configPath]))
		require.NoError(t, err)
		var used []string
		for _, p := range secretFiles(t, configData) {
			secretName, ok := strings.CutPrefix(p, "/run/secrets/")
			require.True(t, ok, "%s is not a Compose secret", p)
			used = append(used, secretName)
			require.Contains(t, c.Secrets, secretName)
		}
		require.ElementsMatch(t, svc.Secrets, used, "%s: its secrets are the config's /run/secrets/* files", name)
		cfg := loadConfig(t, name, configData, filepath.Dir(configPath), env, map[string]string{"/run/secrets": writeSecrets(t, used...)})
		requireReplicaConfig(t, cfg, caddy.healthInterval)

		// Caddy reaches this replica at the port it listens on.
		require.Contains(t, caddy.upstreams, name+":"+strconv.Itoa(listenPort(t, cfg)), "Caddy proxies to %s", name)
		require.Contains(t, c.Volumes, mounts[cfg.DataDir], "%s: data_dir on a named volume", name)
		writable := append([]string{cfg.DataDir}, svc.Tmpfs...)
		require.True(t, svc.ReadOnly)
		requireWritable(t, cfg, writable...)
		grace, err := time.ParseDuration(svc.StopGracePeriod)
		require.NoError(t, err, "%s: stop_grace_period", name)
		requireStopsInTime(t, name+" stop_grace_period", grace, cfg)
		require.Equal(t, []string{"CMD", "/gateway", "healthcheck"}, svc.Healthcheck.Test[:3])
	}
	require.Len(t, images, 1, "every replica runs the same image")
	require.Len(t, caddy.upstreams, len(gateways), "Caddy proxies to every replica, and to nothing else")
	require.Equal(t, "/readyz", caddy.healthURI, "a replica that is stopping or lost its database leaves the rotation")
	require.NotContains(t, []string{"cookie", "ip_hash", "client_ip_hash", "header"}, caddy.lbPolicy,
		"no sticky sessions: intake is active-active")
}

// caddySite is what the test reads of the Caddyfile.
type caddySite struct {
	port           int
	upstreams      []string
	healthURI      string
	healthInterval time.Duration
	lbPolicy       string
}

var caddyAddress = regexp.MustCompile(`^:(\d+) \{$`)

// readCaddyfile reads the one site block of a Caddyfile: its address and its reverse_proxy.
func readCaddyfile(t *testing.T, file string) caddySite {
	t.Helper()
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	var s caddySite
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if m := caddyAddress.FindStringSubmatch(line); m != nil {
			s.port, _ = strconv.Atoi(m[1])
			continue
		}
		fields := strings.Fields(line)
		switch fields[0] {
		case "reverse_proxy":
			s.upstreams = slices.DeleteFunc(fields[1:], func(f string) bool { return f == "{" })
		case "health_uri":
			s.healthURI = fields[1]
		case "health_interval":
			s.healthInterval, err = time.ParseDuration(fields[1])
			require.NoError(t, err)
		case "lb_policy":
			s.lbPolicy = fields[1]
		}
	}
	require.NotZero(t, s.port, "%s: a site on a port", file)
	require.NotEmpty(t, s.upstreams, "%s: reverse_proxy", file)
	require.NotZero(t, s.healthInterval, "%s: active health checks", file)
	return s
}

func TestReplicasKubernetes(t *testing.T) {
	k := readKubeDir(t, "replicas/kubernetes")
	require.Len(t, k.deployments, 1)
	require.Len(t, k.services, 1)
	require.Len(t, k.configMaps, 1)
	require.Len(t, k.secrets, 1)
	require.Len(t, k.budgets, 1)
	require.Empty(t, k.statefulSets)
	d, svc, cm, sec, pdb := k.deployments[0], k.services[0], k.configMaps[0], k.secrets[0], k.budgets[0]
	pod := d.Spec.Template.Spec
	labels := d.Spec.Template.Metadata.Labels

	require.NotNil(t, d.Spec.Replicas)
	require.GreaterOrEqual(t, *d.Spec.Replicas, 2)
	requireSubset(t, labels, d.Spec.Selector.MatchLabels, "the selector selects the pods")
	requireSubset(t, labels, svc.Spec.Selector, "the Service selects the pods")
	requireSubset(t, labels, pdb.Spec.Selector.MatchLabels, "the PodDisruptionBudget covers the pods")
	require.NotNil(t, pdb.Spec.MinAvailable)
	require.GreaterOrEqual(t, *pdb.Spec.MinAvailable, 1, "a drain leaves one replica serving")
	require.Less(t, *pdb.Spec.MinAvailable, *d.Spec.Replicas, "or no node could ever be drained")
	require.Equal(t, "RollingUpdate", d.Spec.Strategy.Type)
	require.Equal(t, 0, d.Spec.Strategy.RollingUpdate.MaxUnavailable.num, "a new pod is ready before an old one stops")
	require.Empty(t, d.Spec.Strategy.RollingUpdate.MaxUnavailable.name)

	require.Len(t, pod.Containers, 1)
	c := pod.Containers[0]
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m.MountPath
	}
	var secretDir, configDir string
	claims := map[string]string{} // mount path -> claim
	for _, v := range pod.Volumes {
		switch {
		case v.Secret != nil && v.Secret.SecretName == sec.Metadata.Name:
			secretDir = mounts[v.Name]
		case v.ConfigMap != nil && v.ConfigMap.Name == cm.Metadata.Name:
			configDir = mounts[v.Name]
		case v.PersistentVolumeClaim != nil:
			claims[mounts[v.Name]] = v.PersistentVolumeClaim.ClaimName
		}
	}
	configPath := env["GATEWAY_CONFIG"]
	require.Equal(t, configDir, path.Dir(configPath), "GATEWAY_CONFIG is in the mounted ConfigMap")
	configData := []byte(cm.Data[path.Base(configPath)])
	secretKeys := append(keys(sec.StringData), keys(sec.Data)...)
	var used []string
	for _, p := range secretFiles(t, configData) {
		name, ok := strings.CutPrefix(p, secretDir+"/")
		require.True(t, ok, "%s is not in Secret %s, mounted at %s", p, sec.Metadata.Name, secretDir)
		used = append(used, name)
	}
	require.ElementsMatch(t, secretKeys, used, "the Secret's keys (the DSN among them) and the config's *_file")
	cfg := loadConfig(t, "ConfigMap "+cm.Metadata.Name, configData, path.Dir(configPath), env, map[string]string{secretDir: writeSecrets(t, secretKeys...)})
	ready := c.ReadinessProbe
	require.NotNil(t, ready)
	requireReplicaConfig(t, cfg, time.Duration(ready.PeriodSeconds*max(ready.FailureThreshold, 1))*time.Second)

	// data_dir: one claim every replica mounts, so it must be ReadWriteMany.
	claimName, ok := claims[cfg.DataDir]
	require.True(t, ok, "data_dir on a claim")
	var found bool
	for _, pvc := range k.claims {
		if pvc.Metadata.Name == claimName {
			found = true
			require.Equal(t, []string{"ReadWriteMany"}, pvc.Spec.AccessModes, "pods on different nodes share it")
		}
	}
	require.True(t, found, "claim %s is defined", claimName)

	port := listenPort(t, cfg)
	resolve := func(p intOrString) int {
		for _, cp := range c.Ports {
			if cp.Name == p.name {
				return cp.ContainerPort
			}
		}
		return p.num
	}
	for probe, want := range map[*probe]string{c.StartupProbe: "/healthz", c.LivenessProbe: "/healthz", c.ReadinessProbe: "/readyz"} {
		require.NotNil(t, probe)
		require.Equal(t, want, probe.HTTPGet.Path)
		require.Equal(t, port, resolve(probe.HTTPGet.Port))
	}
	require.Greater(t, ready.TimeoutSeconds, 3, "/readyz allows the store 3s")
	require.Equal(t, port, resolve(svc.Spec.Ports[0].TargetPort))
	require.NotNil(t, pod.TerminationGracePeriodSeconds)
	requireStopsInTime(t, "terminationGracePeriodSeconds", time.Duration(*pod.TerminationGracePeriodSeconds)*time.Second, cfg)
	require.NotEmpty(t, c.Resources.Requests["cpu"])
	require.NotEmpty(t, c.Resources.Requests["memory"])
	require.NotEmpty(t, c.Resources.Limits["memory"])
	require.True(t, c.SecurityContext.ReadOnlyRootFilesystem != nil && *c.SecurityContext.ReadOnlyRootFilesystem)
}
