// The port test's plugin side: the same collector, compiled against the Go
// SDK, registered with the plugin's registry.
package main

import "wasm-exporter.dev/sdk/go/prometheus"

func init() {
	prometheus.MustRegister(newQueueCollector())
}

func main() {}
