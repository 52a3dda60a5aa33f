package prometheus

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strings"
	"unsafe"
)

// Collector is what a plugin registers, as in client_golang: Describe sends
// the descriptors of every metric it may collect, Collect sends the
// metrics of one scrape. On each scrape the plugin runs on a fresh
// instance, so Collect reads everything afresh.
type Collector interface {
	Describe(chan<- *Desc)
	Collect(chan<- Metric)
}

// Registerer is the registration part of a Registry, as in client_golang.
type Registerer interface {
	Register(Collector) error
	MustRegister(...Collector)
	Unregister(Collector) bool
}

// AlreadyRegisteredError is returned by Register when the collector, or
// one describing the same metrics, is already registered.
type AlreadyRegisteredError struct {
	ExistingCollector, NewCollector Collector
}

func (err AlreadyRegisteredError) Error() string {
	return "duplicate metrics collector registration attempted"
}

// Registry holds collectors. The plugin serves DefaultRegisterer's; other
// registries serve native tests of a collector (Gather).
type Registry struct {
	collectors []registered
	// descIDs maps fqName and const label values to the collector index;
	// dims maps fqName to its help and label names.
	descIDs   map[string]int
	dims      map[string]string
	keepOrder bool
	// deferred is what MustRegister could not register inside
	// WebAssembly, where a panic during initialisation would only trap:
	// every call reports it instead.
	deferred error
}

type registered struct {
	collector Collector
	descs     []*Desc
	id        string
}

// NewRegistry creates an empty registry.
func NewRegistry() *Registry {
	return &Registry{descIDs: map[string]int{}, dims: map[string]string{}}
}

var defaultRegistry = NewRegistry()

// DefaultRegisterer is the registry the plugin serves.
var DefaultRegisterer Registerer = defaultRegistry

// Register registers c with DefaultRegisterer.
func Register(c Collector) error { return DefaultRegisterer.Register(c) }

// MustRegister registers collectors with DefaultRegisterer and panics on
// error; inside WebAssembly the error fails every call instead (a panic
// while the plugin initialises would only trap, without its message).
func MustRegister(cs ...Collector) { DefaultRegisterer.MustRegister(cs...) }

// Unregister removes c from DefaultRegisterer.
func Unregister(c Collector) bool { return DefaultRegisterer.Unregister(c) }

// KeepOrder makes DefaultRegisterer return series in the order Collect
// sends them, with labels in the order their Desc declares them (variable
// labels, then const labels by name), instead of sorting both like
// client_golang's registry. It saves the sort on large families.
func KeepOrder() { defaultRegistry.KeepOrder() }

// KeepOrder is the package-level KeepOrder, for r.
func (r *Registry) KeepOrder() { r.keepOrder = true }

// describeAll drains c.Describe.
func describeAll(c Collector) (descs []*Desc, err error) {
	ch := make(chan *Desc, 64)
	done := make(chan error, 1)
	go func() {
		defer func() { done <- recovered(recover()) }()
		defer close(ch)
		c.Describe(ch)
	}()
	for d := range ch {
		descs = append(descs, d)
	}
	return descs, <-done
}

// Register checks c's descriptors as client_golang does and registers it:
// each must be valid, not already registered, and consistent in help and
// label names with others of the same name.
func (r *Registry) Register(c Collector) error {
	descs, err := describeAll(c)
	if err != nil {
		return fmt.Errorf("describing collector: %w", err)
	}
	id, newDims, err := r.check(descs)
	if err != nil {
		return err
	}
	if id != "" {
		for _, existing := range r.collectors {
			if existing.id == id {
				return AlreadyRegisteredError{ExistingCollector: existing.collector, NewCollector: c}
			}
		}
	}
	for _, d := range descs {
		if _, exists := r.descIDs[d.id()]; exists {
			return fmt.Errorf("descriptor %s already exists with the same fully-qualified name and const label values", d)
		}
	}
	for _, d := range descs {
		r.descIDs[d.id()] = len(r.collectors)
	}
	for name, dim := range newDims {
		r.dims[name] = dim
	}
	r.collectors = append(r.collectors, registered{collector: c, descs: descs, id: id})
	return nil
}

