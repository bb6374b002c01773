#!/usr/bin/env python3
"""W3C XML Schema test suite (XSD 1.0: msData and boeingData) through poststelle and xmllint.

Usage (from the repository root):
  python3 conformance/w3c.py --engine both                  # table of pass rates per set
  python3 conformance/w3c.py --engine all                   # the same with the JDK (Xerces-J) too
  python3 conformance/w3c.py --engine poststelle --check    # CI: fail on unexpected results
  python3 conformance/w3c.py --engine poststelle --write-xfail conformance/w3c-xfail.tsv

Which tests run (format: common/xsts.xsd):
- every schemaTest and instanceTest of msMeta/*_w3c.xml and boeingMeta/*.testSet;
- XSD 1.0 only: the test's `version` (or its testGroup's) must name "1.0" or carry no 1.0/1.1
  token at all (absent = all versions); tests only for 1.1 are skipped;
- the `expected` element that applies to a processor supporting {1.0, Unicode_<--unicode>};
  tests whose applicable expectation is not `valid`/`invalid` (e.g. `indeterminate`) are skipped;
- tests whose `current` status is `queried` are skipped.

How a test runs:
- schema test: compile the schema documents without an instance (poststelle:
  `validate --schema S.xsd`; xmllint: `--schema S.xsd` on a dummy instance, exit 5 = not compiled).
  valid <=> compiled.
- instance test: validate the instance against its group's schema documents; a group without a
  schema test uses the instance's xsi:schemaLocation / xsi:noNamespaceSchemaLocation hints.
  Expected valid <=> outcome valid; expected invalid <=> outcome invalid (a schema that fails to
  compile is a failure of the instance test, as the W3C suite expects the schema to be valid).
- several schema documents: a generated wrapper document (in a temp dir) includes the no-namespace
  documents and imports one document per namespace (same-namespace documents are gathered by a
  per-namespace wrapper that includes them), so both engines see every document.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures as cf
import csv
import glob
import json
import os
import re
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import engines as eng  # noqa: E402

TS = "{http://www.w3.org/XML/2004/xml-schema-test-suite/}"
XLINK = "{http://www.w3.org/1999/xlink}href"
XSI = "{http://www.w3.org/2001/XMLSchema-instance}"
XS = "http://www.w3.org/2001/XMLSchema"


class Test:
    __slots__ = ("id", "suite", "set", "kind", "expected", "schema_docs", "instance", "status", "doc")

    def __init__(self, **kw):
        for k, v in kw.items():
            setattr(self, k, v)


def _applies(version: str | None) -> bool:
    """Is a test (or group) with this `version` list applicable to an XSD 1.0 processor?"""
    if not version:
        return True
    tokens = version.split()
    if "1.0" in tokens:
        return True
    # Tokens like Unicode_4.0.0 or a feature restrict nothing about 1.0 vs 1.1 by themselves.
    return not any(t in ("1.1",) for t in tokens)


def _expected(test: ET.Element, unicode: str) -> str | None:
    supported = {"1.0", f"Unicode_{unicode}"}
    chosen = None
    for e in test.findall(TS + "expected"):
        v = e.get("version")
        # On `expected`, tokens are a conjunction: all must be supported.
        if v is None or all(t in supported for t in v.split()):
            chosen = e.get("validity")
    return chosen


def _unicode_ok(test: ET.Element, group: ET.Element, unicode: str) -> bool:
    for v in (test.get("version"), group.get("version")):
        if v:
            uni = [t for t in v.split() if t.startswith("Unicode_")]
            if uni and f"Unicode_{unicode}" not in uni:
                return False
    return True


def load_tests(shared: str, unicode: str, suites: list[str]) -> tuple[list[Test], collections.Counter]:
    root = os.path.join(shared, "w3c-xsdtests")
    metas = []
    if "msData" in suites:
        metas += [("msData", p) for p in sorted(glob.glob(os.path.join(root, "msMeta", "*_w3c.xml")))]
    if "boeingData" in suites:
        metas += [("boeingData", p) for p in sorted(glob.glob(os.path.join(root, "boeingMeta", "*.testSet")))]
    tests: list[Test] = []
    skipped: collections.Counter = collections.Counter()
    seen: set[str] = set()
    for suite, meta in metas:
        set_name = os.path.basename(meta).replace("_w3c.xml", "").replace(".testSet", "")
        base = os.path.dirname(meta)
        for group in ET.parse(meta).getroot().iter(TS + "testGroup"):
            schema_docs: list[str] = []
            doc_el = group.find(f"{TS}annotation/{TS}documentation")
            gdoc = " ".join((doc_el.text or "").split()) if doc_el is not None else ""
            # Microsoft's descriptions start with "TEST :<section> : ..."; keep the informative part.
            gdoc = re.sub(r"^TEST\s*:\s*", "", gdoc).rsplit(" : ", 1)[-1]
            for t in group:
                if t.tag not in (TS + "schemaTest", TS + "instanceTest"):
                    continue
                kind = "schema" if t.tag == TS + "schemaTest" else "instance"
                if kind == "schema":
                    schema_docs = [
                        os.path.normpath(os.path.join(base, d.get(XLINK)))
                        for d in t.findall(TS + "schemaDocument")
                    ]
                version = t.get("version") or group.get("version")
                if not _applies(version):
                    skipped[(suite, "XSD 1.1 only")] += 1
                    continue
                if not _unicode_ok(t, group, unicode):
                    skipped[(suite, f"not for Unicode_{unicode}")] += 1
                    continue
                cur = t.find(TS + "current")
                status = cur.get("status") if cur is not None else ""
                if status == "queried":
                    skipped[(suite, "status queried")] += 1
                    continue
                expected = _expected(t, unicode)
                if expected not in ("valid", "invalid"):
                    skipped[(suite, f"expected {expected}")] += 1
                    continue
                tid = f"{suite}/{set_name}/{group.get('name')}/{t.get('name')}"
                n = 2
                while tid in seen:
                    tid = f"{suite}/{set_name}/{group.get('name')}/{t.get('name')}#{n}"
                    n += 1
                seen.add(tid)
                instance = None
                if kind == "instance":
                    instance = os.path.normpath(
                        os.path.join(base, t.find(TS + "instanceDocument").get(XLINK))
                    )
                tests.append(
                    Test(
                        id=tid,
                        suite=suite,
                        set=f"{suite}/{set_name}",
                        kind=kind,
                        expected=expected,
                        schema_docs=list(schema_docs) if kind == "schema" or schema_docs else None,
                        instance=instance,
                        status=status,
                        doc=gdoc,
                    )
                )
    return tests, skipped


def _hints(instance: str) -> list[str]:
    """Schema documents named by the instance root's xsi location hints."""
    try:
        for _, elem in ET.iterparse(instance, events=("start",)):
            docs = []
            loc = elem.get(XSI + "schemaLocation")
            if loc:
                parts = loc.split()
                docs += [parts[i] for i in range(1, len(parts), 2)]
            nons = elem.get(XSI + "noNamespaceSchemaLocation")
            if nons:
                docs.append(nons)
            d = os.path.dirname(instance)
            return [os.path.normpath(os.path.join(d, x)) for x in docs]
    except (ET.ParseError, OSError):
        return []
    return []


