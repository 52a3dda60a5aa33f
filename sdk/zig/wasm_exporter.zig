//! Write wasm_exporter collector plugins in Zig.
//!
//! The plugin's root file declares `collect` (and optionally `describe`);
//! this module exports them to the host through wit-bindgen's C bindings
//! of the `plugin` world (translated with `zig translate-c` at build time):
//!
//! ```zig
//! const std = @import("std");
//! const we = @import("wasm_exporter");
//!
//! pub const std_options: std.Options = .{ .logFn = we.logFn };
//! pub const panic = we.panic;
//!
//! pub fn collect(gpa: std.mem.Allocator, io: std.Io, request: we.Request) ![]const we.Family {
//!     _ = io;
//!     _ = request;
//!     var depth = we.Family.gauge("queue_depth", "Jobs waiting.");
//!     try depth.add(gpa, &.{.{ "queue", "mail" }}, 3);
//!     return gpa.dupe(we.Family, &.{depth});
//! }
//! ```
//!
//! - `gpa` is an arena freed when the call returns: free nothing, or free
//!   as usual; both are fine. Every call runs on a fresh instance, so no
//!   global survives from one scrape to the next.
//! - `io` reaches what the operator granted (files, with absolute paths:
//!   `std.Io.Dir.cwd().readFileAlloc(io, "/proc/uptime", gpa, .limited(4096))`).
//! - An error marks the plugin down for the scrape. Its message is the
//!   one given to `fail` (or set by a misused builder or `statfs`), else
//!   the error's name. `error.OutOfMemory` panics instead, so the host
//!   reports the memory limit rather than a plugin error.
//! - With `logFn`, `std.log` writes to the host's log; with `panic`, a
//!   panic's message does too before the call traps.

const std = @import("std");
const root = @import("root");
const c = @import("bindings");
const model = @import("model.zig");

pub const MetricType = model.MetricType;
pub const Label = model.Label;
pub const Bucket = model.Bucket;
pub const Histogram = model.Histogram;
pub const Quantile = model.Quantile;
pub const Summary = model.Summary;
pub const State = model.State;
pub const Value = model.Value;
pub const Series = model.Series;
pub const Family = model.Family;
pub const Descriptor = model.Descriptor;
pub const Request = model.Request;
pub const Error = model.Error;
pub const fail = model.fail;
pub const failure = model.failure;

const Allocator = std.mem.Allocator;

/// Severity of a host log record.
pub const Level = enum(u8) { trace, debug, info, warn, err };

/// Writes a record to the host's log, attributed to this plugin.
pub fn log(level: Level, comptime format: []const u8, args: anytype) void {
    var buffer: [1024]u8 = undefined;
    const text = std.fmt.bufPrint(&buffer, format, args) catch
        std.fmt.allocPrint(std.heap.c_allocator, format, args) catch format;
    defer if (text.ptr != &buffer and text.ptr != format.ptr) std.heap.c_allocator.free(text);
    var message: c.plugin_string_t = .{ .ptr = @constCast(text.ptr), .len = text.len };
    c.wasm_exporter_collector_host_log(@backingInt(level), &message);
}

/// A `std.Options.logFn` that sends `std.log` to the host's log.
pub fn logFn(
    comptime level: std.log.Level,
    comptime scope: @EnumLiteral(),
    comptime format: []const u8,
    args: anytype,
) void {
    const to: Level = switch (level) {
        .err => .err,
        .warn => .warn,
        .info => .info,
        .debug => .debug,
    };
    const prefix = if (scope == .default) "" else "(" ++ @tagName(scope) ++ ") ";
    log(to, prefix ++ format, args);
}

/// A panic handler (`pub const panic = we.panic;` in the root file) that
/// logs the message to the host, where stderr would need WASI, then traps.
pub const panic = std.debug.FullPanic(panicFn);

fn panicFn(message: []const u8, _: ?usize) noreturn {
    @branchHint(.cold);
    log(.err, "panic: {s}", .{message});
    @trap();
}

/// This plugin's configuration, sorted by key, copied into `gpa`.
pub fn config(gpa: Allocator) Allocator.Error![]const Label {
    var list: c.plugin_list_tuple2_string_string_t = .{};
    c.wasm_exporter_collector_host_config(&list);
    defer c.plugin_list_tuple2_string_string_free(&list);
    const pairs = try gpa.alloc(Label, list.len);
    for (pairs, 0..) |*pair, i| {
        pair.* = .{ try gpa.dupe(u8, slice(list.ptr[i].f0)), try gpa.dupe(u8, slice(list.ptr[i].f1)) };
    }
    return pairs;
}

