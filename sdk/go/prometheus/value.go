package prometheus

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"unicode/utf8"
)

// ValueType is the type of a const metric's value, as in client_golang.
type ValueType int

// The value types of NewConstMetric.
const (
	_ ValueType = iota
	CounterValue
	GaugeValue
	UntypedValue
)

// Metric is one series of a family: what a Collector sends on its channel.
// The constructors of this package make them; unlike client_golang's, the
// interface cannot be implemented outside it.
type Metric interface {
	// Desc returns the descriptor of the metric's family.
	Desc() *Desc
	point() *point
}

// point is every Metric of this package: one series with its value.
type point struct {
	desc        *Desc
	labelValues []string
	value       float64
	kind        MetricType
	// more is what counters and gauges, by far the most series, lack: kept
	// apart, a point fits a 64-byte allocation.
	more *composite
}

// composite is the rest of a histogram, summary, state set or invalid
// metric.
type composite struct {
	count uint64
	sum   float64
	// Histogram buckets (upper bound bits, count) or summary quantiles
	// (quantile bits, value bits), sorted; their ABI records as they are.
	pairs  [][2]uint64
	states []state
	err    error
}

type state struct {
	name    string
	enabled bool
}

func (p *point) Desc() *Desc   { return p.desc }
func (p *point) point() *point { return p }

var errInconsistentCardinality = errors.New("inconsistent label cardinality")

// newPoint checks what every constructor checks, as client_golang does: a
// valid desc and one valid UTF-8 value per variable label.
func newPoint(desc *Desc, kind MetricType, labelValues []string) (*point, error) {
	if desc == nil {
		return nil, errors.New("nil Desc")
	}
	if desc.err != nil {
		return nil, desc.err
	}
	if len(labelValues) != len(desc.variableLabels) {
		return nil, fmt.Errorf(
			"%w: expected %d label values but got %d in %#v",
			errInconsistentCardinality, len(desc.variableLabels), len(labelValues), labelValues,
		)
	}
	for _, v := range labelValues {
		if !utf8.ValidString(v) {
			return nil, fmt.Errorf("label value %q is not valid UTF-8", v)
		}
	}
	return &point{desc: desc, labelValues: labelValues, kind: kind}, nil
}

// NewConstMetric returns a metric with one fixed value that cannot be
// changed, as client_golang's does: a counter, gauge or untyped (OpenMetrics
// unknown) sample. It fails if the label values do not match desc.
func NewConstMetric(desc *Desc, valueType ValueType, value float64, labelValues ...string) (Metric, error) {
	var kind MetricType
	switch valueType {
	case CounterValue:
		kind = TypeCounter
	case GaugeValue:
		kind = TypeGauge
	case UntypedValue:
		kind = TypeUnknown
	default:
		return nil, fmt.Errorf("encountered unknown type %v", valueType)
	}
	p, err := newPoint(desc, kind, labelValues)
	if err != nil {
		return nil, err
	}
	p.value = value
	return p, nil
}

// MustNewConstMetric is NewConstMetric that panics on error.
func MustNewConstMetric(desc *Desc, valueType ValueType, value float64, labelValues ...string) Metric {
	return must(NewConstMetric(desc, valueType, value, labelValues...))
}

// NewConstHistogram returns a histogram sample, as client_golang's does:
// buckets maps each upper bound to the cumulative count of observations
// less than or equal to it. The +Inf bucket is added with count as its
// count unless buckets has one, as client_golang's exposition does.
func NewConstHistogram(desc *Desc, count uint64, sum float64, buckets map[float64]uint64, labelValues ...string) (Metric, error) {
	p, err := newPoint(desc, TypeHistogram, labelValues)
	if err != nil {
		return nil, err
	}
	pairs := make([][2]uint64, 0, len(buckets)+1)
	for bound, n := range buckets {
		pairs = append(pairs, [2]uint64{math.Float64bits(bound), n})
	}
	sortByFloat(pairs)
	if n := len(pairs); n == 0 || !math.IsInf(math.Float64frombits(pairs[n-1][0]), 1) {
		pairs = append(pairs, [2]uint64{math.Float64bits(math.Inf(1)), count})
	}
	p.more = &composite{count: count, sum: sum, pairs: pairs}
	return p, nil
}

// MustNewConstHistogram is NewConstHistogram that panics on error.
func MustNewConstHistogram(desc *Desc, count uint64, sum float64, buckets map[float64]uint64, labelValues ...string) Metric {
	return must(NewConstHistogram(desc, count, sum, buckets, labelValues...))
}

// NewConstSummary returns a summary sample, as client_golang's does:
// quantiles maps each quantile (in [0, 1]) to its value.
func NewConstSummary(desc *Desc, count uint64, sum float64, quantiles map[float64]float64, labelValues ...string) (Metric, error) {
	p, err := newPoint(desc, TypeSummary, labelValues)
	if err != nil {
		return nil, err
	}
	pairs := make([][2]uint64, 0, len(quantiles))
	for q, v := range quantiles {
		pairs = append(pairs, [2]uint64{math.Float64bits(q), math.Float64bits(v)})
	}
	sortByFloat(pairs)
	p.more = &composite{count: count, sum: sum, pairs: pairs}
	return p, nil
}

// MustNewConstSummary is NewConstSummary that panics on error.
func MustNewConstSummary(desc *Desc, count uint64, sum float64, quantiles map[float64]float64, labelValues ...string) Metric {
	return must(NewConstSummary(desc, count, sum, quantiles, labelValues...))
}

// NewConstInfo returns an OpenMetrics info sample: labels describing the
// target, with the value 1. Not in client_golang, which exposes such
// series as gauges named *_info.
func NewConstInfo(desc *Desc, labelValues ...string) (Metric, error) {
	return newPoint(desc, TypeInfo, labelValues)
}

// MustNewConstInfo is NewConstInfo that panics on error.
func MustNewConstInfo(desc *Desc, labelValues ...string) Metric {
	return must(NewConstInfo(desc, labelValues...))
}

// NewConstStateSet returns an OpenMetrics state-set sample: named boolean
// states, sorted by name. The family name is used as the label name of
// the states. Not in client_golang.
func NewConstStateSet(desc *Desc, states map[string]bool, labelValues ...string) (Metric, error) {
	p, err := newPoint(desc, TypeStateSet, labelValues)
	if err != nil {
		return nil, err
	}
	list := make([]state, 0, len(states))
	for name, enabled := range states {
		if !utf8.ValidString(name) {
			return nil, fmt.Errorf("state name %q is not valid UTF-8", name)
		}
		list = append(list, state{name, enabled})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].name < list[j].name })
	p.more = &composite{states: list}
	return p, nil
}

// MustNewConstStateSet is NewConstStateSet that panics on error.
func MustNewConstStateSet(desc *Desc, states map[string]bool, labelValues ...string) Metric {
	return must(NewConstStateSet(desc, states, labelValues...))
}

// NewInvalidMetric returns a metric that reports err when collected, as in
// client_golang: sending it fails the scrape, whose error message is
// err's (the plugin is reported down for that scrape with it).
func NewInvalidMetric(desc *Desc, err error) Metric {
	return &point{desc: desc, more: &composite{err: err}}
}

func must(m Metric, err error) Metric {
	if err != nil {
		panic(err)
	}
	return m
}

func sortByFloat(pairs [][2]uint64) {
	sort.Slice(pairs, func(i, j int) bool {
		return math.Float64frombits(pairs[i][0]) < math.Float64frombits(pairs[j][0])
	})
}
