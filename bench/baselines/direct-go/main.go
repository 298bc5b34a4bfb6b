// direct-go: the `direct` baseline (bench/baselines/direct.ts) on client-go,
// so the physical limit is measured without Node's HTTP client in the way.
// Same minimal writes (deployment namespaces and Contents that are missing,
// BundleDeployment creates/deletes, one status merge patch per Bundle and
// Cluster whose summary changes), same objects and bodies (world.go), same
// meaning of --concurrency (writes in flight). HTTP/2 (client-go's default
// over TLS) and no client-side rate limit unless --qps > 0.
//
//	direct-go --kubeconfig FILE [--concurrency 64] [--qps 0] [--burst 200]
//
// It serves what the benchmark measures every system by: /metrics with
// flotilla_api_requests_total{verb,resource,code}, workqueue_depth,
// controller_runtime_active_workers, controller_runtime_reconcile_total;
// /readyz (200 once its informers synced) and /healthz, announced by the
// same JSON `serving` line on stdout. SIGTERM: stop, exit 0.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
)

const controllerName = "direct-go"

var (
	gvrNamespace        = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	gvrCluster          = schema.GroupVersionResource{Group: group, Version: version, Resource: "clusters"}
	gvrBundle           = schema.GroupVersionResource{Group: group, Version: version, Resource: "bundles"}
	gvrBundleDeployment = schema.GroupVersionResource{Group: group, Version: version, Resource: "bundledeployments"}
	gvrContent          = schema.GroupVersionResource{Group: group, Version: version, Resource: "contents"}
)

func logLine(level, msg string, fields map[string]any) {
	line := map[string]any{"level": level, "time": time.Now().UnixMilli(), "msg": msg}
	for k, v := range fields {
		line[k] = v
	}
	b, _ := json.Marshal(line)
	os.Stdout.Write(append(b, '\n'))
}

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig of the user to run as (required)")
	concurrency := flag.Int("concurrency", 64, "writes in flight")
	qps := flag.Float64("qps", 0, "client-side QPS; 0 = unlimited")
	burst := flag.Int("burst", 200, "burst when --qps > 0")
	flag.Parse()
	if *kubeconfig == "" {
		fmt.Fprintln(os.Stderr, "--kubeconfig is required")
		os.Exit(2)
	}
	if err := run(*kubeconfig, max(1, *concurrency), *qps, *burst); err != nil {
		logLine("error", "direct-go failed", map[string]any{"err": err.Error()})
		os.Exit(1)
	}
}

type metrics struct {
	requests      *prometheus.CounterVec
	depth         *prometheus.GaugeVec
	activeWorkers *prometheus.GaugeVec
	reconciles    *prometheus.CounterVec
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		requests:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: "flotilla_api_requests_total", Help: "API requests by verb, resource and response code."}, []string{"verb", "resource", "code"}),
		depth:         prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "workqueue_depth", Help: "Current depth of the work queue."}, []string{"name"}),
		activeWorkers: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "controller_runtime_active_workers", Help: "Writes running."}, []string{"controller"}),
		reconciles:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "controller_runtime_reconcile_total", Help: "Passes by result."}, []string{"controller", "result"}),
	}
	reg.MustRegister(m.requests, m.depth, m.activeWorkers, m.reconciles, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func run(kubeconfig string, concurrency int, qps float64, burst int) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	// QPS < 0 is client-go's "no rate limiter"; --qps 0 means unlimited here, as for direct.
	if qps > 0 {
		cfg.QPS, cfg.Burst = float32(qps), burst
	} else {
		cfg.QPS, cfg.Burst = -1, 0
	}
	cfg.UserAgent = "bench-" + controllerName
	reg := prometheus.NewRegistry()
	m := newMetrics(reg)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return &countingTransport{next: rt, requests: m.requests}
	})
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}

	var synced atomic.Bool
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if synced.Load() {
			w.WriteHeader(200)
			_, _ = w.Write([]byte("ok"))
			return
		}
		w.WriteHeader(503)
		_, _ = w.Write([]byte("informers not synced"))
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	server := &http.Server{Handler: mux}
	go func() { _ = server.Serve(listener) }()
	logLine("info", "serving", map[string]any{"url": "http://" + listener.Addr().String(), "paths": []string{"/metrics", "/healthz", "/readyz"}})

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	factory := dynamicinformer.NewDynamicSharedInformerFactory(client, 0)
	informers := map[schema.GroupVersionResource]cache.SharedIndexInformer{}
	for _, gvr := range []schema.GroupVersionResource{gvrNamespace, gvrCluster, gvrBundle, gvrBundleDeployment, gvrContent} {
		informers[gvr] = factory.ForResource(gvr).Informer()
	}
	d := &direct{client: client, m: m, sem: make(chan struct{}, concurrency), informers: informers, wake: make(chan struct{}, 1)}
	for _, gvr := range []schema.GroupVersionResource{gvrCluster, gvrBundle, gvrNamespace} {
		_, _ = informers[gvr].AddEventHandler(cache.ResourceEventHandlerDetailedFuncs{
			AddFunc: func(_ any, initial bool) {
				if !initial {
					d.trigger()
				}
			},
			UpdateFunc: func(o, n any) {
				if relevant(o, n) {
					d.trigger()
				}
			},
			DeleteFunc: func(any) { d.trigger() },
		})
	}
	factory.Start(ctx.Done())
	for gvr, inf := range informers {
		if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
			return fmt.Errorf("%s informer did not sync", gvr.Resource)
		}
	}
	sizes := map[string]int{}
	for gvr, inf := range informers {
		sizes[gvr.Resource] = len(inf.GetStore().ListKeys())
	}
	synced.Store(true)
	logLine("info", "informers synced", map[string]any{"sizes": sizes})
	d.seed()
	d.trigger()

	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-d.wake:
				d.m.depth.WithLabelValues(controllerName).Set(0)
				started := time.Now()
				d.pass(ctx)
				result := "success"
				if d.errors.Load() > 0 {
					result = "error"
				}
				d.m.reconciles.WithLabelValues(controllerName, result).Inc()
				logLine("info", "pass done", map[string]any{"ms": time.Since(started).Milliseconds(), "bundleDeployments": d.bdCount(), "errors": d.errors.Load()})
			}
		}
	}()
	<-ctx.Done()
	<-done
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = server.Shutdown(shutdown)
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	logLine("info", "exiting", map[string]any{"resourceUsage": map[string]any{"userCPUTime": ru.Utime.Nano() / 1000, "systemCPUTime": ru.Stime.Nano() / 1000, "maxRSS": ru.Maxrss}})
	return nil
}