// check validates descs and returns the collector's identity (its sorted
// descriptor ids; empty for a collector that describes nothing) and the
// help and label names of each name it describes.
func (r *Registry) check(descs []*Desc) (string, map[string]string, error) {
	ids := make([]string, 0, len(descs))
	newDims := map[string]string{}
	for _, d := range descs {
		if d == nil {
			return "", nil, errors.New("collector described a nil Desc")
		}
		if d.err != nil {
			return "", nil, fmt.Errorf("descriptor %s is invalid: %w", d, d.err)
		}
		if id := d.id(); !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
		dim := d.dim()
		if prev, exists := r.dims[d.fqName]; exists && prev != dim {
			return "", nil, fmt.Errorf("a previously registered descriptor with the same fully-qualified name as %s has different label names or a different help string", d)
		}
		if prev, exists := newDims[d.fqName]; exists && prev != dim {
			return "", nil, fmt.Errorf("descriptors reported by collector have inconsistent label names or help strings for the same fully-qualified name, offender is %s", d)
		}
		newDims[d.fqName] = dim
	}
	sort.Strings(ids)
	return strings.Join(ids, "\xfe"), newDims, nil
}

// MustRegister registers each collector and panics on the first error
// (inside WebAssembly: see the package-level MustRegister).
func (r *Registry) MustRegister(cs ...Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			if deferPanics {
				if r.deferred == nil {
					r.deferred = fmt.Errorf("prometheus.MustRegister: %w", err)
				}
				continue
			}
			panic(err)
		}
	}
}

