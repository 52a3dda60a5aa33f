//! Metric families as a Zig collector builds them: plain Zig values, with
//! no tie to the component model, so they are tested natively with
//! `zig test sdk/zig/model.zig`.

const std = @import("std");
const Allocator = std.mem.Allocator;

/// The type of a metric family, in the order of the WIT `metric-type`.
pub const MetricType = enum(u8) {
    counter,
    gauge,
    histogram,
    summary,
    info,
    state_set,
    unknown,
};

/// A label name and value: `.{ "method", "get" }`.
pub const Label = [2][]const u8;

/// One cumulative histogram bucket: observations <= `upper_bound`.
pub const Bucket = struct {
    upper_bound: f64,
    count: u64,
};

/// A histogram data point.
pub const Histogram = struct {
    /// Cumulative, by increasing upper bound. `Family.addHistogram`
    /// appends the +Inf bucket when the last bound is finite.
    buckets: []const Bucket,
    sum: f64,
    count: u64,

    /// Counts `observations` into buckets with the upper `bounds` (sorted
    /// and deduplicated here; NaN and +Inf bounds are dropped), plus +Inf.
    /// The buckets are allocated with `gpa`.
    pub fn fromObservations(gpa: Allocator, bounds: []const f64, observations: []const f64) Allocator.Error!Histogram {
        var sorted: std.ArrayList(f64) = .empty;
        defer sorted.deinit(gpa);
        for (bounds) |bound| {
            if (!std.math.isNan(bound) and bound != std.math.inf(f64)) try sorted.append(gpa, bound);
        }
        std.mem.sort(f64, sorted.items, {}, std.sort.asc(f64));
        var unique: usize = 0;
        for (sorted.items) |bound| {
            if (unique == 0 or sorted.items[unique - 1] != bound) {
                sorted.items[unique] = bound;
                unique += 1;
            }
        }
        const finite = sorted.items[0..unique];

        const buckets = try gpa.alloc(Bucket, finite.len + 1);
        for (buckets, 0..) |*bucket, i| {
            bucket.* = .{ .upper_bound = if (i < finite.len) finite[i] else std.math.inf(f64), .count = 0 };
        }
        var sum: f64 = 0;
        for (observations) |value| {
            // NaN lands in +Inf only, as in client_golang.
            var slot: usize = finite.len;
            if (!std.math.isNan(value)) {
                for (finite, 0..) |bound, i| {
                    if (value <= bound) {
                        slot = i;
                        break;
                    }
                }
            }
            buckets[slot].count += 1;
            sum += value;
        }
        var cumulative: u64 = 0;
        for (buckets) |*bucket| {
            cumulative += bucket.count;
            bucket.count = cumulative;
        }
        return .{ .buckets = buckets, .sum = sum, .count = observations.len };
    }
};

/// One quantile of a summary; `quantile` lies in [0, 1].
pub const Quantile = struct {
    quantile: f64,
    value: f64,
};

/// A summary data point.
pub const Summary = struct {
    quantiles: []const Quantile,
    sum: f64,
    count: u64,
};

/// One state of a state set.
pub const State = struct {
    name: []const u8,
    enabled: bool,
};

/// The value of one series; its case matches the family's type.
pub const Value = union(enum) {
    counter: f64,
    gauge: f64,
    unknown: f64,
    histogram: Histogram,
    summary: Summary,
    info,
    state_set: []const State,
};

/// One series: its labels (without the metric name) and its value.
pub const Series = struct {
    labels: []const Label,
    value: Value,
};

/// What the builders fail with: out of memory, or a builder that does not
/// fit the family's type (`failure()` then says which).
pub const Error = Allocator.Error || error{WrongMetricType};

/// Why the last builder or `fail` call failed, for the scrape's error.
var failure_buffer: [512]u8 = undefined;
var failure_len: ?usize = null;

/// The message of the last `fail` (or misused builder) call, if any.
pub fn failure() ?[]const u8 {
    return if (failure_len) |len| failure_buffer[0..len] else null;
}

/// Forgets the failure message (the SDK calls it before each export).
pub fn clearFailure() void {
    failure_len = null;
}

/// Records why the scrape failed and returns `error.CollectFailed`, for
/// `return we.fail("cannot read {s}: {t}", .{ path, err });`. Messages
/// longer than 512 bytes are cut.
pub fn fail(comptime format: []const u8, args: anytype) error{CollectFailed} {
    setFailure(format, args);
    return error.CollectFailed;
}