func relevant(o, n any) bool {
	a, ok1 := o.(*unstructured.Unstructured)
	b, ok2 := n.(*unstructured.Unstructured)
	if !ok1 || !ok2 {
		return true
	}
	if a.GetResourceVersion() == b.GetResourceVersion() {
		return false // a resync
	}
	sameLabels := fmt.Sprint(a.GetLabels()) == fmt.Sprint(b.GetLabels())
	return !sameLabels || a.GetGeneration() != b.GetGeneration() || !a.GetDeletionTimestamp().Equal(b.GetDeletionTimestamp())
}

// direct holds what exists as far as the initial list and its own writes tell.
type direct struct {
	client    *dynamic.DynamicClient
	m         *metrics
	sem       chan struct{}
	informers map[schema.GroupVersionResource]cache.SharedIndexInformer
	wake      chan struct{}
	errors    atomic.Int64

	mu                sync.Mutex
	bundleDeployments map[string]*BDState
	namespaces        map[string]bool
	contents          map[string]bool
	statuses          map[string]any
}

func (d *direct) trigger() {
	d.m.depth.WithLabelValues(controllerName).Set(1)
	select {
	case d.wake <- struct{}{}:
	default: // a pass is already due: it will see this change too
	}
}

func (d *direct) list(gvr schema.GroupVersionResource) []*unstructured.Unstructured {
	items := d.informers[gvr].GetStore().List()
	out := make([]*unstructured.Unstructured, 0, len(items))
	for _, it := range items {
		if u, ok := it.(*unstructured.Unstructured); ok {
			out = append(out, u)
		}
	}
	return out
}

func (d *direct) bdCount() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.bundleDeployments)
}

func bdStateOf(u *unstructured.Unstructured) *BDState {
	s := &BDState{Namespace: u.GetNamespace()}
	s.DeploymentID, _, _ = unstructured.NestedString(u.Object, "spec", "deploymentID")
	if v, ok, _ := unstructured.NestedString(u.Object, "status", "appliedDeploymentID"); ok {
		s.AppliedDeploymentID = &v
	}
	if v, ok, _ := unstructured.NestedBool(u.Object, "status", "ready"); ok {
		s.Ready = &v
	}
	if v, ok, _ := unstructured.NestedBool(u.Object, "status", "nonModified"); ok {
		s.NonModified = &v
	}
	return s
}

