#!/usr/bin/env python3
"""The `poststelle validate` CLI contract emulated over xmllint (a test double for the harnesses).

`python3 conformance/w3c.py --engine both --poststelle conformance/xmllint_as_poststelle.py`
must give identical figures for both columns; that checks the poststelle adapter (JSON parsing,
batching of several files per process, exit codes) without the engine.

Contract: validate [--schema-dir DIR | --schema FILE.xsd] [--json] [--max-errors N] FILE...
exit 0 all valid, 1 some invalid, 2 usage/IO/schema errors; no files = compile the schema only.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile


def main(argv: list[str]) -> int:
    if argv[:1] == ["--version"]:
        print("xmllint-as-poststelle 0")
        return 0
    if argv[:1] != ["validate"]:
        print("usage: validate [--schema S] [--json] [--max-errors N] FILE...", file=sys.stderr)
        return 2
    args = argv[1:]
    schema, as_json, files = None, False, []
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--schema":
            schema = args[i + 1]
            i += 2
        elif a == "--max-errors":
            i += 2
        elif a == "--json":
            as_json = True
            i += 1
        else:
            files.append(a)
            i += 1
    if schema is None:
        return 2
    out = {"schema_errors": [], "files": []}
    targets = files
    if not files:
        dummy = tempfile.NamedTemporaryFile("w", suffix=".xml", delete=False)
        dummy.write("<dummy/>")
        dummy.close()
        targets = [dummy.name]
    code = 0
    for f in targets:
        p = subprocess.run(["xmllint", "--noout", "--schema", schema, f], capture_output=True, text=True)
        if p.returncode == 5:
            out["schema_errors"] = [{"file": schema, "line": 0, "column": 0, "message": "schema failed to compile"}]
            code = 2
            break
        if files:
            valid = p.returncode == 0
            errors = [] if valid else [{"line": 0, "column": 0, "path": "/", "kind": "xmllint", "message": p.stderr.strip()[:200]}]
            out["files"].append({"file": f, "valid": valid, "errors": errors})
            if not valid:
                code = max(code, 1)
    if as_json:
        print(json.dumps(out))
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
