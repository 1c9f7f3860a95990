package deploy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// The Kubernetes objects below hold the fields the manifests use, and only those:
// decodeStrict refuses any other key, so a misspelled one fails here, not at kubectl apply
// (or worse, silently with an older server). A field the manifests start to use is added here.

type objectMeta struct {
	Name   string            `yaml:"name"`
	Labels map[string]string `yaml:"labels"`
}

type typeMeta struct {
	APIVersion string     `yaml:"apiVersion"`
	Kind       string     `yaml:"kind"`
	Metadata   objectMeta `yaml:"metadata"`
}

type statefulSet struct {
	typeMeta `yaml:",inline"`
	Spec     struct {
		Replicas    *int   `yaml:"replicas"`
		ServiceName string `yaml:"serviceName"`
		Selector    struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		Template struct {
			Metadata objectMeta `yaml:"metadata"`
			Spec     podSpec    `yaml:"spec"`
		} `yaml:"template"`
		VolumeClaimTemplates []struct {
			Metadata objectMeta `yaml:"metadata"`
			Spec     struct {
				AccessModes []string  `yaml:"accessModes"`
				Resources   resources `yaml:"resources"`
			} `yaml:"spec"`
		} `yaml:"volumeClaimTemplates"`
	} `yaml:"spec"`
}

type podSpec struct {
	TerminationGracePeriodSeconds *int64             `yaml:"terminationGracePeriodSeconds"`
	AutomountServiceAccountToken  *bool              `yaml:"automountServiceAccountToken"`
	EnableServiceLinks            *bool              `yaml:"enableServiceLinks"`
	SecurityContext               podSecurityContext `yaml:"securityContext"`
	Containers                    []container        `yaml:"containers"`
	Volumes                       []volume           `yaml:"volumes"`
}

type podSecurityContext struct {
	RunAsNonRoot        *bool           `yaml:"runAsNonRoot"`
	RunAsUser           *int64          `yaml:"runAsUser"`
	RunAsGroup          *int64          `yaml:"runAsGroup"`
	FSGroup             *int64          `yaml:"fsGroup"`
	FSGroupChangePolicy string          `yaml:"fsGroupChangePolicy"`
	SeccompProfile      *seccompProfile `yaml:"seccompProfile"`
}

type seccompProfile struct {
	Type string `yaml:"type"`
}