func (d *direct) seed() {
	d.bundleDeployments = map[string]*BDState{}
	d.namespaces = map[string]bool{}
	d.contents = map[string]bool{}
	d.statuses = map[string]any{}
	for _, bd := range d.list(gvrBundleDeployment) {
		l := bd.GetLabels()
		if l[labelBundleName] != "" && l[labelBundleNs] != "" && l[labelClusterName] != "" {
			d.bundleDeployments[PlacementKey(l[labelBundleNs], l[labelBundleName], l[labelClusterName])] = bdStateOf(bd)
		}
	}
	for _, n := range d.list(gvrNamespace) {
		d.namespaces[n.GetName()] = true
	}
	for _, c := range d.list(gvrContent) {
		d.contents[c.GetName()] = true
	}
	for kind, gvr := range map[string]schema.GroupVersionResource{"Bundle": gvrBundle, "Cluster": gvrCluster} {
		for _, o := range d.list(gvr) {
			d.statuses[kind+":"+o.GetNamespace()+"/"+o.GetName()] = asJSON(o.Object["status"])
		}
	}
}

// write runs fn with at most cap(sem) writes in flight; tolerated codes (409 on create, 404 on delete) are not errors.
func (d *direct) write(what string, fn func() error, tolerate ...int32) {
	d.m.activeWorkers.WithLabelValues(controllerName).Inc()
	defer d.m.activeWorkers.WithLabelValues(controllerName).Dec()
	d.sem <- struct{}{}
	err := fn()
	<-d.sem
	if err == nil {
		return
	}
	var status apierrors.APIStatus
	if s, ok := err.(apierrors.APIStatus); ok {
		status = s
		if slices.Contains(tolerate, status.Status().Code) {
			return
		}
	}
	d.errors.Add(1)
	logLine("error", "write failed", map[string]any{"what": what, "err": err.Error()})
}

func (d *direct) patchStatus(ctx context.Context, kind string, gvr schema.GroupVersionResource, obj *unstructured.Unstructured, status any) {
	key := kind + ":" + obj.GetNamespace() + "/" + obj.GetName()
	desired := asJSON(status)
	d.mu.Lock()
	if ContainsAll(d.statuses[key], desired) {
		d.mu.Unlock()
		return
	}
	d.statuses[key] = desired
	d.mu.Unlock()
	body, _ := json.Marshal(map[string]any{"status": status})
	d.write(key+" status", func() error {
		_, err := d.client.Resource(gvr).Namespace(obj.GetNamespace()).Patch(ctx, obj.GetName(), types.MergePatchType, body, metav1.PatchOptions{}, "status")
		return err
	})
}

func isWorkspace(ns *unstructured.Unstructured) bool {
	l := ns.GetLabels()
	return l[labelWorkspace] == workspaceValue && l[labelManagedBy] != managedByValue
}

type bundleView struct {
	obj       *unstructured.Unstructured
	resources []Resource
	targets   []Target
}

func viewOf(b *unstructured.Unstructured) bundleView {
	var spec struct {
		Resources []Resource `json:"resources"`
		Targets   []Target   `json:"targets"`
	}
	if raw, ok := b.Object["spec"]; ok {
		if bytes, err := json.Marshal(raw); err == nil {
			_ = json.Unmarshal(bytes, &spec)
		}
	}
	if spec.Resources == nil {
		spec.Resources = []Resource{}
	}
	return bundleView{obj: b, resources: spec.Resources, targets: spec.Targets}
}

func generationOf(u *unstructured.Unstructured) *int64 {
	if _, ok, _ := unstructured.NestedFieldNoCopy(u.Object, "metadata", "generation"); !ok {
		return nil
	}
	g := u.GetGeneration()
	return &g
}