def _target_namespace(doc: str) -> str | None:
    try:
        for _, elem in ET.iterparse(doc, events=("start",)):
            return elem.get("targetNamespace")
    except (ET.ParseError, OSError):
        return None
    return None


class Wrappers:
    """Entry documents for tests with several schema documents (one per distinct list)."""

    def __init__(self, tmp: str):
        self.tmp = tmp
        self.cache: dict[tuple[str, ...], str] = {}

    def entry(self, docs: list[str]) -> str:
        if not docs:
            # An instance without schema documents or hints is assessed against an empty schema:
            # only xsi:type can make its root valid.
            path = os.path.join(self.tmp, "empty.xsd")
            if not os.path.exists(path):
                with open(path, "w", encoding="utf-8") as f:
                    f.write(f'<xs:schema xmlns:xs="{XS}"/>\n')
            return path
        if len(docs) == 1:
            return docs[0]
        key = tuple(docs)
        if key in self.cache:
            return self.cache[key]
        n = len(self.cache)
        by_ns: dict[str | None, list[str]] = {}
        for d in docs:
            by_ns.setdefault(_target_namespace(d), []).append(d)
        lines = [f'<xs:schema xmlns:xs="{XS}">']
        for ns, members in by_ns.items():
            if ns is None:
                for d in members:
                    lines.append(f'  <xs:include schemaLocation="{self._rel(d)}"/>')
            elif len(members) == 1:
                lines.append(
                    f'  <xs:import namespace="{_attr(ns)}" schemaLocation="{self._rel(members[0])}"/>'
                )
            else:
                sub = os.path.join(self.tmp, f"wrap{n}-{len(lines)}.xsd")
                with open(sub, "w", encoding="utf-8") as f:
                    f.write(f'<xs:schema xmlns:xs="{XS}" targetNamespace="{_attr(ns)}">\n')
                    for d in members:
                        f.write(f'  <xs:include schemaLocation="{self._rel(d)}"/>\n')
                    f.write("</xs:schema>\n")
                lines.append(f'  <xs:import namespace="{_attr(ns)}" schemaLocation="{os.path.basename(sub)}"/>')
        lines.append("</xs:schema>")
        path = os.path.join(self.tmp, f"wrap{n}.xsd")
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        self.cache[key] = path
        return path

    def _rel(self, doc: str) -> str:
        return _attr(os.path.relpath(doc, self.tmp))


