package main

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// countingTransport counts every request as Flotilla's KubeClient does
// (flotilla_api_requests_total{verb,resource,code}), so the benchmark reads
// direct-go's requests with the same queries as every other system's.
type countingTransport struct {
	next     http.RoundTripper
	requests *prometheus.CounterVec
}

func (t *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	verb, resource := RequestLabels(req.Method, req.URL.Path, req.URL.Query().Get("watch"), req.Header.Get("Content-Type"))
	resp, err := t.next.RoundTrip(req)
	code := "error"
	if err == nil {
		code = strconv.Itoa(resp.StatusCode)
	}
	t.requests.WithLabelValues(verb, resource, code).Inc()
	return resp, err
}

// RequestLabels maps a request to Flotilla's labels: verb get/list/watch/
// create/update/patch/apply/delete/deletecollection; resource `plural` for
// the core group, `plural.group` otherwise, with `/subresource` for
// update, patch and apply (as src/runtime/kube/client.ts labels them).
func RequestLabels(method, path, watch, contentType string) (string, string) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	var groupName string
	switch {
	case len(segs) >= 2 && segs[0] == "api":
		segs = segs[2:]
	case len(segs) >= 3 && segs[0] == "apis":
		groupName = segs[1]
		segs = segs[3:]
	default:
		return strings.ToLower(method), "unknown"
	}
	// namespaces/<ns>/<plural>/... is namespaced; namespaces[/<name>[/status|finalize]] is the Namespace itself.
	if len(segs) >= 3 && segs[0] == "namespaces" && segs[2] != "status" && segs[2] != "finalize" {
		segs = segs[2:]
	}
	if len(segs) == 0 {
		return strings.ToLower(method), "unknown"
	}
	plural := segs[0]
	named := len(segs) >= 2
	subresource := ""
	if len(segs) >= 3 {
		subresource = segs[2]
	}
	resource := plural
	if groupName != "" {
		resource += "." + groupName
	}
	var verb string
	switch method {
	case http.MethodGet:
		switch {
		case named:
			verb = "get"
		case watch == "true" || watch == "1":
			verb = "watch"
		default:
			verb = "list"
		}
	case http.MethodPost:
		verb = "create"
	case http.MethodPut:
		verb = "update"
	case http.MethodPatch:
		verb = "patch"
		if strings.HasPrefix(contentType, "application/apply-patch") {
			verb = "apply"
		}
	case http.MethodDelete:
		verb = "delete"
		if !named {
			verb = "deletecollection"
		}
	default:
		verb = strings.ToLower(method)
	}
	if subresource != "" && (verb == "update" || verb == "patch" || verb == "apply") {
		resource += "/" + subresource
	}
	return verb, resource
}
