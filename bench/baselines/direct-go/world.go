// The desired state as bench/baselines/world.ts computes it, in Go: the
// targeting rules of the independent oracle (test/support/oracle.ts), the
// naming rules of docs/architecture.md#deterministic-names (deployment
// namespace, content-addressed Content, deployment ID) and the status bodies.
// world_test.go pins each function to values the TypeScript produces, so
// direct-go writes byte-for-byte the objects direct writes.
package main

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
)

const (
	group             = "flotilla.dev"
	version           = "v1alpha1"
	apiVersion        = group + "/" + version
	labelBundleName   = group + "/bundle-name"
	labelBundleNs     = group + "/bundle-namespace"
	labelClusterName  = group + "/cluster-name"
	labelClusterNs    = group + "/cluster-namespace"
	labelWorkspace    = group + "/workspace"
	labelManagedBy    = "app.kubernetes.io/managed-by"
	managedByValue    = "flotilla"
	workspaceValue    = "true"
	contentNamePrefix = "s-"
	contentEncodingV1 = "flotilla.dev/content/v1\n"
	nonReadyMax       = 10
)

// Resource is one entry of a Bundle's spec.resources.
type Resource struct {
	Name    string `json:"name"`
	Content string `json:"content"`
}

// ContentDigest is src/api/content-name.ts: SHA-256 over the tag and each
// resource's length-prefixed name and content.
func ContentDigest(resources []Resource) string {
	h := sha256.New()
	h.Write([]byte(contentEncodingV1))
	field := func(s string) {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	for _, r := range resources {
		field(r.Name)
		field(r.Content)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func ContentName(resources []Resource) string { return contentNamePrefix + ContentDigest(resources) }

// DeploymentID is src/api/deployment-id.ts without options: sha256 of the canonical JSON "{}".
func DeploymentID(contentName string) string {
	sum := sha256.Sum256([]byte("{}"))
	return contentName + ":" + hex.EncodeToString(sum[:])
}

const (
	nsPrefix     = "flotilla"
	nsMaxLength  = 63
	nsHashLength = 8
	nsBudget     = nsMaxLength - (len(nsPrefix) + 1) - (1 + nsHashLength)
)

var nonDNS = regexp.MustCompile(`[^a-z0-9]+`)

// DeploymentNamespace is src/placement/deployment-namespace.ts.
func DeploymentNamespace(workspace, cluster string) string {
	sum := sha256.Sum256([]byte(workspace + "/" + cluster))
	hash := hex.EncodeToString(sum[:])[:nsHashLength]
	ws, c := fitParts(sanitise(workspace), sanitise(cluster))
	parts := []string{}
	for _, p := range []string{nsPrefix, ws, c, hash} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, "-")
}

// sanitise lower-cases like JavaScript's toLowerCase for the characters a
// Kubernetes name may hold (ASCII), then collapses the rest to "-".
func sanitise(s string) string {
	return strings.Trim(nonDNS.ReplaceAllString(strings.ToLower(s), "-"), "-")
}

func fitParts(ws, cluster string) (string, string) {
	joiner := 0
	if ws != "" && cluster != "" {
		joiner = 1
	}
	room := nsBudget - joiner
	if len(ws)+len(cluster) <= room {
		return ws, cluster
	}
	half := room / 2
	var wsRoom int
	switch {
	case len(ws) <= half:
		wsRoom = len(ws)
	case len(cluster) <= room-half:
		wsRoom = room - len(cluster)
	default:
		wsRoom = half
	}
	return truncate(ws, wsRoom), truncate(cluster, room-wsRoom)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.Trim(s[:n], "-")
}

func DeploymentNamespaceLabels(workspace, cluster string) map[string]string {
	return map[string]string{labelManagedBy: managedByValue, labelClusterName: cluster, labelClusterNs: workspace}
}

// PlacementKey is `workspace/bundle@cluster`, as the TypeScript baselines key BundleDeployments.
func PlacementKey(workspace, bundle, cluster string) string {
	return workspace + "/" + bundle + "@" + cluster
}

// ---------------------------------------------------------------------------
// Targeting: test/support/oracle.ts (no ClusterGroups: the baselines pass none).

type Requirement struct {
	Key      string   `json:"key"`
	Operator string   `json:"operator"`
	Values   []string `json:"values"`
}

type Selector struct {
	MatchLabels      map[string]string `json:"matchLabels"`
	MatchExpressions []Requirement     `json:"matchExpressions"`
}

type Target struct {
	ClusterSelector      *Selector `json:"clusterSelector"`
	ClusterGroup         string    `json:"clusterGroup"`
	ClusterGroupSelector *Selector `json:"clusterGroupSelector"`
	ClusterName          string    `json:"clusterName"`
	DoNotDeploy          bool      `json:"doNotDeploy"`
}

func selectorValid(s *Selector) bool {
	for _, r := range s.MatchExpressions {
		switch r.Operator {
		case "In", "NotIn":
			if len(r.Values) == 0 {
				return false
			}
		case "Exists", "DoesNotExist":
			if len(r.Values) != 0 {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// SelectorMatches: nil selector matches nothing, `{}` everything, malformed nothing.
func SelectorMatches(s *Selector, labels map[string]string) bool {
	if s == nil || !selectorValid(s) {
		return false
	}
	for k, v := range s.MatchLabels {
		if have, ok := labels[k]; !ok || have != v {
			return false
		}
	}
	for _, r := range s.MatchExpressions {
		value, present := labels[r.Key]
		switch r.Operator {
		case "In":
			if !present || !slices.Contains(r.Values, value) {
				return false
			}
		case "NotIn":
			if present && slices.Contains(r.Values, value) {
				return false
			}
		case "Exists":
			if !present {
				return false
			}
		case "DoesNotExist":
			if present {
				return false
			}
		}
	}
	return true
}

// targetMatches with no ClusterGroups: a clusterGroup or clusterGroupSelector criterion matches nothing.
func targetMatches(t Target, name string, labels map[string]string) bool {
	criteria := 0
	if t.ClusterSelector != nil {
		criteria++
		if !SelectorMatches(t.ClusterSelector, labels) {
			return false
		}
	}
	if t.ClusterGroup != "" || t.ClusterGroupSelector != nil {
		return false
	}
	if t.ClusterName != "" {
		criteria++
		if name != t.ClusterName {
			return false
		}
	}
	return criteria > 0
}

// Deployed: the first matching target decides; deployed unless it says doNotDeploy.
func Deployed(targets []Target, name string, labels map[string]string) bool {
	for _, t := range targets {
		if targetMatches(t, name, labels) {
			return !t.DoNotDeploy
		}
	}
	return false
}

// ---------------------------------------------------------------------------
// Status bodies (bench/baselines/world.ts), fields in the same order.

// BDState is what the summaries need of a BundleDeployment.
type BDState struct {
	Namespace           string
	DeploymentID        string
	AppliedDeploymentID *string
	Ready               *bool
	NonModified         *bool
}

func (b *BDState) ready() bool {
	return b.AppliedDeploymentID != nil && *b.AppliedDeploymentID == b.DeploymentID && b.Ready != nil && *b.Ready && (b.NonModified == nil || *b.NonModified)
}

type Counts struct {
	DesiredReady int `json:"desiredReady"`
	Ready        int `json:"ready"`
	NotReady     int `json:"notReady"`
	Pending      int `json:"pending"`
	Modified     int `json:"modified"`
	ErrApplied   int `json:"errApplied"`
	WaitApplied  int `json:"waitApplied"`
	OutOfSync    int `json:"outOfSync"`
}

func count(bds []*BDState, names []string) (Counts, []string) {
	c := Counts{DesiredReady: len(bds)}
	nonReady := []string{}
	for i, bd := range bds {
		switch {
		case bd == nil:
			c.Pending++
		case bd.ready():
			c.Ready++
		case bd.AppliedDeploymentID == nil:
			c.WaitApplied++
		default:
			c.NotReady++
		}
		if bd == nil || !bd.ready() {
			nonReady = append(nonReady, names[i])
		}
	}
	return c, nonReady
}

type bundleSummary struct {
	Counts
	NonReadyClusters []string `json:"nonReadyClusters"`
}

type BundleStatus struct {
	ObservedGeneration *int64            `json:"observedGeneration,omitempty"`
	Summary            bundleSummary     `json:"summary"`
	Display            map[string]string `json:"display"`
	ContentName        string            `json:"contentName"`
}

// NewBundleStatus: targeted is sorted; bdOf gives the BundleDeployment on a cluster, nil if none.
func NewBundleStatus(generation *int64, contentName string, targeted []string, bdOf func(string) *BDState) BundleStatus {
	bds := make([]*BDState, len(targeted))
	for i, c := range targeted {
		bds[i] = bdOf(c)
	}
	c, nonReady := count(bds, targeted)
	if len(nonReady) > nonReadyMax {
		nonReady = nonReady[:nonReadyMax]
	}
	return BundleStatus{
		ObservedGeneration: generation,
		Summary:            bundleSummary{Counts: c, NonReadyClusters: nonReady},
		Display:            map[string]string{"readyClusters": itoa(c.Ready) + "/" + itoa(c.DesiredReady)},
		ContentName:        contentName,
	}
}

type ClusterStatus struct {
	ObservedGeneration *int64            `json:"observedGeneration,omitempty"`
	Namespace          string            `json:"namespace"`
	Summary            Counts            `json:"summary"`
	Display            map[string]string `json:"display"`
}

func NewClusterStatus(generation *int64, workspace, name string, bds []*BDState) ClusterStatus {
	names := make([]string, len(bds))
	c, _ := count(bds, names)
	return ClusterStatus{
		ObservedGeneration: generation,
		Namespace:          DeploymentNamespace(workspace, name),
		Summary:            c,
		Display:            map[string]string{"readyBundles": itoa(c.Ready) + "/" + itoa(c.DesiredReady)},
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// ContainsAll: whether current already holds every field of desired with the
// same value (what a merge patch would change). Both as decoded JSON.
func ContainsAll(current, desired any) bool {
	d, ok := desired.(map[string]any)
	if !ok {
		a, _ := json.Marshal(current)
		b, _ := json.Marshal(desired)
		return string(a) == string(b)
	}
	c, ok := current.(map[string]any)
	if !ok {
		return false
	}
	for k, v := range d {
		if !ContainsAll(c[k], v) {
			return false
		}
	}
	return true
}

// asJSON turns a value into decoded JSON (maps, float64s), the form ContainsAll compares.
func asJSON(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}
