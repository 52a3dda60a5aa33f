//go:build wasip1

package hostabi

import "unsafe"

// The component's preview1 adapter calls cabi_realloc while Go's
// _initialize is still running, before the heap exists: an allocation then
// traps at instantiation. Until this package's init has run, requests are
// served from this static arena, which never touches the heap.
var (
	early     [32 << 10]uint64 // 256 KiB: the adapter asks for 2 × 64 KiB
	earlyUsed uint32
	ready     bool
)

// kept holds every allocation made for the host until the instance is
// dropped: the adapter keeps its state in one for good, and an instance
// serves a single call, so nothing is worth giving back.
var kept [][]uint64

// zeroSized is the address handed out for empty allocations.
var zeroSized uint64

func init() { ready = true }

//go:wasmexport cabi_realloc
func cabiRealloc(oldAt, oldSize, align, size uint32) uint32 {
	if size == 0 {
		return Address(unsafe.Pointer(&zeroSized))
	}
	var at uint32
	if !ready {
		at = earlyAlloc(align, size)
	} else {
		block := make([]uint64, (size+7)/8)
		kept = append(kept, block)
		at = Address(unsafe.Pointer(&block[0]))
	}
	if at != 0 && oldAt != 0 && oldSize != 0 {
		copy(unsafe.Slice((*byte)(Pointer(at)), size), unsafe.Slice((*byte)(Pointer(oldAt)), min(oldSize, size)))
	}
	return at
}

// earlyAlloc bumps through the static arena; 0 (a trap in the caller) once
// it is exhausted.
func earlyAlloc(align, size uint32) uint32 {
	base := Address(unsafe.Pointer(&early[0]))
	if align < 8 {
		align = 8
	}
	start := (base + earlyUsed + align - 1) &^ (align - 1)
	end := start - base + size
	if end > uint32(len(early)*8) {
		return 0
	}
	earlyUsed = end
	return start
}
