// The conformance plugin in Go (tests/conformance/README.md): every family
// type, the configuration, escaping, and the failure modes selected by
// the `mode` configuration key.
package main

import (
	"errors"
	"log"
	"strconv"

	"wasm-exporter.dev/sdk/go/prometheus"
	"wasm-exporter.dev/sdk/go/wasmexporter"
)

type conformance struct {
	requests, temperature, latency, size, build, state, mystery, config, text *prometheus.Desc
}

func newConformance() *conformance {
	desc := prometheus.NewDesc
	return &conformance{
		requests: desc("conformance_requests_total", "Requests handled.",
			[]string{"method", "code"}, nil).WithType(prometheus.TypeCounter),
		temperature: desc("conformance_temperature_celsius", "Temperature in a room.",
			[]string{"room"}, nil).WithUnit("celsius").WithType(prometheus.TypeGauge),
		latency: desc("conformance_latency_seconds", "Request latency.",
			nil, nil).WithUnit("seconds").WithType(prometheus.TypeHistogram),
		size: desc("conformance_size_bytes", "Response sizes.",
			[]string{"path"}, nil).WithUnit("bytes").WithType(prometheus.TypeSummary),
		build: desc("conformance_build", "Build information.",
			[]string{"version", "language"}, nil).WithType(prometheus.TypeInfo),
		state: desc("conformance_state", "Current state.",
			nil, nil).WithType(prometheus.TypeStateSet),
		mystery: desc("conformance_mystery", "A value of unknown type.",
			nil, nil).WithType(prometheus.TypeUnknown),
		config: desc("conformance_config", "Configuration the plugin received.",
			[]string{"key", "value"}, nil).WithType(prometheus.TypeGauge),
		text: desc("conformance_text", "Escaping: back\\slash, \"quotes\" and a\nline.",
			[]string{"text"}, nil).WithType(prometheus.TypeGauge),
	}
}

func (c *conformance) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.requests, c.temperature, c.latency, c.size, c.build, c.state, c.mystery, c.config, c.text,
	} {
		ch <- d
	}
}

// sink keeps what membomb allocates reachable.
var sink [][]byte

func (c *conformance) Collect(ch chan<- prometheus.Metric) {
	log.Print("conformance collect")
	mode, _ := wasmexporter.ConfigGet("mode")
	switch mode {
	case "error":
		ch <- prometheus.NewInvalidMetric(c.requests, errors.New("requested error"))
		return
	case "loop":
		for {
		}
	case "membomb":
		for {
			sink = append(sink, make([]byte, 1<<20))
		}
	case "panic":
		panic("requested panic")
	}

	ch <- prometheus.MustNewConstMetric(c.requests, prometheus.CounterValue, 3, "get", "200")
	ch <- prometheus.MustNewConstMetric(c.requests, prometheus.CounterValue, 1, "post", "500")
	ch <- prometheus.MustNewConstMetric(c.temperature, prometheus.GaugeValue, 21.5, "hall")
	ch <- prometheus.MustNewConstMetric(c.temperature, prometheus.GaugeValue, -3.25, "cellar")
	ch <- prometheus.MustNewConstHistogram(c.latency, 6, 1.75, map[float64]uint64{0.1: 2, 0.5: 5})
	ch <- prometheus.MustNewConstSummary(c.size, 8, 1200, map[float64]float64{0.5: 100, 0.9: 250}, "/")
	ch <- prometheus.MustNewConstInfo(c.build, "1.2.3", "go")
	ch <- prometheus.MustNewConstStateSet(c.state, map[string]bool{"a": true, "b": false})
	ch <- prometheus.MustNewConstMetric(c.mystery, prometheus.UntypedValue, 42)
	for _, kv := range wasmexporter.Config() {
		ch <- prometheus.MustNewConstMetric(c.config, prometheus.GaugeValue, 1, kv.Key, kv.Value)
	}
	ch <- prometheus.MustNewConstMetric(c.text, prometheus.GaugeValue, 1, "a\"b\\c\nd")
	ch <- prometheus.MustNewConstMetric(c.text, prometheus.GaugeValue, 2, "ünïcødé ✓")
	if series, ok := wasmexporter.ConfigGet("series"); ok {
		if n, err := strconv.Atoi(series); err == nil {
			bench := prometheus.NewDesc("conformance_bench", "Benchmark series.",
				[]string{"index"}, nil).WithType(prometheus.TypeGauge)
			for i := 0; i < n; i++ {
				ch <- prometheus.MustNewConstMetric(bench, prometheus.GaugeValue, float64(i), strconv.Itoa(i))
			}
		}
	}
}

func init() {
	log.SetOutput(wasmexporter.LogWriter(wasmexporter.LevelInfo))
	log.SetFlags(0)
	// The suite compares series and labels in the order written above,
	// which is not client_golang's sorted order.
	prometheus.KeepOrder()
	prometheus.MustRegister(newConformance())
}

func main() {}