/// One value of this plugin's configuration, copied into `gpa`, or null.
pub fn configGet(gpa: Allocator, key: []const u8) Allocator.Error!?[]const u8 {
    var name = borrow(key);
    var value: c.plugin_string_t = .{};
    if (!c.wasm_exporter_collector_host_config_get(&name, &value)) return null;
    defer c.plugin_string_free(&value);
    return try gpa.dupe(u8, slice(value));
}

/// Sizes of one file system, as statfs reports them.
pub const FsStats = struct {
    block_size: u64,
    blocks: u64,
    blocks_free: u64,
    /// Free blocks an unprivileged user may use.
    blocks_available: u64,
    files: u64,
    files_free: u64,
    read_only: bool,
};

/// File-system statistics of a mount point granted in `grants.statfs`.
/// On failure the host's reason becomes the `failure()` message.
pub fn statfs(path: []const u8) error{StatfsFailed}!FsStats {
    var p = borrow(path);
    var stats: c.wasm_exporter_collector_fs_stats_stats_t = .{};
    var reason: c.plugin_string_t = .{};
    if (!c.wasm_exporter_collector_fs_stats_stat(&p, &stats, &reason)) {
        defer c.plugin_string_free(&reason);
        _ = fail("statfs {s}: {s}", .{ path, slice(reason) }) catch {};
        return error.StatfsFailed;
    }
    return .{
        .block_size = stats.block_size,
        .blocks = stats.blocks,
        .blocks_free = stats.blocks_free,
        .blocks_available = stats.blocks_available,
        .files = stats.files,
        .files_free = stats.files_free,
        .read_only = stats.read_only,
    };
}

fn slice(s: c.plugin_string_t) []const u8 {
    return if (s.len == 0) "" else s.ptr[0..s.len];
}

fn borrow(s: []const u8) c.plugin_string_t {
    return .{ .ptr = @constCast(s.ptr), .len = s.len };
}

// What the host receives is freed by the generated post-return glue with
// free(): every buffer below comes from malloc, and only non-empty ones
// are allocated (the glue frees exactly those).

fn cAlloc(comptime T: type, n: usize) [*c]T {
    if (n == 0) return null;
    const bytes = std.c.malloc(n * @sizeOf(T)) orelse @panic("out of memory");
    return @ptrCast(@alignCast(bytes));
}

fn cString(s: []const u8) c.plugin_string_t {
    const ptr = cAlloc(u8, s.len);
    if (s.len > 0) @memcpy(ptr[0..s.len], s);
    return .{ .ptr = ptr, .len = s.len };
}

fn cOption(s: ?[]const u8) c.plugin_option_string_t {
    return if (s) |some| .{ .is_some = true, .val = cString(some) } else .{};
}

fn lowerValue(value: Value) c.wasm_exporter_collector_metrics_value_t {
    var out: c.wasm_exporter_collector_metrics_value_t = .{};
    switch (value) {
        .counter => |v| {
            out.tag = c.WASM_EXPORTER_COLLECTOR_METRICS_VALUE_COUNTER;
            out.val.counter = v;
        },
        .gauge => |v| {
            out.tag = c.WASM_EXPORTER_COLLECTOR_METRICS_VALUE_GAUGE;
            out.val.gauge = v;
        },
        .unknown => |v| {
            out.tag = c.WASM_EXPORTER_COLLECTOR_METRICS_VALUE_UNKNOWN;
            out.val.unknown = v;
        },
        .histogram => |h| {
            out.tag = c.WASM_EXPORTER_COLLECTOR_METRICS_VALUE_HISTOGRAM;
            const buckets = cAlloc(c.wasm_exporter_collector_metrics_bucket_t, h.buckets.len);
            for (h.buckets, 0..) |b, i| buckets[i] = .{ .upper_bound = b.upper_bound, .count = b.count };
            out.val.histogram = .{ .buckets = .{ .ptr = buckets, .len = h.buckets.len }, .sum = h.sum, .count = h.count };
        },
        .summary => |s| {
            out.tag = c.WASM_EXPORTER_COLLECTOR_METRICS_VALUE_SUMMARY;
            const quantiles = cAlloc(c.wasm_exporter_collector_metrics_quantile_t, s.quantiles.len);
            for (s.quantiles, 0..) |q, i| quantiles[i] = .{ .quantile = q.quantile, .value = q.value };
            out.val.summary = .{ .quantiles = .{ .ptr = quantiles, .len = s.quantiles.len }, .sum = s.sum, .count = s.count };
        },
        .info => out.tag = c.WASM_EXPORTER_COLLECTOR_METRICS_VALUE_INFO,
        .state_set => |states| {
            out.tag = c.WASM_EXPORTER_COLLECTOR_METRICS_VALUE_STATE_SET;
            const items = cAlloc(c.wasm_exporter_collector_metrics_state_t, states.len);
            for (states, 0..) |state, i| items[i] = .{ .name = cString(state.name), .enabled = state.enabled };
            out.val.state_set = .{ .ptr = items, .len = states.len };
        },
    }
    return out;
}