fn setFailure(comptime format: []const u8, args: anytype) void {
    var writer: std.Io.Writer = .fixed(&failure_buffer);
    writer.print(format, args) catch {};
    failure_len = writer.end;
}

/// Every series of one metric name, with its help text, type and unit.
///
/// `name`, `help` and `unit` are referenced, not copied: use literals or
/// memory that outlives the call. Labels, states, buckets and quantiles
/// are copied into the allocator given to each builder, so they may come
/// from a reused buffer.
pub const Family = struct {
    name: []const u8,
    help: []const u8,
    type: MetricType,
    unit: ?[]const u8 = null,
    series: std.ArrayList(Series) = .empty,

    pub fn init(metric_type: MetricType, name: []const u8, help: []const u8) Family {
        return .{ .name = name, .help = help, .type = metric_type };
    }

    pub fn counter(name: []const u8, help: []const u8) Family {
        return init(.counter, name, help);
    }

    pub fn gauge(name: []const u8, help: []const u8) Family {
        return init(.gauge, name, help);
    }

    pub fn unknown(name: []const u8, help: []const u8) Family {
        return init(.unknown, name, help);
    }

    pub fn histogram(name: []const u8, help: []const u8) Family {
        return init(.histogram, name, help);
    }

    pub fn summary(name: []const u8, help: []const u8) Family {
        return init(.summary, name, help);
    }

    pub fn info(name: []const u8, help: []const u8) Family {
        return init(.info, name, help);
    }

    pub fn stateSet(name: []const u8, help: []const u8) Family {
        return init(.state_set, name, help);
    }

    /// The family with an OpenMetrics unit (`seconds`, `bytes`); its name
    /// must then end with `_<unit>` (before any `_total`).
    pub fn withUnit(self: Family, unit: []const u8) Family {
        var with = self;
        with.unit = unit;
        return with;
    }

    /// Frees what the builders allocated (unneeded with the arena the SDK
    /// hands to `collect`).
    pub fn deinit(self: *Family, gpa: Allocator) void {
        for (self.series.items) |series| {
            for (series.labels) |label| {
                gpa.free(label[0]);
                gpa.free(label[1]);
            }
            gpa.free(series.labels);
            switch (series.value) {
                .histogram => |h| gpa.free(h.buckets),
                .summary => |s| gpa.free(s.quantiles),
                .state_set => |states| {
                    for (states) |state| gpa.free(state.name);
                    gpa.free(states);
                },
                else => {},
            }
        }
        self.series.deinit(gpa);
    }

    /// Adds a series to a counter, gauge or unknown family.
    pub fn add(self: *Family, gpa: Allocator, labels: []const Label, value: f64) Error!void {
        const v: Value = switch (self.type) {
            .counter => .{ .counter = value },
            .gauge => .{ .gauge = value },
            .unknown => .{ .unknown = value },
            else => return self.wrongType("add"),
        };
        try self.push(gpa, labels, v);
    }

    /// Adds a series to a histogram family; a +Inf bucket holding `count`
    /// is appended when the last bound is finite.
    pub fn addHistogram(self: *Family, gpa: Allocator, labels: []const Label, h: Histogram) Error!void {
        if (self.type != .histogram) return self.wrongType("addHistogram");
        const has_inf = h.buckets.len > 0 and h.buckets[h.buckets.len - 1].upper_bound == std.math.inf(f64);
        const buckets = try gpa.alloc(Bucket, h.buckets.len + @intFromBool(!has_inf));
        errdefer gpa.free(buckets);
        @memcpy(buckets[0..h.buckets.len], h.buckets);
        if (!has_inf) buckets[h.buckets.len] = .{ .upper_bound = std.math.inf(f64), .count = h.count };
        try self.push(gpa, labels, .{ .histogram = .{ .buckets = buckets, .sum = h.sum, .count = h.count } });
    }

    /// Adds a series to a summary family.
    pub fn addSummary(self: *Family, gpa: Allocator, labels: []const Label, s: Summary) Error!void {
        if (self.type != .summary) return self.wrongType("addSummary");
        const quantiles = try gpa.dupe(Quantile, s.quantiles);
        errdefer gpa.free(quantiles);
        try self.push(gpa, labels, .{ .summary = .{ .quantiles = quantiles, .sum = s.sum, .count = s.count } });
    }

    /// Adds a series to an info family (its value is always 1).
    pub fn addInfo(self: *Family, gpa: Allocator, labels: []const Label) Error!void {
        if (self.type != .info) return self.wrongType("addInfo");
        try self.push(gpa, labels, .info);
    }

    /// Adds a series to a state-set family.
    pub fn addStates(self: *Family, gpa: Allocator, labels: []const Label, states: []const State) Error!void {
        if (self.type != .state_set) return self.wrongType("addStates");
        const copied = try gpa.alloc(State, states.len);
        var done: usize = 0;
        errdefer {
            for (copied[0..done]) |state| gpa.free(state.name);
            gpa.free(copied);
        }
        for (states, copied) |state, *to| {
            to.* = .{ .name = try gpa.dupe(u8, state.name), .enabled = state.enabled };
            done += 1;
        }
        try self.push(gpa, labels, .{ .state_set = copied });
    }

    fn wrongType(self: *const Family, builder: []const u8) error{WrongMetricType} {
        setFailure("family {s}: {s} does not apply to a {t} family", .{ self.name, builder, self.type });
        return error.WrongMetricType;
    }

    fn push(self: *Family, gpa: Allocator, labels: []const Label, value: Value) Allocator.Error!void {
        const copied = try gpa.alloc(Label, labels.len);
        var done: usize = 0;
        errdefer {
            for (copied[0..done]) |label| {
                gpa.free(label[0]);
                gpa.free(label[1]);
            }
            gpa.free(copied);
        }
        for (labels, copied) |label, *to| {
            const name = try gpa.dupe(u8, label[0]);
            errdefer gpa.free(name);
            to.* = .{ name, try gpa.dupe(u8, label[1]) };
            done += 1;
        }
        try self.series.append(gpa, .{ .labels = copied, .value = value });
    }
};