def _attr(s: str) -> str:
    return s.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def passed(kind: str, expected: str, outcome: str) -> bool:
    if kind == "schema":
        return outcome == ("schema-error" if expected == "invalid" else "valid")
    return outcome == expected


def run_engine(engine, tests: list[Test], wrappers: Wrappers, jobs: int, timeout: float, progress: bool):
    """Runs every test through one engine; returns {test id: Result}."""
    results: dict[str, eng.Result] = {}
    work = []
    batches: dict[str, list[Test]] = collections.OrderedDict()
    for t in tests:
        if t.kind == "schema":
            work.append(("schema", wrappers.entry(t.schema_docs), [t]))
        else:
            docs = t.schema_docs if t.schema_docs else _hints(t.instance)
            entry = wrappers.entry(docs)
            if isinstance(engine, eng.Poststelle):
                batches.setdefault(entry, []).append(t)
            else:
                work.append(("instance", entry, [t]))
    for entry, ts in batches.items():
        work.append(("instance", entry, ts))

    def do(item):
        kind, entry, ts = item
        if kind == "schema":
            return ts, [engine.compile_schema(entry, timeout)]
        res = engine.validate(entry, [t.instance for t in ts], timeout)
        if len(ts) > 1 and any(r.outcome in ("crash", "timeout", "error") for r in res):
            # Isolate the culprit: one process per instance.
            res = [engine.validate(entry, [t.instance], timeout)[0] for t in ts]
        return ts, res

    start = time.monotonic()
    done = 0
    with cf.ThreadPoolExecutor(max_workers=jobs) as pool:
        for ts, res in pool.map(do, work):
            for t, r in zip(ts, res):
                results[t.id] = r
            done += 1
            if progress and done % 2000 == 0:
                print(f"  {engine.name}: {done}/{len(work)} runs, {time.monotonic() - start:.0f}s", file=sys.stderr)
    return results, time.monotonic() - start


def load_xfail(path: str) -> dict[str, str]:
    xfail: dict[str, str] = {}
    if not path or not os.path.exists(path):
        return xfail
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            tid, _, reason = line.partition("\t")
            xfail[tid] = reason
    return xfail


AREAS = {
    "Additional": "misc",
    "Annotations": "annotations",
    "Attribute": "attribute declarations",
    "AttributeGroup": "attribute groups",
    "ComplexType": "complex types",
    "DataTypes": "datatypes",
    "Element": "element declarations",
    "Errata10": "errata",
    "Group": "model groups",
    "IdentityConstraint": "identity constraints",
    "ModelGroups": "model groups",
    "Notations": "notations",
    "Particles": "particles",
    "Regex": "regex",
    "Schema": "schema composition",
    "SimpleType": "simple types",
    "Wildcards": "wildcards",
}


