package wasmexporter

import (
	"testing"
	"time"
)

func TestRequestIOBudgetAndParams(t *testing.T) {
	r := Request{Timeout: 5 * time.Second, Params: []KeyValue{{Key: "module", Value: "a"}, {Key: "module", Value: "b"}}}
	if got := r.IOBudget(); got != 4750*time.Millisecond {
		t.Errorf("budget of 5s: %v", got)
	}
	if got := (Request{Timeout: time.Second}).IOBudget(); got != 900*time.Millisecond {
		t.Errorf("budget of 1s: %v", got)
	}
	if got := (Request{}).IOBudget(); got != 4750*time.Millisecond {
		t.Errorf("budget without a timeout: %v", got)
	}
	if v, ok := r.Param("module"); !ok || v != "a" {
		t.Errorf("first module: %q %v", v, ok)
	}
	if _, ok := r.Param("other"); ok {
		t.Error("a missing parameter was found")
	}
}

func TestTestConfigIsSortedByKey(t *testing.T) {
	SetTestConfig(map[string]string{"zeta": "1", "alpha": "2"})
	defer SetTestConfig(nil)
	got := Config()
	if len(got) != 2 || got[0] != (KeyValue{Key: "alpha", Value: "2"}) || got[1] != (KeyValue{Key: "zeta", Value: "1"}) {
		t.Errorf("config: %v", got)
	}
	if v, ok := ConfigGet("zeta"); !ok || v != "1" {
		t.Errorf("zeta: %q %v", v, ok)
	}
}
