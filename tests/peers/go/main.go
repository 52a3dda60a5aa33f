// The Go peer of the peer benchmark (`cargo xtask bench-peers`): a
// client_golang exporter serving the same synthetic load as the
// tests/plugins/peer_load plugin, the idiomatic way for data read at scrape
// time: a custom Collector that builds const metrics on every scrape, in a
// fresh registry, served by promhttp.
//
// Built in GOPATH mode against Debian's client_golang package:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o target/peers/go_exporter tests/peers/go/main.go
package main

import (
	"flag"
	"log"
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

const help = "Synthetic series."

// peerLoad returns families × series gauges; series i has the labels
// l0="s<i>", l1="v1" and the value i.
type peerLoad struct {
	descs  []*prometheus.Desc
	series int
}

func newPeerLoad(families, series int) *peerLoad {
	descs := make([]*prometheus.Desc, families)
	for f := range descs {
		name := "peer_load_" + strconv.Itoa(f)
		descs[f] = prometheus.NewDesc(name, help, []string{"l0", "l1"}, nil)
	}
	return &peerLoad{descs: descs, series: series}
}

func (c *peerLoad) Describe(ch chan<- *prometheus.Desc) {
	for _, desc := range c.descs {
		ch <- desc
	}
}

func (c *peerLoad) Collect(ch chan<- prometheus.Metric) {
	// Like the plugin: the first label's values are formatted once per
	// scrape and shared by every family.
	values := make([]string, c.series)
	for i := range values {
		values[i] = "s" + strconv.Itoa(i)
	}
	for _, desc := range c.descs {
		for i, value := range values {
			ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, float64(i), value, "v1")
		}
	}
}

func main() {
	listen := flag.String("web.listen-address", "127.0.0.1:9918", "address to listen on")
	families := flag.Int("families", 10, "gauge families peer_load_<f>")
	series := flag.Int("series", 1000, "series per family")
	flag.Parse()

	reg := prometheus.NewRegistry()
	reg.MustRegister(newPeerLoad(*families, *series))
	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	log.Printf("listening on %s", *listen)
	log.Fatal(http.ListenAndServe(*listen, nil))
}
