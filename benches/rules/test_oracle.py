#!/usr/bin/env python3
"""Self-tests of the business-rules oracle (stdlib unittest; run: python3 benches/rules/test_oracle.py).

The skeleton's semantics on a small Schematron (first matching rule per pattern, abstract rules
and extends, sch:ns, a dynamic error reported per assert), the comparison, and the mutation
generator (deterministic, unique ids, every kind present). Without saxonche the skeleton tests
are skipped, and fail under CI.
"""

from __future__ import annotations

import collections
import os
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import mutate  # noqa: E402
import oracle  # noqa: E402

SHARED = os.environ.get("POSTSTELLE_SHARED", os.path.join(oracle.REPO, "..", "shared"))

try:
    import saxonche  # noqa: F401

    HAVE_SAXON = True
except ImportError:
    HAVE_SAXON = False
    if os.environ.get("CI"):
        raise

SCH = """<sch:schema xmlns:sch="http://purl.oclc.org/dsdl/schematron" queryBinding="xslt2">
  <sch:ns prefix="p" uri="urn:p"/>
  <sch:pattern>
    <sch:rule id="abs" abstract="true">
      <sch:assert id="a-n" test="@n">needs n</sch:assert>
      <sch:assert id="a-one" test="@n = 1 or not(@n)">n is 1</sch:assert>
    </sch:rule>
    <sch:rule context="p:r//p:a[@first]"><sch:assert id="first" test="false()">first wins</sch:assert></sch:rule>
    <sch:rule context="p:a"><sch:extends rule="abs"/></sch:rule>
    <sch:rule context="p:a"><sch:assert id="never" test="false()">shadowed</sch:assert></sch:rule>
  </sch:pattern>
  <sch:pattern>
    <sch:rule context="p:r"><sch:assert id="sum" test="sum(p:a/@n) lt 100">sum</sch:assert>
      <sch:assert id="type" test="p:a/@n = 1 + p:a/@n">type error for two a</sch:assert>
    </sch:rule>
  </sch:pattern>
</sch:schema>"""
DOC = '<r xmlns="urn:p"><a/><a n="2"/><a n="1" first="y"/><b><a n="1"/></b></r>'


@unittest.skipUnless(HAVE_SAXON, "saxonche not installed")
class Skeleton(unittest.TestCase):
    def test_first_match_extends_and_dynamic_errors(self):
        with tempfile.TemporaryDirectory() as tmp:
            sch, doc = os.path.join(tmp, "r.sch"), os.path.join(tmp, "d.xml")
            with open(sch, "w", encoding="utf-8") as f:
                f.write(SCH)
            with open(doc, "w", encoding="utf-8") as f:
                f.write(DOC)
            _, rules = oracle.schematron_to_xslt(sch)
            self.assertEqual(rules, 4)
            res = oracle.saxon_results(oracle.Saxon([sch]), [doc])[doc]
        self.assertIsNone(res["fatal"])
        # a (no n): a-n; a n=2: a-one; a[@first]: only `first`; the 4th a: nothing; `never` never.
        self.assertEqual(res["failed"], collections.Counter({"a-n": 1, "a-one": 1, "first": 1}))
        # `1 + p:a/@n` with four a: XPTY0004 in the second pattern, reported, not fatal.
        self.assertEqual(res["errors"], collections.Counter({"type": 1}))
        self.assertTrue(any("XPTY0004" in w for w in res["where"]["type"]))


class Compare(unittest.TestCase):
    def test_counts_errors_and_truncation_are_differences(self):
        c = collections.Counter
        same = {"failed": c({"x": 2}), "errors": c(), "truncated": False}
        self.assertEqual(oracle.compare(same, {"failed": c({"x": 2}), "errors": c(), "fatal": None}), [])
        self.assertEqual(oracle.compare(same, {"failed": c({"x": 1}), "errors": c(), "fatal": None}),
                         [("x", (2, 0), (1, 0))])
        self.assertEqual(oracle.compare(same, {"failed": c({"x": 2}), "errors": c({"y": 1}), "fatal": None}),
                         [("y", (0, 0), (0, 1))])
        self.assertEqual([d[0] for d in oracle.compare(dict(same, truncated=True),
                                                       {"failed": c({"x": 2}), "errors": c(), "fatal": "boom"})],
                         ["(saxon)", "(findings truncated)"])

    def test_explanations_file(self):
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
            f.write("# comment\nsample:kind:1 sch-x-001 because\n\n")
        try:
            self.assertEqual(oracle.load_explained(f.name), {("sample:kind:1", "sch-x-001"): "because"})
        finally:
            os.unlink(f.name)


@unittest.skipUnless(os.path.isdir(os.path.join(SHARED, "xoev", "samples")), "needs ../shared")
class Mutations(unittest.TestCase):
    def test_deterministic_unique_and_every_kind(self):
        a = mutate.generate(SHARED, 16, 300)
        b = mutate.generate(SHARED, 16, 300)
        self.assertEqual([m["id"] for m in a], [m["id"] for m in b])
        self.assertEqual([m["text"] for m in a], [m["text"] for m in b])
        self.assertEqual(len({m["id"] for m in a}), 300)
        self.assertEqual({m["kind"] for m in a}, set(mutate.KINDS))
        self.assertNotEqual([m["id"] for m in mutate.generate(SHARED, 17, 300)], [m["id"] for m in a])


if __name__ == "__main__":
    unittest.main()