/// The static description of one family a plugin may return.
pub const Descriptor = struct {
    name: []const u8,
    help: []const u8,
    type: MetricType,
    unit: ?[]const u8 = null,
    label_names: []const []const u8 = &.{},
};

/// One scrape's request. Its strings live until the call returns.
pub const Request = struct {
    /// The target to probe (`/probe?target=`); null on `/metrics`.
    target: ?[]const u8 = null,
    /// The other query parameters of a `/probe` request, in order.
    params: []const Label = &.{},
    /// Milliseconds left before the host abandons the call.
    timeout_ms: u64 = 0,

    /// The first value of a query parameter, if present.
    pub fn param(self: Request, name: []const u8) ?[]const u8 {
        for (self.params) |pair| {
            if (std.mem.eql(u8, pair[0], name)) return pair[1];
        }
        return null;
    }
};

const testing = std.testing;

test "a gauge copies its labels, so a reused buffer does not change them" {
    var family = Family.gauge("queue_depth", "Jobs waiting.");
    defer family.deinit(testing.allocator);
    var buffer: [8]u8 = undefined;
    for ([_]u32{ 1, 2 }) |n| {
        const queue = try std.fmt.bufPrint(&buffer, "q{d}", .{n});
        try family.add(testing.allocator, &.{.{ "queue", queue }}, @floatFromInt(n));
    }
    try testing.expectEqual(2, family.series.items.len);
    try testing.expectEqualStrings("q1", family.series.items[0].labels[0][1]);
    try testing.expectEqualStrings("q2", family.series.items[1].labels[0][1]);
    try testing.expectEqual(Value{ .gauge = 2 }, family.series.items[1].value);
}

test "each scalar type keeps its own case" {
    var counter = Family.counter("c_total", "c");
    defer counter.deinit(testing.allocator);
    try counter.add(testing.allocator, &.{}, 3);
    try testing.expectEqual(Value{ .counter = 3 }, counter.series.items[0].value);
    var untyped = Family.unknown("u", "u");
    defer untyped.deinit(testing.allocator);
    try untyped.add(testing.allocator, &.{}, 42);
    try testing.expectEqual(Value{ .unknown = 42 }, untyped.series.items[0].value);
}

test "a builder of another type fails and names the family" {
    clearFailure();
    var family = Family.histogram("latency_seconds", "Latency.");
    defer family.deinit(testing.allocator);
    try testing.expectError(error.WrongMetricType, family.add(testing.allocator, &.{}, 1));
    try testing.expectEqualStrings(
        "family latency_seconds: add does not apply to a histogram family",
        failure().?,
    );
    try testing.expectEqual(0, family.series.items.len);
    var gauge = Family.gauge("g", "g");
    try testing.expectError(error.WrongMetricType, gauge.addStates(testing.allocator, &.{}, &.{}));
    try testing.expectError(error.WrongMetricType, gauge.addInfo(testing.allocator, &.{}));
}

