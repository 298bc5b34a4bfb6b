package main

import (
	"encoding/json"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// Expected values printed by the TypeScript (src/api/content-name.ts,
// src/api/deployment-id.ts, src/placement/deployment-namespace.ts): direct-go
// must name objects exactly as direct and Flotilla do.
func TestNamesMatchTheTypeScript(t *testing.T) {
	r := []Resource{{Name: "cm.yaml", Content: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: é\n"}, {Name: "b", Content: ""}}
	if got, want := ContentName(r), "s-5f78c5dd872bfe1b0a492643e9c37e48e41e2fa24568d1fd73e71866e23c1980"; got != want {
		t.Errorf("ContentName = %s, want %s", got, want)
	}
	if got, want := ContentDigest(nil), "b3d51b0f12ba4d584f70b9143753c83affecac2ebf961ffe8e0d8b7f405a33cf"; got != want {
		t.Errorf("ContentDigest(nil) = %s, want %s", got, want)
	}
	if got, want := DeploymentID("s-abc"), "s-abc:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"; got != want {
		t.Errorf("DeploymentID = %s, want %s", got, want)
	}
	for _, c := range [][3]string{
		{"bench-flip", "flip", "flotilla-bench-flip-flip-db1ca679"},
		{"Some_Workspace--x", "A.Cluster-", "flotilla-some-workspace-x-a-cluster-62a7f9ed"},
		{strings.Repeat("w", 40), strings.Repeat("c", 40), "flotilla-wwwwwwwwwwwwwwwwwwwwww-cccccccccccccccccccccc-b443b9a0"},
		{"short", strings.Repeat("c", 80), "flotilla-short-ccccccccccccccccccccccccccccccccccccccc-77501998"},
		{"a-b", "c", "flotilla-a-b-c-4e84717d"},
	} {
		if got := DeploymentNamespace(c[0], c[1]); got != c[2] {
			t.Errorf("DeploymentNamespace(%q, %q) = %s, want %s", c[0], c[1], got, c[2])
		}
	}
}

func TestTargetingFollowsTheOracle(t *testing.T) {
	prod := map[string]string{"env": "prod"}
	sel := func(s string) *Selector {
		var out Selector
		if err := json.Unmarshal([]byte(s), &out); err != nil {
			t.Fatal(err)
		}
		return &out
	}
	cases := []struct {
		name    string
		targets []Target
		want    bool
	}{
		{"matchLabels", []Target{{ClusterSelector: sel(`{"matchLabels":{"env":"prod"}}`)}}, true},
		{"other value", []Target{{ClusterSelector: sel(`{"matchLabels":{"env":"dev"}}`)}}, false},
		{"empty selector matches all", []Target{{ClusterSelector: sel(`{}`)}}, true},
		{"no criterion matches nothing", []Target{{}}, false},
		{"NotIn absent key", []Target{{ClusterSelector: sel(`{"matchExpressions":[{"key":"x","operator":"NotIn","values":["a"]}]}`)}}, true},
		{"In without values is malformed", []Target{{ClusterSelector: sel(`{"matchExpressions":[{"key":"env","operator":"In"}]}`)}}, false},
		{"first match decides: doNotDeploy", []Target{{ClusterName: "c1", DoNotDeploy: true}, {ClusterSelector: sel(`{}`)}}, false},
		{"clusterName and selector both hold", []Target{{ClusterName: "c1", ClusterSelector: sel(`{"matchLabels":{"env":"prod"}}`)}}, true},
		{"a clusterGroup with no groups matches nothing", []Target{{ClusterGroup: "g", ClusterSelector: sel(`{}`)}}, false},
	}
	for _, c := range cases {
		if got := Deployed(c.targets, "c1", prod); got != c.want {
			t.Errorf("%s: Deployed = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestStatusBodiesAsTheTypeScriptWritesThem(t *testing.T) {
	gen := int64(3)
	ready, applied := true, "s-x:1"
	bds := map[string]*BDState{"a": {DeploymentID: "s-x:1", AppliedDeploymentID: &applied, Ready: &ready}, "b": {DeploymentID: "s-x:1"}}
	status := NewBundleStatus(&gen, "s-x", []string{"a", "b", "c"}, func(c string) *BDState { return bds[c] })
	got, _ := json.Marshal(status)
	want := `{"observedGeneration":3,"summary":{"desiredReady":3,"ready":1,"notReady":0,"pending":1,"modified":0,"errApplied":0,"waitApplied":1,"outOfSync":0,"nonReadyClusters":["b","c"]},"display":{"readyClusters":"1/3"},"contentName":"s-x"}`
	if string(got) != want {
		t.Errorf("bundle status\n got %s\nwant %s", got, want)
	}
	cs, _ := json.Marshal(NewClusterStatus(&gen, "bench-flip", "flip", []*BDState{bds["b"]}))
	wantCluster := `{"observedGeneration":3,"namespace":"flotilla-bench-flip-flip-db1ca679","summary":{"desiredReady":1,"ready":0,"notReady":0,"pending":0,"modified":0,"errApplied":0,"waitApplied":1,"outOfSync":0},"display":{"readyBundles":"0/1"}}`
	if string(cs) != wantCluster {
		t.Errorf("cluster status\n got %s\nwant %s", cs, wantCluster)
	}
	if !ContainsAll(asJSON(map[string]any{"a": 1, "b": map[string]any{"c": "x", "d": 2}}), asJSON(map[string]any{"b": map[string]any{"c": "x"}})) {
		t.Error("ContainsAll: a superset should contain its subset")
	}
	if ContainsAll(asJSON(map[string]any{"b": []string{"x"}}), asJSON(map[string]any{"b": []string{"x", "y"}})) {
		t.Error("ContainsAll: arrays compare whole")
	}
}

func TestRequestLabelsAsFlotillaCountsThem(t *testing.T) {
	cases := []struct{ method, path, watch, ct, verb, resource string }{
		{"GET", "/api/v1/namespaces", "true", "", "watch", "namespaces"},
		{"GET", "/api/v1/namespaces", "", "", "list", "namespaces"},
		{"POST", "/api/v1/namespaces", "", "", "create", "namespaces"},
		{"GET", "/api/v1/namespaces/x", "", "", "get", "namespaces"},
		{"POST", "/apis/flotilla.dev/v1alpha1/namespaces/ns/bundledeployments", "", "", "create", "bundledeployments.flotilla.dev"},
		{"PATCH", "/apis/flotilla.dev/v1alpha1/namespaces/ws/bundles/b/status", "", "application/merge-patch+json", "patch", "bundles.flotilla.dev/status"},
		{"PATCH", "/apis/flotilla.dev/v1alpha1/namespaces/ws/bundles/b", "", "application/apply-patch+yaml", "apply", "bundles.flotilla.dev"},
		{"DELETE", "/apis/flotilla.dev/v1alpha1/namespaces/ns/bundledeployments/b", "", "", "delete", "bundledeployments.flotilla.dev"},
		{"GET", "/apis/flotilla.dev/v1alpha1/contents", "", "", "list", "contents.flotilla.dev"},
	}
	for _, c := range cases {
		verb, resource := RequestLabels(c.method, c.path, c.watch, c.ct)
		if verb != c.verb || resource != c.resource {
			t.Errorf("%s %s: got %s %s, want %s %s", c.method, c.path, verb, resource, c.verb, c.resource)
		}
	}
}

// The request bodies: what the dynamic client encodes for each create, as
// bench/baselines/world.ts builds them (the TypeScript client adds
// apiVersion/kind to the Namespace; client-go needs them in the object).
func TestObjectsEncodeAsTheTypeScriptBuildsThem(t *testing.T) {
	r := []Resource{{Name: "cm.yaml", Content: "x"}}
	cases := map[string]struct {
		obj  *unstructured.Unstructured
		want string
	}{
		"namespace":        {namespaceObject("bench-flip", "flip"), `{"apiVersion":"v1","kind":"Namespace","metadata":{"labels":{"app.kubernetes.io/managed-by":"flotilla","flotilla.dev/cluster-name":"flip","flotilla.dev/cluster-namespace":"bench-flip"},"name":"flotilla-bench-flip-flip-db1ca679"}}`},
		"content":          {contentObject(r), `{"apiVersion":"flotilla.dev/v1alpha1","kind":"Content","metadata":{"name":"` + ContentName(r) + `"},"spec":{"resources":[{"content":"x","name":"cm.yaml"}],"sha256":"` + ContentDigest(r) + `"}}`},
		"bundledeployment": {bundleDeploymentObject("bench-flip", "r0000-b0", "flip", "s-x"), `{"apiVersion":"flotilla.dev/v1alpha1","kind":"BundleDeployment","metadata":{"labels":{"flotilla.dev/bundle-name":"r0000-b0","flotilla.dev/bundle-namespace":"bench-flip","flotilla.dev/cluster-name":"flip","flotilla.dev/cluster-namespace":"bench-flip"},"name":"r0000-b0","namespace":"flotilla-bench-flip-flip-db1ca679"},"spec":{"contentName":"s-x","deploymentID":"` + DeploymentID("s-x") + `","paused":false}}`},
	}
	for name, c := range cases {
		got, err := runtime.Encode(unstructured.UnstructuredJSONScheme, c.obj)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if strings.TrimSpace(string(got)) != c.want {
			t.Errorf("%s\n got %s\nwant %s", name, got, c.want)
		}
	}
}
