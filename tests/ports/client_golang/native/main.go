// The port test's client_golang side: the collector in collector.go,
// registered and written in the text format to stdout, as an exporter
// serves it. Built with Debian's Go and client_golang in GOPATH mode:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o port tests/ports/client_golang/native
package main

import (
	"log"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

func main() {
	reg := prometheus.NewRegistry()
	reg.MustRegister(newQueueCollector())
	families, err := reg.Gather()
	if err != nil {
		log.Fatal(err)
	}
	encoder := expfmt.NewEncoder(os.Stdout, expfmt.FmtText)
	for _, family := range families {
		if err := encoder.Encode(family); err != nil {
			log.Fatal(err)
		}
	}
}
