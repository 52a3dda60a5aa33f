package prometheus

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
)

func register(t *testing.T, collect func(chan<- Metric)) *Registry {
	t.Helper()
	r := NewRegistry()
	if err := r.Register(collector{collect: collect}); err != nil {
		t.Fatal(err)
	}
	return r
}

func gatherFailure(t *testing.T, r *Registry) string {
	t.Helper()
	_, err := r.gather()
	if err == nil {
		t.Fatal("gathering succeeded")
	}
	return err.Error()
}

func TestAnInvalidMetricFailsWithItsOwnMessage(t *testing.T) {
	d := NewDesc("x", "X.", nil, nil)
	r := register(t, func(ch chan<- Metric) {
		ch <- MustNewConstMetric(d, GaugeValue, 1)
		ch <- NewInvalidMetric(d, errors.New("requested error"))
	})
	if got := gatherFailure(t, r); got != "requested error" {
		t.Errorf("got %q", got)
	}
}

func TestAPanicInCollectIsAnError(t *testing.T) {
	r := register(t, func(ch chan<- Metric) { panic("boom") })
	if got := gatherFailure(t, r); got != "panic: boom" {
		t.Errorf("got %q", got)
	}
	var nilMap map[string]int
	r = register(t, func(ch chan<- Metric) { nilMap["x"] = 1 })
	if got := gatherFailure(t, r); !strings.HasPrefix(got, "panic: assignment to entry in nil map") {
		t.Errorf("got %q", got)
	}
}

func TestAMustConstructorPanicsWithClientGolangsMessage(t *testing.T) {
	d := NewDesc("x", "X.", []string{"a"}, nil)
	r := register(t, func(ch chan<- Metric) { ch <- MustNewConstMetric(d, GaugeValue, 1) })
	want := `panic: inconsistent label cardinality: expected 1 label values but got 0 in []string(nil)`
	if got := gatherFailure(t, r); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestInvalidUTF8LabelValuesAreRefused(t *testing.T) {
	d := NewDesc("x", "X.", []string{"a"}, nil)
	if _, err := NewConstMetric(d, GaugeValue, 1, "bad\xff"); err == nil || !strings.Contains(err.Error(), "not valid UTF-8") {
		t.Errorf("got %v", err)
	}
	if _, err := NewConstStateSet(NewDesc("s", "S.", nil, nil), map[string]bool{"\xfe": true}); err == nil {
		t.Error("an invalid state name was accepted")
	}
	if d := NewDesc("y", "Y.", nil, Labels{"a": "\xff"}); d.err == nil {
		t.Error("an invalid const label value was accepted")
	}
	if d := NewDesc("z", "bad \xff help", nil, nil); d.help != "bad \uFFFD help" {
		t.Errorf("help %q was not sanitised", d.help)
	}
}

func TestDescsAreCheckedAsClientGolangDoes(t *testing.T) {
	for _, tc := range []struct {
		desc *Desc
		want string
	}{
		{NewDesc("1x", "", nil, nil), `"1x" is not a valid metric name`},
		{NewDesc("x", "", []string{"__a"}, nil), `"__a" is not a valid label name for metric "x"`},
		{NewDesc("x", "", []string{"a-b"}, nil), `"a-b" is not a valid label name for metric "x"`},
		{NewDesc("x", "", []string{"a"}, Labels{"a": "v"}), "duplicate label names"},
		{NewDesc("x_seconds", "", nil, nil).WithUnit("bytes"), `metric name "x_seconds" does not end with its unit "bytes"`},
	} {
		if tc.desc.err == nil || tc.desc.err.Error() != tc.want {
			t.Errorf("got %v, want %q", tc.desc.err, tc.want)
		}
		r := NewRegistry()
		d := tc.desc
		err := r.Register(collector{describe: func(ch chan<- *Desc) { ch <- d }, collect: func(chan<- Metric) {}})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Register: got %v", err)
		}
	}
	if d := NewDesc("x_seconds_total", "", nil, nil).WithUnit("seconds"); d.err != nil {
		t.Errorf("a counter's unit before _total was refused: %v", d.err)
	}
}

func TestRegistrationChecks(t *testing.T) {
	d := NewDesc("x", "X.", []string{"a"}, nil)
	c := collector{describe: func(ch chan<- *Desc) { ch <- d }, collect: func(chan<- Metric) {}}
	r := NewRegistry()
	if err := r.Register(c); err != nil {
		t.Fatal(err)
	}
	var already AlreadyRegisteredError
	if err := r.Register(c); !errors.As(err, &already) {
		t.Errorf("registering twice: %v", err)
	}
	other := NewDesc("x", "Other help.", []string{"a"}, nil)
	err := r.Register(collector{describe: func(ch chan<- *Desc) { ch <- other }, collect: func(chan<- Metric) {}})
	if err == nil || !strings.Contains(err.Error(), "different label names or a different help string") {
		t.Errorf("inconsistent help: %v", err)
	}
	if !r.Unregister(c) || r.Unregister(c) {
		t.Error("Unregister did not find the collector exactly once")
	}
	if err := r.Register(c); err != nil {
		t.Errorf("registering again after Unregister: %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Error("MustRegister did not panic natively")
		}
	}()
	r.MustRegister(c)
}

