package prometheus

import (
	"encoding/binary"
	"math"
	"unsafe"
)

// The result of a call is written into one arena of 64-bit words: memory
// without pointers, so the garbage collector never scans it, laid out as
// the component model's canonical ABI lays out the WIT types (wasm32):
//
//	type                    size align fields at
//	string, list<T>            8     4  address 0, length 4
//	label                     16     4  name 0, value 8
//	bucket, quantile          16     8  0, 8
//	state                     12     4  name 0, enabled 8
//	metric                    40     8  labels 0, value case 8 (u8), payload 16
//	histogram, summary        24     8  list 0, sum 8, count 16 (in a payload)
//	metric-family             40     4  name 0, help 8, type 16 (u8),
//	                                    unit 20 (case u8, string 24), metrics 32
//	descriptor                40     4  name 0, help 8, type 16, unit 20,
//	                                    label-names 32
//
// Records of each kind lie side by side, the 8-aligned ones first, and the
// bytes of every string after them. Addresses are the arena's address in
// the guest plus an offset; the host reads nothing else until the
// post-return call releases the arena.
const (
	metricSize = 40
	familySize = 40
	labelSize  = 16
	pairSize   = 16
	stateSize  = 12
	stringSize = 8
)

// The cases of the WIT variant `value`.
const (
	caseCounter = iota
	caseGauge
	caseUnknown
	caseHistogram
	caseSummary
	caseInfo
	caseStateSet
)

// witType numbers a family type as the WIT enum `metric-type` does.
func witType(t MetricType) byte {
	switch t {
	case TypeCounter:
		return 0
	case TypeGauge:
		return 1
	case TypeHistogram:
		return 2
	case TypeSummary:
		return 3
	case TypeInfo:
		return 4
	case TypeStateSet:
		return 5
	}
	return 6
}

func valueCase(t MetricType) byte {
	switch t {
	case TypeCounter:
		return caseCounter
	case TypeGauge:
		return caseGauge
	case TypeHistogram:
		return caseHistogram
	case TypeSummary:
		return caseSummary
	case TypeInfo:
		return caseInfo
	case TypeStateSet:
		return caseStateSet
	}
	return caseUnknown
}

// arena is the output being written, and a cursor per region.
type arena struct {
	words []uint64
	buf   []byte
	base  uint32 // guest address of buf[0]
	text  int    // next free byte of the string region
}

// addressOf is how an arena learns its guest address: the real one in
// WebAssembly, a made-up one in native tests, which decode relative to it.
type addressOf func(*uint64) uint32

func newArena(size int, textAt int, address addressOf) *arena {
	words := make([]uint64, (size+7)/8+1)
	a := &arena{words: words, text: textAt}
	a.buf = unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), len(words)*8)[:size]
	a.base = address(&words[0])
	return a
}

func (a *arena) u32(at int, v uint32) { binary.LittleEndian.PutUint32(a.buf[at:], v) }
func (a *arena) u64(at int, v uint64) { binary.LittleEndian.PutUint64(a.buf[at:], v) }

// str copies s into the string region and returns its address and length.
func (a *arena) str(s string) (uint32, uint32) {
	at := a.text
	a.text += copy(a.buf[at:], s)
	return a.base + uint32(at), uint32(len(s))
}

// field writes a string or list field: address and length.
func (a *arena) field(at int, address, n uint32) {
	a.u32(at, address)
	a.u32(at+4, n)
}

func (a *arena) strField(at int, s string) {
	address, n := a.str(s)
	a.field(at, address, n)
}

// header writes what metric-family and descriptor records share: name,
// help, type and unit.
func (a *arena) header(at int, name, help string, t MetricType, unit string) {
	a.strField(at, name)
	a.strField(at+8, help)
	a.buf[at+16] = witType(t)
	if unit != "" {
		a.buf[at+20] = 1
		a.strField(at+24, unit)
	}
}

// labelTemplate is one label of a Desc as written once per family: the
// name, and the value when it is a const label.
type labelTemplate struct {
	index           int // into the point's label values; -1 for a const label
	name, nameLen   uint32
	value, valueLen uint32
}

