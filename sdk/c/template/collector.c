/*
 * A starting point for a C collector: copy this directory to
 * plugins/c/c_<name>/ and run `cargo xtask plugins`.
 */
#include <stdlib.h>

#include "wasm_exporter.h"

void we_describe(we_descriptors *out) {
    we_describe_family(out, WE_TYPE_GAUGE, "template_queue_depth", "Jobs waiting per queue.",
                       NULL, WE_NAMES("queue"));
    we_describe_family(out, WE_TYPE_COUNTER, "template_scrapes_total",
                       "Scrapes this plugin answered.", NULL, WE_NO_NAMES);
}

int we_collect(const we_request *request, we_families *out) {
    /* Configuration arrives as strings: `config: { depth: "7" }`. */
    const char *depth = we_config_get("depth");
    char *end = NULL;
    double value = depth ? strtod(depth, &end) : 0;
    if (depth != NULL && (end == depth || *end != '\0')) {
        return we_error(out, "config depth: \"%s\" is not a number", depth);
    }
    we_log_debug("collecting with %llu ms left", (unsigned long long)request->timeout_ms);

    we_family *queue =
        we_family_new_gauge(out, "template_queue_depth", "Jobs waiting per queue.");
    we_family_add(queue, WE_LABELS({"queue", "mail"}), value);
    we_family_add(queue, WE_LABELS({"queue", "billing"}), 0);

    we_family *scrapes =
        we_family_new_counter(out, "template_scrapes_total", "Scrapes this plugin answered.");
    we_family_add(scrapes, WE_NO_LABELS, 1);
    return 0;
}
