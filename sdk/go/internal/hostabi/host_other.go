//go:build !wasip1

package hostabi

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"sync"
)

var (
	testConfigMu sync.Mutex
	testConfig   map[string]string
)

// SetTestConfig sets the configuration that Config and ConfigGet return
// outside WebAssembly.
func SetTestConfig(config map[string]string) {
	testConfigMu.Lock()
	defer testConfigMu.Unlock()
	testConfig = config
}

// Log writes a record to stderr: there is no host outside WebAssembly.
func Log(level Level, message string) {
	fmt.Fprintf(os.Stderr, "%s: %s\n", level, message)
}

// Config returns the configuration set with SetTestConfig, sorted by key.
func Config() []KeyValue {
	testConfigMu.Lock()
	defer testConfigMu.Unlock()
	config := make([]KeyValue, 0, len(testConfig))
	for k, v := range testConfig {
		config = append(config, KeyValue{k, v})
	}
	sort.Slice(config, func(i, j int) bool { return config[i].Key < config[j].Key })
	return config
}

// ConfigGet returns one value set with SetTestConfig.
func ConfigGet(key string) (string, bool) {
	testConfigMu.Lock()
	defer testConfigMu.Unlock()
	v, ok := testConfig[key]
	return v, ok
}

// Stat fails: no host offers it outside WebAssembly.
func Stat(path string) (FsStats, error) {
	return FsStats{}, errors.New(path + ": no host outside WebAssembly")
}
