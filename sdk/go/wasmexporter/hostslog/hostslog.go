// Package hostslog is a log/slog handler writing to the wasm_exporter
// host's log. It is a package of its own because slog adds about 1.7 MB to
// a plugin that would not link it otherwise; wasmexporter.Log, LogWriter
// and NewLogger cost nothing beyond the standard log package.
//
//	slog.SetDefault(hostslog.New())
//	slog.Info("collecting", "files", 3) // "collecting files=3", level info
package hostslog

import (
	"context"
	"log/slog"
	"strings"

	"wasm-exporter.dev/sdk/go/wasmexporter"
)

// New returns a slog.Logger writing to the host's log, every level kept
// (the host's own log level filters them).
func New() *slog.Logger { return slog.New(NewHandler(nil)) }

// Handler is a log/slog handler writing to the host's log: the message,
// then the attributes as key=value pairs. slog's levels map to the host's:
// below Debug is trace.
type Handler struct {
	level slog.Leveler
	attrs string
	group string
}

// NewHandler returns a Handler keeping records at level and above (every
// record when level is nil: the host's own log level filters them).
func NewHandler(level slog.Leveler) *Handler {
	if level == nil {
		level = slog.Level(-8)
	}
	return &Handler{level: level}
}

// Enabled reports whether records at level are kept.
func (h *Handler) Enabled(_ context.Context, level slog.Level) bool {
	return level >= h.level.Level()
}

// Handle writes one record.
func (h *Handler) Handle(_ context.Context, r slog.Record) error {
	wasmexporter.Log(hostLevel(r.Level), h.format(r))
	return nil
}

// format renders a record as the host's message.
func (h *Handler) format(r slog.Record) string {
	var b strings.Builder
	b.WriteString(r.Message)
	b.WriteString(h.attrs)
	r.Attrs(func(a slog.Attr) bool {
		appendAttr(&b, h.group, a)
		return true
	})
	return b.String()
}

// WithAttrs returns a handler that adds attrs to every record.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	var b strings.Builder
	b.WriteString(h.attrs)
	for _, a := range attrs {
		appendAttr(&b, h.group, a)
	}
	c := *h
	c.attrs = b.String()
	return &c
}

// WithGroup returns a handler that qualifies later attribute keys with
// name.
func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.group = h.group + name + "."
	return &c
}

func appendAttr(b *strings.Builder, group string, a slog.Attr) {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return
	}
	if a.Value.Kind() == slog.KindGroup {
		prefix := group
		if a.Key != "" {
			prefix += a.Key + "."
		}
		for _, inner := range a.Value.Group() {
			appendAttr(b, prefix, inner)
		}
		return
	}
	b.WriteByte(' ')
	b.WriteString(group)
	b.WriteString(a.Key)
	b.WriteByte('=')
	value := a.Value.String()
	if value == "" || strings.ContainsAny(value, " =\"\n") {
		value = quote(value)
	}
	b.WriteString(value)
}

func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

func hostLevel(level slog.Level) wasmexporter.Level {
	switch {
	case level < slog.LevelDebug:
		return wasmexporter.LevelTrace
	case level < slog.LevelInfo:
		return wasmexporter.LevelDebug
	case level < slog.LevelWarn:
		return wasmexporter.LevelInfo
	case level < slog.LevelError:
		return wasmexporter.LevelWarn
	}
	return wasmexporter.LevelError
}
