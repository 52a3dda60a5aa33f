/*
 * The C SDK compiled natively, with the generated bindings, behind a fake
 * host: each scenario calls the generated export glue the way the host
 * does, prints what it returned, then runs the generated post-return,
 * which free()s every buffer of the result. Built with AddressSanitizer,
 * a buffer the SDK did not malloc (or handed over twice) aborts the run,
 * and LeakSanitizer reports one it allocated and lost.
 *
 * Usage: native_test SCENARIO...; prints one block per scenario.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin.h"
#include "wasm_exporter.h"

/* The generated glue's exports, which the host calls by name. */
uint8_t *__wasm_export_exports_wasm_exporter_collector_collector_collect(int32_t, uint8_t *, size_t,
                                                                        uint8_t *, size_t, int64_t);
void __wasm_export_exports_wasm_exporter_collector_collector_collect_post_return(uint8_t *);
uint8_t *__wasm_export_exports_wasm_exporter_collector_collector_describe(void);
void __wasm_export_exports_wasm_exporter_collector_collector_describe_post_return(uint8_t *);

/* The fake host: what the generated import glue calls. */

void __component_type_object_force_link_plugin(void) {}

void __wasm_import_wasm_exporter_collector_host_log(int32_t level, uint8_t *ptr, size_t len) {
    printf("log %d %.*s\n", (int)level, (int)len, (const char *)ptr);
}

/* The host allocates what it returns in the guest with cabi_realloc,
 * which allocates nothing for an empty string. */
static uint8_t *host_string(const char *s, size_t *len) {
    *len = strlen(s);
    if (*len == 0) {
        return (uint8_t *)1;
    }
    uint8_t *p = malloc(*len);
    memcpy(p, s, *len);
    return p;
}

void __wasm_import_wasm_exporter_collector_host_config(uint8_t *ret) {
    static const char *const pairs[][2] = {{"alpha", "1"}, {"mode", "fast"}};
    plugin_tuple2_string_string_t *list = malloc(2 * sizeof *list);
    for (size_t i = 0; i < 2; i++) {
        list[i].f0.ptr = host_string(pairs[i][0], &list[i].f0.len);
        list[i].f1.ptr = host_string(pairs[i][1], &list[i].f1.len);
    }
    *(plugin_tuple2_string_string_t **)ret = list;
    *(size_t *)(ret + sizeof(void *)) = 2;
}

void __wasm_import_wasm_exporter_collector_host_config_get(uint8_t *key, size_t len, uint8_t *ret) {
    (void)key;
    (void)len;
    ret[0] = 0;
}

void __wasm_import_wasm_exporter_collector_fs_stats_stat(uint8_t *path, size_t len, uint8_t *ret) {
    (void)path;
    (void)len;
    ret[0] = 1;
    size_t n;
    *(uint8_t **)(ret + 8) = host_string("not granted", &n);
    *(size_t *)(ret + 8 + sizeof(void *)) = n;
}

/* The plugin under test: the scenario is the request's target. */

static const char *scenario;

void we_describe(we_descriptors *out) {
    we_describe_family(out, WE_TYPE_HISTOGRAM, "d_seconds", "Latency.", "seconds", WE_NO_NAMES);
    we_describe_family(out, WE_TYPE_INFO, "d_build", "Build.", NULL, WE_NAMES("version", "os"));
}

