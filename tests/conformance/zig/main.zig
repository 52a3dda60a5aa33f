//! The conformance plugin (tests/conformance/README.md), in Zig.

const std = @import("std");
const we = @import("wasm_exporter");

pub const std_options: std.Options = .{ .logFn = we.logFn };
pub const panic = we.panic;

pub fn describe(gpa: std.mem.Allocator) ![]const we.Descriptor {
    _ = gpa;
    return &.{
        .{ .name = "conformance_requests_total", .help = "Requests handled.", .type = .counter, .label_names = &.{ "method", "code" } },
        .{ .name = "conformance_temperature_celsius", .help = "Temperature in a room.", .type = .gauge, .unit = "celsius", .label_names = &.{"room"} },
        .{ .name = "conformance_latency_seconds", .help = "Request latency.", .type = .histogram, .unit = "seconds" },
        .{ .name = "conformance_size_bytes", .help = "Response sizes.", .type = .summary, .unit = "bytes", .label_names = &.{"path"} },
        .{ .name = "conformance_build", .help = "Build information.", .type = .info, .label_names = &.{ "version", "language" } },
        .{ .name = "conformance_state", .help = "Current state.", .type = .state_set },
        .{ .name = "conformance_mystery", .help = "A value of unknown type.", .type = .unknown },
        .{ .name = "conformance_config", .help = "Configuration the plugin received.", .type = .gauge, .label_names = &.{ "key", "value" } },
        .{ .name = "conformance_text", .help = text_help, .type = .gauge, .label_names = &.{"text"} },
    };
}

const text_help = "Escaping: back\\slash, \"quotes\" and a\nline.";

pub fn collect(gpa: std.mem.Allocator, io: std.Io, request: we.Request) ![]const we.Family {
    _ = io;
    _ = request;
    std.log.info("conformance collect", .{});

    const mode = try we.configGet(gpa, "mode") orelse "";
    if (std.mem.eql(u8, mode, "error")) return we.fail("requested error", .{});
    if (std.mem.eql(u8, mode, "loop")) {
        var spins: u64 = 0;
        while (true) {
            spins +%= 1;
            std.mem.doNotOptimizeAway(spins);
        }
    }
    if (std.mem.eql(u8, mode, "membomb")) {
        var hoard: std.ArrayList([]u8) = .empty;
        while (true) {
            const chunk = try gpa.alloc(u8, 1 << 20);
            // Touch every page so the memory is really committed.
            var page: usize = 0;
            while (page < chunk.len) : (page += 4096) chunk[page] = 1;
            try hoard.append(gpa, chunk);
        }
    }
    if (std.mem.eql(u8, mode, "panic")) @panic("requested panic");

    var requests = we.Family.counter("conformance_requests_total", "Requests handled.");
    try requests.add(gpa, &.{ .{ "method", "get" }, .{ "code", "200" } }, 3);
    try requests.add(gpa, &.{ .{ "method", "post" }, .{ "code", "500" } }, 1);

    var temperature = we.Family.gauge("conformance_temperature_celsius", "Temperature in a room.").withUnit("celsius");
    try temperature.add(gpa, &.{.{ "room", "hall" }}, 21.5);
    try temperature.add(gpa, &.{.{ "room", "cellar" }}, -3.25);

    var latency = we.Family.histogram("conformance_latency_seconds", "Request latency.").withUnit("seconds");
    try latency.addHistogram(gpa, &.{}, .{
        .buckets = &.{ .{ .upper_bound = 0.1, .count = 2 }, .{ .upper_bound = 0.5, .count = 5 } },
        .sum = 1.75,
        .count = 6,
    });

    var size = we.Family.summary("conformance_size_bytes", "Response sizes.").withUnit("bytes");
    try size.addSummary(gpa, &.{.{ "path", "/" }}, .{
        .quantiles = &.{ .{ .quantile = 0.5, .value = 100 }, .{ .quantile = 0.9, .value = 250 } },
        .sum = 1200,
        .count = 8,
    });

    var build = we.Family.info("conformance_build", "Build information.");
    try build.addInfo(gpa, &.{ .{ "version", "1.2.3" }, .{ "language", "zig" } });

    var state = we.Family.stateSet("conformance_state", "Current state.");
    try state.addStates(gpa, &.{}, &.{ .{ .name = "a", .enabled = true }, .{ .name = "b", .enabled = false } });

    var mystery = we.Family.unknown("conformance_mystery", "A value of unknown type.");
    try mystery.add(gpa, &.{}, 42);

    var config = we.Family.gauge("conformance_config", "Configuration the plugin received.");
    for (try we.config(gpa)) |pair| {
        try config.add(gpa, &.{ .{ "key", pair[0] }, .{ "value", pair[1] } }, 1);
    }

    var text = we.Family.gauge("conformance_text", text_help);
    try text.add(gpa, &.{.{ "text", "a\"b\\c\nd" }}, 1);
    try text.add(gpa, &.{.{ "text", "ünïcødé ✓" }}, 2);

    const table = [_]we.Family{ requests, temperature, latency, size, build, state, mystery, config, text };
    const series = try we.configGet(gpa, "series") orelse "";
    const n = std.fmt.parseUnsigned(usize, series, 10) catch return gpa.dupe(we.Family, &table);
    var bench = we.Family.gauge("conformance_bench", "Benchmark series.");
    for (0..n) |i| {
        const index = try std.fmt.allocPrint(gpa, "{d}", .{i});
        defer gpa.free(index);
        try bench.add(gpa, &.{.{ "index", index }}, @floatFromInt(i));
    }
    return gpa.dupe(we.Family, &(table ++ [_]we.Family{bench}));
}
