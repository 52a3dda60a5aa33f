package main

import (
	"strings"
	"testing"
)

const sample = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 1429151337 1185244    0    0    0     0          0         0 1429151337 1185244    0    0    0     0       0          0
  eth0: 348215083   13588    1    2    3     4          5         6   660938    7073    7    8    9    10      11         12
`

func TestParseNetDev(t *testing.T) {
	devices, err := parseNetDev(sample)
	if err != nil {
		t.Fatal(err)
	}
	if len(devices) != 2 || devices[1].name != "eth0" {
		t.Fatalf("devices: %+v", devices)
	}
	want := [16]uint64{348215083, 13588, 1, 2, 3, 4, 5, 6, 660938, 7073, 7, 8, 9, 10, 11, 12}
	if devices[1].counters != want {
		t.Errorf("eth0: %v, want %v", devices[1].counters, want)
	}
}

func TestMalformedLinesFailTheFile(t *testing.T) {
	for _, line := range []string{"eth0 1 2 3", "eth0: 1 2", "eth0: " + strings.Repeat("x ", 16)} {
		if _, err := parseNetDev("h\nh\n" + line + "\n"); err == nil || !strings.Contains(err.Error(), "/proc/net/dev") {
			t.Errorf("%q: got %v", line, err)
		}
	}
}
