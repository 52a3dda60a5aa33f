//go:build wasip1

package wasmexporter

func setTestConfig(map[string]string) {}
