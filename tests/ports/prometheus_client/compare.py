"""Compares two expositions family by family and sample by sample, after
parsing both with prometheus_client's parser.

Usage: compare.py (text|openmetrics) EXPECTED ACTUAL

EXPECTED is prometheus_client's own exposition (its default process
collector unregistered), ACTUAL the wasm_exporter host's, whose own series
(`wasm_exporter_*` and `process_*`) are left out.
Prints a JSON summary (the families and the number of samples compared)
and exits 0 when they agree; prints every difference and exits 1 otherwise.

What is compared, and why not the bytes: prometheus_client writes numbers
as Python's repr (`1.0`, `5.11200025e+06`) and the host as Go's
client_golang does (`1`, `5.11200025e+06`), in values and in the `le` and
`quantile` labels; prometheus_client sorts labels by name and the host
keeps the plugin's order; the host sorts families by name and a summary's
quantiles before its sum and count. So families are matched by name (with
their help, type and unit), samples are compared as sets of (name, labels,
value), and values and `le`/`quantile` labels as floats.
"""

import json
import sys

from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families as parse_text

HOST_PREFIXES = ("wasm_exporter_", "process_")
NUMERIC_LABELS = ("le", "quantile")


def canonical(sample):
    labels = tuple(
        sorted((k, float(v) if k in NUMERIC_LABELS else v) for k, v in sample.labels.items())
    )
    return (sample.name, labels, float(sample.value))


def families(fmt, path, drop_host):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    parse = parse_openmetrics if fmt == "openmetrics" else parse_text
    out = {}
    for family in parse(text):
        if drop_host and family.name.startswith(HOST_PREFIXES):
            continue
        if family.name in out:
            raise SystemExit(f"{path}: family {family.name} appears twice")
        samples = sorted(canonical(s) for s in family.samples)
        out[family.name] = {
            "help": family.documentation,
            "type": family.type,
            "unit": family.unit,
            "samples": samples,
        }
    return out


def main():
    fmt, expected_path, actual_path = sys.argv[1:4]
    expected = families(fmt, expected_path, drop_host=False)
    actual = families(fmt, actual_path, drop_host=True)
    problems = []
    for name in sorted(set(expected) | set(actual)):
        if name not in actual:
            problems.append(f"family {name} is missing from {actual_path}")
            continue
        if name not in expected:
            problems.append(f"family {name} is only in {actual_path}")
            continue
        want, got = expected[name], actual[name]
        for key in ("help", "type", "unit"):
            if want[key] != got[key]:
                problems.append(f"family {name}: {key} {want[key]!r} != {got[key]!r}")
        for sample in sorted(set(want["samples"]) - set(got["samples"])):
            problems.append(f"family {name}: sample {sample} is missing from {actual_path}")
        for sample in sorted(set(got["samples"]) - set(want["samples"])):
            problems.append(f"family {name}: sample {sample} is only in {actual_path}")
        if len(want["samples"]) != len(got["samples"]):
            problems.append(f"family {name}: {len(want['samples'])} samples != {len(got['samples'])}")
    if problems:
        print("\n".join(problems))
        return 1
    summary = {
        "families": sorted(expected),
        "samples": sum(len(f["samples"]) for f in expected.values()),
    }
    json.dump(summary, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
