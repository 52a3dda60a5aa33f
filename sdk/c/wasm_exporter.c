/*
 * The C SDK over wit-bindgen's C bindings of the `plugin` world (plugin.h,
 * generated at build time).
 *
 * The generated export glue frees, after the host has copied the result,
 * every string and list pointer of it whose length is not zero. So every
 * such buffer below comes from malloc and is handed over exactly once, and
 * a string the user passes in is always copied, never referenced.
 */
#include "wasm_exporter.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin.h"

typedef plugin_string_t cm_string;
typedef wasm_exporter_collector_metrics_metric_family_t cm_family;
typedef wasm_exporter_collector_metrics_metric_t cm_metric;
typedef wasm_exporter_collector_metrics_label_t cm_label;
typedef wasm_exporter_collector_metrics_descriptor_t cm_descriptor;

struct we_family {
    we_families *owner;
    cm_family data;
    size_t capacity;
};

struct we_families {
    we_family **items;
    size_t len;
    size_t capacity;
    /* The first failure (we_error or a misused builder); NULL if none. */
    char *error;
};

struct we_descriptors {
    cm_descriptor *items;
    size_t len;
    size_t capacity;
    char *error;
};

static void *alloc_or_abort(size_t size) {
    void *p = malloc(size ? size : 1);
    if (p == NULL) {
        abort();
    }
    return p;
}

static void *grow(void *items, size_t *capacity, size_t needed, size_t item_size) {
    if (needed <= *capacity) {
        return items;
    }
    size_t next = *capacity ? *capacity * 2 : 4;
    while (next < needed) {
        next *= 2;
    }
    void *p = realloc(items, next * item_size);
    if (p == NULL) {
        abort();
    }
    *capacity = next;
    return p;
}

static char *copy_cstr(const char *s) {
    size_t len = strlen(s);
    char *p = alloc_or_abort(len + 1);
    memcpy(p, s, len + 1);
    return p;
}

/* An empty string needs no buffer: the glue frees only non-empty ones. */
static cm_string to_cm(const char *s) {
    cm_string out = {NULL, 0};
    size_t len = strlen(s);
    if (len > 0) {
        out.ptr = alloc_or_abort(len);
        memcpy(out.ptr, s, len);
        out.len = len;
    }
    return out;
}

/* A NUL-terminated copy of a string the host passed in. */
static char *from_cm(const cm_string *s) {
    char *p = alloc_or_abort(s->len + 1);
    if (s->len > 0) {
        memcpy(p, s->ptr, s->len);
    }
    p[s->len] = '\0';
    return p;
}

static char *vformat(const char *format, va_list args) {
    va_list again;
    va_copy(again, args);
    int len = vsnprintf(NULL, 0, format, args);
    if (len < 0) {
        va_end(again);
        return copy_cstr(format);
    }
    char *p = alloc_or_abort((size_t)len + 1);
    vsnprintf(p, (size_t)len + 1, format, again);
    va_end(again);
    return p;
}

static char *format(const char *fmt, ...) WE_PRINTF(1, 2);
static char *format(const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    char *p = vformat(fmt, args);
    va_end(args);
    return p;
}

static const char *type_name(uint8_t type) {
    static const char *const names[] = {"counter", "gauge", "histogram", "summary",
                                        "info",    "state-set", "unknown"};
    return type < sizeof names / sizeof names[0] ? names[type] : "invalid";
}

static void fail(we_families *out, char *message) {
    if (out->error == NULL) {
        out->error = message;
    } else {
        free(message);
    }
}

/* The family's name as given, for messages (it may be NULL or empty). */
static char *family_name(const we_family *family) {
    const cm_string *name = &family->data.name;
    if (name->len == 0) {
        return copy_cstr("(unnamed)");
    }
    return from_cm(name);
}

static void misuse(we_family *family, const char *what) {
    char *name = family_name(family);
    fail(family->owner, format("family %s: %s", name, what));
    free(name);
}

/* Checks that a builder fits the family's type, else records why not. */
static bool expect_type(we_family *family, const char *builder, bool fits) {
    if (fits) {
        return true;
    }
    char *what = format("%s does not apply to a %s family", builder,
                        type_name(family->data.type));
    misuse(family, what);
    free(what);
    return false;
}

