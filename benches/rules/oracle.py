#!/usr/bin/env python3
"""Business-rules oracle (issue 16): poststelle's Schematron engine against SaxonC-HE.

Usage (from the repository root, after a cargo build):
  python3 benches/rules/oracle.py                        # agreement report
  python3 benches/rules/oracle.py --check                # CI: fail on unexplained disagreements
  python3 benches/rules/oracle.py --keep DIR             # keep the mutated messages in DIR
  python3 benches/rules/oracle.py --bench-saxon RUNS     # only (c) of benches/rules: JSON timings

Reference: SaxonC-HE (PyPI saxonche 13.1.1) runs the official XBau 2.6 Schematron files
(xbau-schematron.sch, xbau-schematron-leere-elemente.sch) compiled to XSLT 3.0 by the small
skeleton below (no third-party skeleton): per pattern one mode; each rule one template whose
match is the rule context and whose priority falls with the rule's position, so that the first
matching rule of a pattern fires once per node in document order (ISO semantics; the default
templates walk the child elements); abstract rules are expanded into the rules that extend them;
`sch:ns` prefixes are declared. Each assert/report is wrapped in `xsl:try`, so a dynamic error
(e.g. XPTY0004) is reported for that assert and its context node instead of ending the run.

Documents: the 20 XBau samples plus the mutations of benches/rules/mutate.py (seeded), written
to a temporary directory. Ours: one `poststelle validate --rules --json` process over all of
them, with XBau 2.6 installed into a temporary packs directory. Only XSD-valid documents are
compared (the rules run on those only); the XSD-invalid ones are counted and listed.

Per document the multiset of failed-assert ids and the multiset of asserts with a dynamic error
(Saxon) / processing error (ours) must be equal; code-list findings are not compared. Agreement
must be >= 99.5 % and every disagreement must be explained in benches/rules/disagreements.txt
(a line `<document id> <rule id> — explanation`), else --check exits 1.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape, quoteattr

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "conformance"))
import mutate  # noqa: E402
import xbau  # noqa: E402

SCH = "http://purl.oclc.org/dsdl/schematron"
SCH_FILES = ["xbau-schematron.sch", "xbau-schematron-leere-elemente.sch"]
REQUIRED_AGREEMENT = 0.995


# --- the skeleton: ISO Schematron (the subset XÖV uses) to XSLT 3.0 -----------------------------

def schematron_to_xslt(path: str) -> tuple[str, int]:
    """XSLT 3.0 text for a Schematron file, and its number of concrete rules.

    Output of the stylesheet (text): one line per finding, `F<TAB>assert-id<TAB>path` for a
    failed assert or successful report, `E<TAB>assert-id<TAB>path<TAB>error-code` for a dynamic
    error in an assert's test.
    """
    root = ET.parse(path).getroot()
    q = lambda n: f"{{{SCH}}}{n}"  # noqa: E731
    if root.get("queryBinding", "xslt") not in ("xslt2", "xslt3"):
        raise SystemExit(f"{path}: queryBinding {root.get('queryBinding')!r} is not xslt2/xslt3")
    for unsupported in ("include", "phase", "diagnostics"):
        if root.find(f".//{q(unsupported)}") is not None:
            raise SystemExit(f"{path}: sch:{unsupported} is not supported by this skeleton")
    ns = {"sch": SCH, "err": "http://www.w3.org/2005/xqt-errors"}
    for n in root.findall(q("ns")):
        ns[n.get("prefix")] = n.get("uri")
    abstract = {r.get("id"): r for r in root.iter(q("rule")) if r.get("abstract") == "true"}

    def checks(rule: ET.Element, seen: tuple[str, ...] = ()) -> list[tuple[str, ET.Element]]:
        """The lets, asserts and reports of a rule, with extends expanded in place."""
        out = []
        for c in rule:
            if c.tag == q("extends"):
                rid = c.get("rule")
                if rid in seen or rid not in abstract:
                    raise SystemExit(f"{path}: extends of unknown or cyclic rule {rid!r}")
                out.extend(checks(abstract[rid], (*seen, rid)))
            elif c.tag in (q("let"), q("assert"), q("report")):
                out.append((c.tag.split("}")[1], c))
        return out

    decls = " ".join(f"xmlns:{p}={quoteattr(u)}" for p, u in ns.items())
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<xsl:stylesheet version="3.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform" {decls}'
        ' exclude-result-prefixes="#all">',
        '<xsl:output method="text"/>',
    ]
    for let in root.findall(q("let")):
        lines.append(f'<xsl:variable name={quoteattr(let.get("name"))} select={quoteattr(let.get("value"))}/>')
    patterns = root.findall(q("pattern"))
    lines.append('<xsl:template match="/">')
    lines += [f'<xsl:apply-templates select="/" mode="M{i}"/>' for i in range(len(patterns))]
    lines.append("</xsl:template>")
    concrete = 0
    for i, pat in enumerate(patterns):
        rules = [r for r in pat.findall(q("rule")) if r.get("abstract") != "true"]
        concrete += len(rules)
        for j, rule in enumerate(rules):
            lines.append(
                f'<xsl:template match={quoteattr(rule.get("context"))} priority="{1000 + len(rules) - j}" mode="M{i}">'
            )
            for k, (kind, c) in enumerate(checks(rule)):
                if kind == "let":
                    lines.append(f'<xsl:variable name={quoteattr(c.get("name"))} select={quoteattr(c.get("value"))}/>')
                    continue
                rid = c.get("id") or f"pattern{i}-rule{j}-{kind}{k}"
                test = c.get("test")
                cond = f"not({test})" if kind == "assert" else f"({test})"
                lines.append(
                    f"<xsl:try><xsl:if test={quoteattr(cond)}><xsl:text>F\t{escape(rid)}\t</xsl:text>"
                    '<xsl:value-of select="path()"/><xsl:text>&#10;</xsl:text></xsl:if>'
                    f"<xsl:catch><xsl:text>E\t{escape(rid)}\t</xsl:text><xsl:value-of select=\"path()\"/>"
                    '<xsl:text>\t</xsl:text><xsl:value-of select="local-name-from-QName($err:code)"/>'
                    "<xsl:text>&#10;</xsl:text></xsl:catch></xsl:try>"
                )
            lines.append(f'<xsl:apply-templates select="*" mode="M{i}"/></xsl:template>')
        lines.append(f'<xsl:template match="text()" priority="-1" mode="M{i}"/>')
        lines.append(
            f'<xsl:template match="@*|node()" priority="-2" mode="M{i}"><xsl:apply-templates select="*" mode="M{i}"/></xsl:template>'
        )
    lines.append("</xsl:stylesheet>")
    return "\n".join(lines), concrete


class Saxon:
    """A warm SaxonC-HE processor with the rule files compiled once."""

    def __init__(self, sch_paths: list[str]):
        from saxonche import PySaxonProcessor

        self.proc = PySaxonProcessor(license=False)
        self.version = self.proc.version
        xslt = self.proc.new_xslt30_processor()
        self.executables = []
        for p in sch_paths:
            text, _ = schematron_to_xslt(p)
            self.executables.append(xslt.compile_stylesheet(stylesheet_text=text))

    def parse(self, path: str):
        return self.proc.parse_xml(xml_file_name=path)

    def evaluate(self, node) -> list[list[str]]:
        """The finding lines of every rule file for a parsed document."""
        out = []
        for ex in self.executables:
            text = ex.transform_to_string(xdm_node=node) or ""
            out.extend(line.split("\t") for line in text.splitlines() if line)
        return out


def saxon_results(saxon: Saxon, paths: list[str]) -> dict[str, dict]:
    res = {}
    for p in paths:
        try:
            lines = saxon.evaluate(saxon.parse(p))
        except Exception as e:  # noqa: BLE001 - a failed run is a result to compare
            res[p] = {"failed": collections.Counter(), "errors": collections.Counter(), "fatal": str(e)[:200], "where": {}}
            continue
        failed = collections.Counter(l[1] for l in lines if l[0] == "F")
        errors = collections.Counter(l[1] for l in lines if l[0] == "E")
        where = collections.defaultdict(list)
        for l in lines:
            where[l[1]].append(l[2] + (f" ({l[3]})" if l[0] == "E" else ""))
        res[p] = {"failed": failed, "errors": errors, "fatal": None, "where": dict(where)}
    return res


# --- poststelle -----------------------------------------------------------------------------------

def find_poststelle(given: str | None) -> str:
    if given:
        return os.path.abspath(given)
    for profile in ("release", "debug"):
        p = os.path.join(REPO, "target", profile, "poststelle")
        if os.path.exists(p):
            return p
    raise SystemExit("no poststelle binary: build one (cargo build --release) or pass --poststelle")


def install_pack(poststelle: str, shared: str, packs: str) -> None:
    env = dict(os.environ, POSTSTELLE_PACKS=packs, POSTSTELLE_SHARED="/nonexistent-shared")
    out = subprocess.run([poststelle, "schemas", "install", os.path.join(xbau.xbau_dir(shared), "xsd_dev")],
                         env=env, capture_output=True, text=True, cwd=REPO)
    if out.returncode != 0:
        raise SystemExit(f"schemas install failed: {out.stdout}{out.stderr}")


def poststelle_results(poststelle: str, packs: str, paths: list[str]) -> tuple[dict[str, dict], float]:
    env = dict(os.environ, POSTSTELLE_PACKS=packs, POSTSTELLE_SHARED="/nonexistent-shared")
    start = time.perf_counter()
    out = subprocess.run([poststelle, "validate", "--rules", "--json", *paths],
                         env=env, capture_output=True, text=True, cwd=REPO)
    wall = time.perf_counter() - start
    if out.returncode not in (0, 1):
        raise SystemExit(f"poststelle validate exited {out.returncode}: {out.stderr[-2000:]}")
    doc = json.loads(out.stdout)
    res = {}
    for f in doc["files"]:
        xsd_errors = f.get("errors", [])
        findings = f.get("findings")
        r = {"xsd_valid": not xsd_errors and findings is not None, "xsd_errors": xsd_errors,
             "truncated": bool(f.get("findings_truncated")), "where": collections.defaultdict(list)}
        kinds = collections.defaultdict(collections.Counter)
        for x in findings or []:
            kinds[x["kind"]][x["rule"]] += 1
            r["where"][x["rule"]].append(f'{x.get("path", "")}:{x.get("line")}' + (" (processing error)" if x["kind"] == "processing-error" else ""))
        r["failed"] = kinds["failed-assert"] + kinds["successful-report"]
        r["errors"] = kinds["processing-error"]
        res[f["file"]] = r
    return res, wall


# --- comparison -------------------------------------------------------------------------------

def load_explained(path: str) -> dict[tuple[str, str], str]:
    """`<document id> <rule id> <explanation>` lines (# comments): (doc, rule) -> text."""
    out = {}
    if not os.path.exists(path):
        return out
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split(None, 2)
            if len(parts) == 3:
                out[(parts[0], parts[1])] = parts[2]
    return out


def compare(o: dict, s: dict) -> list[tuple[str, object, object]]:
    """Differences of one document: (rule, ours (failed, errors), Saxon's) per rule whose counts
    differ; a failed Saxon run and truncated findings of ours are differences too."""
    diffs: list[tuple[str, object, object]] = []
    rules = set(o["failed"]) | set(s["failed"]) | set(o["errors"]) | set(s["errors"])
    for r in sorted(rules):
        a = (o["failed"][r], o["errors"][r])
        b = (s["failed"][r], s["errors"][r])
        if a != b:
            diffs.append((r, a, b))
    if s.get("fatal"):
        diffs.append(("(saxon)", (0, 0), s["fatal"]))
    if o.get("truncated"):
        diffs.append(("(findings truncated)", "", ""))
    return diffs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", default=os.environ.get("POSTSTELLE_SHARED", os.path.join(REPO, "..", "shared")))
    ap.add_argument("--poststelle", help="binary (default: target/release or target/debug)")
    ap.add_argument("--seed", type=int, default=16)
    ap.add_argument("--count", type=int, default=720, help="mutations (default 720)")
    ap.add_argument("--check", action="store_true", help="exit 1 on unexplained disagreements or < 99.5 %%")
    ap.add_argument("--keep", metavar="DIR", help="write the documents to DIR (kept)")
    ap.add_argument("--disagreements", default=os.path.join(HERE, "disagreements.txt"))
    ap.add_argument("--json", metavar="FILE", help="write the per-document results to FILE")
    ap.add_argument("--bench-saxon", type=int, metavar="RUNS",
                    help="only time SaxonC-HE on the 20 samples (RUNS evaluations each; JSON on stdout)")
    args = ap.parse_args()
    shared = os.path.abspath(args.shared)
    sch_dir = os.path.join(xbau.xbau_dir(shared), "sch")
    if not os.path.isdir(sch_dir):
        print(f"skipped: shared XBau 2.6 data missing at {sch_dir}")
        return 1 if os.environ.get("CI") else 0
    sch_paths = [os.path.join(sch_dir, f) for f in SCH_FILES]
    asserts = [a.get("id") for p in sch_paths for a in ET.parse(p).getroot().iter(f"{{{SCH}}}assert")]
    samples = xbau.valid_samples(shared)

    if args.bench_saxon:
        return bench_saxon(sch_paths, samples, args.bench_saxon)

    started = time.perf_counter()
    muts = mutate.generate(shared, args.seed, args.count)
    tmp = tempfile.TemporaryDirectory(prefix="rules-oracle-")
    work = args.keep or tmp.name
    os.makedirs(work, exist_ok=True)
    docs: list[tuple[str, str, str]] = []  # (id, kind, path)
    for s in samples:
        docs.append((mutate.short_name(s), "sample", s))
    for j, m in enumerate(muts):
        p = os.path.join(work, f"m{j:04d}.xml")
        with open(p, "w", encoding="utf-8") as f:
            f.write(m["text"])
        docs.append((m["id"], m["kind"], p))
    desc = {m["id"]: m["description"] for m in muts}

    poststelle = find_poststelle(args.poststelle)
    packs = os.path.join(tmp.name, "packs")
    install_pack(poststelle, shared, packs)
    ours, ours_wall = poststelle_results(poststelle, packs, [p for _, _, p in docs])
    t = time.perf_counter()
    saxon = Saxon(sch_paths)
    theirs = saxon_results(saxon, [p for _, _, p in docs])
    saxon_wall = time.perf_counter() - t

    explained = load_explained(args.disagreements)
    invalid, compared, agree = [], 0, 0
    disagreements = []  # (doc id, rule, ours, saxon, explanation)
    both = collections.Counter()
    both_errors = collections.Counter()
    per_kind = collections.defaultdict(lambda: [0, 0])
    dump = []
    for did, kind, p in docs:
        o, s = ours.get(p), theirs[p]
        if o is None or not o["xsd_valid"]:
            invalid.append((did, (o or {}).get("xsd_errors", [{"message": "no result"}])[:1]))
            continue
        compared += 1
        per_kind[kind][0] += 1
        diffs = compare(o, s)
        for r in set(o["failed"]) & set(s["failed"]):
            both[r] += min(o["failed"][r], s["failed"][r])
        for r in set(o["errors"]) & set(s["errors"]):
            both_errors[r] += min(o["errors"][r], s["errors"][r])
        dump.append({"id": did, "kind": kind, "ours": dict(o["failed"]), "ours_errors": dict(o["errors"]),
                     "saxon": dict(s["failed"]), "saxon_errors": dict(s["errors"])})
        if not diffs:
            agree += 1
            per_kind[kind][1] += 1
        for r, a, b in diffs:
            disagreements.append((did, r, a, b, explained.get((did, r)), o["where"].get(r), s["where"].get(r)))

    total = len(docs)
    print(f"SaxonC-HE: {saxon.version}; poststelle: {poststelle}")
    print(f"documents: {total} ({len(samples)} samples + {len(muts)} mutations, seed {args.seed}); "
          f"XSD-invalid (not compared): {len(invalid)}; compared: {compared}; agreeing: {agree} "
          f"({100.0 * agree / max(compared, 1):.2f} %)")
    print("per kind (compared / agreeing): " + ", ".join(f"{k} {v[0]}/{v[1]}" for k, v in per_kind.items()))
    print("failed asserts found by both (count over documents):")
    for r, n in sorted(both.items()):
        print(f"  {r:<20} {n}")
    print("processing errors (ours) = dynamic errors (Saxon) found by both: "
          + (", ".join(f"{r} {n}" for r, n in sorted(both_errors.items()) if n) or "none"))
    never = sorted(set(asserts) - {r for r in both if both[r]})
    if never:
        print("asserts that never failed in both: " + ", ".join(never))
    print(f"time: poststelle one process {ours_wall:.2f} s, SaxonC-HE {saxon_wall:.2f} s, "
          f"whole run {time.perf_counter() - started:.1f} s")
    for did, errs in invalid[:10]:
        print(f"  XSD-invalid: {did}: {(errs[0].get('message') if errs else '')[:120]}")
    if len(invalid) > 10:
        print(f"  … and {len(invalid) - 10} more XSD-invalid")
    unexplained = 0
    for did, r, a, b, why, ow, sw in disagreements:
        state = f"explained: {why}" if why else "UNEXPLAINED"
        print(f"  disagreement {did} {r}: ours (failed, errors) {a}, saxon {b} — {state}")
        if not why:
            unexplained += 1
            print(f"    {desc.get(did, '')!r}; ours at {ow}; saxon at {sw}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"documents": dump, "invalid": [d for d, _ in invalid]}, f, indent=1)
    ok = compared > 0 and agree / compared >= REQUIRED_AGREEMENT and unexplained == 0
    if len(muts) - sum(1 for d, _ in invalid if ":" in d) < 500:
        print("fewer than 500 XSD-valid mutations compared")
        ok = False
    print("oracle: " + ("ok" if ok else f"FAILED ({unexplained} unexplained disagreement(s))"))
    return 0 if ok or not args.check else 1


def bench_saxon(sch_paths: list[str], samples: list[str], runs: int) -> int:
    """(c) of the rules benchmark: median evaluation time per message (wall and process CPU) with
    a warm processor (stylesheets compiled and documents parsed before timing; only the
    transforms are timed)."""
    saxon = Saxon(sch_paths)
    nodes = [saxon.parse(p) for p in samples]
    for n in nodes:  # warm-up (JIT-less native image, but caches and first-use paths)
        saxon.evaluate(n)
    per, per_cpu = [], []
    for n in nodes:
        times, cpu = [], []
        for _ in range(runs):
            t, c = time.perf_counter(), time.process_time()
            saxon.evaluate(n)
            cpu.append(time.process_time() - c)
            times.append(time.perf_counter() - t)
        per.append(statistics.median(times))
        per_cpu.append(statistics.median(cpu))
    # CPU time of the whole process (all threads, the native image's included): unlike wall
    # time it does not grow when other work on the machine preempts the run.
    print(json.dumps({"engine": saxon.version, "runs": runs, "median_per_message_s": statistics.median(per),
                      "cpu_median_per_message_s": statistics.median(per_cpu),
                      "per_message_s": dict(zip([mutate.short_name(s) for s in samples], per))}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
