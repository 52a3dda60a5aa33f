package hostslog

import (
	"log/slog"
	"testing"
	"time"

	"wasm-exporter.dev/sdk/go/wasmexporter"
)

func TestRecordsBecomeMessagesWithKeyValuePairs(t *testing.T) {
	h := NewHandler(nil).WithAttrs([]slog.Attr{slog.String("file", "/proc/x")}).WithGroup("g").(*Handler)
	r := slog.NewRecord(time.Time{}, slog.LevelWarn, "skipped", 0)
	r.AddAttrs(slog.Int("n", 3), slog.String("why", "not granted"), slog.Group("sub", slog.Bool("ok", false)))
	want := `skipped file=/proc/x g.n=3 g.why="not granted" g.sub.ok=false`
	if got := h.format(r); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestSlogLevelsMapToTheHosts(t *testing.T) {
	for level, want := range map[slog.Level]wasmexporter.Level{
		slog.LevelDebug - 4: wasmexporter.LevelTrace,
		slog.LevelDebug:     wasmexporter.LevelDebug,
		slog.LevelInfo:      wasmexporter.LevelInfo,
		slog.LevelWarn + 1:  wasmexporter.LevelWarn,
		slog.LevelError:     wasmexporter.LevelError,
	} {
		if got := hostLevel(level); got != want {
			t.Errorf("%v: got %v, want %v", level, got, want)
		}
	}
	if NewHandler(slog.LevelInfo).Enabled(nil, slog.LevelDebug) {
		t.Error("a record below the handler's level was kept")
	}
}
