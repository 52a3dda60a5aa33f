// go_netdev: per-interface counters from /proc/net/dev with node_exporter's
// netdev names (node_network_receive_bytes_total{device="eth0"}, ...).
package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"wasm-exporter.dev/sdk/go/prometheus"
	"wasm-exporter.dev/sdk/go/wasmexporter"
)

// netDevPath is the file the operator grants (grants.files).
const netDevPath = "/proc/net/dev"

// defaultExclude: Debian's node_exporter leaves the loopback interface out
// (--collector.netdev.device-exclude=^lo$).
const defaultExclude = "lo"

// columns are the counters of /proc/net/dev, in file order, as
// node_exporter's keys.
var columns = [...]string{
	"receive_bytes", "receive_packets", "receive_errs", "receive_drop",
	"receive_fifo", "receive_frame", "receive_compressed", "receive_multicast",
	"transmit_bytes", "transmit_packets", "transmit_errs", "transmit_drop",
	"transmit_fifo", "transmit_colls", "transmit_carrier", "transmit_compressed",
}

// device is one interface's counters, in columns order.
type device struct {
	name     string
	counters [len(columns)]uint64
}

// parseNetDev reads the lines after the two header lines. A malformed line
// makes the whole file an error, as it does for node_exporter.
func parseNetDev(text string) ([]device, error) {
	lines := strings.Split(text, "\n")
	if len(lines) < 2 {
		return nil, fmt.Errorf("%s: no header", netDevPath)
	}
	var devices []device
	for _, line := range lines[2:] {
		if strings.TrimSpace(line) == "" {
			continue
		}
		colon := strings.LastIndexByte(line, ':')
		if colon < 0 {
			return nil, fmt.Errorf("%s: no colon in line %q", netDevPath, line)
		}
		d := device{name: strings.TrimSpace(line[:colon])}
		fields := strings.Fields(line[colon+1:])
		if d.name == "" || len(fields) < len(columns) {
			return nil, fmt.Errorf("%s: malformed line %q", netDevPath, line)
		}
		for i := range columns {
			v, err := strconv.ParseUint(fields[i], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%s: invalid value in line %q", netDevPath, line)
			}
			d.counters[i] = v
		}
		devices = append(devices, d)
	}
	return devices, nil
}

type netdevCollector struct {
	descs [len(columns)]*prometheus.Desc
}

func newNetdevCollector() *netdevCollector {
	c := &netdevCollector{}
	for i, key := range columns {
		d := prometheus.NewDesc(
			"node_network_"+key+"_total",
			"Network device statistic "+key+".",
			[]string{"device"}, nil,
		).WithType(prometheus.TypeCounter)
		if strings.HasSuffix(key, "_bytes") {
			d = d.WithUnit("bytes")
		}
		c.descs[i] = d
	}
	return c
}

func (c *netdevCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c *netdevCollector) Collect(ch chan<- prometheus.Metric) {
	text, err := os.ReadFile(netDevPath)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.descs[0], fmt.Errorf("%w (grant files: [%s])", err, netDevPath))
		return
	}
	devices, err := parseNetDev(string(text))
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.descs[0], err)
		return
	}
	exclude, ok := wasmexporter.ConfigGet("device_exclude")
	if !ok {
		exclude = defaultExclude
	}
	excluded := map[string]bool{}
	for _, name := range strings.Split(exclude, ",") {
		excluded[strings.TrimSpace(name)] = true
	}
	for _, d := range devices {
		if excluded[d.name] {
			continue
		}
		for i, v := range d.counters {
			ch <- prometheus.MustNewConstMetric(c.descs[i], prometheus.CounterValue, float64(v), d.name)
		}
	}
}

func init() {
	prometheus.MustRegister(newNetdevCollector())
}

func main() {}