static bool copy_labels(we_family *family, const we_label *labels, size_t count,
                        wasm_exporter_collector_metrics_list_label_t *out) {
    out->ptr = NULL;
    out->len = 0;
    if (count > 0 && labels == NULL) {
        misuse(family, "labels is NULL but label_count is not 0");
        return false;
    }
    for (size_t i = 0; i < count; i++) {
        if (labels[i].name == NULL || labels[i].value == NULL) {
            char *what = format("label %zu has a NULL %s", i,
                                labels[i].name == NULL ? "name" : "value");
            misuse(family, what);
            free(what);
            return false;
        }
    }
    if (count == 0) {
        return true;
    }
    cm_label *items = alloc_or_abort(count * sizeof *items);
    for (size_t i = 0; i < count; i++) {
        items[i].name = to_cm(labels[i].name);
        items[i].value = to_cm(labels[i].value);
    }
    out->ptr = items;
    out->len = count;
    return true;
}

static cm_metric *push_metric(we_family *family) {
    cm_family *data = &family->data;
    data->metrics.ptr =
        grow(data->metrics.ptr, &family->capacity, data->metrics.len + 1, sizeof(cm_metric));
    cm_metric *metric = &data->metrics.ptr[data->metrics.len++];
    memset(metric, 0, sizeof *metric);
    return metric;
}

we_family *we_family_new(we_families *out, we_type type, const char *name, const char *help) {
    we_family *family = alloc_or_abort(sizeof *family);
    memset(family, 0, sizeof *family);
    family->owner = out;
    family->data.type = (uint8_t)type;
    out->items = grow(out->items, &out->capacity, out->len + 1, sizeof *out->items);
    out->items[out->len++] = family;
    if (name == NULL) {
        misuse(family, "name is NULL");
        return family;
    }
    family->data.name = to_cm(name);
    if ((unsigned)type > WE_TYPE_UNKNOWN) {
        misuse(family, "invalid type");
    }
    if (help == NULL) {
        misuse(family, "help is NULL");
        return family;
    }
    family->data.help = to_cm(help);
    return family;
}

we_family *we_family_new_counter(we_families *out, const char *name, const char *help) {
    return we_family_new(out, WE_TYPE_COUNTER, name, help);
}

we_family *we_family_new_gauge(we_families *out, const char *name, const char *help) {
    return we_family_new(out, WE_TYPE_GAUGE, name, help);
}

we_family *we_family_new_unknown(we_families *out, const char *name, const char *help) {
    return we_family_new(out, WE_TYPE_UNKNOWN, name, help);
}

we_family *we_family_new_histogram(we_families *out, const char *name, const char *help) {
    return we_family_new(out, WE_TYPE_HISTOGRAM, name, help);
}

we_family *we_family_new_summary(we_families *out, const char *name, const char *help) {
    return we_family_new(out, WE_TYPE_SUMMARY, name, help);
}

we_family *we_family_new_info(we_families *out, const char *name, const char *help) {
    return we_family_new(out, WE_TYPE_INFO, name, help);
}

we_family *we_family_new_state_set(we_families *out, const char *name, const char *help) {
    return we_family_new(out, WE_TYPE_STATE_SET, name, help);
}

void we_family_set_unit(we_family *family, const char *unit) {
    if (unit == NULL) {
        misuse(family, "unit is NULL");
        return;
    }
    plugin_option_string_free(&family->data.unit);
    family->data.unit.is_some = true;
    family->data.unit.val = to_cm(unit);
}

void we_family_add(we_family *family, const we_label *labels, size_t label_count, double value) {
    uint8_t type = family->data.type;
    uint8_t tag;
    switch (type) {
    case WE_TYPE_COUNTER:
        tag = WASM_EXPORTER_COLLECTOR_METRICS_VALUE_COUNTER;
        break;
    case WE_TYPE_GAUGE:
        tag = WASM_EXPORTER_COLLECTOR_METRICS_VALUE_GAUGE;
        break;
    case WE_TYPE_UNKNOWN:
        tag = WASM_EXPORTER_COLLECTOR_METRICS_VALUE_UNKNOWN;
        break;
    default:
        expect_type(family, "we_family_add", false);
        return;
    }
    wasm_exporter_collector_metrics_list_label_t copied;
    if (!copy_labels(family, labels, label_count, &copied)) {
        return;
    }
    cm_metric *metric = push_metric(family);
    metric->labels = copied;
    metric->value.tag = tag;
    /* The three scalar cases share one payload slot. */
    metric->value.val.gauge = value;
}

