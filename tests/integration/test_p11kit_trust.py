#!/usr/bin/python3
"""`cactool` against p11-kit-trust, which shows the machine's CA store as a read-only token.

Expected: exactly the certificates in the anchor files p11-kit-trust reads. Which files those
are is asked of the module itself: p11-kit-trust names each slot after its path (for Debian,
/etc/ssl/certs/ca-certificates.crt), as `pkcs11-tool --list-slots` shows. Each file is read
with openssl, certificate by certificate.
"""

import os
import unittest
from pathlib import Path

import base
import testlib


def _module():
    return testlib.find_module("p11-kit-trust")


class P11KitTrustTest(base.CactoolTestCase):
    @classmethod
    def setUpClass(cls):
        missing = testlib.require_tools("pkcs11-tool", "openssl")
        if missing:
            raise unittest.SkipTest("missing tools: " + ", ".join(missing))
        cls.module = _module()
        if cls.module is None:
            raise unittest.SkipTest("p11-kit knows no p11-kit-trust module")
        super().setUpClass()
        cls.slots = [s for s in testlib.pkcs11_tool_slots(cls.module, env=cls.hsm.env)
                     if s.get("token")]
        if not cls.slots:
            raise unittest.SkipTest("p11-kit-trust shows no token")

    _facts = {}

    def facts_of(self, der):
        """openssl's view of one bundle certificate, computed once per run."""
        if der not in self._facts:
            self._facts[der] = testlib.cert_facts(der=der)
        return self._facts[der]

    def anchors_of(self, slot):
        path = Path(slot["description"])
        if not path.exists():
            self.skipTest("slot %r does not name an anchor file" % slot["description"])
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file())
        else:
            files = [path]
        ders = []
        for f in files:
            ders += testlib.bundle_certificates(f)
        return ders

    def certs_of_slot(self, slot, module=None):
        r = self.cactool("certs", "--module", module or self.module, "--slot", str(slot["id"]),
                         "--json")
        return self.json_of(r)

    def test_lists_exactly_the_ca_bundle(self):
        for slot in self.slots:
            with self.subTest(anchors=slot["description"]):
                ders = self.anchors_of(slot)
                want = {}
                for der in ders:
                    want.setdefault(self.facts_of(der)["sha256"], der)
                duplicates = len(ders) - len(want)
                oracle = testlib.pkcs11_tool_objects(self.module, slot["token"]["label_raw"]
                                                     .rstrip(" "), env=self.hsm.env)
                doc = self.certs_of_slot(slot)
                got = [c["sha256"] for c in doc["certificates"]]
                missing, extra = set(want) - set(got), set(got) - set(want)
                self.assertFalse(
                    missing or extra,
                    "fingerprints differ from openssl over %s: %d missing, %d extra "
                    "(bundle: %d certificates, %d duplicates; pkcs11-tool counts %d objects)"
                    "\nmissing: %s\nextra: %s"
                    % (slot["description"], len(missing), len(extra), len(ders), duplicates,
                       len(oracle), sorted(missing)[:10], sorted(extra)[:10]))
                self.assertEqual(len(got), len(oracle),
                                 "as many certificates as pkcs11-tool lists")

    def test_fields_of_every_ca_certificate(self):
        slot = self.slots[0]
        doc = self.certs_of_slot(slot)
        by_fp = {c["sha256"]: c for c in doc["certificates"]}
        for der in self.anchors_of(slot):
            facts = self.facts_of(der)
            got = by_fp.get(facts["sha256"])
            with self.subTest(subject=facts["subject"]):
                self.assertIsNotNone(got, "not listed")
                for key in ("subject", "issuer", "serial", "not_before", "not_after",
                            "key_type", "key_bits"):
                    self.assertEqual(got[key], facts[key], key + " differs from openssl's")
                self.assertIsNone(got["error"])
                # The trust token needs no login, so nothing is hidden: no keys at all.
                self.assertIs(got["has_private_key"], False)

    def test_module_by_name(self):
        slot = self.slots[0]
        by_path = self.certs_of_slot(slot)
        by_name = self.certs_of_slot(slot, module="p11-kit-trust")
        self.assertEqual(sorted(c["sha256"] for c in by_name["certificates"]),
                         sorted(c["sha256"] for c in by_path["certificates"]))

    def test_slots(self):
        doc = self.json_of(self.cactool("slots", "--module", self.module, "--json"))
        self.assertEqual(os.path.realpath(doc["modules"][0]["path"]),
                         os.path.realpath(self.module))
        got = {s["id"]: s for s in doc["modules"][0]["slots"]}
        for want in self.slots:
            with self.subTest(slot=want["description"]):
                tok = got[want["id"]]["token"]
                self.assertEqual(got[want["id"]]["description"], want["description"])
                self.assertEqual(tok["label"], want["token"]["label_raw"].strip(" "))
                self.assertEqual(set(tok["flags"]), want["token"]["flags"])
                self.assertEqual(tok["serial"], want["token"]["serial"])


if __name__ == "__main__":
    base.main()
