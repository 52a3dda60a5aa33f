package prometheus

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// Labels are label names and values, as in client_golang: the constant
// labels of a Desc.
type Labels map[string]string

// MetricType is the type of a metric family in the OpenMetrics data model.
// client_golang's Desc has none; a Desc may state one (WithType) so that
// the plugin's description lists it.
type MetricType uint8

// The family types. TypeUnset is the zero value: a Desc that states no type.
const (
	TypeUnset MetricType = iota
	TypeCounter
	TypeGauge
	TypeHistogram
	TypeSummary
	TypeInfo
	TypeStateSet
	TypeUnknown
)

// String returns the type's name in the OpenMetrics text format.
func (t MetricType) String() string {
	switch t {
	case TypeCounter:
		return "counter"
	case TypeGauge:
		return "gauge"
	case TypeHistogram:
		return "histogram"
	case TypeSummary:
		return "summary"
	case TypeInfo:
		return "info"
	case TypeStateSet:
		return "stateset"
	case TypeUnknown:
		return "unknown"
	}
	return "unset"
}

// Desc describes a metric family, as in client_golang: its fully-qualified
// name, help, the names of its variable labels and its constant labels.
// Beyond client_golang it may carry the family's OpenMetrics unit and type
// (WithUnit, WithType).
//
// An invalid Desc records its error, which is reported when the collector
// describing it is registered or when a metric using it is created.
type Desc struct {
	fqName         string
	help           string
	constLabels    []labelPair // sorted by name
	variableLabels []string
	unit           string
	metricType     MetricType
	err            error

	// The order in which a series' labels are returned: an index into
	// variableLabels, or ^index into constLabels. Sorted by name, like
	// client_golang's exposition; declaration order in KeepOrder mode.
	sorted, declared []int
}

type labelPair struct{ name, value string }

// NewDesc allocates and initializes a new Desc, as client_golang's does:
// fqName must be a valid metric name, the label names valid and distinct,
// and const label values valid UTF-8. help is used as given, with any
// invalid UTF-8 replaced by U+FFFD. variableLabels and constLabels may be
// nil.
func NewDesc(fqName, help string, variableLabels []string, constLabels Labels) *Desc {
	d := &Desc{
		fqName:         fqName,
		help:           strings.ToValidUTF8(help, "\uFFFD"),
		variableLabels: variableLabels,
	}
	if !validMetricName(fqName) {
		d.err = fmt.Errorf("%q is not a valid metric name", fqName)
		return d
	}
	seen := make(map[string]struct{}, len(constLabels)+len(variableLabels))
	for name, value := range constLabels {
		if !validLabelName(name) {
			d.err = fmt.Errorf("%q is not a valid label name for metric %q", name, fqName)
			return d
		}
		if !utf8.ValidString(value) {
			d.err = fmt.Errorf("label value %q is not valid UTF-8", value)
			return d
		}
		seen[name] = struct{}{}
		d.constLabels = append(d.constLabels, labelPair{name, value})
	}
	sort.Slice(d.constLabels, func(i, j int) bool { return d.constLabels[i].name < d.constLabels[j].name })
	for _, name := range variableLabels {
		if !validLabelName(name) {
			d.err = fmt.Errorf("%q is not a valid label name for metric %q", name, fqName)
			return d
		}
		seen[name] = struct{}{}
	}
	if len(seen) != len(constLabels)+len(variableLabels) {
		d.err = errors.New("duplicate label names")
		return d
	}
	d.declared = make([]int, 0, len(seen))
	for i := range variableLabels {
		d.declared = append(d.declared, i)
	}
	for i := range d.constLabels {
		d.declared = append(d.declared, ^i)
	}
	d.sorted = append([]int(nil), d.declared...)
	sort.SliceStable(d.sorted, func(i, j int) bool { return d.labelName(d.sorted[i]) < d.labelName(d.sorted[j]) })
	return d
}

// NewInvalidDesc returns a descriptor carrying err: registering a collector
// that describes it fails with err.
func NewInvalidDesc(err error) *Desc {
	return &Desc{err: err}
}

// WithUnit returns a copy of d with the OpenMetrics unit (seconds, bytes,
// ...). The name must end with "_"+unit, before any "_total".
func (d *Desc) WithUnit(unit string) *Desc {
	c := *d
	c.unit = unit
	base := strings.TrimSuffix(d.fqName, "_total")
	if c.err == nil && (unit == "" || !strings.HasSuffix(base, "_"+unit)) {
		c.err = fmt.Errorf("metric name %q does not end with its unit %q", d.fqName, unit)
	}
	return &c
}

// WithType returns a copy of d stating the family's type, which the
// plugin's description lists (families whose Desc states none are
// described as unknown). A metric of another type collected with it is an
// error.
func (d *Desc) WithType(t MetricType) *Desc {
	c := *d
	c.metricType = t
	return &c
}

// labelName names the label at index i of sorted or declared.
func (d *Desc) labelName(i int) string {
	if i >= 0 {
		return d.variableLabels[i]
	}
	return d.constLabels[^i].name
}

// String describes d as client_golang does, for error messages.
func (d *Desc) String() string {
	pairs := make([]string, len(d.constLabels))
	for i, p := range d.constLabels {
		pairs[i] = fmt.Sprintf("%s=%q", p.name, p.value)
	}
	return fmt.Sprintf(
		"Desc{fqName: %q, help: %q, constLabels: {%s}, variableLabels: %v}",
		d.fqName, d.help, strings.Join(pairs, ","), d.variableLabels,
	)
}

// BuildFQName joins namespace, subsystem and name with underscores,
// leaving out the empty ones; empty if name is empty.
func BuildFQName(namespace, subsystem, name string) string {
	if name == "" {
		return ""
	}
	parts := make([]string, 0, 3)
	for _, p := range []string{namespace, subsystem, name} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, "_")
}

func validMetricName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		ok := c == '_' || c == ':' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9'
		if !ok {
			return false
		}
	}
	return true
}

func validLabelName(name string) bool {
	if name == "" || strings.HasPrefix(name, "__") {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		ok := c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9'
		if !ok {
			return false
		}
	}
	return true
}
