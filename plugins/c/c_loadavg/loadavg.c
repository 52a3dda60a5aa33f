/*
 * Load averages and task counts of the host, from the granted
 * /proc/loadavg, read with stdio. The load averages carry node_exporter's
 * names and help, so dashboards built for it work unchanged.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "wasm_exporter.h"

static const char path[] = "/proc/loadavg";

void we_describe(we_descriptors *out) {
    we_describe_family(out, WE_TYPE_GAUGE, "node_load1", "1m load average.", NULL, WE_NO_NAMES);
    we_describe_family(out, WE_TYPE_GAUGE, "node_load5", "5m load average.", NULL, WE_NO_NAMES);
    we_describe_family(out, WE_TYPE_GAUGE, "node_load15", "15m load average.", NULL, WE_NO_NAMES);
    we_describe_family(out, WE_TYPE_GAUGE, "loadavg_tasks",
                       "Kernel scheduling entities, runnable and in all.", NULL,
                       WE_NAMES("state"));
}

int we_collect(const we_request *request, we_families *out) {
    (void)request;
    FILE *file = fopen(path, "r");
    if (file == NULL) {
        return we_error(out, "cannot open %s: %s (grant it with files: [%s])", path,
                        strerror(errno), path);
    }
    /* One line: "0.52 0.58 0.59 2/1107 12345". */
    char line[256];
    char *read = fgets(line, sizeof line, file);
    int read_errno = errno;
    fclose(file);
    if (read == NULL) {
        return we_error(out, "cannot read %s: %s", path,
                        read_errno ? strerror(read_errno) : "empty file");
    }
    double load[3];
    unsigned long runnable, total;
    if (sscanf(line, "%lf %lf %lf %lu/%lu", &load[0], &load[1], &load[2], &runnable, &total) !=
        5) {
        line[strcspn(line, "\n")] = '\0';
        return we_error(out, "%s: expected \"load1 load5 load15 runnable/total ...\", found \"%.60s\"",
                        path, line);
    }

    static const char *const names[] = {"node_load1", "node_load5", "node_load15"};
    static const char *const helps[] = {"1m load average.", "5m load average.",
                                        "15m load average."};
    for (int i = 0; i < 3; i++) {
        we_family_add(we_family_new_gauge(out, names[i], helps[i]), WE_NO_LABELS, load[i]);
    }
    we_family *tasks =
        we_family_new_gauge(out, "loadavg_tasks", "Kernel scheduling entities, runnable and in all.");
    we_family_add(tasks, WE_LABELS({"state", "runnable"}), (double)runnable);
    we_family_add(tasks, WE_LABELS({"state", "total"}), (double)total);
    we_log_debug("%s: load %.2f, %lu of %lu tasks runnable", path, load[0], runnable, total);
    return 0;
}
