//go:build !wasip1

package wasmexporter

import "wasm-exporter.dev/sdk/go/internal/hostabi"

func setTestConfig(config map[string]string) { hostabi.SetTestConfig(config) }