def reason_for(t: Test, r: eng.Result) -> str:
    """A short, honest reason category derived from what the engine actually did."""
    area = AREAS.get(t.set.split("/")[-1], t.set)
    what = {
        ("schema", "valid", "schema-error"): "valid schema rejected",
        ("schema", "invalid", "valid"): "schema error not detected",
        ("instance", "valid", "invalid"): "valid instance rejected",
        ("instance", "invalid", "valid"): "invalid instance accepted",
        ("instance", "valid", "schema-error"): "schema of a valid instance rejected",
        ("instance", "invalid", "schema-error"): "schema rejected (instance expected invalid)",
    }.get((t.kind, t.expected, r.outcome), f"{r.outcome} (expected {t.expected})")
    msg = r.messages[0] if r.messages else r.detail
    msg = re.sub(r"\s+", " ", msg)[:100]
    if msg:
        return f"{area}: {what} — engine says: {msg}"
    return f"{area}: {what} — test: {t.doc[:110]}" if t.doc else f"{area}: {what}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--engine", choices=("poststelle", "xmllint", "jdk", "both", "all"), default="both",
                    help="both: poststelle and xmllint; all: also the JDK's validator (one JVM)")
    ap.add_argument("--poststelle", help="path of the poststelle binary (default target/release/poststelle or $POSTSTELLE_BIN)")
    ap.add_argument("--shared", default=eng.shared_dir(), help="the shared test-data dir ($POSTSTELLE_SHARED)")
    ap.add_argument("--suites", default="msData,boeingData")
    ap.add_argument("--unicode", default="6.0.0", choices=("4.0.0", "6.0.0"),
                    help="Unicode version token for the Regex tests that depend on it")
    ap.add_argument("--filter", help="only test ids matching this regex")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=20.0)
    ap.add_argument("--results", help="write all results as JSON here")
    ap.add_argument("--tsv", help="write all results as TSV here")
    ap.add_argument("--xfail", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "w3c-xfail.tsv"))
    ap.add_argument("--check", action="store_true",
                    help="exit 1 if poststelle fails a test not in the xfail list")
    ap.add_argument("--write-xfail", help="write poststelle's current failures as an xfail list")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args()

    tests, skipped = load_tests(args.shared, args.unicode, args.suites.split(","))
    if args.filter:
        rx = re.compile(args.filter)
        tests = [t for t in tests if rx.search(t.id)]
    engines = eng.make_engines(args.engine, args.poststelle)
    if not args.quiet:
        for (suite, why), n in sorted(skipped.items()):
            print(f"skipped {suite}: {n} ({why})")
        print(f"running {len(tests)} tests: " + ", ".join(
            f"{s} {n}" for s, n in sorted(collections.Counter(t.suite for t in tests).items())))

    all_results: dict[str, dict[str, eng.Result]] = {}
    with tempfile.TemporaryDirectory(prefix="conf-w3c-") as tmp:
        wrappers = Wrappers(tmp)
        for e in engines:
            res, secs = run_engine(e, tests, wrappers, args.jobs, args.timeout, not args.quiet)
            all_results[e.name] = res
            print(f"{e.name} ({e.version()}): {len(tests)} tests in {secs:.1f}s")
            if hasattr(e, "close"):
                e.close()

    # Table of pass rates per set and per suite.
    names = [e.name for e in engines]
    rows: dict[str, collections.Counter] = collections.OrderedDict()
    for t in sorted(tests, key=lambda t: t.set):
        for key in (t.set, t.suite):
            c = rows.setdefault(key, collections.Counter())
            c["n"] += 1
            for n in names:
                if passed(t.kind, t.expected, all_results[n][t.id].outcome):
                    c[n] += 1
    print()
    header = f"{'set':<32} {'tests':>6}" + "".join(f" {n:>20}" for n in names)
    print(header)
    print("-" * len(header))
    for key in sorted(rows, key=lambda k: (k.split("/")[0], "/" in k, k)):
        c = rows[key]
        label = key if "/" in key else f"{key} (total)"
        cells = "".join(f" {c[n]:>7} {100.0 * c[n] / c['n']:6.1f}%     " for n in names)
        print(f"{label:<32} {c['n']:>6}{cells}")
    if len(names) >= 2:
        print()
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                agree = sum(
                    1 for t in tests
                    if passed(t.kind, t.expected, all_results[a][t.id].outcome)
                    == passed(t.kind, t.expected, all_results[b][t.id].outcome)
                )
                print(f"{a} and {b} both pass or both fail: {agree}/{len(tests)}")
    anchors = [n for n in names if n != "poststelle"]
    if "poststelle" in names and anchors:
        # The goal (issue 18): on every set, at least as many passes as the better anchor.
        behind = [
            (key, rows[key]["poststelle"], max(rows[key][n] for n in anchors))
            for key in rows
            if rows[key]["poststelle"] < max(rows[key][n] for n in anchors)
        ]
        print(f"sets where poststelle passes fewer tests than the better of {', '.join(anchors)}: "
              + (", ".join(f"{k} ({p} < {a})" for k, p, a in behind) if behind else "none"))

    if args.results or args.tsv:
        records = []
        for t in tests:
            rec = {"id": t.id, "set": t.set, "kind": t.kind, "expected": t.expected}
            for n in names:
                r = all_results[n][t.id]
                rec[n] = {"outcome": r.outcome, "pass": passed(t.kind, t.expected, r.outcome), "detail": r.detail}
            records.append(rec)
        if args.results:
            with open(args.results, "w", encoding="utf-8") as f:
                json.dump({"tests": records}, f, indent=1, ensure_ascii=False)
        if args.tsv:
            with open(args.tsv, "w", encoding="utf-8", newline="") as f:
                w = csv.writer(f, delimiter="\t", lineterminator="\n")
                w.writerow(["id", "kind", "expected", *[f"{n}_outcome" for n in names]])
                for rec in records:
                    w.writerow([rec["id"], rec["kind"], rec["expected"], *[rec[n]["outcome"] for n in names]])

    status = 0
    if "poststelle" in names:
        res = all_results["poststelle"]
        xfail = load_xfail(args.xfail)
        failing = [t for t in tests if not passed(t.kind, t.expected, res[t.id].outcome)]
        unexpected = [t for t in failing if t.id not in xfail]
        xpass = [t for t in tests if t.id in xfail and passed(t.kind, t.expected, res[t.id].outcome)]
        crashes = [t for t in tests if res[t.id].outcome in ("crash", "timeout")]
        print(f"\npoststelle: {len(failing)} failing, {len(failing) - len(unexpected)} of them xfail, "
              f"{len(unexpected)} unexpected, {len(xpass)} xpass (xfail list: {len(xfail)} entries), "
              f"{len(crashes)} crashes/timeouts")
        if args.write_xfail:
            with open(args.write_xfail, "w", encoding="utf-8") as f:
                f.write("# W3C XSD 1.0 tests poststelle is known to fail (generated by\n"
                        "# `python3 conformance/w3c.py --engine poststelle --write-xfail ...`, then reviewed).\n"
                        "# test id<TAB>reason (area: what goes wrong — first engine message)\n")
                for t in failing:
                    f.write(f"{t.id}\t{reason_for(t, res[t.id])}\n")
            print(f"wrote {len(failing)} xfail entries to {args.write_xfail}")
        if args.check:
            for t in unexpected[:50]:
                r = res[t.id]
                print(f"UNEXPECTED FAIL {t.id}: expected {t.expected}, got {r.outcome} {r.detail[:160]}")
            for t in xpass[:50]:
                print(f"XPASS {t.id} (remove it from the xfail list)")
            if crashes:
                for t in crashes[:20]:
                    print(f"CRASH/TIMEOUT {t.id}: {res[t.id].detail[:160]}")
            if unexpected:
                status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