// Unregister removes c, reporting whether it was registered. A collector
// is found by the descriptors it describes, as in client_golang.
func (r *Registry) Unregister(c Collector) bool {
	descs, err := describeAll(c)
	if err != nil {
		return false
	}
	ids := make([]string, 0, len(descs))
	for _, d := range descs {
		if d == nil {
			return false
		}
		if id := d.id(); !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	id := strings.Join(ids, "\xfe")
	for i, existing := range r.collectors {
		if id == "" || existing.id != id {
			continue
		}
		r.collectors = slices.Delete(r.collectors, i, i+1)
		r.descIDs = map[string]int{}
		r.dims = map[string]string{}
		for j, rc := range r.collectors {
			for _, d := range rc.descs {
				r.descIDs[d.id()] = j
				r.dims[d.fqName] = d.dim()
			}
		}
		return true
	}
	return false
}

// id identifies a Desc among the registered ones: its name and const
// label values.
func (d *Desc) id() string {
	var b strings.Builder
	b.WriteString(d.fqName)
	for _, p := range d.constLabels {
		b.WriteByte(0xff)
		b.WriteString(p.value)
	}
	return b.String()
}

// dim is what every Desc of one name must share: help and label names
// (const and variable kept apart, as client_golang does).
func (d *Desc) dim() string {
	names := make([]string, 0, len(d.constLabels)+len(d.variableLabels))
	for _, p := range d.constLabels {
		names = append(names, p.name)
	}
	for _, n := range d.variableLabels {
		names = append(names, "$"+n)
	}
	sort.Strings(names)
	return d.help + "\xff" + strings.Join(names, "\xff")
}

// family is one gathered metric family.
type family struct {
	name, help, unit string
	metricType       MetricType
	desc             *Desc // the first; later ones must have its label names
	points           []*point
}

// gatherError collects the errors of one gathering, reported together.
type gatherError []error

func (e gatherError) Error() string {
	if len(e) == 1 {
		return e[0].Error()
	}
	const shown = 5
	msgs := make([]string, 0, shown)
	for _, err := range e[:min(len(e), shown)] {
		msgs = append(msgs, err.Error())
	}
	more := ""
	if len(e) > shown {
		more = fmt.Sprintf("; and %d more", len(e)-shown)
	}
	return fmt.Sprintf("%d errors occurred: %s%s", len(e), strings.Join(msgs, "; "), more)
}

// metricBuffer is the capacity of the channel a collector sends on: large
// enough that the collecting goroutine rarely waits for the reader.
const metricBuffer = 1024

// gather runs every collector, in registration order, and groups what they
// send into families: sorted like client_golang's registry, unless
// KeepOrder. An invalid metric, a panic or an inconsistent metric fails
// the gathering.
func (r *Registry) gather() ([]*family, error) {
	if r.deferred != nil {
		return nil, r.deferred
	}
	var errs gatherError
	byName := map[string]*family{}
	var families []*family
	for _, rc := range r.collectors {
		ch := make(chan Metric, metricBuffer)
		done := make(chan error, 1)
		go func() {
			defer func() { done <- recovered(recover()) }()
			defer close(ch)
			rc.collector.Collect(ch)
		}()
		var last *family
		for m := range ch {
			if m == nil {
				errs = append(errs, errors.New("collected a nil Metric"))
				continue
			}
			p := m.point()
			if err := p.check(); err != nil {
				errs = append(errs, err)
				continue
			}
			f := last
			if f == nil || f.name != p.desc.fqName {
				f = byName[p.desc.fqName]
			}
			if f == nil {
				f = &family{name: p.desc.fqName, help: p.desc.help, unit: p.desc.unit, metricType: p.kind, desc: p.desc}
				byName[f.name] = f
				families = append(families, f)
			} else if err := f.admit(p); err != nil {
				errs = append(errs, err)
				continue
			}
			f.points = append(f.points, p)
			last = f
		}
		if err := <-done; err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	if !r.keepOrder {
		sort.Slice(families, func(i, j int) bool { return families[i].name < families[j].name })
		for _, f := range families {
			f.sortPoints()
		}
	}
	return families, nil
}

// check reports what makes p unusable on its own.
func (p *point) check() error {
	if p.more != nil && p.more.err != nil {
		return p.more.err
	}
	if p.desc == nil {
		return errors.New("collected a metric with a nil Desc")
	}
	if p.desc.err != nil {
		return p.desc.err
	}
	if t := p.desc.metricType; t != TypeUnset && t != p.kind {
		return fmt.Errorf("collected metric %s is a %s but its Desc states %s", p.desc.fqName, p.kind, t)
	}
	return nil
}

// admit checks that p fits a family already gathered, as client_golang's
// registry does.
func (f *family) admit(p *point) error {
	d := p.desc
	if d.help != f.help {
		return fmt.Errorf("collected metric %s has help %q but should have %q", d.fqName, d.help, f.help)
	}
	if p.kind != f.metricType {
		return fmt.Errorf("collected metric %s should be a %s, not a %s", d.fqName, f.metricType, p.kind)
	}
	if d != f.desc && d.unit != f.unit {
		return fmt.Errorf("collected metric %s has unit %q but should have %q", d.fqName, d.unit, f.unit)
	}
	if d != f.desc && !sameLabelNames(d, f.desc) {
		return fmt.Errorf("collected metric %s has label names %v but should have %v", d.fqName, d.labelNames(), f.desc.labelNames())
	}
	return nil
}

func sameLabelNames(a, b *Desc) bool {
	if len(a.sorted) != len(b.sorted) {
		return false
	}
	for k := range a.sorted {
		if a.labelName(a.sorted[k]) != b.labelName(b.sorted[k]) {
			return false
		}
	}
	return true
}

// labelNames lists d's label names as its series carry them.
func (d *Desc) labelNames() []string {
	names := make([]string, len(d.sorted))
	for k, i := range d.sorted {
		names[k] = d.labelName(i)
	}
	return names
}

// order is the label order of d's series.
func (d *Desc) order(keepOrder bool) []int {
	if keepOrder {
		return d.declared
	}
	return d.sorted
}

// labelValue is the value of the label at index i of p's desc's order.
func (p *point) labelValue(i int) string {
	if i >= 0 {
		return p.labelValues[i]
	}
	return p.desc.constLabels[^i].value
}

// sortPoints orders series by their label values, compared in label-name
// order: client_golang's order. Comparison sorts cost too much here (a
// call per comparison, and strings compared byte by byte, several hundred
// wasm instructions each: n log n of them for a large family), so each
// series gets one byte key whose order is that order, and the keys are
// radix sorted, after one pass to see whether they are sorted already.
func (f *family) sortPoints() {
	if len(f.points) < 2 {
		return
	}
	keys := sortKeys(f.points)
	sorted := true
	for i := 1; i < len(keys) && sorted; i++ {
		sorted = keys[i-1].key <= keys[i].key
	}
	if sorted {
		return
	}
	radixSort(keys, make([]keyed, len(keys)), 0)
	for i, k := range keys {
		f.points[i] = k.point
	}
}

// keyed is a series and its sort key.
type keyed struct {
	key   string
	point *point
}

// sortKeys makes every key out of one buffer: each label value in
// label-name order, its NUL bytes written as 0x00 0x01 and ended by
// 0x00 0x00, so that byte order is the order of the values compared one
// by one (a value before any longer one it begins).
func sortKeys(points []*point) []keyed {
	n := 0
	for _, p := range points {
		for _, i := range p.desc.sorted {
			n += len(p.labelValue(i)) + 2
		}
	}
	buf := make([]byte, 0, n)
	keys := make([]keyed, len(points))
	for j, p := range points {
		start := len(buf)
		for _, i := range p.desc.sorted {
			v := p.labelValue(i)
			if strings.IndexByte(v, 0) < 0 {
				buf = append(buf, v...)
			} else {
				for k := 0; k < len(v); k++ {
					buf = append(buf, v[k])
					if v[k] == 0 {
						buf = append(buf, 1)
					}
				}
			}
			buf = append(buf, 0, 0)
		}
		keys[j] = keyed{unsafe.String(unsafe.SliceData(buf[start:]), len(buf)-start), p}
	}
	return keys
}

// radixSort sorts keys that agree on their first depth bytes, most
// significant byte first; tmp is scratch space as long as keys.
func radixSort(keys, tmp []keyed, depth int) {
	const small = 24
	if len(keys) <= small {
		insertionSort(keys, depth)
		return
	}
	// Bucket 0 holds the keys that end at depth; byte b goes to b+1.
	var count [257]int
	for _, k := range keys {
		count[byteAt(k.key, depth)]++
	}
	var next [257]int
	at := 0
	for b, c := range count {
		next[b] = at
		at += c
	}
	for _, k := range keys {
		b := byteAt(k.key, depth)
		tmp[next[b]] = k
		next[b]++
	}
	copy(keys, tmp)
	at = count[0]
	for b := 1; b < len(count); b++ {
		if c := count[b]; c > 1 {
			radixSort(keys[at:at+c], tmp[at:at+c], depth+1)
		}
		at += count[b]
	}
}

func byteAt(s string, i int) int {
	if i >= len(s) {
		return 0
	}
	return int(s[i]) + 1
}

func insertionSort(keys []keyed, depth int) {
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j].key[depth:] < keys[j-1].key[depth:]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
}

// recovered turns a recovered panic into the error reported for it.
func recovered(r any) error {
	switch r := r.(type) {
	case nil:
		return nil
	case runtime.Error:
		return fmt.Errorf("panic: %v", r)
	case error:
		return fmt.Errorf("panic: %w", r)
	default:
		return fmt.Errorf("panic: %v", r)
	}
}
