#!/usr/bin/env python3
"""Self-tests of the conformance harnesses (stdlib unittest; run: python3 conformance/test_harness.py)."""

from __future__ import annotations

import os
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import engines as eng  # noqa: E402
import w3c  # noqa: E402
import xbau  # noqa: E402
import xbau_mutations as xm  # noqa: E402

SHARED = eng.shared_dir()


class Tokenizer(unittest.TestCase):
    def test_spans_and_namespaces(self):
        text = '<?xml version="1.0"?>\n<a:r xmlns:a="urn:a" x=\'1\'><!-- c --><b>t&amp;</b><c/></a:r>'
        doc = xbau.parse(text)
        self.assertEqual([e.qname for e in doc.elems], ["a:r", "b", "c"])
        self.assertEqual(doc.root.namespace(doc), "urn:a")
        self.assertEqual(doc.leaf_text(1), "t&amp;")
        self.assertEqual(text[doc.elems[1].start : doc.elems[1].end], "<b>t&amp;</b>")
        self.assertTrue(doc.elems[2].self_closing)
        self.assertEqual([a.name for a in doc.root.attrs], ["xmlns:a", "x"])


@unittest.skipUnless(os.path.isdir(os.path.join(SHARED, "xoev")), "needs ../shared")
class Mutations(unittest.TestCase):
    def test_deterministic_well_formed_and_covering(self):
        a = xm.generate(SHARED, 1, 60)
        b = xm.generate(SHARED, 1, 60)
        self.assertEqual([m["id"] for m in a], [m["id"] for m in b])
        self.assertGreaterEqual(len(a), 1000)
        self.assertEqual(len({m["id"] for m in a}), len(a))
        self.assertEqual({m["kind"] for m in a}, set(xm.KINDS))
        for m in a:
            ET.fromstring(m["text"].encode("utf-8"))  # single mutations stay well-formed
            self.assertTrue(os.path.exists(m["entry"]))

    def test_explained_list_parses(self):
        with tempfile.NamedTemporaryFile("w", suffix=".md", delete=False) as f:
            f.write("| id | why |\n|---|---|\n| `x:remove:1` | libxml2 is wrong |\n")
        self.assertEqual(list(xm.load_explained(f.name)), ["x:remove:1"])
        os.remove(f.name)


@unittest.skipUnless(os.path.isdir(os.path.join(SHARED, "w3c-xsdtests")), "needs ../shared")
class W3cSelection(unittest.TestCase):
    def test_selection(self):
        tests, skipped = w3c.load_tests(SHARED, "6.0.0", ["msData", "boeingData"])
        by_suite = {}
        for t in tests:
            by_suite[t.suite] = by_suite.get(t.suite, 0) + 1
        self.assertEqual(by_suite["boeingData"], 18)
        self.assertEqual(by_suite["msData"], 14352)
        self.assertEqual(len({t.id for t in tests}), len(tests))

    def test_passed(self):
        self.assertTrue(w3c.passed("schema", "invalid", "schema-error"))
        self.assertFalse(w3c.passed("schema", "invalid", "valid"))
        self.assertTrue(w3c.passed("schema", "valid", "valid"))
        self.assertFalse(w3c.passed("instance", "invalid", "schema-error"))

    def test_wrapper_imports_every_document(self):
        with tempfile.TemporaryDirectory() as tmp:
            docs = []
            for i, ns in enumerate(["urn:a", "urn:a", None]):
                p = os.path.join(tmp, f"d{i}.xsd")
                tns = f' targetNamespace="{ns}"' if ns else ""
                with open(p, "w") as f:
                    f.write(f'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"{tns}/>')
                docs.append(p)
            wdir = os.path.join(tmp, "w")
            os.mkdir(wdir)
            entry = w3c.Wrappers(wdir).entry(docs)
            root = ET.parse(entry).getroot()
            kinds = sorted(c.tag.split("}")[1] for c in root)
            self.assertEqual(kinds, ["import", "include"])


class JdkEngine(unittest.TestCase):
    """The JDK anchor answers valid / invalid / schema-error, and survives a hung request."""

    def setUp(self):
        why = eng.Jdk.available()
        if why is not None:
            if os.environ.get("CI"):
                self.fail(f"jdk engine: {why}")
            self.skipTest(why)

    def test_outcomes_from_one_jvm(self):
        with tempfile.TemporaryDirectory() as tmp:
            def put(name, text):
                path = os.path.join(tmp, name)
                with open(path, "w", encoding="utf-8") as f:
                    f.write(text)
                return path

            xs = 'xmlns:xs="http://www.w3.org/2001/XMLSchema"'
            good = put("good.xsd", f'<xs:schema {xs}><xs:element name="a" type="xs:int"/></xs:schema>')
            bad = put("bad.xsd", f'<xs:schema {xs}><xs:element name="a" type="nope"/></xs:schema>')
            ok = put("ok.xml", "<a>42</a>")
            wrong = put("wrong.xml", "<a>x</a>")
            broken = put("broken.xml", "<a>")
            jdk = eng.Jdk()
            try:
                self.assertIn("Java", jdk.version())
                self.assertEqual(jdk.compile_schema(good, 60).outcome, "valid")
                self.assertEqual(jdk.compile_schema(bad, 60).outcome, "schema-error")
                self.assertEqual([r.outcome for r in jdk.validate(good, [ok, wrong, broken], 60)],
                                 ["valid", "invalid", "invalid"])
                self.assertEqual(jdk.validate(bad, [ok], 60)[0].outcome, "schema-error")
                # A request over the time limit kills the JVM; the next one starts a new JVM.
                self.assertEqual(jdk.validate(good, [ok], 0.0)[0].outcome, "timeout")
                self.assertEqual(jdk.validate(good, [ok], 60)[0].outcome, "valid")
            finally:
                jdk.close()


if __name__ == "__main__":
    unittest.main()
