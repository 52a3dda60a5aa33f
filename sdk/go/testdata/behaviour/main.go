// What the Go SDK does that the conformance plugin does not show, for
// tests/all/sdk_go.rs. The `mode` configuration key selects it:
//
//	(unset)       nothing: the runtime's own cost per call
//	series        `series` gauges (default 50000); `gc=off` first calls
//	              DisableGC with a limit of 48 MiB
//	panic         panics in Collect
//	nil_map       a runtime error in Collect
//	invalid_utf8  a label value that is not UTF-8 (NewConstMetric's error,
//	              sent as an invalid metric), with an invalid help and log
//	              message, which are sanitised
//	request       the request as series: target, params, timeout
//	sorted        series and labels sent unsorted, returned sorted
//	statfs        file-system sizes of the mount point `path`
//	must_register an invalid Desc registered with MustRegister (at init)
package main

import (
	"errors"
	"strconv"

	"wasm-exporter.dev/sdk/go/prometheus"
	"wasm-exporter.dev/sdk/go/wasmexporter"
)

type behaviour struct{}

var (
	seriesDesc = prometheus.NewDesc("go_behaviour_series", "One of many.", []string{"index", "group"}, nil)
	badHelp    = prometheus.NewDesc("go_behaviour_bad_help", "Help with a stray \xff byte.", []string{"value"}, nil)
	targetDesc = prometheus.NewDesc("go_behaviour_target", "The probe target.", []string{"target"}, nil)
	paramDesc  = prometheus.NewDesc("go_behaviour_param", "A probe parameter.", []string{"name", "value"}, nil)
	timeout    = prometheus.NewDesc("go_behaviour_timeout_seconds", "Time left.", nil, nil).WithUnit("seconds")
	sortedDesc = prometheus.NewDesc("go_behaviour_sorted", "Sorted.", []string{"zeta", "alpha"}, prometheus.Labels{"middle": "m"})
	statfsDesc = prometheus.NewDesc("go_behaviour_statfs_blocks", "Blocks of the file system.", []string{"kind"}, nil)
)

func (behaviour) Describe(ch chan<- *prometheus.Desc) {
	ch <- seriesDesc
	ch <- badHelp
}

func (behaviour) Collect(ch chan<- prometheus.Metric) {
	mode, _ := wasmexporter.ConfigGet("mode")
	switch mode {
	case "series":
		if gc, _ := wasmexporter.ConfigGet("gc"); gc == "off" {
			wasmexporter.DisableGC(48 << 20)
		}
		n := 50000
		if s, ok := wasmexporter.ConfigGet("series"); ok {
			n, _ = strconv.Atoi(s)
		}
		groups := []string{"a", "b", "c", "d"}
		for i := 0; i < n; i++ {
			ch <- prometheus.MustNewConstMetric(seriesDesc, prometheus.GaugeValue, float64(i), strconv.Itoa(i), groups[i%4])
		}
	case "panic":
		panic("go behaviour panic")
	case "nil_map":
		var m map[string]int
		m["x"] = 1
	case "invalid_utf8":
		wasmexporter.Log(wasmexporter.LevelWarn, "log with a stray \xfe byte")
		ch <- prometheus.MustNewConstMetric(badHelp, prometheus.GaugeValue, 1, "fine")
		if m, err := prometheus.NewConstMetric(badHelp, prometheus.GaugeValue, 2, "bad \xff value"); err != nil {
			ch <- prometheus.NewInvalidMetric(badHelp, err)
		} else {
			ch <- m
		}
	case "invalid_utf8_help":
		ch <- prometheus.MustNewConstMetric(badHelp, prometheus.GaugeValue, 1, "fine")
	case "request":
		r := wasmexporter.CurrentRequest()
		if r.HasTarget {
			ch <- prometheus.MustNewConstMetric(targetDesc, prometheus.GaugeValue, 1, r.Target)
		}
		for _, p := range r.Params {
			ch <- prometheus.MustNewConstMetric(paramDesc, prometheus.GaugeValue, 1, p.Key, p.Value)
		}
		ch <- prometheus.MustNewConstMetric(timeout, prometheus.GaugeValue, r.Timeout.Seconds())
	case "sorted":
		for _, v := range [][2]string{{"2", "b"}, {"1", "b"}, {"3", "a"}} {
			ch <- prometheus.MustNewConstMetric(sortedDesc, prometheus.GaugeValue, 1, v[0], v[1])
		}
	case "statfs":
		path, _ := wasmexporter.ConfigGet("path")
		s, err := wasmexporter.Statfs(path)
		if err != nil {
			ch <- prometheus.NewInvalidMetric(statfsDesc, errors.New("statfs: "+err.Error()))
			return
		}
		ch <- prometheus.MustNewConstMetric(statfsDesc, prometheus.GaugeValue, float64(s.Blocks), "total")
		ch <- prometheus.MustNewConstMetric(statfsDesc, prometheus.GaugeValue, float64(s.BlockSize), "size")
	}
}

// invalid describes a Desc whose name is not a metric name.
type invalid struct{}

func (invalid) Describe(ch chan<- *prometheus.Desc) {
	ch <- prometheus.NewDesc("go behaviour", "Not a name.", nil, nil)
}

func (invalid) Collect(chan<- prometheus.Metric) {}

func init() {
	prometheus.MustRegister(behaviour{})
	if mode, _ := wasmexporter.ConfigGet("mode"); mode == "must_register" {
		prometheus.MustRegister(invalid{})
	}
}

func main() {}
