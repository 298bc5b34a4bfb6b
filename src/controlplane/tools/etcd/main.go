// Command etcd is upstream etcd's server entry point, built from the published
// go.etcd.io/etcd/server/v3 module so the harness pins etcd to the version
// the pinned Kubernetes release is tested against.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
