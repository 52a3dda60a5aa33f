// A wasm_exporter plugin: one client_golang-style collector.
//
// Build: in the wasm_exporter checkout, cargo xtask build-plugin DIR
// PLUGIN.wasm (the template itself: cargo xtask plugins), or by hand, then
// make a component of core.wasm as the build tool does:
//
//	GOOS=wasip1 GOARCH=wasm go build -trimpath -buildmode=c-shared -o core.wasm .
//
// Try it: wasm_exporter collect PLUGIN.wasm --config greeting=hi
package main

import (
	"time"

	"wasm-exporter.dev/sdk/go/prometheus"
	"wasm-exporter.dev/sdk/go/wasmexporter"
)

type templateCollector struct {
	greeting *prometheus.Desc
	started  *prometheus.Desc
}

func newTemplateCollector() *templateCollector {
	return &templateCollector{
		greeting: prometheus.NewDesc(
			"template_greeting", "The configured greeting.",
			[]string{"greeting"}, nil,
		).WithType(prometheus.TypeInfo),
		started: prometheus.NewDesc(
			"template_scrape_timestamp_seconds", "When this scrape started.",
			nil, prometheus.Labels{"plugin": "template"},
		).WithUnit("seconds"),
	}
}

func (c *templateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.greeting
	ch <- c.started
}

func (c *templateCollector) Collect(ch chan<- prometheus.Metric) {
	greeting, ok := wasmexporter.ConfigGet("greeting")
	if !ok {
		greeting = "hello"
	}
	ch <- prometheus.MustNewConstInfo(c.greeting, greeting)
	now := float64(time.Now().UnixNano()) / 1e9
	ch <- prometheus.MustNewConstMetric(c.started, prometheus.GaugeValue, now)
}

func init() {
	prometheus.MustRegister(newTemplateCollector())
}

// main is never called: the host calls the collector's exports.
func main() {}
