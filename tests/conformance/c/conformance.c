/* The conformance plugin (tests/conformance/README.md), in C. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasm_exporter.h"

static const char text_help[] = "Escaping: back\\slash, \"quotes\" and a\nline.";

void we_describe(we_descriptors *out) {
    we_describe_family(out, WE_TYPE_COUNTER, "conformance_requests_total", "Requests handled.",
                       NULL, WE_NAMES("method", "code"));
    we_describe_family(out, WE_TYPE_GAUGE, "conformance_temperature_celsius",
                       "Temperature in a room.", "celsius", WE_NAMES("room"));
    we_describe_family(out, WE_TYPE_HISTOGRAM, "conformance_latency_seconds", "Request latency.",
                       "seconds", WE_NO_NAMES);
    we_describe_family(out, WE_TYPE_SUMMARY, "conformance_size_bytes", "Response sizes.", "bytes",
                       WE_NAMES("path"));
    we_describe_family(out, WE_TYPE_INFO, "conformance_build", "Build information.", NULL,
                       WE_NAMES("version", "language"));
    we_describe_family(out, WE_TYPE_STATE_SET, "conformance_state", "Current state.", NULL,
                       WE_NO_NAMES);
    we_describe_family(out, WE_TYPE_UNKNOWN, "conformance_mystery", "A value of unknown type.",
                       NULL, WE_NO_NAMES);
    we_describe_family(out, WE_TYPE_GAUGE, "conformance_config",
                       "Configuration the plugin received.", NULL, WE_NAMES("key", "value"));
    we_describe_family(out, WE_TYPE_GAUGE, "conformance_text", text_help, NULL,
                       WE_NAMES("text"));
}

struct chunk {
    struct chunk *next;
    char bytes[1 << 20];
};

static void membomb(void) {
    struct chunk *hoard = NULL;
    for (;;) {
        struct chunk *chunk = malloc(sizeof *chunk);
        if (chunk == NULL) {
            abort();
        }
        /* Touch every page so the memory is really committed. */
        for (size_t page = 0; page < sizeof chunk->bytes; page += 4096) {
            chunk->bytes[page] = 1;
        }
        chunk->next = hoard;
        hoard = chunk;
    }
}

int we_collect(const we_request *request, we_families *out) {
    (void)request;
    we_log_info("conformance collect");

    const char *mode = we_config_get("mode");
    if (mode != NULL && strcmp(mode, "error") == 0) {
        return we_error(out, "requested error");
    }
    if (mode != NULL && strcmp(mode, "loop") == 0) {
        volatile unsigned long spins = 0;
        for (;;) {
            spins = spins + 1;
        }
    }
    if (mode != NULL && strcmp(mode, "membomb") == 0) {
        membomb();
    }
    if (mode != NULL && strcmp(mode, "panic") == 0) {
        abort();
    }

    we_family *requests =
        we_family_new_counter(out, "conformance_requests_total", "Requests handled.");
    we_family_add(requests, WE_LABELS({"method", "get"}, {"code", "200"}), 3);
    we_family_add(requests, WE_LABELS({"method", "post"}, {"code", "500"}), 1);

    we_family *temperature =
        we_family_new_gauge(out, "conformance_temperature_celsius", "Temperature in a room.");
    we_family_set_unit(temperature, "celsius");
    we_family_add(temperature, WE_LABELS({"room", "hall"}), 21.5);
    we_family_add(temperature, WE_LABELS({"room", "cellar"}), -3.25);

    we_family *latency =
        we_family_new_histogram(out, "conformance_latency_seconds", "Request latency.");
    we_family_set_unit(latency, "seconds");
    we_family_add_histogram(latency, WE_NO_LABELS, WE_BUCKETS({0.1, 2}, {0.5, 5}), 1.75, 6);

    we_family *size = we_family_new_summary(out, "conformance_size_bytes", "Response sizes.");
    we_family_set_unit(size, "bytes");
    we_family_add_summary(size, WE_LABELS({"path", "/"}), WE_QUANTILES({0.5, 100}, {0.9, 250}),
                          1200, 8);

    we_family *build = we_family_new_info(out, "conformance_build", "Build information.");
    we_family_add_info(build, WE_LABELS({"version", "1.2.3"}, {"language", "c"}));

    we_family *state = we_family_new_state_set(out, "conformance_state", "Current state.");
    we_family_add_states(state, WE_NO_LABELS, WE_STATES({"a", true}, {"b", false}));

    we_family *mystery =
        we_family_new_unknown(out, "conformance_mystery", "A value of unknown type.");
    we_family_add(mystery, WE_NO_LABELS, 42);

    we_family *config =
        we_family_new_gauge(out, "conformance_config", "Configuration the plugin received.");
    size_t count;
    const we_label *pairs = we_config(&count);
    for (size_t i = 0; i < count; i++) {
        we_family_add(config, WE_LABELS({"key", pairs[i].name}, {"value", pairs[i].value}), 1);
    }

    we_family *text = we_family_new_gauge(out, "conformance_text", text_help);
    we_family_add(text, WE_LABELS({"text", "a\"b\\c\nd"}), 1);
    we_family_add(text, WE_LABELS({"text", "ünïcødé ✓"}), 2);

    const char *series = we_config_get("series");
    if (series != NULL && series[0] != '\0' && strspn(series, "0123456789") == strlen(series)) {
        we_family *bench = we_family_new_gauge(out, "conformance_bench", "Benchmark series.");
        unsigned long n = strtoul(series, NULL, 10);
        for (unsigned long i = 0; i < n; i++) {
            char index[24];
            snprintf(index, sizeof index, "%lu", i);
            we_family_add(bench, WE_LABELS({"index", index}), (double)i);
        }
    }
    return 0;
}