// encodeFamilies writes families as a list<metric-family> and returns the
// arena with the list's address and length.
func encodeFamilies(families []*family, keepOrder bool, address addressOf) (*arena, uint32, uint32) {
	// First the sizes: records of each kind, and string bytes (each
	// Desc's label names and const values once).
	var metrics, labels, pairs, states, text int
	seen := map[*Desc]struct{}{}
	for _, f := range families {
		text += len(f.name) + len(f.help) + len(f.unit)
		var last *Desc
		for _, p := range f.points {
			metrics++
			labels += len(p.desc.sorted)
			for _, v := range p.labelValues {
				text += len(v)
			}
			if p.more != nil {
				pairs += len(p.more.pairs)
				states += len(p.more.states)
				for _, s := range p.more.states {
					text += len(s.name)
				}
			}
			if p.desc != last {
				last = p.desc
				if _, ok := seen[p.desc]; !ok {
					seen[p.desc] = struct{}{}
					for _, i := range p.desc.sorted {
						text += len(p.desc.labelName(i))
						if i < 0 {
							text += len(p.desc.constLabels[^i].value)
						}
					}
				}
			}
		}
	}
	metricsAt := 0
	pairsAt := metricsAt + metrics*metricSize
	familiesAt := pairsAt + pairs*pairSize
	labelsAt := familiesAt + len(families)*familySize
	statesAt := labelsAt + labels*labelSize
	textAt := statesAt + states*stateSize
	a := newArena(textAt+text, textAt, address)

	templates := map[*Desc][]labelTemplate{}
	for fi, f := range families {
		at := familiesAt + fi*familySize
		a.header(at, f.name, f.help, f.metricType, f.unit)
		a.field(at+32, a.base+uint32(metricsAt), uint32(len(f.points)))
		var last *Desc
		var template []labelTemplate
		for _, p := range f.points {
			if p.desc != last {
				last = p.desc
				template = templates[p.desc]
				if template == nil {
					template = a.labelTemplate(p.desc, keepOrder)
					templates[p.desc] = template
				}
			}
			m := metricsAt
			metricsAt += metricSize
			a.field(m, a.base+uint32(labelsAt), uint32(len(template)))
			for _, t := range template {
				a.field(labelsAt, t.name, t.nameLen)
				if t.index >= 0 {
					a.strField(labelsAt+8, p.labelValues[t.index])
				} else {
					a.field(labelsAt+8, t.value, t.valueLen)
				}
				labelsAt += labelSize
			}
			a.buf[m+8] = valueCase(p.kind)
			switch p.kind {
			case TypeHistogram, TypeSummary:
				a.field(m+16, a.base+uint32(pairsAt), uint32(len(p.more.pairs)))
				for _, pair := range p.more.pairs {
					a.u64(pairsAt, pair[0])
					a.u64(pairsAt+8, pair[1])
					pairsAt += pairSize
				}
				a.u64(m+24, math.Float64bits(p.more.sum))
				a.u64(m+32, p.more.count)
			case TypeStateSet:
				a.field(m+16, a.base+uint32(statesAt), uint32(len(p.more.states)))
				for _, s := range p.more.states {
					a.strField(statesAt, s.name)
					if s.enabled {
						a.buf[statesAt+8] = 1
					}
					statesAt += stateSize
				}
			case TypeInfo:
			default:
				a.u64(m+16, math.Float64bits(p.value))
			}
		}
	}
	return a, a.base + uint32(familiesAt), uint32(len(families))
}

// labelTemplate writes d's label names and const values, in the order its
// series carry them.
func (a *arena) labelTemplate(d *Desc, keepOrder bool) []labelTemplate {
	order := d.order(keepOrder)
	template := make([]labelTemplate, len(order))
	for k, i := range order {
		t := labelTemplate{index: i}
		t.name, t.nameLen = a.str(d.labelName(i))
		if i < 0 {
			t.index = -1
			t.value, t.valueLen = a.str(d.constLabels[^i].value)
		}
		template[k] = t
	}
	return template
}

// encodeError writes message as a string and returns its address and
// length.
func encodeError(message string, address addressOf) (*arena, uint32, uint32) {
	a := newArena(len(message), 0, address)
	at, n := a.str(message)
	return a, at, n
}

// descriptor is one entry of the plugin's description.
type descriptor struct {
	name, help, unit string
	metricType       MetricType
	labelNames       []string
}

// descriptors lists what the registry's collectors described, one entry
// per family name in the order first described. A Desc that states no type
// is described as unknown.
func (r *Registry) descriptors() []descriptor {
	var out []descriptor
	seen := map[string]bool{}
	for _, rc := range r.collectors {
		for _, d := range rc.descs {
			if seen[d.fqName] {
				continue
			}
			seen[d.fqName] = true
			t := d.metricType
			if t == TypeUnset {
				t = TypeUnknown
			}
			order := d.order(r.keepOrder)
			names := make([]string, len(order))
			for k, i := range order {
				names[k] = d.labelName(i)
			}
			out = append(out, descriptor{d.fqName, d.help, d.unit, t, names})
		}
	}
	return out
}

// encodeDescriptors writes a list<descriptor>.
func encodeDescriptors(descs []descriptor, address addressOf) (*arena, uint32, uint32) {
	names, text := 0, 0
	for _, d := range descs {
		names += len(d.labelNames)
		text += len(d.name) + len(d.help) + len(d.unit)
		for _, n := range d.labelNames {
			text += len(n)
		}
	}
	namesAt := len(descs) * familySize
	textAt := namesAt + names*stringSize
	a := newArena(textAt+text, textAt, address)
	for i, d := range descs {
		at := i * familySize
		a.header(at, d.name, d.help, d.metricType, d.unit)
		a.field(at+32, a.base+uint32(namesAt), uint32(len(d.labelNames)))
		for _, n := range d.labelNames {
			a.strField(namesAt, n)
			namesAt += stringSize
		}
	}
	return a, a.base, uint32(len(descs))
}
