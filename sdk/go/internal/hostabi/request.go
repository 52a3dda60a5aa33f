// Package hostabi is the plugin's side of the host interfaces of
// wit/collector.wit: the imported functions, the allocator the host writes
// through, and the request of the call in progress. Outside WebAssembly it
// offers stand-ins, so that collectors run in native unit tests.
package hostabi

import "time"

// KeyValue is one key/value pair: a configuration entry or a query
// parameter.
type KeyValue struct {
	Key   string
	Value string
}

// Request is what the host asks for on one scrape.
type Request struct {
	// Target is the target to probe on a multi-target scrape
	// (/probe?target=...); empty on a plain /metrics scrape.
	Target string
	// HasTarget tells a /probe scrape (even with an empty target) from a
	// plain /metrics one.
	HasTarget bool
	// Params are the other query parameters of a /probe request, in order.
	Params []KeyValue
	// Timeout is the time left before the host abandons the call, measured
	// when the call started.
	Timeout time.Duration
}

// defaultTimeout is assumed when a request states none (a native test).
const defaultTimeout = 5 * time.Second

// maxIOMargin caps what IOBudget keeps back from the deadline.
const maxIOMargin = 250 * time.Millisecond

// Param returns the first value of a query parameter.
func (r Request) Param(name string) (string, bool) {
	for _, p := range r.Params {
		if p.Key == name {
			return p.Value, true
		}
	}
	return "", false
}

// IOBudget is the time a collector may spend waiting on the system it
// observes: the timeout less a tenth of it (250 ms at most), kept back to
// build and return the result, so that a slow system fails with its own
// message rather than the host's timeout. 5 s when no timeout is stated.
func (r Request) IOBudget() time.Duration {
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	return timeout - min(maxIOMargin, timeout/10)
}

var current Request

// SetRequest records the request of the call in progress.
func SetRequest(r Request) { current = r }

// CurrentRequest returns the request of the call in progress.
func CurrentRequest() Request { return current }

// Level is the severity of a log record, numbered as the WIT enum `level`.
type Level int32

// The levels of the host's log.
const (
	LevelTrace Level = iota
	LevelDebug
	LevelInfo
	LevelWarn
	LevelError
)

// String returns the level's lowercase name.
func (l Level) String() string {
	switch l {
	case LevelTrace:
		return "trace"
	case LevelDebug:
		return "debug"
	case LevelInfo:
		return "info"
	case LevelWarn:
		return "warn"
	case LevelError:
		return "error"
	}
	return "unknown"
}

// FsStats are the sizes of one file system, as statfs reports them.
type FsStats struct {
	BlockSize       uint64
	Blocks          uint64
	BlocksFree      uint64
	BlocksAvailable uint64
	Files           uint64
	FilesFree       uint64
	ReadOnly        bool
}
