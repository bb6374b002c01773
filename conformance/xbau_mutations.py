#!/usr/bin/env python3
"""Differential test: single mutations of the XBau 2.6 samples through poststelle and xmllint.

Usage (from the repository root):
  python3 conformance/xbau_mutations.py --engine both               # agreement report
  python3 conformance/xbau_mutations.py --engine both --check       # CI: fail on unexplained
  python3 conformance/xbau_mutations.py --engine xmllint --keep DIR # keep the mutated files

The generator is deterministic (seeded; same seed, same samples -> same mutations and ids). For
each of the 20 valid samples it enumerates every candidate single mutation, then draws a fixed
number per sample, round-robin over the mutation kinds so that every kind is covered:

  remove, duplicate, reorder (swap with next sibling), rename (unknown name / another element's
  name), code (bad code-list values), date (bad date/dateTime/time values), uuid (bad UUIDs),
  din91379 (characters outside / inside DIN SPEC 91379), fixed (wrong fixed attribute values),
  unknown-element, unknown-attribute, whitespace (leading/trailing/inner whitespace, empty
  values), number (bad integers/decimals), nil (xsi:nil on non-nillable elements).

Each mutated message is validated by both engines against its entry XSD (ROOTS.tsv). The report
gives the agreement overall and per kind, and lists each disagreement. With `--check` the run
fails when a disagreement is not explained in conformance/libxml2-disagreements.md (a table whose
first column is the mutation id in backticks), or when the unmutated samples do not give the
expected verdicts (20 valid, 10 negatives invalid).
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures as cf
import json
import os
import random
import re
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import engines as eng  # noqa: E402
import xbau  # noqa: E402

UUID_RE = re.compile(r"^\s*[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\s*$")
DATETIME_RE = re.compile(r"^\s*-?\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?\s*$")
DATE_RE = re.compile(r"^\s*-?\d{4}-\d{2}-\d{2}(Z|[+-]\d{2}:\d{2})?\s*$")
TIME_RE = re.compile(r"^\s*\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?\s*$")
INT_RE = re.compile(r"^\s*[+-]?\d+\s*$")
DEC_RE = re.compile(r"^\s*[+-]?(\d+\.\d*|\.\d+)\s*$")
BOOL_RE = re.compile(r"^\s*(true|false)\s*$")
WORDS_RE = re.compile(r"[A-Za-zÄÖÜäöüß]{2,}")

BAD_CODES = ["9999", "X", "", "0" * 40, "S2 S2", "s2"]
BAD_DATETIMES = [
    "2026-13-01T10:00:00Z", "2026-02-30T10:00:00Z", "2026-01-01T25:00:00Z", "2026-01-01 10:00:00",
    "2026-01-01T10:00:00+15:00", "0000-01-01T10:00:00Z", "2026-01-01T10:00Z", "26-01-01T10:00:00",
    "2026-01-01T24:00:00Z", "2026-01-01t10:00:00z", "2026-01-01T10:00:60Z", "2024-02-29T10:00:00Z",
]
BAD_DATES = ["2026-13-01", "2026-02-29", "2026-1-5", "2026-01-32", "01.02.2026", "2024-02-29", "-0001-01-01", "20260101"]
BAD_TIMES = ["25:00:00", "10:00", "24:00:00", "10:00:00.5Z", "1:00:00"]
BAD_UUIDS = [
    "g4a1150c-8fae-4fd0-81bb-516b0547316b", "e4a1150c8fae4fd081bb516b0547316b",
    "E4A1150C-8FAE-4FD0-81BB-516B0547316B", "{e4a1150c-8fae-4fd0-81bb-516b0547316b}",
    "e4a1150c-8fae-4fd0-81bb-516b0547316", "e4a1150c-8fae-4fd0-81bb-516b0547316bb",
    "urn:uuid:e4a1150c-8fae-4fd0-81bb-516b0547316b",
]
# DIN SPEC 91379 data types: some characters outside every set, some inside (Latin with
# diacritics, combining sequences from the normative list), some only in the wider sets.
DIN_CHARS = [
    ("王", "CJK ideograph"), ("😀", "emoji (non-BMP)"), ("–", "en dash U+2013"),
    ("€", "euro sign"), ("Ā", "A with macron (in set)"), ("Ǻ", "A ring acute (in set)"),
    ("L\u0331", "L + combining macron below (normative sequence)"), ("\u0301", "lone combining acute"),
    ("\u00a0", "no-break space"), ("\u200b", "zero width space"), ("ẞ", "capital sharp s (in set)"),
    ("Ω", "Greek capital omega"), ("\ufffd", "replacement character"), ("\t", "tab"),
    ("¿", "inverted question mark"), ("ŉ", "n preceded by apostrophe"),
]
FIXED_ATTRS = ("listURI", "listVersionID", "version", "standard", "produkt", "produkthersteller", "produktversion")
BAD_NUMBERS = ["-1", "1.5", "abc", "+1", "01", "1e3", " ", "99999999999999999999999", "0x10", "1,5"]
KINDS = [
    "remove", "duplicate", "reorder", "rename", "code", "date", "uuid", "din91379", "fixed",
    "unknown-element", "unknown-attribute", "whitespace", "number", "nil",
]


def _esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")


def set_leaf_text(doc: xbau.Doc, i: int, value: str) -> str:
    """The document with the content of leaf element `i` replaced by `value` (escaped)."""
    e = doc.elems[i]
    t = doc.text
    if e.self_closing:
        stag = t[e.start : e.stag_end - 2].rstrip() + ">"
        return t[: e.start] + stag + _esc(value) + f"</{e.qname}>" + t[e.end :]
    return t[: e.stag_end] + _esc(value) + t[e.etag_start :]


def candidates(doc: xbau.Doc) -> dict[str, list[tuple[str, str]]]:
    """Every single mutation of a document: kind -> [(description, mutated text)]."""
    t = doc.text
    out: dict[str, list[tuple[str, str]]] = {k: [] for k in KINDS}
    names = sorted({e.qname for e in doc.elems})

    def splice(a: int, b: int, new: str) -> str:
        return t[:a] + new + t[b:]

    def set_text(i: int, value: str) -> str:
        return set_leaf_text(doc, i, value)

    for i, e in enumerate(doc.elems):
        p = doc.path(i)
        if i > 0:
            out["remove"].append((f"remove {p}", splice(e.start, e.end, "")))
            out["duplicate"].append((f"duplicate {p}", t[: e.end] + t[e.start : e.end] + t[e.end :]))
            sibs = doc.elems[e.parent].children
            k = sibs.index(i)
            if k + 1 < len(sibs):
                f = doc.elems[sibs[k + 1]]
                if f.qname != e.qname:
                    out["reorder"].append(
                        (f"swap {p} with next sibling {f.local}",
                         t[: e.start] + t[f.start : f.end] + t[e.end : f.start] + t[e.start : e.end] + t[f.end :])
                    )
            for new, why in ((e.qname + "X", "unknown name"),):
                out["rename"].append((f"rename {p} to {new} ({why})", _rename(doc, i, new)))
            other = names[(names.index(e.qname) + 7) % len(names)]
            if other != e.qname:
                out["rename"].append((f"rename {p} to {other} (another element's name)", _rename(doc, i, other)))
            out["nil"].append((f"xsi:nil on {p}", _add_attr(doc, i, 'xsi:nil="true"', xsi=True)))
        # unknown elements: as first child, and after the element
        if not e.self_closing and e.children:
            out["unknown-element"].append(
                (f"unknown element as first child of {p}", splice(e.stag_end, e.stag_end, "<unbekanntesElement/>"))
            )
        if i > 0:
            out["unknown-element"].append(
                (f"unknown element after {p}", splice(e.end, e.end, f"<{e.prefix + ':' if e.prefix else ''}unbekannt>x</{e.prefix + ':' if e.prefix else ''}unbekannt>"))
            )
        out["unknown-attribute"].append((f"unknown attribute on {p}", _add_attr(doc, i, 'unbekannt="x"')))
        if e.prefix and i == 0:
            out["unknown-attribute"].append(
                (f"unknown qualified attribute on {p}", _add_attr(doc, i, f'{e.prefix}:unbekannt="x"'))
            )
        for a in e.attrs:
            if a.name in FIXED_ATTRS:
                for v in ("urn:example:wrong", a.value + " ", "", a.value + "9"):
                    if v != a.value:
                        out["fixed"].append(
                            (f"{p}/@{a.name} = {v!r}", splice(a.value_start, a.value_end, _esc(v)))
                        )
        text = doc.leaf_text(i)
        if text is None or e.children:
            continue
        if e.local == "code":
            for v in BAD_CODES:
                out["code"].append((f"{p} = {v!r}", set_text(i, v)))
            out["whitespace"].append((f"{p} padded with spaces", set_text(i, f"  {text.strip()}  ")))
            out["whitespace"].append((f"{p} with CR LF inside", set_text(i, f"\r\n{text.strip()}\r\n")))
        if DATETIME_RE.match(text):
            for v in BAD_DATETIMES:
                out["date"].append((f"{p} = {v!r}", set_text(i, v)))
        elif DATE_RE.match(text):
            for v in BAD_DATES:
                out["date"].append((f"{p} = {v!r}", set_text(i, v)))
        elif TIME_RE.match(text):
            for v in BAD_TIMES:
                out["date"].append((f"{p} = {v!r}", set_text(i, v)))
        if UUID_RE.match(text):
            for v in BAD_UUIDS:
                out["uuid"].append((f"{p} = {v!r}", set_text(i, v)))
        if (INT_RE.match(text) or DEC_RE.match(text) or BOOL_RE.match(text)) and e.local != "code":
            for v in BAD_NUMBERS + (["1", "TRUE", "yes"] if BOOL_RE.match(text) else []):
                out["number"].append((f"{p} = {v!r}", set_text(i, v)))
        if WORDS_RE.search(text) and not UUID_RE.match(text) and e.local != "code":
            for ch, why in DIN_CHARS:
                out["din91379"].append((f"{p} + {why}", set_text(i, text + ch)))
            out["whitespace"].append((f"{p} with leading/trailing spaces", set_text(i, f" {text} ")))
            out["whitespace"].append((f"{p} with inner tab and newline", set_text(i, text.replace(" ", "\t\n", 1) if " " in text else text + "\t")))
        out["whitespace"].append((f"{p} emptied", set_text(i, "")))
        out["whitespace"].append((f"{p} whitespace only", set_text(i, " \n ")))
    return out


def _rename(doc: xbau.Doc, i: int, new: str) -> str:
    e = doc.elems[i]
    t = doc.text
    start = t[: e.start + 1] + new + t[e.start + 1 + len(e.qname) :]
    if e.self_closing:
        return start
    shift = len(new) - len(e.qname)
    es = e.etag_start + shift
    return start[: es + 2] + new + start[es + 2 + len(e.qname) :]


def _add_attr(doc: xbau.Doc, i: int, attr: str, xsi: bool = False) -> str:
    e = doc.elems[i]
    t = doc.text
    close = e.stag_end - (2 if e.self_closing else 1)
    if xsi:
        attr = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ' + attr
        if any(a.name == "xmlns:xsi" for a in e.attrs):
            attr = attr.split(" ", 1)[1]
    return t[:close] + " " + attr + t[close:]


def generate(shared: str, seed: int, per_sample: int) -> list[dict]:
    """The deterministic list of mutations: {id, sample, kind, description, text, entry}."""
    rng = random.Random(seed)
    muts = []
    for si, sample in enumerate(xbau.valid_samples(shared)):
        with open(sample, encoding="utf-8") as f:
            text = f.read()
        doc = xbau.parse(text)
        entry = xbau.entry_for(text, shared)
        cands = candidates(doc)
        short = os.path.basename(os.path.dirname(sample)).replace("fv-", "") + "/" + re.sub(r"_sample$|_[0-9a-f-]{36}$", "", os.path.basename(sample)[:-4])
        pools = {k: list(range(len(v))) for k, v in cands.items()}
        for k in KINDS:
            rng.shuffle(pools[k])
        picked = 0
        # Each sample starts the round-robin at another kind, so small counts still cover all kinds.
        order = KINDS[si % len(KINDS) :] + KINDS[: si % len(KINDS)]
        while picked < per_sample and any(pools.values()):
            for k in order:
                if picked >= per_sample or not pools[k]:
                    continue
                n = pools[k].pop()
                desc, mutated = cands[k][n]
                muts.append({
                    "id": f"{short}:{k}:{n}", "sample": sample, "kind": k,
                    "description": desc, "text": mutated, "entry": entry,
                })
                picked += 1
    return muts


def load_explained(path: str) -> dict[str, str]:
    """Mutation ids explained in the disagreements list (first table column, in backticks)."""
    out = {}
    if not os.path.exists(path):
        return out
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"\|\s*`([^`]+)`\s*\|(.*)", line)
            if m:
                out[m.group(1)] = m.group(2).strip()
    return out


def run(engine, jobs: list[tuple[str, str]], timeout: float) -> dict[str, eng.Result]:
    """jobs: [(entry xsd, file)] -> {file: Result}. poststelle batches files per entry."""
    results: dict[str, eng.Result] = {}
    if isinstance(engine, eng.Poststelle):
        by_entry: dict[str, list[str]] = collections.defaultdict(list)
        for entry, f in jobs:
            by_entry[entry].append(f)
        work = []
        for entry, files in by_entry.items():
            for i in range(0, len(files), 100):
                work.append((entry, files[i : i + 100]))
    else:
        work = [(entry, [f]) for entry, f in jobs]

    def do(item):
        entry, files = item
        res = engine.validate(entry, files, timeout)
        if len(files) > 1 and any(r.outcome in ("crash", "timeout", "error") for r in res):
            res = [engine.validate(entry, [f], timeout)[0] for f in files]
        return files, res

    with cf.ThreadPoolExecutor(max_workers=2) as pool:
        for files, res in pool.map(do, work):
            results.update(zip(files, res))
    return results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--engine", choices=("poststelle", "xmllint", "both"), default="both")
    ap.add_argument("--poststelle", help="poststelle binary (default target/release/poststelle or $POSTSTELLE_BIN)")
    ap.add_argument("--shared", default=eng.shared_dir())
    ap.add_argument("--seed", type=int, default=20261123)
    ap.add_argument("--per-sample", type=int, default=60, help="mutations per sample (20 samples)")
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--keep", help="write the mutated files here (default: a temp dir, removed)")
    ap.add_argument("--results", help="write all results as JSON here")
    ap.add_argument("--explained", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "libxml2-disagreements.md"))
    ap.add_argument("--check", action="store_true", help="exit 1 on unexplained disagreements")
    ap.add_argument("--list", action="store_true", help="only list the mutations")
    args = ap.parse_args()

    muts = generate(args.shared, args.seed, args.per_sample)
    if args.list:
        for m in muts:
            print(f"{m['id']}\t{m['description']}")
        print(f"{len(muts)} mutations", file=sys.stderr)
        return 0
    engines = eng.make_engines(args.engine, args.poststelle)
    tmp = args.keep or tempfile.mkdtemp(prefix="conf-mut-")
    os.makedirs(tmp, exist_ok=True)
    try:
        jobs = []
        for n, m in enumerate(muts):
            path = os.path.join(tmp, f"m{n:05d}.xml")
            with open(path, "w", encoding="utf-8", newline="") as f:
                f.write(m["text"])
            m["file"] = path
            jobs.append((m["entry"], path))
        # Baseline: the unmutated samples and the 10 curated negatives.
        base = [(xbau.entry_for(open(s, encoding="utf-8").read(), args.shared), s, "valid")
                for s in xbau.valid_samples(args.shared)]
        base += [(xbau.entry_for(open(s, encoding="utf-8").read(), args.shared), s, "invalid")
                 for s in xbau.negative_samples(args.shared)]
        verdicts: dict[str, dict[str, eng.Result]] = {}
        base_ok = True
        for e in engines:
            start = time.monotonic()
            verdicts[e.name] = run(e, jobs + [(b[0], b[1]) for b in base], args.timeout)
            secs = time.monotonic() - start
            good = sum(1 for entry, f, exp in base if verdicts[e.name][f].outcome == exp)
            print(f"{e.name} ({e.version()}): {len(jobs)} mutations + {len(base)} baseline files in {secs:.1f}s; "
                  f"baseline verdicts as expected: {good}/{len(base)}")
            for entry, f, exp in base:
                r = verdicts[e.name][f]
                if r.outcome != exp:
                    base_ok = False
                    print(f"  BASELINE {os.path.basename(f)}: expected {exp}, got {r.outcome} {r.detail[:200]}")
        names = [e.name for e in engines]
        per_kind: dict[str, collections.Counter] = collections.OrderedDict((k, collections.Counter()) for k in KINDS)
        for m in muts:
            c = per_kind[m["kind"]]
            c["n"] += 1
            for n in names:
                c[f"{n}:{verdicts[n][m['file']].outcome}"] += 1
        print()
        hdr = f"{'kind':<18} {'n':>5}" + "".join(f" {n + ' invalid':>20}" for n in names)
        if len(names) == 2:
            hdr += f" {'agree':>8}"
        print(hdr)
        print("-" * len(hdr))
        disagreements = []
        total_agree = 0
        for k, c in per_kind.items():
            agree = 0
            if len(names) == 2:
                for m in muts:
                    if m["kind"] != k:
                        continue
                    a, b = (verdicts[n][m["file"]] for n in names)
                    if a.outcome == b.outcome:
                        agree += 1
                    else:
                        disagreements.append(m)
                total_agree += agree
            row = f"{k:<18} {c['n']:>5}" + "".join(f" {c[n + ':invalid']:>20}" for n in names)
            if len(names) == 2:
                row += f" {agree:>8}"
            print(row)
        print(f"{'total':<18} {len(muts):>5}" + "".join(
            f" {sum(c[n + ':invalid'] for c in per_kind.values()):>20}" for n in names))
        for n in names:
            odd = collections.Counter(verdicts[n][m["file"]].outcome for m in muts)
            print(f"{n} outcomes: {dict(sorted(odd.items()))}")
        status = 0 if base_ok or not args.check else 1
        if len(names) == 2:
            print(f"\nagreement: {total_agree}/{len(muts)} ({100.0 * total_agree / len(muts):.2f}%)")
            explained = load_explained(args.explained)
            unexplained = [m for m in disagreements if m["id"] not in explained]
            print(f"disagreements: {len(disagreements)} ({len(disagreements) - len(unexplained)} explained in "
                  f"{os.path.relpath(args.explained)}, {len(unexplained)} unexplained)")
            for m in disagreements:
                a, b = (verdicts[n][m["file"]] for n in names)
                mark = "  " if m["id"] in explained else "! "
                print(f"{mark}{m['id']}: {m['description']}: {names[0]}={a.outcome} {names[1]}={b.outcome}")
                print(f"      {names[0]}: {a.detail[:220]}")
                print(f"      {names[1]}: {b.detail[:220]}")
            if args.check and unexplained:
                status = 1
        if args.results:
            with open(args.results, "w", encoding="utf-8") as f:
                json.dump([
                    {"id": m["id"], "kind": m["kind"], "description": m["description"],
                     **{n: {"outcome": verdicts[n][m["file"]].outcome, "detail": verdicts[n][m["file"]].detail}
                        for n in names}}
                    for m in muts], f, indent=1, ensure_ascii=False)
        return status
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
