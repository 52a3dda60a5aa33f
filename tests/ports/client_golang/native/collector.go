package main

import (
	"github.com/prometheus/client_golang/prometheus"
)

// queueCollector reports a job queue's state, read at scrape time, the way
// client_golang exporters do: descriptors made once, const metrics built
// on every Collect.
type queueCollector struct {
	processed *prometheus.Desc
	depth     *prometheus.Desc
	workers   *prometheus.Desc
	wait      *prometheus.Desc
	size      *prometheus.Desc
}

// queueStats is what the queue reports for one queue.
type queueStats struct {
	name      string
	priority  string
	processed float64
	failed    float64
	depth     float64
}

func newQueueCollector() *queueCollector {
	const namespace = "jobqueue"
	constLabels := prometheus.Labels{"instance": "primary"}
	return &queueCollector{
		processed: prometheus.NewDesc(
			prometheus.BuildFQName(namespace, "jobs", "processed_total"),
			"Jobs processed, by queue and outcome.",
			[]string{"queue", "outcome"}, constLabels,
		),
		depth: prometheus.NewDesc(
			prometheus.BuildFQName(namespace, "", "depth"),
			"Jobs waiting in the queue.",
			[]string{"queue", "priority"}, constLabels,
		),
		workers: prometheus.NewDesc(
			prometheus.BuildFQName(namespace, "", "workers"),
			"Worker processes \"alive\" or idle.\nCounted every scrape.",
			[]string{"state"}, nil,
		),
		wait: prometheus.NewDesc(
			prometheus.BuildFQName(namespace, "job", "wait_seconds"),
			"Time jobs waited before a worker took them.",
			[]string{"queue"}, constLabels,
		),
		size: prometheus.NewDesc(
			prometheus.BuildFQName(namespace, "job", "payload_bytes"),
			"Payload sizes of finished jobs.",
			nil, nil,
		),
	}
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.processed
	ch <- c.depth
	ch <- c.workers
	ch <- c.wait
	ch <- c.size
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	queues := []queueStats{
		{"mail", "high", 1.5e6, 12, 3},
		{"billing", "low", 48213, 0, 0.5},
		{"thumbnails", "low", 7, 1e-7, 1234567.125},
	}
	for _, q := range queues {
		ch <- prometheus.MustNewConstMetric(c.processed, prometheus.CounterValue, q.processed, q.name, "ok")
		ch <- prometheus.MustNewConstMetric(c.processed, prometheus.CounterValue, q.failed, q.name, "failed")
		ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, q.depth, q.name, q.priority)
	}
	ch <- prometheus.MustNewConstMetric(c.workers, prometheus.GaugeValue, 8, "busy")
	ch <- prometheus.MustNewConstMetric(c.workers, prometheus.GaugeValue, -0, "idle")
	ch <- prometheus.MustNewConstMetric(c.workers, prometheus.GaugeValue, 2, "dead \"or\" \\ stuck\n")
	ch <- prometheus.MustNewConstHistogram(c.wait, 1000, 317.25,
		map[float64]uint64{0.005: 12, 0.1: 640, 1: 990, 2.5e1: 1000}, "mail")
	ch <- prometheus.MustNewConstHistogram(c.wait, 3, 0.5,
		map[float64]uint64{0.005: 0, 0.1: 1, 1: 3, 2.5e1: 3}, "billing")
	ch <- prometheus.MustNewConstSummary(c.size, 4711, 9.5e8,
		map[float64]float64{0.5: 4096, 0.9: 65536, 0.99: 1.048576e6})
}
