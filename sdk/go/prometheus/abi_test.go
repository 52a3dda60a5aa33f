package prometheus

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"testing"
)

// testBase is the made-up guest address of an arena in native tests: far
// from zero, so that an offset written without it is caught.
const testBase = 0x10_0000

func testAddress(*uint64) uint32 { return testBase }

// reader decodes an arena as the host does, from guest addresses.
type reader struct {
	t *testing.T
	a *arena
}

func (r reader) at(address uint32, size int) []byte {
	r.t.Helper()
	off := int(address) - testBase
	if off < 0 || off+size > len(r.a.buf) {
		r.t.Fatalf("address %#x+%d lies outside the arena (%d bytes at %#x)", address, size, len(r.a.buf), testBase)
	}
	return r.a.buf[off : off+size]
}

func (r reader) u32(address uint32) uint32 { return binary.LittleEndian.Uint32(r.at(address, 4)) }
func (r reader) u64(address uint32) uint64 { return binary.LittleEndian.Uint64(r.at(address, 8)) }
func (r reader) u8(address uint32) byte    { return r.at(address, 1)[0] }

func (r reader) str(address uint32) string {
	at, n := r.u32(address), r.u32(address+4)
	return string(r.at(at, int(n)))
}

// list returns the element addresses of a list field, checking alignment.
func (r reader) list(address uint32, size, align int) []uint32 {
	r.t.Helper()
	at, n := r.u32(address), r.u32(address+4)
	if n > 0 && int(at)%align != 0 {
		r.t.Fatalf("list at %#x is not %d-aligned", at, align)
	}
	out := make([]uint32, n)
	for i := range out {
		out[i] = at + uint32(i*size)
	}
	return out
}

