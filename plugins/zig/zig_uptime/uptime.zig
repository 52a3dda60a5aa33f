//! The parser of /proc/uptime: plain Zig, tested natively with
//! `zig test plugins/zig/zig_uptime/uptime.zig`.

const std = @import("std");

/// The two numbers of /proc/uptime: seconds since boot, and seconds idle
/// summed over CPUs.
pub const Uptime = struct {
    up: f64,
    idle: f64,

    pub fn parse(text: []const u8) error{Malformed}!Uptime {
        var fields = std.mem.tokenizeAny(u8, text, " \n");
        const up = fields.next() orelse return error.Malformed;
        const idle = fields.next() orelse return error.Malformed;
        if (fields.next() != null) return error.Malformed;
        return .{
            .up = std.fmt.parseFloat(f64, up) catch return error.Malformed,
            .idle = std.fmt.parseFloat(f64, idle) catch return error.Malformed,
        };
    }
};

test "parse reads both numbers" {
    const uptime = try Uptime.parse("350735.47 234388.90\n");
    try std.testing.expectEqual(350735.47, uptime.up);
    try std.testing.expectEqual(234388.90, uptime.idle);
}

test "parse refuses what is not /proc/uptime" {
    try std.testing.expectError(error.Malformed, Uptime.parse(""));
    try std.testing.expectError(error.Malformed, Uptime.parse("12.5\n"));
    try std.testing.expectError(error.Malformed, Uptime.parse("12.5 x\n"));
    try std.testing.expectError(error.Malformed, Uptime.parse("1 2 3\n"));
}
