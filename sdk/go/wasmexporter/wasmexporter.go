// Package wasmexporter is what a wasm_exporter plugin reaches beyond
// client_golang's API: the scrape's request, the host's log, the plugin's
// configuration, file-system statistics of granted mount points, and the
// garbage collector's setting.
//
// A plugin is a Go main package built for wasip1 as a reactor:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o core.wasm .
//
// then made a component by `cargo xtask plugins`. It registers its
// collectors with the prometheus package of this SDK in an init function;
// main is never called.
//
// Outside WebAssembly (native unit tests of a collector) there is no host:
// log records go to stderr, the configuration is what SetTestConfig set,
// and Statfs fails.
package wasmexporter

import (
	"log"
	"runtime/debug"
	"strings"

	"wasm-exporter.dev/sdk/go/internal/hostabi"
)

// Request is what the host asks for on one scrape: the /probe target and
// parameters, and the time left.
type Request = hostabi.Request

// KeyValue is a configuration entry or a query parameter.
type KeyValue = hostabi.KeyValue

// CurrentRequest returns the request of the scrape in progress, for a
// Collector's Collect (client_golang's Collect has no parameter for it).
func CurrentRequest() Request { return hostabi.CurrentRequest() }

// Level is the severity of a record in the host's log.
type Level = hostabi.Level

// The levels of the host's log.
const (
	LevelTrace = hostabi.LevelTrace
	LevelDebug = hostabi.LevelDebug
	LevelInfo  = hostabi.LevelInfo
	LevelWarn  = hostabi.LevelWarn
	LevelError = hostabi.LevelError
)

// Log writes a record to the host's structured log, attributed to this
// plugin. The host rate limits each plugin's records (50 per scrape, then
// 5 per second), so log what an operator needs, not every series.
func Log(level Level, message string) { hostabi.Log(level, message) }

// Config returns this plugin's configuration: the key/value pairs the
// operator set for it, sorted by key.
func Config() []KeyValue { return hostabi.Config() }

// ConfigGet returns one value of this plugin's configuration.
func ConfigGet(key string) (string, bool) { return hostabi.ConfigGet(key) }

// SetTestConfig sets what Config and ConfigGet return outside WebAssembly,
// for native unit tests of a collector. Inside WebAssembly it does nothing:
// the operator's configuration is the host's.
func SetTestConfig(config map[string]string) { setTestConfig(config) }

// FsStats are the sizes of one file system, in blocks of BlockSize bytes.
type FsStats = hostabi.FsStats

// Statfs returns the statistics of the file system mounted at path, which
// the operator must have granted (grants.statfs); an error otherwise. No
// WASI interface offers it, so the host does.
func Statfs(path string) (FsStats, error) { return hostabi.Stat(path) }

// DisableGC turns the garbage collector off until the heap reaches
// memoryLimitBytes, where it runs again. Every scrape runs on a fresh
// instance that is dropped afterwards, so collecting garbage mostly costs
// fuel: a scrape of 50,000 series takes over 1e9 fuel (the default budget)
// with the collector on and 0.57e9 with it off. Choose a limit below the
// plugin's memory limit (memory_bytes, 64 MiB by default), e.g. three
// quarters of it; past the limit the collector runs as usual. Call it from
// init.
func DisableGC(memoryLimitBytes int64) {
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(memoryLimitBytes)
}

// LogWriter returns a writer that sends each write to the host's log as
// one record at level (a trailing newline dropped). With it the standard
// log package writes to the host:
//
//	log.SetOutput(wasmexporter.LogWriter(wasmexporter.LevelInfo))
//	log.SetFlags(0) // the host stamps each record itself
func LogWriter(level Level) *Writer { return &Writer{level} }

// NewLogger returns a *log.Logger whose records go to the host's log at
// level, without the standard logger's time stamp (the host adds its own).
func NewLogger(level Level) *log.Logger { return log.New(LogWriter(level), "", 0) }

// Writer sends each write to the host's log as one record.
type Writer struct{ level Level }

// Write sends p, without a trailing newline, as one record.
func (w *Writer) Write(p []byte) (int, error) {
	Log(w.level, strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}