// text renders decoded families in a compact form the tests compare.
func (r reader) families(at, n uint32) string {
	var b strings.Builder
	for i := uint32(0); i < n; i++ {
		f := at + i*familySize
		fmt.Fprintf(&b, "%s %q type=%d", r.str(f), r.str(f+8), r.u8(f+16))
		if r.u8(f+20) == 1 {
			fmt.Fprintf(&b, " unit=%s", r.str(f+24))
		}
		b.WriteString("\n")
		for _, m := range r.list(f+32, metricSize, 8) {
			b.WriteString(" {")
			for k, l := range r.list(m, labelSize, 4) {
				if k > 0 {
					b.WriteString(",")
				}
				fmt.Fprintf(&b, "%s=%q", r.str(l), r.str(l+8))
			}
			b.WriteString("}")
			value := m + 16
			switch c := r.u8(m + 8); c {
			case caseCounter, caseGauge, caseUnknown:
				fmt.Fprintf(&b, " case=%d %v", c, math.Float64frombits(r.u64(value)))
			case caseHistogram:
				b.WriteString(" buckets")
				for _, p := range r.list(value, pairSize, 8) {
					fmt.Fprintf(&b, " %v:%d", math.Float64frombits(r.u64(p)), r.u64(p+8))
				}
				fmt.Fprintf(&b, " sum=%v count=%d", math.Float64frombits(r.u64(value+8)), r.u64(value+16))
			case caseSummary:
				b.WriteString(" quantiles")
				for _, p := range r.list(value, pairSize, 8) {
					fmt.Fprintf(&b, " %v:%v", math.Float64frombits(r.u64(p)), math.Float64frombits(r.u64(p+8)))
				}
				fmt.Fprintf(&b, " sum=%v count=%d", math.Float64frombits(r.u64(value+8)), r.u64(value+16))
			case caseInfo:
				b.WriteString(" info")
			case caseStateSet:
				b.WriteString(" states")
				for _, s := range r.list(value, stateSize, 4) {
					fmt.Fprintf(&b, " %s=%d", r.str(s), r.u8(s+8))
				}
			default:
				fmt.Fprintf(&b, " case=%d?", c)
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

// collector is a Collector made of two functions.
type collector struct {
	describe func(chan<- *Desc)
	collect  func(chan<- Metric)
}

func (c collector) Describe(ch chan<- *Desc) {
	if c.describe != nil {
		c.describe(ch)
	}
}
func (c collector) Collect(ch chan<- Metric) { c.collect(ch) }

func allTypes() (Collector, []*Desc) {
	requests := NewDesc("t_requests_total", "Requests.", []string{"method", "code"}, nil)
	temp := NewDesc("t_temperature_celsius", "Temperature.", []string{"room"}, Labels{"site": "x"}).WithUnit("celsius")
	latency := NewDesc("t_latency_seconds", "Latency.", nil, nil).WithUnit("seconds").WithType(TypeHistogram)
	size := NewDesc("t_size_bytes", "Sizes.", []string{"path"}, nil)
	build := NewDesc("t_build", "Build.", []string{"version"}, nil)
	st := NewDesc("t_state", "State.", nil, nil)
	mystery := NewDesc("t_mystery", "Mystery.", nil, nil)
	descs := []*Desc{requests, temp, latency, size, build, st, mystery}
	return collector{
		describe: func(ch chan<- *Desc) {
			for _, d := range descs {
				ch <- d
			}
		},
		collect: func(ch chan<- Metric) {
			ch <- MustNewConstMetric(requests, CounterValue, 3, "post", "500")
			ch <- MustNewConstMetric(requests, CounterValue, 1, "get", "200")
			ch <- MustNewConstMetric(temp, GaugeValue, 21.5, "hall")
			ch <- MustNewConstMetric(temp, GaugeValue, -3.25, "cellar")
			ch <- MustNewConstHistogram(latency, 6, 1.75, map[float64]uint64{0.5: 5, 0.1: 2})
			ch <- MustNewConstSummary(size, 8, 1200, map[float64]float64{0.9: 250, 0.5: 100}, "/")
			ch <- MustNewConstInfo(build, "1.2.3")
			ch <- MustNewConstStateSet(st, map[string]bool{"b": false, "a": true})
			ch <- MustNewConstMetric(mystery, UntypedValue, 42)
		},
	}, descs
}

func gatherEncoded(t *testing.T, r *Registry) string {
	t.Helper()
	families, err := r.gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	a, at, n := encodeFamilies(families, r.keepOrder, testAddress)
	if len(a.buf) != a.text {
		t.Fatalf("the arena has %d bytes but its strings end at %d", len(a.buf), a.text)
	}
	return reader{t, a}.families(at, n)
}

func TestEveryTypeIsLaidOutAsTheCanonicalABI(t *testing.T) {
	c, _ := allTypes()
	r := NewRegistry()
	r.MustRegister(c)
	got := gatherEncoded(t, r)
	// Families by name, series by label values, labels by name: the order
	// client_golang's registry gathers in.
	want := `t_build "Build." type=4
 {version="1.2.3"} info
t_latency_seconds "Latency." type=2 unit=seconds
 {} buckets 0.1:2 0.5:5 +Inf:6 sum=1.75 count=6
t_mystery "Mystery." type=6
 {} case=2 42
t_requests_total "Requests." type=0
 {code="200",method="get"} case=0 1
 {code="500",method="post"} case=0 3
t_size_bytes "Sizes." type=3
 {path="/"} quantiles 0.5:100 0.9:250 sum=1200 count=8
t_state "State." type=5
 {} states a=1 b=0
t_temperature_celsius "Temperature." type=1 unit=celsius
 {room="cellar",site="x"} case=1 -3.25
 {room="hall",site="x"} case=1 21.5
`
	if got != want {
		t.Errorf("decoded:\n%s\nwant:\n%s", got, want)
	}
}

func TestKeepOrderKeepsSeriesAndDeclaredLabels(t *testing.T) {
	c, _ := allTypes()
	r := NewRegistry()
	r.KeepOrder()
	r.MustRegister(c)
	got := gatherEncoded(t, r)
	for _, line := range []string{
		" {method=\"post\",code=\"500\"} case=0 3\n {method=\"get\",code=\"200\"} case=0 1\n",
		" {room=\"hall\",site=\"x\"} case=1 21.5\n {room=\"cellar\",site=\"x\"} case=1 -3.25\n",
	} {
		if !strings.Contains(got, line) {
			t.Errorf("missing %q in:\n%s", line, got)
		}
	}
	if !strings.HasPrefix(got, "t_requests_total") {
		t.Errorf("families are not in collection order:\n%s", got)
	}
}

func TestDescriptorsListEveryFamilyOnce(t *testing.T) {
	c, _ := allTypes()
	r := NewRegistry()
	r.MustRegister(c)
	a, at, n := encodeDescriptors(r.descriptors(), testAddress)
	rd := reader{t, a}
	var got []string
	for i := uint32(0); i < n; i++ {
		d := at + i*familySize
		names := []string{}
		for _, s := range rd.list(d+32, stringSize, 4) {
			names = append(names, rd.str(s))
		}
		unit := ""
		if rd.u8(d+20) == 1 {
			unit = rd.str(d + 24)
		}
		got = append(got, fmt.Sprintf("%s %s %d %s %v", rd.str(d), rd.str(d+8), rd.u8(d+16), unit, names))
	}
	want := []string{
		"t_requests_total Requests. 6  [code method]",
		"t_temperature_celsius Temperature. 6 celsius [room site]",
		"t_latency_seconds Latency. 2 seconds []",
		"t_size_bytes Sizes. 6  [path]",
		"t_build Build. 6  [version]",
		"t_state State. 6  []",
		"t_mystery Mystery. 6  []",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("descriptors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestLabelNamesAreWrittenOncePerDesc(t *testing.T) {
	d := NewDesc("many", "Many.", []string{"a_long_label_name"}, nil)
	r := NewRegistry()
	r.MustRegister(collector{
		describe: func(ch chan<- *Desc) { ch <- d },
		collect: func(ch chan<- Metric) {
			for i := 0; i < 100; i++ {
				ch <- MustNewConstMetric(d, GaugeValue, float64(i), fmt.Sprint(i%10))
			}
		},
	})
	families, err := r.gather()
	if err != nil {
		t.Fatal(err)
	}
	a, _, _ := encodeFamilies(families, false, testAddress)
	if n := strings.Count(string(a.buf), "a_long_label_name"); n != 1 {
		t.Errorf("the label name is written %d times", n)
	}
}

func TestAnErrorIsOneString(t *testing.T) {
	a, at, n := encodeError("requested error", testAddress)
	if got := string(reader{t, a}.at(at, int(n))); got != "requested error" {
		t.Errorf("got %q", got)
	}
}