// pass: desired state from the oracle's rules, minus what exists, written at full concurrency.
func (d *direct) pass(ctx context.Context) {
	workspaces := map[string]bool{}
	for _, n := range d.list(gvrNamespace) {
		if isWorkspace(n) {
			workspaces[n.GetName()] = true
		}
	}
	var clusters []*unstructured.Unstructured
	clustersOf := map[string][]*unstructured.Unstructured{}
	for _, c := range d.list(gvrCluster) {
		if workspaces[c.GetNamespace()] && c.GetDeletionTimestamp() == nil {
			clusters = append(clusters, c)
			clustersOf[c.GetNamespace()] = append(clustersOf[c.GetNamespace()], c)
		}
	}
	var bundles []bundleView
	for _, b := range d.list(gvrBundle) {
		if workspaces[b.GetNamespace()] && b.GetDeletionTimestamp() == nil {
			bundles = append(bundles, viewOf(b))
		}
	}

	// Prerequisites: BundleDeployments need their namespace; they name a Content.
	var wg sync.WaitGroup
	for _, c := range clusters {
		ns := DeploymentNamespace(c.GetNamespace(), c.GetName())
		d.mu.Lock()
		exists := d.namespaces[ns]
		d.namespaces[ns] = true
		d.mu.Unlock()
		if exists {
			continue
		}
		obj := namespaceObject(c.GetNamespace(), c.GetName())
		wg.Go(func() {
			d.write("namespace "+ns, func() error {
				_, err := d.client.Resource(gvrNamespace).Create(ctx, obj, metav1.CreateOptions{FieldManager: "bench-" + controllerName})
				return err
			}, 409)
		})
	}
	for _, b := range bundles {
		name := ContentName(b.resources)
		d.mu.Lock()
		exists := d.contents[name]
		d.contents[name] = true
		d.mu.Unlock()
		if exists {
			continue
		}
		obj := contentObject(b.resources)
		wg.Go(func() {
			d.write("content "+name, func() error {
				_, err := d.client.Resource(gvrContent).Create(ctx, obj, metav1.CreateOptions{FieldManager: "bench-" + controllerName})
				return err
			}, 409)
		})
	}
	wg.Wait()

	for _, b := range bundles {
		wg.Go(func() { d.reconcileBundle(ctx, b, clustersOf[b.obj.GetNamespace()]) })
	}
	wg.Wait()

	bdsOfCluster := map[string][]*BDState{}
	d.mu.Lock()
	for key, bd := range d.bundleDeployments {
		ws := key[:strings.Index(key, "/")]
		cluster := key[strings.LastIndex(key, "@")+1:]
		bdsOfCluster[ws+"/"+cluster] = append(bdsOfCluster[ws+"/"+cluster], bd)
	}
	d.mu.Unlock()
	for _, c := range clusters {
		wg.Go(func() {
			status := NewClusterStatus(generationOf(c), c.GetNamespace(), c.GetName(), bdsOfCluster[c.GetNamespace()+"/"+c.GetName()])
			d.patchStatus(ctx, "Cluster", gvrCluster, c, status)
		})
	}
	wg.Wait()
}

func (d *direct) reconcileBundle(ctx context.Context, b bundleView, clusters []*unstructured.Unstructured) {
	ws, name := b.obj.GetNamespace(), b.obj.GetName()
	contentName := ContentName(b.resources)
	var targeted []string
	var wg sync.WaitGroup
	for _, c := range clusters {
		cluster := c.GetName()
		key := PlacementKey(ws, name, cluster)
		want := Deployed(b.targets, cluster, c.GetLabels())
		if want {
			targeted = append(targeted, cluster)
		}
		d.mu.Lock()
		existing, exists := d.bundleDeployments[key]
		switch {
		case want && !exists:
			bd := bundleDeploymentObject(ws, name, cluster, contentName)
			d.bundleDeployments[key] = &BDState{Namespace: bd.GetNamespace(), DeploymentID: DeploymentID(contentName)}
			d.mu.Unlock()
			wg.Go(func() {
				d.write("create "+key, func() error {
					_, err := d.client.Resource(gvrBundleDeployment).Namespace(bd.GetNamespace()).Create(ctx, bd, metav1.CreateOptions{FieldManager: "bench-" + controllerName})
					return err
				}, 409)
			})
		case !want && exists:
			delete(d.bundleDeployments, key)
			d.mu.Unlock()
			wg.Go(func() {
				d.write("delete "+key, func() error {
					return d.client.Resource(gvrBundleDeployment).Namespace(existing.Namespace).Delete(ctx, name, metav1.DeleteOptions{})
				}, 404)
			})
		default:
			d.mu.Unlock()
		}
	}
	wg.Wait()
	sort.Strings(targeted)
	d.mu.Lock()
	status := NewBundleStatus(generationOf(b.obj), contentName, targeted, func(c string) *BDState { return d.bundleDeployments[PlacementKey(ws, name, c)] })
	d.mu.Unlock()
	d.patchStatus(ctx, "Bundle", gvrBundle, b.obj, status)
}

func namespaceObject(workspace, cluster string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1",
		"kind":       "Namespace",
		"metadata":   map[string]any{"name": DeploymentNamespace(workspace, cluster), "labels": toAny(DeploymentNamespaceLabels(workspace, cluster))},
	}}
}

func contentObject(resources []Resource) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": apiVersion,
		"kind":       "Content",
		"metadata":   map[string]any{"name": ContentName(resources)},
		"spec":       map[string]any{"sha256": ContentDigest(resources), "resources": asJSON(resources)},
	}}
}

func bundleDeploymentObject(workspace, bundle, cluster, contentName string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": apiVersion,
		"kind":       "BundleDeployment",
		"metadata": map[string]any{
			"name":      bundle,
			"namespace": DeploymentNamespace(workspace, cluster),
			"labels":    toAny(map[string]string{labelBundleName: bundle, labelBundleNs: workspace, labelClusterName: cluster, labelClusterNs: workspace}),
		},
		"spec": map[string]any{"contentName": contentName, "deploymentID": DeploymentID(contentName), "paused": false},
	}}
}

func toAny(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