int we_collect(const we_request *request, we_families *out) {
    if (strcmp(scenario, "all") == 0) {
        we_log_info("target %s, %zu params, module=%s, %llu ms", request->target,
                    request->param_count, we_request_param(request, "module"),
                    (unsigned long long)request->timeout_ms);
        char buffer[16];
        we_family *g = we_family_new_gauge(out, "g_celsius", "Gauge.");
        we_family_set_unit(g, "celsius");
        for (int i = 0; i < 3; i++) {
            /* The SDK copies: reusing the buffer changes nothing added. */
            snprintf(buffer, sizeof buffer, "room%d", i);
            we_family_add(g, WE_LABELS({"room", buffer}, {"empty", ""}), i + 0.5);
        }
        we_family_add(we_family_new_counter(out, "c_total", ""), WE_NO_LABELS, 7);
        we_family_add(we_family_new_unknown(out, "u", "Unknown."), WE_NO_LABELS, -1);
        we_family *h = we_family_new_histogram(out, "h_seconds", "Histogram.");
        we_family_add_histogram(h, WE_LABELS({"path", "/"}), WE_BUCKETS({0.1, 2}, {0.5, 5}), 1.75,
                                6);
        we_family_add_histogram(h, WE_NO_LABELS, WE_BUCKETS({1, 1}, {INFINITY, 3}), 4, 3);
        we_family_add_histogram(h, WE_NO_LABELS, NULL, 0, 0, 0);
        we_family *s = we_family_new_summary(out, "s_bytes", "Summary.");
        we_family_add_summary(s, WE_NO_LABELS, WE_QUANTILES({0.5, 100}, {0.9, 250}), 1200, 8);
        we_family_add_summary(s, WE_NO_LABELS, NULL, 0, 0, 0);
        we_family_add_info(we_family_new_info(out, "i", "Info."), WE_LABELS({"version", "1"}));
        we_family *st = we_family_new_state_set(out, "st", "States.");
        we_family_add_states(st, WE_NO_LABELS, WE_STATES({"a", true}, {"b", false}));
        we_family_add_states(st, WE_NO_LABELS, NULL, 0);
        we_family_new_gauge(out, "empty", "No series.");
        size_t count;
        const we_label *pairs = we_config(&count);
        we_family *config = we_family_new_gauge(out, "config", "Config.");
        for (size_t i = 0; i < count; i++) {
            we_family_add(config, WE_LABELS({"key", pairs[i].name}, {"value", pairs[i].value}), 1);
        }
        we_family_add(config, WE_LABELS({"mode", we_config_get("mode")}), 2);
        we_family_add(config, WE_LABELS({"missing", we_config_get("missing") ? "set" : "unset"}), 3);
        char why[64];
        we_fs_stats stats;
        int rc = we_statfs("/", &stats, why, sizeof why);
        we_family_add(config, WE_LABELS({"statfs", why}), rc);
        return 0;
    }
    if (strcmp(scenario, "wrong_builder") == 0) {
        we_family_add(we_family_new_gauge(out, "fine", "Fine."), WE_NO_LABELS, 1);
        we_family *h = we_family_new_histogram(out, "h_seconds", "Histogram.");
        we_family_add(h, WE_NO_LABELS, 1);
        /* The first failure is the one reported. */
        we_family_add_info(h, WE_NO_LABELS);
        return 0;
    }
    if (strcmp(scenario, "null_label") == 0) {
        we_family *g = we_family_new_gauge(out, "g", "Gauge.");
        we_family_add(g, WE_LABELS({"a", "1"}, {"b", NULL}), 1);
        return 0;
    }
    if (strcmp(scenario, "null_name") == 0) {
        we_family_new_gauge(out, NULL, "Gauge.");
        return 0;
    }
    if (strcmp(scenario, "error") == 0) {
        we_family_add(we_family_new_gauge(out, "g", "Gauge."), WE_NO_LABELS, 1);
        return we_error(out, "cannot open %s: %s", "/x", "denied");
    }
    if (strcmp(scenario, "status") == 0) {
        return 3;
    }
    return we_error(out, "unknown scenario %s", scenario);
}

/* Printing what the host would read. */

static void print_string(const plugin_string_t *s) {
    printf("\"%.*s\"", (int)s->len, s->len ? (const char *)s->ptr : "");
}

static void print_labels(const wasm_exporter_collector_metrics_list_label_t *labels) {
    printf("{");
    for (size_t i = 0; i < labels->len; i++) {
        printf(i ? "," : "");
        printf("%.*s=", (int)labels->ptr[i].name.len, (const char *)labels->ptr[i].name.ptr);
        print_string(&labels->ptr[i].value);
    }
    printf("}");
}

