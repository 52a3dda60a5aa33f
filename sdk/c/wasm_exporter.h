/*
 * Write wasm_exporter collector plugins in C.
 *
 * A plugin defines one function, we_collect(), which fills the families of
 * one scrape, and optionally we_describe(). Everything the SDK is given
 * (names, help texts, label names and values, state names) is copied, so
 * the caller's strings may live on the stack or be reused at once; the
 * component-model plumbing (whose generated code frees everything handed
 * to the host, hence must have allocated it) stays inside wasm_exporter.c.
 *
 *     #include "wasm_exporter.h"
 *
 *     int we_collect(const we_request *request, we_families *out) {
 *         we_family *depth = we_family_new_gauge(out, "queue_depth", "Jobs waiting.");
 *         we_family_add(depth, WE_LABELS({"queue", "mail"}), 3);
 *         we_family_add(depth, WE_LABELS({"queue", "billing"}), 0);
 *         (void)request;
 *         return 0;
 *     }
 *
 * Rules a collector may rely on:
 * - we_collect runs on a fresh instance on every scrape: nothing (no
 *   static variable) survives from one scrape to the next.
 * - Returning non-zero marks the plugin down for the scrape; we_error()
 *   sets the reason and returns -1, for `return we_error(out, ...)`.
 * - A builder called on the wrong kind of family (we_family_add on a
 *   histogram, say) or with a NULL string fails the scrape with a message
 *   naming the family, whatever we_collect returns.
 * - An allocation that fails aborts the call (the host reports reason
 *   `memory`); the builders never return NULL.
 * - Files, sockets and the environment are reached with the usual libc
 *   calls (fopen, read, getenv) and only when the operator granted them.
 */
#ifndef WASM_EXPORTER_H
#define WASM_EXPORTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define WE_PRINTF(format_index, first_arg) \
    __attribute__((format(printf, format_index, first_arg)))
#else
#define WE_PRINTF(format_index, first_arg)
#endif

/* The type of a metric family, in the order of the WIT `metric-type`. */
typedef enum we_type {
    WE_TYPE_COUNTER,
    WE_TYPE_GAUGE,
    WE_TYPE_HISTOGRAM,
    WE_TYPE_SUMMARY,
    WE_TYPE_INFO,
    WE_TYPE_STATE_SET,
    WE_TYPE_UNKNOWN
} we_type;

/* Severity of a log record. */
typedef enum we_level {
    WE_LEVEL_TRACE,
    WE_LEVEL_DEBUG,
    WE_LEVEL_INFO,
    WE_LEVEL_WARN,
    WE_LEVEL_ERROR
} we_level;

/* One label of a series, or one configuration or query pair. */
typedef struct we_label {
    const char *name;
    const char *value;
} we_label;

/* One cumulative histogram bucket: observations <= upper_bound. */
typedef struct we_bucket {
    double upper_bound;
    uint64_t count;
} we_bucket;

/* One quantile of a summary; quantile lies in [0, 1]. */
typedef struct we_quantile {
    double quantile;
    double value;
} we_quantile;

/* One state of a state set. */
typedef struct we_state {
    const char *name;
    bool enabled;
} we_state;

/* One scrape's request. Its strings live until we_collect returns. */
typedef struct we_request {
    /* The target to probe (/probe?target=...); NULL on /metrics. */
    const char *target;
    /* The other query parameters of a /probe request, in order. */
    const we_label *params;
    size_t param_count;
    /* Milliseconds left before the host abandons the call. */
    uint64_t timeout_ms;
} we_request;

/* Sizes of one file system, as statfs reports them. */
typedef struct we_fs_stats {
    uint64_t block_size;
    uint64_t blocks;
    uint64_t blocks_free;
    /* Free blocks an unprivileged user may use. */
    uint64_t blocks_available;
    uint64_t files;
    uint64_t files_free;
    bool read_only;
} we_fs_stats;

/* The families one call of we_collect returns, in the order created. */
typedef struct we_families we_families;
/* One family being built; owned by its we_families. */
typedef struct we_family we_family;
/* The descriptors we_describe returns. */
typedef struct we_descriptors we_descriptors;

/*
 * An array argument and its length, from a brace list:
 * WE_LABELS({"method", "get"}, {"code", "200"}) expands to a pointer to
 * two labels and the count 2. WE_NO_LABELS is the empty list.
 */
#define WE_LIST(type, ...) \
    ((const type[]){__VA_ARGS__}), (sizeof((const type[]){__VA_ARGS__}) / sizeof(type))