type container struct {
	Name            string   `yaml:"name"`
	Image           string   `yaml:"image"`
	ImagePullPolicy string   `yaml:"imagePullPolicy"`
	Command         []string `yaml:"command"`
	Args            []string `yaml:"args"`
	Env             []struct {
		Name  string `yaml:"name"`
		Value string `yaml:"value"`
	} `yaml:"env"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
		ReadOnly  bool   `yaml:"readOnly"`
	} `yaml:"volumeMounts"`
	StartupProbe    *probe    `yaml:"startupProbe"`
	LivenessProbe   *probe    `yaml:"livenessProbe"`
	ReadinessProbe  *probe    `yaml:"readinessProbe"`
	Resources       resources `yaml:"resources"`
	SecurityContext struct {
		AllowPrivilegeEscalation *bool  `yaml:"allowPrivilegeEscalation"`
		ReadOnlyRootFilesystem   *bool  `yaml:"readOnlyRootFilesystem"`
		RunAsNonRoot             *bool  `yaml:"runAsNonRoot"`
		RunAsUser                *int64 `yaml:"runAsUser"`
		Capabilities             struct {
			Drop []string `yaml:"drop"`
		} `yaml:"capabilities"`
	} `yaml:"securityContext"`
}

type resources struct {
	Requests map[string]string `yaml:"requests"`
	Limits   map[string]string `yaml:"limits"`
}

type probe struct {
	HTTPGet *struct {
		Path string      `yaml:"path"`
		Port intOrString `yaml:"port"`
	} `yaml:"httpGet"`
	InitialDelaySeconds int `yaml:"initialDelaySeconds"`
	PeriodSeconds       int `yaml:"periodSeconds"`
	TimeoutSeconds      int `yaml:"timeoutSeconds"`
	FailureThreshold    int `yaml:"failureThreshold"`
}

type volume struct {
	Name      string `yaml:"name"`
	ConfigMap *struct {
		Name string `yaml:"name"`
	} `yaml:"configMap"`
	Secret *struct {
		SecretName  string `yaml:"secretName"`
		DefaultMode *int   `yaml:"defaultMode"`
	} `yaml:"secret"`
	EmptyDir *struct {
		SizeLimit string `yaml:"sizeLimit"`
	} `yaml:"emptyDir"`
	PersistentVolumeClaim *struct {
		ClaimName string `yaml:"claimName"`
	} `yaml:"persistentVolumeClaim"`
}

type service struct {
	typeMeta `yaml:",inline"`
	Spec     struct {
		Type     string            `yaml:"type"`
		Selector map[string]string `yaml:"selector"`
		Ports    []struct {
			Name       string      `yaml:"name"`
			Port       int         `yaml:"port"`
			TargetPort intOrString `yaml:"targetPort"`
		} `yaml:"ports"`
	} `yaml:"spec"`
}

type configMap struct {
	typeMeta `yaml:",inline"`
	Data     map[string]string `yaml:"data"`
}

type secret struct {
	typeMeta   `yaml:",inline"`
	Type       string            `yaml:"type"`
	StringData map[string]string `yaml:"stringData"`
	Data       map[string]string `yaml:"data"`
}

// intOrString is a port given by number or by the name of a container port.
type intOrString struct {
	num  int
	name string
}

func (v *intOrString) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return errors.New("want a port number or name")
	}
	if n.ShortTag() == "!!int" {
		return n.Decode(&v.num)
	}
	v.name = n.Value
	return nil
}

// kube is every object of a directory of manifests, by kind.
type kube struct {
	statefulSets []statefulSet
	deployments  []deployment
	services     []service
	configMaps   []configMap
	secrets      []secret
	budgets      []podDisruptionBudget
	claims       []persistentVolumeClaim
}

// readKube reads deploy/kubernetes: one gateway on SQLite.
func readKube(t *testing.T) kube {
	t.Helper()
	k := readKubeDir(t, "kubernetes")
	require.Len(t, k.statefulSets, 1)
	require.Len(t, k.services, 1)
	require.Len(t, k.configMaps, 1)
	require.Len(t, k.secrets, 1)
	require.Empty(t, k.deployments)
	return k
}

// readKubeDir decodes every document of every manifest in dir strictly, by its kind.
func readKubeDir(t *testing.T, dir string) kube {
	t.Helper()
	var k kube
	files, err := filepath.Glob(dir + "/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		data, err := os.ReadFile(file)
		require.NoError(t, err)
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for i := 0; ; i++ {
			var doc yaml.Node
			if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
				break
			} else {
				require.NoError(t, err, file)
			}
			raw, err := yaml.Marshal(&doc)
			require.NoError(t, err)
			var tm typeMeta
			require.NoError(t, doc.Decode(&tm))
			where := fmt.Sprintf("%s, document %d (%s %s)", file, i+1, tm.Kind, tm.Metadata.Name)
			require.NotEmpty(t, tm.Metadata.Name, where)
			switch tm.Kind {
			case "StatefulSet":
				require.Equal(t, "apps/v1", tm.APIVersion, where)
				var o statefulSet
				require.NoError(t, decodeStrict(raw, &o), where)
				k.statefulSets = append(k.statefulSets, o)
			case "Service":
				require.Equal(t, "v1", tm.APIVersion, where)
				var o service
				require.NoError(t, decodeStrict(raw, &o), where)
				k.services = append(k.services, o)
			case "ConfigMap":
				require.Equal(t, "v1", tm.APIVersion, where)
				var o configMap
				require.NoError(t, decodeStrict(raw, &o), where)
				k.configMaps = append(k.configMaps, o)
			case "Secret":
				require.Equal(t, "v1", tm.APIVersion, where)
				var o secret
				require.NoError(t, decodeStrict(raw, &o), where)
				k.secrets = append(k.secrets, o)
			case "Deployment":
				require.Equal(t, "apps/v1", tm.APIVersion, where)
				k.deployments = append(k.deployments, decodeKind[deployment](t, raw, where))
			case "PodDisruptionBudget":
				require.Equal(t, "policy/v1", tm.APIVersion, where)
				k.budgets = append(k.budgets, decodeKind[podDisruptionBudget](t, raw, where))
			case "PersistentVolumeClaim":
				require.Equal(t, "v1", tm.APIVersion, where)
				k.claims = append(k.claims, decodeKind[persistentVolumeClaim](t, raw, where))
			default:
				t.Fatalf("%s: a kind this test does not check", where)
			}
		}
	}
	return k
}

// decodeKind decodes one object strictly.
func decodeKind[T any](t *testing.T, raw []byte, where string) T {
	t.Helper()
	var o T
	require.NoError(t, decodeStrict(raw, &o), where)
	return o
}

func TestKubernetes(t *testing.T) {
	k := readKube(t)
	sts, svc, cm, sec := k.statefulSets[0], k.services[0], k.configMaps[0], k.secrets[0]
	pod := sts.Spec.Template.Spec
	img := readImage(t)

	// SQLite: one process holds the database, so one replica.
	require.NotNil(t, sts.Spec.Replicas, "replicas defaults to 1, but say it")
	require.Equal(t, 1, *sts.Spec.Replicas)
	require.Equal(t, svc.Metadata.Name, sts.Spec.ServiceName)
	requireSubset(t, sts.Spec.Template.Metadata.Labels, sts.Spec.Selector.MatchLabels, "the selector selects the pods")
	requireSubset(t, sts.Spec.Template.Metadata.Labels, svc.Spec.Selector, "the Service selects the pods")
	require.NotEmpty(t, svc.Spec.Selector)

	require.Len(t, pod.Containers, 1)
	c := pod.Containers[0]
	require.Empty(t, c.Command, "the image's ENTRYPOINT %v runs the gateway", img.entrypoint)
	require.Contains(t, [][]string{nil, {"serve"}}, c.Args)
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	mounts := map[string]string{} // volume name -> mount path
	readOnly := map[string]bool{}
	for _, m := range c.VolumeMounts {
		require.NotContains(t, mounts, m.Name, "volume %s mounted twice", m.Name)
		mounts[m.Name] = m.MountPath
		readOnly[m.Name] = m.ReadOnly
	}
	volumes := map[string]volume{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = v
	}

	// GATEWAY_CONFIG names the ConfigMap's key where the ConfigMap is mounted.
	configPath := env["GATEWAY_CONFIG"]
	var configVolume string
	for _, v := range pod.Volumes {
		if v.ConfigMap != nil && v.ConfigMap.Name == cm.Metadata.Name {
			configVolume = v.Name
		}
	}
	require.NotEmpty(t, configVolume, "no volume of ConfigMap %s", cm.Metadata.Name)
	require.Contains(t, mounts, configVolume, "ConfigMap %s is not mounted", cm.Metadata.Name)
	require.True(t, readOnly[configVolume])
	require.Equal(t, mounts[configVolume], path.Dir(configPath), "GATEWAY_CONFIG=%s is where the ConfigMap is mounted", configPath)
	configData, ok := cm.Data[path.Base(configPath)]
	require.True(t, ok, "ConfigMap %s has no key %s, which GATEWAY_CONFIG names", cm.Metadata.Name, path.Base(configPath))

	// Secrets: each *_file is a key of the Secret where it is mounted.
	var secretVolume string
	for _, v := range pod.Volumes {
		if v.Secret != nil && v.Secret.SecretName == sec.Metadata.Name {
			secretVolume = v.Name
			require.NotNil(t, v.Secret.DefaultMode)
			require.Equal(t, 0o440, *v.Secret.DefaultMode, "root's files, read through fsGroup, by no one else")
		}
	}
	require.NotEmpty(t, secretVolume, "no volume of Secret %s", sec.Metadata.Name)
	secretDir := mounts[secretVolume]
	require.NotEmpty(t, secretDir, "Secret %s is not mounted", sec.Metadata.Name)
	require.True(t, readOnly[secretVolume])
	secretKeys := append(keys(sec.StringData), keys(sec.Data)...)
	var used []string
	for _, p := range secretFiles(t, []byte(configData)) {
		name, ok := strings.CutPrefix(p, secretDir+"/")
		require.True(t, ok, "%s is not in Secret %s, mounted at %s", p, sec.Metadata.Name, secretDir)
		used = append(used, name)
	}
	require.ElementsMatch(t, secretKeys, used, "the Secret's keys and the config's %s/* files", secretDir)
	cfg := loadConfig(t, "ConfigMap "+cm.Metadata.Name, []byte(configData), path.Dir(configPath), env, map[string]string{secretDir: writeSecrets(t, secretKeys...)})
	require.Equal(t, "test-admin_token", cfg.Admin.Token.Value())

	// data_dir is on the volume claim, which outlives the pod.
	require.Len(t, sts.Spec.VolumeClaimTemplates, 1)
	claim := sts.Spec.VolumeClaimTemplates[0]
	require.Equal(t, cfg.DataDir, mounts[claim.Metadata.Name], "data_dir is where the claim is mounted")
	require.NotContains(t, volumes, claim.Metadata.Name, "the claim, not a pod volume of the same name")
	require.Equal(t, []string{"ReadWriteOnce"}, claim.Spec.AccessModes)
	require.NotEmpty(t, claim.Spec.Resources.Requests["storage"])
	require.Contains(t, img.volumes, cfg.DataDir, "data_dir is the image's VOLUME")

	// The root filesystem is read-only: everything the gateway writes is on a volume.
	require.NotNil(t, c.SecurityContext.ReadOnlyRootFilesystem)
	require.True(t, *c.SecurityContext.ReadOnlyRootFilesystem)
	writable := []string{cfg.DataDir}
	for name, v := range volumes {
		if dir, ok := mounts[name]; ok && v.EmptyDir != nil {
			writable = append(writable, dir)
		}
	}
	requireWritable(t, cfg, writable...)
	require.Contains(t, writable, "/tmp", "Go's multipart parser and SQLite need a writable /tmp, which the image lacks")

	// The image's user, which owns the image's /data; fsGroup gives it the volume.
	uid, gid := img.ids(t)
	sc := pod.SecurityContext
	require.True(t, sc.RunAsNonRoot != nil && *sc.RunAsNonRoot, "runAsNonRoot")
	require.Equal(t, uid, deref(sc.RunAsUser, c.SecurityContext.RunAsUser), "runAsUser is the image's USER")
	require.NotNil(t, sc.RunAsGroup)
	require.Equal(t, gid, *sc.RunAsGroup)
	require.NotNil(t, sc.FSGroup, "a fresh volume is root's: fsGroup lets the gateway write it")
	require.Equal(t, gid, *sc.FSGroup)
	require.True(t, c.SecurityContext.AllowPrivilegeEscalation != nil && !*c.SecurityContext.AllowPrivilegeEscalation)
	require.Equal(t, []string{"ALL"}, c.SecurityContext.Capabilities.Drop)

	// Probes and the Service reach the port the gateway listens on.
	port := listenPort(t, cfg)
	resolve := func(p intOrString) int {
		if p.name == "" {
			return p.num
		}
		for _, cp := range c.Ports {
			if cp.Name == p.name {
				return cp.ContainerPort
			}
		}
		t.Fatalf("no container port named %q", p.name)
		return 0
	}
	for _, tt := range []struct {
		name  string
		probe *probe
		path  string
	}{
		{"startupProbe", c.StartupProbe, "/healthz"},
		{"livenessProbe", c.LivenessProbe, "/healthz"},
		{"readinessProbe", c.ReadinessProbe, "/readyz"},
	} {
		require.NotNil(t, tt.probe, tt.name)
		require.NotNil(t, tt.probe.HTTPGet, tt.name)
		require.Equal(t, tt.path, tt.probe.HTTPGet.Path, tt.name)
		require.Equal(t, port, resolve(tt.probe.HTTPGet.Port), "%s: the port of listen", tt.name)
	}
	// /readyz allows the store and the connectors 3s; the default probe timeout is 1s.
	require.Greater(t, c.ReadinessProbe.TimeoutSeconds, 3, "readinessProbe.timeoutSeconds")
	require.Len(t, svc.Spec.Ports, 1)
	require.Equal(t, port, resolve(svc.Spec.Ports[0].TargetPort), "the Service's targetPort is the port of listen")

	require.NotNil(t, pod.TerminationGracePeriodSeconds)
	requireStopsInTime(t, "terminationGracePeriodSeconds", time.Duration(*pod.TerminationGracePeriodSeconds)*time.Second, cfg)

	require.NotEmpty(t, c.Resources.Requests["cpu"], "resources.requests.cpu")
	require.NotEmpty(t, c.Resources.Requests["memory"], "resources.requests.memory")
}

// requireSubset fails unless every label of want is in have with the same value.
func requireSubset(t *testing.T, have, want map[string]string, msg string) {
	t.Helper()
	for k, v := range want {
		require.Equal(t, v, have[k], "%s: label %s", msg, k)
	}
}

// deref is the container's setting when it has one, else the pod's.
func deref(pod, container *int64) int64 {
	switch {
	case container != nil:
		return *container
	case pod != nil:
		return *pod
	}
	return -1
}

// TestKubeStrict shows that the manifests' decoding refuses what kubectl would refuse.
func TestKubeStrict(t *testing.T) {
	for name, doc := range map[string]string{
		"misspelled probe":   "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: x}\nspec:\n  template:\n    spec:\n      containers: [{name: x, readinesProbe: {}}]\n",
		"pod-level readOnly": "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: x}\nspec:\n  template:\n    spec:\n      securityContext: {readOnlyRootFilesystem: true}\n",
	} {
		var o statefulSet
		err := decodeStrict([]byte(doc), &o)
		require.Error(t, err, name)
		require.Contains(t, err.Error(), "not found", name)
	}
}
