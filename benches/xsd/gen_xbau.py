#!/usr/bin/env python3
"""Generates a large, valid XBau 2.6 message deterministically (never committed; written at bench time).

Base: the sample `baugenehmigung.antrag.0200` from ../shared. Its schema allows unbounded
repetition of `xbau:antragsteller` (xbauk:Akteur: person data, DIN 91379 name patterns),
`xbau:beantragteAbweichung` (UUID, code, free text) and `anlagen/anlage` (UUID, code lists, date,
file name). The generator repeats the three parts in equal shares until the file reaches the
requested size, varying UUIDs, names (with characters from DIN SPEC 91379) and dates per copy so
that the validator cannot profit from identical values.

Usage: python3 benches/xsd/gen_xbau.py --size-mb 50 --out /tmp/xbau-50mb.xml
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "conformance"))
import engines as eng  # noqa: E402
import xbau  # noqa: E402

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Names within DIN SPEC 91379 (Latin letters with diacritics, normative combining sequences).
NAMES = ["Müller", "Łukasiewicz", "Ørsted", "Çelik", "Nguyễn", "Dvořák", "Şahin", "Ǻberg", "Weiß", "Jäger-Öztürk"]
STREETS = ["Domstraße", "Hohenzollernring", "Ulica Łódzka", "Rue de l’Église", "Am Mühlbach"]


def base_sample(shared: str) -> str:
    pattern = os.path.join(shared, "xoev", "samples", "xbau", "fv-testdateien", "baugenehmigung.antrag.0200_*.xml")
    return sorted(glob.glob(pattern))[0]


def _uuid(n: int, salt: int) -> str:
    h = f"{(n * 2654435761 + salt * 40503) & 0xFFFFFFFFFFFFFFFF:016x}{n:016x}"
    return f"{h[0:8]}-{h[8:12]}-4{h[13:16]}-8{h[17:20]}-{h[20:32]}"


def _vary(block: str, n: int) -> str:
    salt = 0

    def new_uuid(_m):
        nonlocal salt
        salt += 1
        return _uuid(n, salt)

    out = UUID.sub(new_uuid, block)
    out = re.sub(r"(<name>)[^<]*(</name>)", lambda m: m.group(1) + NAMES[(n + len(m.group(0))) % len(NAMES)] + m.group(2), out)
    out = re.sub(r"(<strasse>)[^<]*(</strasse>)", lambda m: m.group(1) + STREETS[n % len(STREETS)] + m.group(2), out)
    out = re.sub(r"(<datum>)\d{4}-\d{2}-\d{2}(</datum>)", lambda m: f"{m.group(1)}20{n % 30:02d}-{n % 12 + 1:02d}-{n % 28 + 1:02d}{m.group(2)}", out)
    out = re.sub(r"(<bezeichnung>)([^<]*)(</bezeichnung>)", lambda m: f"{m.group(1)}{m.group(2)} Nr. {n}{m.group(3)}", out)
    return out


def generate(shared: str, size_mb: float, out_path: str) -> dict:
    with open(base_sample(shared), encoding="utf-8") as f:
        text = f.read()
    doc = xbau.parse(text)

    def find(local: str) -> list[xbau.Elem]:
        return [e for e in doc.elems if e.local == local]

    antragsteller = [e for e in find("antragsteller") if e.parent == 0][-1]
    abweichung = [e for e in find("beantragteAbweichung") if e.parent == 0][-1]
    anlage = find("anlage")[-1]
    parts = sorted([antragsteller, abweichung, anlage], key=lambda e: e.end)
    target = int(size_mb * 1024 * 1024)
    # Indentation before each copy, taken from the text before the original.
    blocks = []
    for e in parts:
        indent = text[text.rfind("\n", 0, e.start) : e.start]
        blocks.append((e.end, indent, text[e.start : e.end]))
    per_copy = sum(len(b[2].encode("utf-8")) + len(b[1]) for b in blocks)
    copies = max(1, (target - len(text.encode("utf-8"))) // per_copy + 1)
    with open(out_path, "w", encoding="utf-8", newline="\n") as out:
        pos = 0
        for end, indent, block in blocks:
            out.write(text[pos:end])
            for n in range(copies):
                out.write(indent)
                out.write(_vary(block, n))
            pos = end
        out.write(text[pos:])
    size = os.path.getsize(out_path)
    return {"file": out_path, "bytes": size, "copies_per_part": copies, "base": base_sample(shared),
            "entry": xbau.entry_for(text, shared)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", default=eng.shared_dir())
    ap.add_argument("--size-mb", type=float, default=50.0)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    info = generate(args.shared, args.size_mb, args.out)
    print(f"wrote {info['file']}: {info['bytes'] / 1e6:.1f} MB ({info['copies_per_part']} copies of each part); entry {info['entry']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
