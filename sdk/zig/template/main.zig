//! A starting point for a Zig collector: copy this directory to
//! plugins/zig/zig_<name>/ and run `cargo xtask plugins`.

const std = @import("std");
const we = @import("wasm_exporter");

// std.log goes to the host's log, and a panic's message too.
pub const std_options: std.Options = .{ .logFn = we.logFn };
pub const panic = we.panic;

pub fn describe(gpa: std.mem.Allocator) ![]const we.Descriptor {
    _ = gpa;
    return &.{
        .{ .name = "template_queue_depth", .help = "Jobs waiting per queue.", .type = .gauge, .label_names = &.{"queue"} },
        .{ .name = "template_scrapes_total", .help = "Scrapes this plugin answered.", .type = .counter },
    };
}

pub fn collect(gpa: std.mem.Allocator, io: std.Io, request: we.Request) ![]const we.Family {
    _ = io;
    // Configuration arrives as strings: `config: { depth: "7" }`.
    const depth: f64 = if (try we.configGet(gpa, "depth")) |text|
        std.fmt.parseFloat(f64, text) catch return we.fail("config depth: \"{s}\" is not a number", .{text})
    else
        0;
    std.log.debug("collecting with {d} ms left", .{request.timeout_ms});

    var queue = we.Family.gauge("template_queue_depth", "Jobs waiting per queue.");
    try queue.add(gpa, &.{.{ "queue", "mail" }}, depth);
    try queue.add(gpa, &.{.{ "queue", "billing" }}, 0);

    var scrapes = we.Family.counter("template_scrapes_total", "Scrapes this plugin answered.");
    try scrapes.add(gpa, &.{}, 1);
    return gpa.dupe(we.Family, &.{ queue, scrapes });
}