func TestInconsistentFamiliesFail(t *testing.T) {
	a := NewDesc("x", "X.", nil, nil)
	b := NewDesc("x", "Not X.", nil, nil)
	r := register(t, func(ch chan<- Metric) {
		ch <- MustNewConstMetric(a, GaugeValue, 1)
		ch <- MustNewConstMetric(b, GaugeValue, 2)
	})
	if got := gatherFailure(t, r); !strings.Contains(got, `has help "Not X." but should have "X."`) {
		t.Errorf("got %q", got)
	}
	r = register(t, func(ch chan<- Metric) {
		ch <- MustNewConstMetric(a, GaugeValue, 1)
		ch <- MustNewConstMetric(a, CounterValue, 2)
	})
	if got := gatherFailure(t, r); got != "collected metric x should be a gauge, not a counter" {
		t.Errorf("got %q", got)
	}
	typed := NewDesc("y", "Y.", nil, nil).WithType(TypeCounter)
	r = register(t, func(ch chan<- Metric) { ch <- MustNewConstMetric(typed, GaugeValue, 1) })
	if got := gatherFailure(t, r); got != "collected metric y is a gauge but its Desc states counter" {
		t.Errorf("got %q", got)
	}
	r = register(t, func(ch chan<- Metric) {
		for i := 0; i < 7; i++ {
			ch <- NewInvalidMetric(a, errors.New("e"))
		}
	})
	if got := gatherFailure(t, r); got != "7 errors occurred: e; e; e; e; e; and 2 more" {
		t.Errorf("got %q", got)
	}
}

func TestHistogramBuckets(t *testing.T) {
	d := NewDesc("h", "H.", nil, nil)
	m := MustNewConstHistogram(d, 4, 2, map[float64]uint64{1: 1, math.Inf(1): 4, 0.5: 0}).point()
	if len(m.more.pairs) != 3 || math.Float64frombits(m.more.pairs[0][0]) != 0.5 || m.more.pairs[2][1] != 4 {
		t.Errorf("a given +Inf bucket was not kept as the last: %v", m.more.pairs)
	}
	m = MustNewConstHistogram(d, 9, 2, nil).point()
	if len(m.more.pairs) != 1 || !math.IsInf(math.Float64frombits(m.more.pairs[0][0]), 1) || m.more.pairs[0][1] != 9 {
		t.Errorf("no +Inf bucket with the count: %v", m.more.pairs)
	}
}

func TestBuildFQName(t *testing.T) {
	for _, tc := range [][4]string{
		{"a", "b", "c", "a_b_c"}, {"", "b", "c", "b_c"}, {"a", "", "c", "a_c"}, {"a", "b", "", ""},
	} {
		if got := BuildFQName(tc[0], tc[1], tc[2]); got != tc[3] {
			t.Errorf("BuildFQName(%q, %q, %q) = %q", tc[0], tc[1], tc[2], got)
		}
	}
}

func TestSeriesSortByLabelValuesInNameOrder(t *testing.T) {
	d := NewDesc("x", "X.", []string{"b", "a"}, nil)
	r := register(t, func(ch chan<- Metric) {
		ch <- MustNewConstMetric(d, GaugeValue, 1, "1", "z")
		ch <- MustNewConstMetric(d, GaugeValue, 2, "2", "a")
		ch <- MustNewConstMetric(d, GaugeValue, 3, "0", "a")
	})
	families, err := r.gather()
	if err != nil {
		t.Fatal(err)
	}
	var got []float64
	for _, p := range families[0].points {
		got = append(got, p.value)
	}
	if len(got) != 3 || got[0] != 3 || got[1] != 2 || got[2] != 1 {
		t.Errorf("order %v, want [3 2 1] (by a, then b)", got)
	}
}

func TestRadixSortMatchesComparingValuesOneByOne(t *testing.T) {
	d := NewDesc("x", "X.", []string{"b", "a"}, Labels{"c": "k"})
	values := []string{"", "a", "a\x00", "a\x00b", "ab", "b", "\x00", "é", "z", "10", "2", "1"}
	var points []*point
	for _, a := range values {
		for _, b := range values {
			points = append(points, MustNewConstMetric(d, GaugeValue, 1, b, a).point())
		}
	}
	// Reverse, so that the sort has work to do on a family of more than
	// one radix bucket.
	slices.Reverse(points)
	f := &family{desc: d, points: points}
	f.sortPoints()
	for i := 1; i < len(f.points); i++ {
		x, y := f.points[i-1], f.points[i]
		if c := strings.Compare(x.labelValues[1], y.labelValues[1]); c > 0 || c == 0 && x.labelValues[0] > y.labelValues[0] {
			t.Fatalf("%q before %q", x.labelValues, y.labelValues)
		}
	}
}
