//! Uptime, idle time and boot time of the host, from the granted
//! /proc/uptime, read with std.Io like any Zig program reads a file.

const std = @import("std");
const we = @import("wasm_exporter");
const Uptime = @import("uptime.zig").Uptime;

pub const std_options: std.Options = .{ .logFn = we.logFn };
pub const panic = we.panic;

const path = "/proc/uptime";

pub fn describe(gpa: std.mem.Allocator) ![]const we.Descriptor {
    _ = gpa;
    return &.{
        .{ .name = "uptime_seconds", .help = "Time since the host booted.", .type = .gauge, .unit = "seconds" },
        .{ .name = "uptime_idle_seconds_total", .help = "Time the CPUs spent idle since boot, summed over CPUs.", .type = .counter, .unit = "seconds" },
        .{ .name = "node_boot_time_seconds", .help = "Node boot time, in unixtime.", .type = .gauge, .unit = "seconds" },
    };
}

pub fn collect(gpa: std.mem.Allocator, io: std.Io, request: we.Request) ![]const we.Family {
    _ = request;
    // One short line. Not readFileAlloc: it sizes the read by what stat
    // reports, and /proc files report 0 bytes.
    var buffer: [256]u8 = undefined;
    const text = std.Io.Dir.cwd().readFile(io, path, &buffer) catch |err|
        return we.fail("cannot read {s}: {s} (grant it with files: [{s}])", .{ path, @errorName(err), path });
    if (text.len == buffer.len) return we.fail("{s} is longer than {d} bytes", .{ path, buffer.len });
    const uptime = Uptime.parse(text) catch
        return we.fail("{s}: expected \"<uptime> <idle>\", found \"{s}\"", .{ path, text[0..@min(text.len, 60)] });

    var up = we.Family.gauge("uptime_seconds", "Time since the host booted.").withUnit("seconds");
    try up.add(gpa, &.{}, uptime.up);
    var idle = we.Family.counter("uptime_idle_seconds_total", "Time the CPUs spent idle since boot, summed over CPUs.").withUnit("seconds");
    try idle.add(gpa, &.{}, uptime.idle);

    // node_exporter reads btime (whole seconds) from /proc/stat; the wall
    // clock minus uptime is the same instant, to within a second.
    const now = @as(f64, @floatFromInt(std.Io.Clock.real.now(io).toNanoseconds())) / std.time.ns_per_s;
    var boot = we.Family.gauge("node_boot_time_seconds", "Node boot time, in unixtime.").withUnit("seconds");
    try boot.add(gpa, &.{}, @round(now - uptime.up));

    std.log.debug("up {d} s, idle {d} s", .{ uptime.up, uptime.idle });
    return gpa.dupe(we.Family, &.{ up, idle, boot });
}