fn lowerFamily(family: *const Family) c.wasm_exporter_collector_metrics_metric_family_t {
    const series = family.series.items;
    const metrics = cAlloc(c.wasm_exporter_collector_metrics_metric_t, series.len);
    for (series, 0..) |s, i| {
        const labels = cAlloc(c.wasm_exporter_collector_metrics_label_t, s.labels.len);
        for (s.labels, 0..) |label, j| labels[j] = .{ .name = cString(label[0]), .value = cString(label[1]) };
        metrics[i] = .{ .labels = .{ .ptr = labels, .len = s.labels.len }, .value = lowerValue(s.value) };
    }
    return .{
        .name = cString(family.name),
        .help = cString(family.help),
        .type = @backingInt(family.type),
        .unit = cOption(family.unit),
        .metrics = .{ .ptr = metrics, .len = series.len },
    };
}

fn lowerDescriptor(d: Descriptor) c.wasm_exporter_collector_metrics_descriptor_t {
    const names = cAlloc(c.plugin_string_t, d.label_names.len);
    for (d.label_names, 0..) |name, i| names[i] = cString(name);
    return .{
        .name = cString(d.name),
        .help = cString(d.help),
        .type = @backingInt(d.type),
        .unit = cOption(d.unit),
        .label_names = .{ .ptr = names, .len = d.label_names.len },
    };
}

fn callDescribe(gpa: Allocator) anyerror![]const Descriptor {
    if (!@hasDecl(root, "describe")) return &.{};
    return root.describe(gpa);
}

fn describeExport(ret: *c.exports_wasm_exporter_collector_collector_list_descriptor_t) callconv(.c) void {
    model.clearFailure();
    var arena: std.heap.ArenaAllocator = .init(std.heap.c_allocator);
    defer arena.deinit();
    ret.* = .{};
    const descriptors = callDescribe(arena.allocator()) catch |e| {
        // describe cannot fail in the WIT: log why and describe nothing.
        log(.err, "describe failed: {s}", .{failure() orelse @errorName(e)});
        return;
    };
    const items = cAlloc(c.exports_wasm_exporter_collector_collector_descriptor_t, descriptors.len);
    for (descriptors, 0..) |d, i| items[i] = lowerDescriptor(d);
    ret.* = .{ .ptr = items, .len = descriptors.len };
}

fn collectExport(
    request: *c.exports_wasm_exporter_collector_collector_collect_request_t,
    ret: *c.exports_wasm_exporter_collector_collector_list_metric_family_t,
    err: *c.plugin_string_t,
) callconv(.c) bool {
    model.clearFailure();
    // The request's buffers are ours to free once the call is done.
    defer c.exports_wasm_exporter_collector_collector_collect_request_free(request);
    defer c.plugin_list_tuple2_string_string_free(&request.params);
    var arena: std.heap.ArenaAllocator = .init(std.heap.c_allocator);
    defer arena.deinit();
    const gpa = arena.allocator();

    const params = gpa.alloc(Label, request.params.len) catch @panic("out of memory");
    for (params, 0..) |*pair, i| pair.* = .{ slice(request.params.ptr[i].f0), slice(request.params.ptr[i].f1) };
    const req: Request = .{
        .target = if (request.target.is_some) slice(request.target.val) else null,
        .params = params,
        .timeout_ms = request.timeout_ms,
    };
    const io = std.Io.Threaded.global_single_threaded.io();

    if (!@hasDecl(root, "collect")) {
        @compileError("the plugin's root file must declare `pub fn collect(gpa: std.mem.Allocator, io: std.Io, request: wasm_exporter.Request) ![]const wasm_exporter.Family`");
    }
    const families: []const Family = root.collect(gpa, io, req) catch |e| {
        if (e == error.OutOfMemory) @panic("out of memory");
        err.* = cString(failure() orelse @errorName(e));
        return false;
    };
    const items = cAlloc(c.exports_wasm_exporter_collector_collector_metric_family_t, families.len);
    for (families, 0..) |*family, i| items[i] = lowerFamily(family);
    ret.* = .{ .ptr = items, .len = families.len };
    return true;
}

comptime {
    @export(&describeExport, .{ .name = "exports_wasm_exporter_collector_collector_describe" });
    @export(&collectExport, .{ .name = "exports_wasm_exporter_collector_collector_collect" });
}

test {
    _ = model;
}