void we_family_add_histogram(we_family *family, const we_label *labels, size_t label_count,
                             const we_bucket *buckets, size_t bucket_count, double sum,
                             uint64_t count) {
    if (!expect_type(family, "we_family_add_histogram", family->data.type == WE_TYPE_HISTOGRAM)) {
        return;
    }
    if (bucket_count > 0 && buckets == NULL) {
        misuse(family, "buckets is NULL but bucket_count is not 0");
        return;
    }
    wasm_exporter_collector_metrics_list_label_t copied;
    if (!copy_labels(family, labels, label_count, &copied)) {
        return;
    }
    bool has_inf = bucket_count > 0 && isinf(buckets[bucket_count - 1].upper_bound) &&
                   buckets[bucket_count - 1].upper_bound > 0;
    size_t total = bucket_count + (has_inf ? 0 : 1);
    wasm_exporter_collector_metrics_bucket_t *items = alloc_or_abort(total * sizeof *items);
    for (size_t i = 0; i < bucket_count; i++) {
        items[i].upper_bound = buckets[i].upper_bound;
        items[i].count = buckets[i].count;
    }
    if (!has_inf) {
        items[bucket_count].upper_bound = INFINITY;
        items[bucket_count].count = count;
    }
    cm_metric *metric = push_metric(family);
    metric->labels = copied;
    metric->value.tag = WASM_EXPORTER_COLLECTOR_METRICS_VALUE_HISTOGRAM;
    metric->value.val.histogram.buckets.ptr = items;
    metric->value.val.histogram.buckets.len = total;
    metric->value.val.histogram.sum = sum;
    metric->value.val.histogram.count = count;
}

void we_family_add_summary(we_family *family, const we_label *labels, size_t label_count,
                           const we_quantile *quantiles, size_t quantile_count, double sum,
                           uint64_t count) {
    if (!expect_type(family, "we_family_add_summary", family->data.type == WE_TYPE_SUMMARY)) {
        return;
    }
    if (quantile_count > 0 && quantiles == NULL) {
        misuse(family, "quantiles is NULL but quantile_count is not 0");
        return;
    }
    wasm_exporter_collector_metrics_list_label_t copied;
    if (!copy_labels(family, labels, label_count, &copied)) {
        return;
    }
    wasm_exporter_collector_metrics_quantile_t *items = NULL;
    if (quantile_count > 0) {
        items = alloc_or_abort(quantile_count * sizeof *items);
        for (size_t i = 0; i < quantile_count; i++) {
            items[i].quantile = quantiles[i].quantile;
            items[i].value = quantiles[i].value;
        }
    }
    cm_metric *metric = push_metric(family);
    metric->labels = copied;
    metric->value.tag = WASM_EXPORTER_COLLECTOR_METRICS_VALUE_SUMMARY;
    metric->value.val.summary.quantiles.ptr = items;
    metric->value.val.summary.quantiles.len = quantile_count;
    metric->value.val.summary.sum = sum;
    metric->value.val.summary.count = count;
}

void we_family_add_info(we_family *family, const we_label *labels, size_t label_count) {
    if (!expect_type(family, "we_family_add_info", family->data.type == WE_TYPE_INFO)) {
        return;
    }
    wasm_exporter_collector_metrics_list_label_t copied;
    if (!copy_labels(family, labels, label_count, &copied)) {
        return;
    }
    cm_metric *metric = push_metric(family);
    metric->labels = copied;
    metric->value.tag = WASM_EXPORTER_COLLECTOR_METRICS_VALUE_INFO;
}

