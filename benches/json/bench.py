#!/usr/bin/env python3
"""JSON Fachdaten validation benchmark: poststelle against Python jsonschema, same schemas, same
documents, same run.

Usage (from the repository root, after `cargo build --release --locked`):
  python3 benches/json/bench.py                        # default repeats and sizes
  python3 benches/json/bench.py --repeat 2000 --people 20000 --json /tmp/json-bench.json

Schemas: the project's FIM-style test pack (test-vectors/fim/pack: a root form referencing group
and field schemas by absolute $id; test domain, not official FIM schemas), copied to a temp dir
together with one extra root schema written here, "Sammelanzeige" (an array of the pack's person
group), so that a large document has the same field and group schemas.

Documents:
  form       test-vectors/fim/documents/valid.json (a typical form, ~1 KB)
  invalid    test-vectors/fim/documents/invalid.json (seven violations, all collected)
  bulk       a generated Sammelanzeige with --people persons (several MB)

Both sides measure the same work per document, with the schemas compiled once beforehand and
excluded: read the bytes as JSON (poststelle: the strict reader with duplicate-member, depth
and number checks; Python: json.loads) and collect every violation, formats asserted.
  poststelle  `poststelle validate --schema-dir PACK --repeat N DOC` (one process: the mean of
              N in-memory repetitions, printed on stderr)
  python      `jsonschema` (Draft202012Validator, referencing registry of the pack's schemas,
              FormatChecker): mean of N repetitions of json.loads + list(iter_errors)
Reported: mean time per document, MB/s (1 MB = 10^6 bytes) and the ratio python/poststelle.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT_DIR = os.path.normpath(os.path.join(HERE, "..", ".."))
VECTORS = os.path.join(ROOT_DIR, "test-vectors", "fim")
BASE = "https://schema.poststelle.invalid/fim/"
BULK_ID = BASE + "s99000009_1.0.schema.json"


def bulk_schema() -> dict:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": BULK_ID,
        "title": "Sammelanzeige (Benchmark, nicht amtlich)",
        "type": "object",
        "properties": {
            "$schema": {"type": "string"},
            "personen": {"type": "array", "items": {"$ref": BASE + "g99000010_1.0.schema.json"}},
        },
        "required": ["personen"],
        "additionalProperties": False,
    }


def bulk_document(people: int) -> dict:
    person = {
        "F99000100": "Erika", "F99000101": "Musterfrau", "F99000102": "1980-02-29",
        "G99000011": {"F99000103": "Musterstraße", "F99000104": "1a", "F99000105": "12345",
                      "F99000106": "Musterstadt"},
    }
    return {"$schema": BULK_ID, "personen": [dict(person, F99000100=f"Erika{i}") for i in range(people)]}


def poststelle_mean(binary: str, pack: str, doc: str, repeat: int) -> float:
    """Seconds per document, from `validate --repeat`."""
    run = subprocess.run([binary, "validate", "--schema-dir", pack, "--repeat", str(repeat), doc],
                         capture_output=True, text=True, check=False)
    m = re.search(r"mean ([0-9.]+) ms over", run.stderr)
    if run.returncode not in (0, 1) or not m:
        raise SystemExit(f"poststelle failed ({run.returncode}): {run.stderr}")
    return float(m.group(1)) / 1e3


def python_mean(schemas: dict, doc_path: str, repeat: int) -> tuple[float, int]:
    """Seconds per document and the number of violations, with jsonschema."""
    registry = Registry().with_resources((sid, Resource.from_contents(s)) for sid, s in schemas.items())
    with open(doc_path, "rb") as f:
        raw = f.read()
    uri = json.loads(raw)["$schema"]
    validator = Draft202012Validator(schemas[uri], registry=registry, format_checker=FormatChecker())
    errors = len(list(validator.iter_errors(json.loads(raw))))  # warm-up (refs resolved, cached)
    start = time.perf_counter()
    for _ in range(repeat):
        list(validator.iter_errors(json.loads(raw)))
    return (time.perf_counter() - start) / repeat, errors


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--poststelle", default=os.environ.get("POSTSTELLE_BIN",
                                                           os.path.join(ROOT_DIR, "target", "release", "poststelle")))
    ap.add_argument("--repeat", type=int, default=2000, help="repetitions of the small documents")
    ap.add_argument("--people", type=int, default=20000, help="persons in the bulk document")
    ap.add_argument("--bulk-repeat", type=int, default=5)
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args()
    if not os.path.exists(args.poststelle):
        raise SystemExit(f"no poststelle binary at {args.poststelle}: run `cargo build --release --locked`")
    rows = []
    with tempfile.TemporaryDirectory(prefix="json-bench-") as tmp:
        pack = os.path.join(tmp, "pack")
        shutil.copytree(os.path.join(VECTORS, "pack"), pack)
        with open(os.path.join(pack, "s99000009_1.0.schema.json"), "w", encoding="utf-8") as f:
            json.dump(bulk_schema(), f, ensure_ascii=False)
        schemas = {}
        for name in sorted(os.listdir(pack)):
            if name.endswith(".schema.json"):
                with open(os.path.join(pack, name), "rb") as f:
                    s = json.load(f)
                schemas[s["$id"]] = s
        bulk = os.path.join(tmp, "bulk.json")
        with open(bulk, "w", encoding="utf-8") as f:
            json.dump(bulk_document(args.people), f, ensure_ascii=False)
        docs = [
            ("form", os.path.join(VECTORS, "documents", "valid.json"), args.repeat),
            ("invalid", os.path.join(VECTORS, "documents", "invalid.json"), args.repeat),
            ("bulk", bulk, args.bulk_repeat),
        ]
        for label, path, repeat in docs:
            size = os.path.getsize(path)
            ours = poststelle_mean(args.poststelle, pack, path, repeat)
            theirs, errors = python_mean(schemas, path, repeat)
            rows.append({"document": label, "bytes": size, "violations": errors, "repeat": repeat,
                         "poststelle_ms": ours * 1e3, "python_ms": theirs * 1e3,
                         "poststelle_mb_s": size / ours / 1e6, "python_mb_s": size / theirs / 1e6,
                         "ratio": theirs / ours})
    version = importlib.metadata.version("jsonschema")
    print(f"JSON Fachdaten validation: poststelle vs Python jsonschema {version} "
          f"(mean per document, compile excluded)")
    print(f"{'document':<9} {'bytes':>10} {'errors':>6} {'poststelle ms':>14} {'python ms':>11} "
          f"{'MB/s ours':>10} {'MB/s py':>8} {'ratio':>7}")
    for r in rows:
        print(f"{r['document']:<9} {r['bytes']:>10} {r['violations']:>6} {r['poststelle_ms']:>14.4f} "
              f"{r['python_ms']:>11.4f} {r['poststelle_mb_s']:>10.1f} {r['python_mb_s']:>8.1f} "
              f"{r['ratio']:>6.1f}x")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"jsonschema": version, "rows": rows}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