test "a histogram gets its +Inf bucket once" {
    var family = Family.histogram("latency_seconds", "Latency.").withUnit("seconds");
    defer family.deinit(testing.allocator);
    try family.addHistogram(testing.allocator, &.{}, .{
        .buckets = &.{ .{ .upper_bound = 0.1, .count = 2 }, .{ .upper_bound = 0.5, .count = 5 } },
        .sum = 1.75,
        .count = 6,
    });
    try family.addHistogram(testing.allocator, &.{}, .{
        .buckets = &.{.{ .upper_bound = std.math.inf(f64), .count = 1 }},
        .sum = 1,
        .count = 1,
    });
    const first = family.series.items[0].value.histogram.buckets;
    try testing.expectEqual(3, first.len);
    try testing.expectEqual(Bucket{ .upper_bound = std.math.inf(f64), .count = 6 }, first[2]);
    try testing.expectEqual(1, family.series.items[1].value.histogram.buckets.len);
    try testing.expectEqualStrings("seconds", family.unit.?);
}

test "fromObservations sorts bounds and counts cumulatively" {
    const h = try Histogram.fromObservations(testing.allocator, &.{ 1, 0.5, 1, std.math.nan(f64) }, &.{ 0.2, 0.5, 0.7, 3, std.math.nan(f64) });
    defer testing.allocator.free(h.buckets);
    try testing.expectEqual(3, h.buckets.len);
    try testing.expectEqual(Bucket{ .upper_bound = 0.5, .count = 2 }, h.buckets[0]);
    try testing.expectEqual(Bucket{ .upper_bound = 1, .count = 3 }, h.buckets[1]);
    try testing.expectEqual(Bucket{ .upper_bound = std.math.inf(f64), .count = 5 }, h.buckets[2]);
    try testing.expectEqual(5, h.count);
}

test "states, summaries and info series are copied" {
    var states = Family.stateSet("state", "s");
    defer states.deinit(testing.allocator);
    var name = [_]u8{'a'};
    try states.addStates(testing.allocator, &.{}, &.{ .{ .name = &name, .enabled = true }, .{ .name = "b", .enabled = false } });
    name[0] = 'z';
    try testing.expectEqualStrings("a", states.series.items[0].value.state_set[0].name);

    var sizes = Family.summary("size_bytes", "s");
    defer sizes.deinit(testing.allocator);
    try sizes.addSummary(testing.allocator, &.{.{ "path", "/" }}, .{
        .quantiles = &.{ .{ .quantile = 0.5, .value = 100 }, .{ .quantile = 0.9, .value = 250 } },
        .sum = 1200,
        .count = 8,
    });
    try testing.expectEqual(2, sizes.series.items[0].value.summary.quantiles.len);

    var build = Family.info("build", "b");
    defer build.deinit(testing.allocator);
    try build.addInfo(testing.allocator, &.{ .{ "version", "1.2.3" }, .{ "language", "zig" } });
    try testing.expectEqual(Value.info, build.series.items[0].value);
}

test "builders free what they took when memory runs out" {
    var family = Family.stateSet("state", "s");
    const labels: []const Label = &.{ .{ "a", "1" }, .{ "b", "2" } };
    const states: []const State = &.{ .{ .name = "x", .enabled = true }, .{ .name = "y", .enabled = false } };
    // The testing allocator reports any leak at each failing allocation.
    try testing.checkAllAllocationFailures(testing.allocator, struct {
        fn run(gpa: Allocator, f: *Family, l: []const Label, s: []const State) !void {
            var copy = f.*;
            defer copy.deinit(gpa);
            try copy.addStates(gpa, l, s);
        }
    }.run, .{ &family, labels, states });
}

test "fail keeps the message for the scrape's error" {
    clearFailure();
    try testing.expectEqual(null, failure());
    try testing.expectEqual(error.CollectFailed, fail("cannot read {s}: {d}", .{ "/proc/uptime", 2 }));
    try testing.expectEqualStrings("cannot read /proc/uptime: 2", failure().?);
}

test "param finds the first value" {
    const request: Request = .{ .params = &.{ .{ "module", "a" }, .{ "module", "b" } } };
    try testing.expectEqualStrings("a", request.param("module").?);
    try testing.expectEqual(null, request.param("other"));
}
