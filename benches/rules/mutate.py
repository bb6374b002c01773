#!/usr/bin/env python3
"""Mutations of the XBau 2.6 samples aimed at the asserts of the official XBau Schematron.

Used by benches/rules/oracle.py (issue 16, "oracle"); also runnable alone:
  python3 benches/rules/mutate.py --count 700 --keep DIR   # write the mutated messages to DIR

Deterministic: the same seed and samples give the same mutations with the same ids
(`<sample>:<kind>:<n>`). Each kind aims at asserts of xbau-schematron.sch /
xbau-schematron-leere-elemente.sch; values are chosen to sit on both sides of the rule (and on
its boundaries) while keeping the message XSD-valid where the type allows:

  dvdv         sch-xbau-001/002: verzeichnisdienst/code and kennung of leser/autor (the
               `^[a-z]{3}:\\d+$` format, Unicode digits, whitespace, case, code variants)
  empty        sch-xbau-gen-001: leaf elements emptied / whitespace-only / padded / NBSP
  number       sch-stat-005/006/007: BRI, kostengruppe300/400, Vollgeschosse, Wohnungen, Räume
               (the 150 and 400 €/m³ boundaries of stat-007 included)
  code         sch-stat-003/004/006..015: artDerBautaetigkeit (3 = not Neubau),
               artDesWohngebaeudes, kategorie (7), Heizenergie codes 001/014
  insert       kostengruppe400, sekundaereHeizenergieHeizung, anzahlRaeume… added where the XSD
               allows them (stat-003/004/005/007)
  remove       optional elements the rules test for (bundesland → stat-001, baukosten parts,
               Neubau-only elements, flurstueck, anzeigender)
  bauherr      sch-stat-002: a second natural-person Bauherr (XPTY0004 in Saxon), blank names
  duplicate    repeated elements (several contexts of one rule, `//` in tests)

The XBau Schematron has no assert on attachment file names (18 asserts, all listed above); such
a mutation would test nothing of it.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "conformance"))
import xbau  # noqa: E402
from xbau_mutations import _esc, set_leaf_text  # noqa: E402

KINDS = ["dvdv", "empty", "number", "code", "insert", "remove", "bauherr", "duplicate"]

KENNUNGEN = [
    "abc:123", "abc:1", "psw:00000001", "ab:1", "abcd:1", "ABC:1", "abc:", "abc:12a", "abc::1",
    "abc:\u0661\u0662\u0663", "abc:\uff11\uff12", "\u00e4bc:1", " abc:1", "abc:1 ", "abc:1\n",
    "abc-1", "dvdv:42", "abc:1abc:2", "statistik",
]
DVDV_CODES = ["DVDV", "dvdv", " DVDV ", "S2", "DVDV2"]
EMPTY_VALUES = [("emptied", ""), ("blank", " "), ("whitespace", "\n\t "), ("NBSP", "\u00a0"),
                ("padded", None)]
NUMBERS = {
    "bruttoRauminhaltBRI": ["0", "0.01", "1", "500.00", "500", "1000.5", "99999"],
    "kostengruppe300": ["1", "7500000", "7499999", "20000000", "20000001", "25000000",
                        "99999999999999999999"],
    "kostengruppe400": ["1", "2500000", "7500000", "20000000"],
    "anzahlVollgeschosse": ["1", "3", "4", "10"],
    "anzahlWohnungen": ["1", "2", "3"],
    "gesamtanzahlWohnungen": ["1", "2"],
    "anzahlRaeumebeiWohnungenMitSiebenOderMehrRaeumen": ["6", "7", "13", "14", "21"],
}
CODES = {
    "artDerBautaetigkeit": ["1", "2", "3", "4"],
    "artDesWohngebaeudes": ["1", "2", "3"],
    "kategorie": ["1", "6", "7"],
    "primaereHeizenergieHeizung": ["001", "014", "003"],
    "sekundaereHeizenergieHeizung": ["001", "014", "003"],
    "verzeichnisdienst": ["DVDV", "S2"],
}
# Elements the asserts test for (exists / not(exists)), removed one at a time.
REMOVABLE = {
    "bundesland", "flurstueck", "haustypWohngebaeude", "ueberwiegendVerwendeterBaustoff",
    "heizungHeizenergie", "bruttoRauminhaltBRI", "anzahlVollgeschosse", "sonstigeLueftungsanlagen",
    "kuehlung", "erfuellungGEG", "baukosten", "kostengruppe300", "kostengruppe400", "kategorie",
    "anzahlRaeumebeiWohnungenMitSiebenOderMehrRaeumen", "anzeigender",
    "sekundaereHeizenergieHeizung", "anzahlDerWohnungenNeu", "beteiligteBauprojekt", "baugrundstueck",
    "angabenGebaeude", "heizenergie",
}
DUPLICABLE = {
    "anzahlDerWohnungenNeu", "heizenergie", "flurstueck", "bauherr", "kommunikation",
    "datenEinzelnesGebaeude", "baukosten", "anlage",
}


def candidates(doc: xbau.Doc) -> dict[str, list[tuple[str, str]]]:
    """Every targeted single mutation of a document: kind -> [(description, mutated text)]."""
    t = doc.text
    out: dict[str, list[tuple[str, str]]] = {k: [] for k in KINDS}

    def splice(a: int, b: int, new: str) -> str:
        return t[:a] + new + t[b:]

    def set_text(i: int, value: str) -> str:
        return set_leaf_text(doc, i, value)

    def child(i: int, local: str) -> int | None:
        return next((c for c in doc.elems[i].children if doc.elems[c].local == local), None)

    def code_of(i: int) -> int | None:
        """The `code` leaf of a code element (directly, or through an `xbau:code` child)."""
        c = child(i, "code")
        if c is not None and doc.elems[c].children:
            c = child(c, "code")
        return c

    for i, e in enumerate(doc.elems):
        p = doc.path(i)
        # sch-xbau-001/002
        if e.local in ("leser", "autor"):
            vd, kennung = child(i, "verzeichnisdienst"), child(i, "kennung")
            code = code_of(vd) if vd is not None else None
            if kennung is not None and code is not None:
                for k in KENNUNGEN:
                    # Two splices: the later one first so the earlier offsets stay right.
                    a, b = sorted([(code, "DVDV"), (kennung, k)], key=lambda x: -doc.elems[x[0]].stag_end)
                    text = _set2(doc, a, b)
                    out["dvdv"].append((f"{p}: DVDV with kennung {k!r}", text))
                for c in DVDV_CODES:
                    a, b = sorted([(code, c), (kennung, "abc:1")], key=lambda x: -doc.elems[x[0]].stag_end)
                    out["dvdv"].append((f"{p}: code {c!r}, valid kennung", _set2(doc, a, b)))
                    a, b = sorted([(code, c), (kennung, "abc")], key=lambda x: -doc.elems[x[0]].stag_end)
                    out["dvdv"].append((f"{p}: code {c!r}, bad kennung", _set2(doc, a, b)))
        leaf = doc.leaf_text(i)
        if leaf is not None and not e.children and i > 0:
            for why, v in EMPTY_VALUES:
                if v is None:  # the raw text (entities stay as written), padded
                    out["empty"].append((f"{p} {why}", splice(e.stag_end, e.etag_start, f"  {leaf.strip()} \n")))
                else:
                    out["empty"].append((f"{p} {why}", set_text(i, v)))
        if e.local in NUMBERS and leaf is not None:
            for v in NUMBERS[e.local]:
                if v != leaf.strip():
                    out["number"].append((f"{p} = {v}", set_text(i, v)))
        if e.local in CODES:
            c = code_of(i)
            if c is not None:
                for v in CODES[e.local]:
                    out["code"].append((f"{p} code = {v}", set_text(c, v)))
        # insertions right after the element the XSD puts before them
        if e.local == "kostengruppe300":
            for v in NUMBERS["kostengruppe400"]:
                tag = e.qname.replace("kostengruppe300", "kostengruppe400")
                out["insert"].append((f"kostengruppe400 = {v} after {p}", splice(e.end, e.end, f"<{tag}>{v}</{tag}>")))
        if e.local == "identifikationGebaeude" and doc.elems[e.parent].local == "baukosten":
            pre = e.prefix + ":" if e.prefix else ""
            if len(doc.elems[e.parent].children) == 1:
                for v300, v400 in (("5000000", "2500000"), ("1", "1"), ("30000000", "30000000")):
                    block = (f"<{pre}kostengruppe300>{v300}</{pre}kostengruppe300>"
                             f"<{pre}kostengruppe400>{v400}</{pre}kostengruppe400>")
                    out["insert"].append((f"kostengruppe300/400 = {v300}/{v400} after {p}", splice(e.end, e.end, block)))
        if e.local == "primaereHeizenergieHeizung":
            sec = e.qname.replace("primaere", "sekundaere")
            body = t[e.stag_end : e.etag_start]
            c = code_of(i)
            for v1, v2 in (("001", "014"), ("014", "001"), ("001", "001"), ("003", "014")):
                new_body = body.replace(f">{doc.leaf_text(c)}<", f">{v2}<", 1) if c is not None else body
                added = t[: e.end] + f"<{sec}>{new_body}</{sec}>" + t[e.end :]
                if c is not None:
                    ce = doc.elems[c]
                    added = added[: ce.stag_end] + v1 + added[ce.etag_start :]
                out["insert"].append((f"{p}: primary {v1}, secondary {v2}", added))
        if e.local == "kategorie" and child(doc.elems[i].parent, "anzahlRaeumebeiWohnungenMitSiebenOderMehrRaeumen") is None:
            tag = e.qname.replace("kategorie", "anzahlRaeumebeiWohnungenMitSiebenOderMehrRaeumen")
            c = code_of(i)
            for k in ("1", "7"):
                for n in ("7", "13", "14"):
                    added = t[: e.end] + f"<{tag}>{n}</{tag}>" + t[e.end :]
                    if c is not None:
                        ce = doc.elems[c]
                        added = added[: ce.stag_end] + k + added[ce.etag_start :]
                    out["insert"].append((f"{p} = {k} with {n} rooms", added))
        if e.local == "anzahlWohnungen" and e.parent is not None:
            kat = child(e.parent, "kategorie")
            raeume = child(e.parent, "anzahlRaeumebeiWohnungenMitSiebenOderMehrRaeumen")
            if kat is not None and raeume is None and code_of(kat) is not None:
                tag = e.qname.replace("anzahlWohnungen", "anzahlRaeumebeiWohnungenMitSiebenOderMehrRaeumen")
                ke = doc.elems[kat]
                for w, n in (("2", "13"), ("2", "14"), ("3", "20"), ("3", "21")):
                    out["insert"].append((f"{p} = {w} with kategorie 7 and {n} rooms", _edits(t, [
                        (e.stag_end, e.etag_start, w),
                        (doc.elems[code_of(kat)].stag_end, doc.elems[code_of(kat)].etag_start, "7"),
                        (ke.end, ke.end, f"<{tag}>{n}</{tag}>"),
                    ])))
        if e.local == "anzahlDerWohnungen" and child(i, "gesamtanzahlWohnungen") is None:
            tag = e.qname.replace("anzahlDerWohnungen", "gesamtanzahlWohnungen")
            vg = next((j for j, x in enumerate(doc.elems) if x.local == "anzahlVollgeschosse" and x.parent == e.parent), None)
            for g in ("1", "2"):
                for v in (None, "3", "4"):
                    ed = [(e.stag_end, e.stag_end, f"<{tag}>{g}</{tag}>")]
                    if v is not None and vg is not None:
                        ed.append((doc.elems[vg].stag_end, doc.elems[vg].etag_start, v))
                    elif v is not None:
                        continue
                    out["insert"].append((f"gesamtanzahlWohnungen = {g} in {p}, Vollgeschosse {v}", _edits(t, ed)))
        if e.local in REMOVABLE and i > 0:
            out["remove"].append((f"remove {p}", splice(e.start, e.end, "")))
        if e.local in DUPLICABLE and i > 0:
            out["duplicate"].append((f"duplicate {p}", t[: e.end] + t[e.start : e.end] + t[e.end :]))
        # sch-stat-002: the inner xbau:bauherr holds one natural person or organisation
        if e.local == "bauherr" and e.parent is not None and doc.elems[e.parent].local == "bauherr":
            whole = t[e.start : e.end]
            out["bauherr"].append((f"second natural-person Bauherr after {p}", t[: e.end] + whole + t[e.end :]))
            out["bauherr"].append((f"third Bauherr after {p}", t[: e.end] + whole + whole + t[e.end :]))
            outer = doc.elems[e.parent]
            out["bauherr"].append((f"second outer Bauherr after {doc.path(e.parent)}",
                                   t[: outer.end] + t[outer.start : outer.end] + t[outer.end :]))
        if e.local == "name" and e.parent is not None and doc.elems[e.parent].local in ("familienname", "organisation"):
            for why, v in (("blank", " "), ("tab", "\t"), ("x", "X")):
                out["bauherr"].append((f"{p} {why}", set_text(i, v)))
    return out


def _edits(t: str, edits: list[tuple[int, int, str]]) -> str:
    """Applies non-overlapping (start, end, replacement) edits, the last offset first."""
    for a, b, new in sorted(edits, key=lambda x: (-x[0], -x[1])):
        t = t[:a] + new + t[b:]
    return t


def _set2(doc: xbau.Doc, later: tuple[int, str], earlier: tuple[int, str]) -> str:
    """Sets the text of two leaf elements (`later` after `earlier` in the document)."""
    t = doc.text
    for i, v in (later, earlier):
        e = doc.elems[i]
        t = t[: e.stag_end] + _esc(v) + t[e.etag_start :]
    return t


def short_name(sample: str) -> str:
    base = os.path.basename(sample)[:-4]
    return os.path.basename(os.path.dirname(sample)).replace("fv-", "") + "/" + re.sub(
        r"_sample$|_[0-9a-f-]{36}$", "", base
    )


def generate(shared: str, seed: int, count: int) -> list[dict]:
    """The deterministic list of mutations: {id, sample, kind, description, text}.

    Round-robin over the kinds, then over the samples within a kind, each sample's candidates
    drawn in a seeded order, until `count` (or every candidate) is taken.
    """
    rng = random.Random(seed)
    pools: dict[str, list[list[tuple[str, int, str, str]]]] = {k: [] for k in KINDS}
    for sample in xbau.valid_samples(shared):
        with open(sample, encoding="utf-8") as f:
            doc = xbau.parse(f.read())
        cands = candidates(doc)
        for k in KINDS:
            items = [(sample, n, d, txt) for n, (d, txt) in enumerate(cands[k])]
            rng.shuffle(items)
            if items:
                pools[k].append(items)
    muts: list[dict] = []
    turn = {k: 0 for k in KINDS}
    while len(muts) < count and any(any(p) for p in pools.values()):
        for k in KINDS:
            live = [p for p in pools[k] if p]
            if not live or len(muts) >= count:
                continue
            pool = live[turn[k] % len(live)]
            turn[k] += 1
            sample, n, desc, text = pool.pop()
            muts.append({"id": f"{short_name(sample)}:{k}:{n}", "sample": sample, "kind": k,
                         "description": desc, "text": text})
    return muts


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", default=os.environ.get("POSTSTELLE_SHARED", os.path.join(HERE, "..", "..", "..", "shared")))
    ap.add_argument("--seed", type=int, default=16)
    ap.add_argument("--count", type=int, default=700)
    ap.add_argument("--keep", metavar="DIR", help="write the mutated messages to DIR")
    args = ap.parse_args()
    muts = generate(args.shared, args.seed, args.count)
    kinds: dict[str, int] = {}
    for m in muts:
        kinds[m["kind"]] = kinds.get(m["kind"], 0) + 1
    print(f"{len(muts)} mutations: " + ", ".join(f"{k} {n}" for k, n in kinds.items()))
    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
        for j, m in enumerate(muts):
            with open(os.path.join(args.keep, f"m{j:04d}.xml"), "w", encoding="utf-8") as f:
                f.write(m["text"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