void we_family_add_states(we_family *family, const we_label *labels, size_t label_count,
                          const we_state *states, size_t state_count) {
    if (!expect_type(family, "we_family_add_states", family->data.type == WE_TYPE_STATE_SET)) {
        return;
    }
    if (state_count > 0 && states == NULL) {
        misuse(family, "states is NULL but state_count is not 0");
        return;
    }
    for (size_t i = 0; i < state_count; i++) {
        if (states[i].name == NULL) {
            char *what = format("state %zu has a NULL name", i);
            misuse(family, what);
            free(what);
            return;
        }
    }
    wasm_exporter_collector_metrics_list_label_t copied;
    if (!copy_labels(family, labels, label_count, &copied)) {
        return;
    }
    wasm_exporter_collector_metrics_state_t *items = NULL;
    if (state_count > 0) {
        items = alloc_or_abort(state_count * sizeof *items);
        for (size_t i = 0; i < state_count; i++) {
            items[i].name = to_cm(states[i].name);
            items[i].enabled = states[i].enabled;
        }
    }
    cm_metric *metric = push_metric(family);
    metric->labels = copied;
    metric->value.tag = WASM_EXPORTER_COLLECTOR_METRICS_VALUE_STATE_SET;
    metric->value.val.state_set.ptr = items;
    metric->value.val.state_set.len = state_count;
}

int we_error(we_families *out, const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    fail(out, vformat(fmt, args));
    va_end(args);
    return -1;
}

void we_describe_family(we_descriptors *out, we_type type, const char *name, const char *help,
                        const char *unit, const char *const *label_names,
                        size_t label_name_count) {
    if (name == NULL || help == NULL) {
        if (out->error == NULL) {
            out->error = format("descriptor %zu: %s is NULL", out->len,
                                name == NULL ? "name" : "help");
        }
        return;
    }
    for (size_t i = 0; i < label_name_count; i++) {
        if (label_names == NULL || label_names[i] == NULL) {
            if (out->error == NULL) {
                out->error = format("descriptor %s: label name %zu is NULL", name, i);
            }
            return;
        }
    }
    out->items = grow(out->items, &out->capacity, out->len + 1, sizeof *out->items);
    cm_descriptor *d = &out->items[out->len++];
    memset(d, 0, sizeof *d);
    d->name = to_cm(name);
    d->help = to_cm(help);
    d->type = (uint8_t)type;
    if (unit != NULL) {
        d->unit.is_some = true;
        d->unit.val = to_cm(unit);
    }
    if (label_name_count > 0) {
        d->label_names.ptr = alloc_or_abort(label_name_count * sizeof(cm_string));
        d->label_names.len = label_name_count;
        for (size_t i = 0; i < label_name_count; i++) {
            d->label_names.ptr[i] = to_cm(label_names[i]);
        }
    }
}

/* What a plugin without a we_describe of its own describes: nothing. */
__attribute__((weak)) void we_describe(we_descriptors *out) {
    (void)out;
}

void we_log(we_level level, const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    char *text = vformat(fmt, args);
    va_end(args);
    cm_string message = {(uint8_t *)text, strlen(text)};
    wasm_exporter_collector_host_log((wasm_exporter_collector_host_level_t)level, &message);
    free(text);
}

/* The configuration, fetched once per instance: it cannot change during
 * a call, and one host call beats one per key. */
static we_label *config_pairs;
static size_t config_count;
static bool config_loaded;

static void load_config(void) {
    if (config_loaded) {
        return;
    }
    plugin_list_tuple2_string_string_t list = {NULL, 0};
    wasm_exporter_collector_host_config(&list);
    if (list.len > 0) {
        config_pairs = alloc_or_abort(list.len * sizeof *config_pairs);
        for (size_t i = 0; i < list.len; i++) {
            config_pairs[i].name = from_cm(&list.ptr[i].f0);
            config_pairs[i].value = from_cm(&list.ptr[i].f1);
        }
    }
    config_count = list.len;
    plugin_list_tuple2_string_string_free(&list);
    config_loaded = true;
}

const char *we_config_get(const char *key) {
    load_config();
    for (size_t i = 0; i < config_count; i++) {
        if (strcmp(config_pairs[i].name, key) == 0) {
            return config_pairs[i].value;
        }
    }
    return NULL;
}

const we_label *we_config(size_t *count) {
    load_config();
    if (count != NULL) {
        *count = config_count;
    }
    return config_pairs;
}

