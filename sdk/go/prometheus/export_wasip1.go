//go:build wasip1

package prometheus

import (
	"fmt"
	"os"
	"strings"
	"time"
	"unsafe"

	"wasm-exporter.dev/sdk/go/internal/hostabi"
)

// deferPanics: inside WebAssembly, MustRegister's error fails every call
// instead of panicking while the plugin initialises.
const deferPanics = true

// What the host reads after an export returns, kept reachable until its
// post-return call. The return areas are static: the host reads them
// after Go's stack may have moved.
var (
	returned    *arena
	collectRet  [3]uint32 // result case, then the list or the error string
	describeRet [2]uint32 // list: address, length
)

func guestAddress(p *uint64) uint32 { return hostabi.Address(unsafe.Pointer(p)) }

//go:wasmexport wasm-exporter:collector/collector@0.1.1#describe
func describeExport() (ret uint32) {
	defer func() {
		if err := recovered(recover()); err != nil {
			describeFailed(err)
		}
	}()
	if err := defaultRegistry.deferred; err != nil {
		describeFailed(err)
	}
	a, at, n := encodeDescriptors(defaultRegistry.descriptors(), guestAddress)
	returned = a
	describeRet = [2]uint32{at, n}
	return hostabi.Address(unsafe.Pointer(&describeRet))
}

// describeFailed ends the call with a trap: describe has no error case,
// and the host refuses to load the plugin, citing the last stderr line.
func describeFailed(err error) {
	fmt.Fprintln(os.Stderr, strings.ToValidUTF8(err.Error(), "\uFFFD"))
	os.Exit(1)
}

//go:wasmexport cabi_post_wasm-exporter:collector/collector@0.1.1#describe
func describePostReturn(uint32) { returned = nil }

//go:wasmexport wasm-exporter:collector/collector@0.1.1#collect
func collectExport(targetCase, targetAt, targetLen, paramsAt, paramsLen uint32, timeoutMs int64) (ret uint32) {
	defer func() {
		if err := recovered(recover()); err != nil {
			ret = collectFailed(err)
		}
	}()
	request := hostabi.Request{
		HasTarget: targetCase&0xff != 0,
		Timeout:   time.Duration(timeoutMs) * time.Millisecond,
	}
	if request.HasTarget {
		request.Target = hostabi.String(targetAt, targetLen)
	}
	if paramsLen > 0 {
		request.Params = make([]hostabi.KeyValue, paramsLen)
		for i := range request.Params {
			words := (*[4]uint32)(hostabi.Pointer(paramsAt + uint32(i)*16))
			request.Params[i] = hostabi.KeyValue{
				Key:   hostabi.String(words[0], words[1]),
				Value: hostabi.String(words[2], words[3]),
			}
		}
	}
	hostabi.SetRequest(request)
	families, err := defaultRegistry.gather()
	if err != nil {
		return collectFailed(err)
	}
	a, at, n := encodeFamilies(families, defaultRegistry.keepOrder, guestAddress)
	returned = a
	collectRet = [3]uint32{0, at, n}
	return hostabi.Address(unsafe.Pointer(&collectRet))
}

// collectFailed returns err's message as the call's `err`.
func collectFailed(err error) uint32 {
	a, at, n := encodeError(strings.ToValidUTF8(err.Error(), "\uFFFD"), guestAddress)
	returned = a
	collectRet = [3]uint32{1, at, n}
	return hostabi.Address(unsafe.Pointer(&collectRet))
}

//go:wasmexport cabi_post_wasm-exporter:collector/collector@0.1.1#collect
func collectPostReturn(uint32) { returned = nil }
