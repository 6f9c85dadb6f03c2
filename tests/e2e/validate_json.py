#!/usr/bin/python3
"""Validates JSON against one definition of docs/pg-json.schema.json.

validate_json.py SCHEMA DEF FILE [--each]
  FILE holds one JSON value; with --each it is an array (or JSON lines) and every item is
  validated. Prints each violation with the item's place and exits 1 when there is one.
Run with Debian's /usr/bin/python3 (python3-jsonschema)."""
import json
import sys

import jsonschema


def main():
    schema_path, name, path = sys.argv[1:4]
    each = "--each" in sys.argv[4:]
    with open(schema_path, encoding="utf-8") as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    target = dict(schema)
    target["$ref"] = "#/$defs/" + name
    validator = jsonschema.Draft202012Validator(target)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        value = json.loads(text)
        items = value if each else [value]
    except json.JSONDecodeError:
        items = [json.loads(line) for line in text.splitlines() if line.strip()]
    if each and not isinstance(items, list):
        print(f"{path}: not an array", file=sys.stderr)
        return 1
    bad = 0
    for i, item in enumerate(items):
        for err in validator.iter_errors(item):
            where = "/".join(str(p) for p in err.absolute_path)
            print(f"{path}[{i}] {name} at /{where}: {err.message}")
            bad += 1
    print(f"{path}: {len(items)} value(s) checked against $defs/{name}, {bad} violation(s)")
    return 1 if bad or not items else 0


if __name__ == "__main__":
    sys.exit(main())
