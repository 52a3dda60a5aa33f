"""Parses an exposition with prometheus_client's reference parsers.

Usage: parse_exposition.py (text|openmetrics) FILE

Prints one JSON object: {"families": {name: {"type": ..., "samples": N}}}.
Exits non-zero (with the parser's error) if the exposition does not parse.
"""
import json
import sys

from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as parse_openmetrics,
)
from prometheus_client.parser import text_string_to_metric_families as parse_text


def main() -> int:
    fmt, path = sys.argv[1], sys.argv[2]
    with open(path, encoding="utf-8") as f:
        text = f.read()
    parse = parse_openmetrics if fmt == "openmetrics" else parse_text
    families = {}
    for family in parse(text):
        families[family.name] = {"type": family.type, "samples": len(family.samples)}
    json.dump({"families": families}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
