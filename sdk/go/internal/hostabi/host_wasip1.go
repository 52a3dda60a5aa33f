//go:build wasip1

package hostabi

import (
	"errors"
	"strings"
	"unsafe"
)

//go:wasmimport wasm-exporter:collector/host@0.1.1 log
func hostLog(level int32, message string)

//go:wasmimport wasm-exporter:collector/host@0.1.1 config
func hostConfig(ret unsafe.Pointer)

//go:wasmimport wasm-exporter:collector/host@0.1.1 config-get
func hostConfigGet(key string, ret unsafe.Pointer)

//go:wasmimport wasm-exporter:collector/fs-stats@0.1.1 stat
func hostStat(path string, ret unsafe.Pointer)

// The imports' return areas. The host writes them after the call has left
// Go's stack checks behind, so they live in static memory, never on a
// goroutine stack that may move.
var (
	configRet    [2]uint32 // list: address, length
	configGetRet [3]uint32 // option<string>: case, address, length
	statRet      [8]uint64 // result<stats, string>: case, then the payload at 8
)

// Log writes a record to the host's log, attributed to this plugin.
func Log(level Level, message string) {
	hostLog(int32(level), strings.ToValidUTF8(message, "\uFFFD"))
}

// Config returns this plugin's configuration, sorted by key.
func Config() []KeyValue {
	hostConfig(unsafe.Pointer(&configRet))
	at, n := configRet[0], configRet[1]
	config := make([]KeyValue, n)
	for i := range config {
		words := (*[4]uint32)(Pointer(at + uint32(i)*16))
		config[i] = KeyValue{String(words[0], words[1]), String(words[2], words[3])}
	}
	return config
}

// ConfigGet returns one value of this plugin's configuration.
func ConfigGet(key string) (string, bool) {
	hostConfigGet(strings.ToValidUTF8(key, "\uFFFD"), unsafe.Pointer(&configGetRet))
	if configGetRet[0]&0xff == 0 {
		return "", false
	}
	return String(configGetRet[1], configGetRet[2]), true
}

// Stat returns the statistics of a granted mount point.
func Stat(path string) (FsStats, error) {
	hostStat(strings.ToValidUTF8(path, "\uFFFD"), unsafe.Pointer(&statRet))
	if statRet[0]&0xff != 0 {
		return FsStats{}, errors.New(String(uint32(statRet[1]), uint32(statRet[1]>>32)))
	}
	return FsStats{
		BlockSize:       statRet[1],
		Blocks:          statRet[2],
		BlocksFree:      statRet[3],
		BlocksAvailable: statRet[4],
		Files:           statRet[5],
		FilesFree:       statRet[6],
		ReadOnly:        statRet[7]&0xff != 0,
	}, nil
}

// Pointer turns a guest address the host handed over into a pointer.
func Pointer(at uint32) unsafe.Pointer {
	// go vet warns about this conversion; the address is one the host got
	// from cabi_realloc, i.e. memory this module owns.
	return unsafe.Pointer(uintptr(at))
}

// String copies a string the host wrote at a guest address, so that
// nothing keeps pointing into the allocation it came in.
func String(at, n uint32) string {
	if n == 0 {
		return ""
	}
	return strings.Clone(unsafe.String((*byte)(Pointer(at)), n))
}

// Address is the guest address of p, as the host reads it.
func Address(p unsafe.Pointer) uint32 {
	return uint32(uintptr(p))
}