static void print_value(const wasm_exporter_collector_metrics_value_t *v) {
    switch (v->tag) {
    case WASM_EXPORTER_COLLECTOR_METRICS_VALUE_COUNTER:
        printf(" counter %g", v->val.counter);
        break;
    case WASM_EXPORTER_COLLECTOR_METRICS_VALUE_GAUGE:
        printf(" gauge %g", v->val.gauge);
        break;
    case WASM_EXPORTER_COLLECTOR_METRICS_VALUE_UNKNOWN:
        printf(" unknown %g", v->val.unknown);
        break;
    case WASM_EXPORTER_COLLECTOR_METRICS_VALUE_HISTOGRAM:
        printf(" histogram");
        for (size_t i = 0; i < v->val.histogram.buckets.len; i++) {
            printf(" %g:%llu", v->val.histogram.buckets.ptr[i].upper_bound,
                   (unsigned long long)v->val.histogram.buckets.ptr[i].count);
        }
        printf(" sum %g count %llu", v->val.histogram.sum,
               (unsigned long long)v->val.histogram.count);
        break;
    case WASM_EXPORTER_COLLECTOR_METRICS_VALUE_SUMMARY:
        printf(" summary");
        for (size_t i = 0; i < v->val.summary.quantiles.len; i++) {
            printf(" %g:%g", v->val.summary.quantiles.ptr[i].quantile,
                   v->val.summary.quantiles.ptr[i].value);
        }
        printf(" sum %g count %llu", v->val.summary.sum, (unsigned long long)v->val.summary.count);
        break;
    case WASM_EXPORTER_COLLECTOR_METRICS_VALUE_INFO:
        printf(" info");
        break;
    case WASM_EXPORTER_COLLECTOR_METRICS_VALUE_STATE_SET:
        printf(" states");
        for (size_t i = 0; i < v->val.state_set.len; i++) {
            printf(" %.*s=%d", (int)v->val.state_set.ptr[i].name.len,
                   (const char *)v->val.state_set.ptr[i].name.ptr, v->val.state_set.ptr[i].enabled);
        }
        break;
    default:
        printf(" tag %d", v->tag);
    }
}

static void run_collect(void) {
    /* The host allocates the request in the guest and gives it away. */
    size_t target_len, n;
    uint8_t *target = host_string("10.0.0.1:9100", &target_len);
    plugin_tuple2_string_string_t *params = malloc(2 * sizeof *params);
    params[0].f0.ptr = host_string("module", &n);
    params[0].f0.len = n;
    params[0].f1.ptr = host_string("http_2xx", &n);
    params[0].f1.len = n;
    params[1].f0.ptr = host_string("empty", &n);
    params[1].f0.len = n;
    params[1].f1.ptr = host_string("", &n);
    params[1].f1.len = n;

    uint8_t *area = __wasm_export_exports_wasm_exporter_collector_collector_collect(
        1, target, target_len, (uint8_t *)params, 2, 4500);
    if (area[0] == 0) {
        const exports_wasm_exporter_collector_collector_list_metric_family_t *list =
            (const void *)(area + sizeof(void *));
        for (size_t i = 0; i < list->len; i++) {
            const wasm_exporter_collector_metrics_metric_family_t *f = &list->ptr[i];
            printf("family ");
            print_string(&f->name);
            printf(" type %d help ", f->type);
            print_string(&f->help);
            if (f->unit.is_some) {
                printf(" unit ");
                print_string(&f->unit.val);
            }
            printf("\n");
            for (size_t j = 0; j < f->metrics.len; j++) {
                printf("  ");
                print_labels(&f->metrics.ptr[j].labels);
                print_value(&f->metrics.ptr[j].value);
                printf("\n");
            }
        }
    } else {
        printf("error ");
        print_string((const plugin_string_t *)(area + sizeof(void *)));
        printf("\n");
    }
    __wasm_export_exports_wasm_exporter_collector_collector_collect_post_return(area);
}

static void run_describe(void) {
    uint8_t *area = __wasm_export_exports_wasm_exporter_collector_collector_describe();
    const exports_wasm_exporter_collector_collector_list_descriptor_t *list = (const void *)area;
    for (size_t i = 0; i < list->len; i++) {
        const wasm_exporter_collector_metrics_descriptor_t *d = &list->ptr[i];
        printf("descriptor ");
        print_string(&d->name);
        printf(" type %d unit %s labels", d->type, d->unit.is_some ? "set" : "none");
        for (size_t j = 0; j < d->label_names.len; j++) {
            printf(" ");
            print_string(&d->label_names.ptr[j]);
        }
        printf("\n");
    }
    __wasm_export_exports_wasm_exporter_collector_collector_describe_post_return(area);
}

int main(int argc, char **argv) {
    /* LeakSanitizer ends the process without flushing stdio. */
    setvbuf(stdout, NULL, _IONBF, 0);
    for (int i = 1; i < argc; i++) {
        scenario = argv[i];
        printf("== %s\n", scenario);
        if (strcmp(scenario, "describe") == 0) {
            run_describe();
        } else {
            run_collect();
        }
    }
    return 0;
}