int we_statfs(const char *path, we_fs_stats *stats, char *error, size_t error_size) {
    cm_string cm_path = {(uint8_t *)path, strlen(path)};
    wasm_exporter_collector_fs_stats_stats_t ok;
    cm_string err = {NULL, 0};
    if (wasm_exporter_collector_fs_stats_stat(&cm_path, &ok, &err)) {
        stats->block_size = ok.block_size;
        stats->blocks = ok.blocks;
        stats->blocks_free = ok.blocks_free;
        stats->blocks_available = ok.blocks_available;
        stats->files = ok.files;
        stats->files_free = ok.files_free;
        stats->read_only = ok.read_only;
        return 0;
    }
    if (error != NULL && error_size > 0) {
        size_t n = err.len < error_size - 1 ? err.len : error_size - 1;
        if (n > 0) {
            memcpy(error, err.ptr, n);
        }
        error[n] = '\0';
    }
    plugin_string_free(&err);
    return -1;
}

const char *we_request_param(const we_request *request, const char *name) {
    for (size_t i = 0; i < request->param_count; i++) {
        if (strcmp(request->params[i].name, name) == 0) {
            return request->params[i].value;
        }
    }
    return NULL;
}

/* Frees what a failed call built: nothing of it reaches the host. */
static void discard(we_families *out) {
    for (size_t i = 0; i < out->len; i++) {
        wasm_exporter_collector_metrics_metric_family_free(&out->items[i]->data);
        free(out->items[i]);
    }
    free(out->items);
    out->items = NULL;
    out->len = 0;
}

void exports_wasm_exporter_collector_collector_describe(
    exports_wasm_exporter_collector_collector_list_descriptor_t *ret) {
    we_descriptors out = {NULL, 0, 0, NULL};
    we_describe(&out);
    if (out.error != NULL) {
        /* describe cannot fail in the WIT: a broken descriptor is logged
         * and the list withheld, which the host treats as "undescribed". */
        char *message = format("we_describe: %s", out.error);
        cm_string text = {(uint8_t *)message, strlen(message)};
        wasm_exporter_collector_host_log(WASM_EXPORTER_COLLECTOR_HOST_LEVEL_ERROR, &text);
        free(message);
        free(out.error);
        exports_wasm_exporter_collector_collector_list_descriptor_t all = {out.items, out.len};
        exports_wasm_exporter_collector_collector_list_descriptor_free(&all);
        ret->ptr = NULL;
        ret->len = 0;
        return;
    }
    ret->ptr = out.items;
    ret->len = out.len;
}

bool exports_wasm_exporter_collector_collector_collect(
    exports_wasm_exporter_collector_collector_collect_request_t *request,
    exports_wasm_exporter_collector_collector_list_metric_family_t *ret, cm_string *err) {
    /* The host allocated the request in this instance for us to keep:
     * take NUL-terminated copies and free its buffers. */
    we_request req = {NULL, NULL, 0, request->timeout_ms};
    if (request->target.is_some) {
        req.target = from_cm(&request->target.val);
    }
    we_label *params = NULL;
    if (request->params.len > 0) {
        params = alloc_or_abort(request->params.len * sizeof *params);
        for (size_t i = 0; i < request->params.len; i++) {
            params[i].name = from_cm(&request->params.ptr[i].f0);
            params[i].value = from_cm(&request->params.ptr[i].f1);
        }
    }
    req.params = params;
    req.param_count = request->params.len;
    plugin_option_string_free(&request->target);
    plugin_list_tuple2_string_string_free(&request->params);

    we_families out = {NULL, 0, 0, NULL};
    int status = we_collect(&req, &out);

    free((char *)req.target);
    for (size_t i = 0; i < req.param_count; i++) {
        free((char *)params[i].name);
        free((char *)params[i].value);
    }
    free(params);

    if (status != 0 && out.error == NULL) {
        out.error = format("we_collect returned %d", status);
    }
    if (out.error != NULL) {
        discard(&out);
        *err = to_cm(out.error);
        if (err->len == 0) {
            *err = to_cm("we_collect failed");
        }
        free(out.error);
        return false;
    }

    cm_family *families = NULL;
    if (out.len > 0) {
        families = alloc_or_abort(out.len * sizeof *families);
        for (size_t i = 0; i < out.len; i++) {
            families[i] = out.items[i]->data;
            free(out.items[i]);
        }
    }
    free(out.items);
    ret->ptr = families;
    ret->len = out.len;
    return true;
}