#define WE_LABELS(...) WE_LIST(we_label, __VA_ARGS__)
#define WE_NO_LABELS ((const we_label *)NULL), ((size_t)0)
#define WE_BUCKETS(...) WE_LIST(we_bucket, __VA_ARGS__)
#define WE_QUANTILES(...) WE_LIST(we_quantile, __VA_ARGS__)
#define WE_STATES(...) WE_LIST(we_state, __VA_ARGS__)
#define WE_NAMES(...)                                \
    ((const char *const[]){__VA_ARGS__}),            \
        (sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))
#define WE_NO_NAMES ((const char *const *)NULL), ((size_t)0)

/*
 * Implemented by the plugin: fills `out` with fresh families for one
 * scrape. Returns 0, or non-zero (see we_error) to mark the plugin down.
 */
int we_collect(const we_request *request, we_families *out);

/*
 * May be implemented by the plugin: the families it may return, for the
 * host's documentation and load-time conflict checks. The SDK's default
 * describes nothing.
 */
void we_describe(we_descriptors *out);

/* A new empty family appended to `out`. */
we_family *we_family_new(we_families *out, we_type type, const char *name, const char *help);
we_family *we_family_new_counter(we_families *out, const char *name, const char *help);
we_family *we_family_new_gauge(we_families *out, const char *name, const char *help);
we_family *we_family_new_unknown(we_families *out, const char *name, const char *help);
we_family *we_family_new_histogram(we_families *out, const char *name, const char *help);
we_family *we_family_new_summary(we_families *out, const char *name, const char *help);
we_family *we_family_new_info(we_families *out, const char *name, const char *help);
we_family *we_family_new_state_set(we_families *out, const char *name, const char *help);

/*
 * Sets the OpenMetrics unit (`seconds`, `bytes`): the family name must
 * then end with `_<unit>` (before any `_total`).
 */
void we_family_set_unit(we_family *family, const char *unit);

/* Adds a series to a counter, gauge or unknown family. */
void we_family_add(we_family *family, const we_label *labels, size_t label_count, double value);

/*
 * Adds a series to a histogram family: cumulative buckets by increasing
 * upper bound; a +Inf bucket holding `count` is appended when the last
 * bound is finite.
 */
void we_family_add_histogram(we_family *family, const we_label *labels, size_t label_count,
                             const we_bucket *buckets, size_t bucket_count, double sum,
                             uint64_t count);

/* Adds a series to a summary family. */
void we_family_add_summary(we_family *family, const we_label *labels, size_t label_count,
                           const we_quantile *quantiles, size_t quantile_count, double sum,
                           uint64_t count);

/* Adds a series to an info family (its value is always 1). */
void we_family_add_info(we_family *family, const we_label *labels, size_t label_count);

/* Adds a series to a state-set family. */
void we_family_add_states(we_family *family, const we_label *labels, size_t label_count,
                          const we_state *states, size_t state_count);

/*
 * Sets the reason the scrape failed (printf-style) and returns -1, for
 * `return we_error(out, "cannot open %s: %s", path, strerror(errno));`.
 * The first reason set wins.
 */
int we_error(we_families *out, const char *format, ...) WE_PRINTF(2, 3);

/* Adds one descriptor; `unit` may be NULL. */
void we_describe_family(we_descriptors *out, we_type type, const char *name, const char *help,
                        const char *unit, const char *const *label_names,
                        size_t label_name_count);

/* Writes a record to the host's log, printf-style. */
void we_log(we_level level, const char *format, ...) WE_PRINTF(2, 3);
#define we_log_trace(...) we_log(WE_LEVEL_TRACE, __VA_ARGS__)
#define we_log_debug(...) we_log(WE_LEVEL_DEBUG, __VA_ARGS__)
#define we_log_info(...) we_log(WE_LEVEL_INFO, __VA_ARGS__)
#define we_log_warn(...) we_log(WE_LEVEL_WARN, __VA_ARGS__)
#define we_log_error(...) we_log(WE_LEVEL_ERROR, __VA_ARGS__)

/*
 * One value of this plugin's configuration, or NULL when unset. The
 * string belongs to the SDK and lives as long as the instance.
 */
const char *we_config_get(const char *key);

/* Every configuration pair, sorted by key; `*count` receives their number. */
const we_label *we_config(size_t *count);

/*
 * File-system statistics of a mount point granted in `grants.statfs`.
 * Returns 0, or -1 with the host's reason copied into `error` (at most
 * `error_size` bytes, NUL-terminated) when `error` is not NULL.
 */
int we_statfs(const char *path, we_fs_stats *stats, char *error, size_t error_size);

/* The first value of a query parameter of a /probe request, or NULL. */
const char *we_request_param(const we_request *request, const char *name);

#ifdef __cplusplus
}
#endif

#endif
