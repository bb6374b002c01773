"""XBau 2.6 test data in ../shared and a small span-preserving XML tokenizer.

The tokenizer lets the mutation generator and the benchmark generator splice text into a real
message without re-serialising it (prefixes, comments, whitespace and QName-valued content stay
exactly as they were).
"""

from __future__ import annotations

import csv
import glob
import os
import re
from dataclasses import dataclass, field



def xbau_dir(shared: str) -> str:
    return os.path.join(shared, "xoev", "xbau-2.6")


def roots(shared: str) -> dict[tuple[str, str], str]:
    """(namespace, root local name) -> absolute entry XSD, from ROOTS.tsv."""
    out = {}
    with open(os.path.join(xbau_dir(shared), "ROOTS.tsv"), encoding="utf-8") as f:
        rows = (line for line in f if not line.startswith("#"))
        for row in csv.DictReader(rows, delimiter="\t"):
            out[(row["namespace"], row["root_element"])] = os.path.join(xbau_dir(shared), row["entry_xsd"])
    return out


def valid_samples(shared: str) -> list[str]:
    base = os.path.join(shared, "xoev", "samples", "xbau")
    return sorted(glob.glob(os.path.join(base, "fv-testdateien", "*.xml"))) + sorted(
        glob.glob(os.path.join(base, "fv-generated", "*.xml"))
    )


def negative_samples(shared: str) -> list[str]:
    return sorted(glob.glob(os.path.join(shared, "xoev", "samples", "xbau", "negative", "*.xml")))


def entry_for(text: str, shared: str) -> str:
    """The entry XSD for a message, by its root element (namespace + local name)."""
    doc = parse(text)
    root = doc.root
    ns = root.namespace(doc)
    key = (ns, root.local)
    table = roots(shared)
    if key not in table:
        raise KeyError(f"root {{{ns}}}{root.local} not in ROOTS.tsv")
    return table[key]


TOKEN = re.compile(
    r"<!--.*?-->|<\?.*?\?>|<!\[CDATA\[.*?\]\]>|<!DOCTYPE[^>]*>|</([^\s>]+)\s*>|<([^\s/>!?]+)((?:[^>\"']|\"[^\"]*\"|'[^']*')*?)(/?)>",
    re.S,
)
ATTR = re.compile(r"([^\s=]+)\s*=\s*(\"[^\"]*\"|'[^']*')")


@dataclass
class Attr:
    name: str
    value: str
    start: int  # span of the whole `name="value"`
    end: int
    value_start: int  # span of the value without quotes
    value_end: int


@dataclass
class Elem:
    qname: str
    start: int  # start of `<`
    stag_end: int  # just after the start tag's `>`
    etag_start: int  # start of `</` (== stag_end for empty elements written `<a/>`)
    end: int  # just after the end tag
    attrs: list[Attr]
    parent: int | None
    depth: int
    children: list[int] = field(default_factory=list)
    self_closing: bool = False

    @property
    def prefix(self) -> str:
        return self.qname.split(":", 1)[0] if ":" in self.qname else ""

    @property
    def local(self) -> str:
        return self.qname.split(":", 1)[-1]

    def namespace(self, doc: "Doc") -> str:
        """Namespace of the element from the in-scope xmlns declarations."""
        want = "xmlns:" + self.prefix if self.prefix else "xmlns"
        e: Elem | None = self
        while e is not None:
            for a in e.attrs:
                if a.name == want:
                    return a.value
            e = doc.elems[e.parent] if e.parent is not None else None
        return ""


@dataclass
class Doc:
    text: str
    elems: list[Elem]

    @property
    def root(self) -> Elem:
        return self.elems[0]

    def leaf_text(self, i: int) -> str | None:
        """Text content of an element without element children (None otherwise)."""
        e = self.elems[i]
        if e.children or e.self_closing:
            return None if e.children else ""
        return self.text[e.stag_end : e.etag_start]

    def path(self, i: int) -> str:
        parts = []
        j: int | None = i
        while j is not None:
            parts.append(self.elems[j].local)
            j = self.elems[j].parent
        return "/" + "/".join(reversed(parts))


def parse(text: str) -> Doc:
    elems: list[Elem] = []
    stack: list[int] = []
    for m in TOKEN.finditer(text):
        if m.group(1):  # end tag
            i = stack.pop()
            elems[i].etag_start = m.start()
            elems[i].end = m.end()
        elif m.group(2):  # start tag
            attrs = []
            body_off = m.start(3)
            for a in ATTR.finditer(m.group(3)):
                attrs.append(
                    Attr(
                        a.group(1), a.group(2)[1:-1],
                        body_off + a.start(), body_off + a.end(),
                        body_off + a.start(2) + 1, body_off + a.end(2) - 1,
                    )
                )
            parent = stack[-1] if stack else None
            e = Elem(m.group(2), m.start(), m.end(), m.end(), m.end(), attrs, parent, len(stack))
            elems.append(e)
            idx = len(elems) - 1
            if parent is not None:
                elems[parent].children.append(idx)
            if m.group(4):
                e.self_closing = True
            else:
                stack.append(idx)
    return Doc(text, elems)
