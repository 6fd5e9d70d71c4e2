#!/usr/bin/python3
"""`cactool certs` against SoftHSM2 tokens; every field checked against openssl,
pkcs11-tool and p11tool."""

import datetime
import os
import re
import shutil
import tempfile
import unittest
from pathlib import Path

import base
import softhsm_fixture as sf
import testlib

PIN_VAR = "CACTOOL_TEST_PIN"


def eku_mismatch(got, oids):
    """None when `got` names exactly the OIDs in `oids`, else the reason."""
    remaining = list(got)
    unnamed = []
    for oid in oids:
        names = {oid} | testlib.EKU_REQUIRED_NAMES.get(oid, set()) | \
            testlib.EKU_OPTIONAL_NAMES.get(oid, set())
        if oid in testlib.EKU_REQUIRED_NAMES:
            names.discard(oid)
        hit = next((g for g in remaining if g in names), None)
        if hit is not None:
            remaining.remove(hit)
        elif oid in testlib.EKU_REQUIRED_NAMES or oid in testlib.EKU_OPTIONAL_NAMES:
            return "%s should read %s" % (oid, " or ".join(sorted(names)))
        else:
            unnamed.append(oid)
    # OIDs no table names may carry a name of the implementation's choosing.
    known = set().union(*testlib.EKU_REQUIRED_NAMES.values(), *testlib.EKU_OPTIONAL_NAMES.values())
    extra = [g for g in remaining if not re.fullmatch(r"[a-z][a-z0-9_]*", g) or g in known]
    if extra or len(remaining) != len(unnamed):
        return "unexpected entries %r (OIDs left unmatched: %r)" % (remaining, unnamed)
    return None


class CertsTestBase(base.CactoolTestCase):
    def certs(self, token, *extra, env=None, input_bytes=None):
        return self.cactool("certs", "--module", self.hsm.module, "--token", token, *extra,
                            env=env, input_bytes=input_bytes)

    def certs_json(self, token, *extra, env=None, code=0):
        return self.json_of(self.certs(token, "--json", *extra, env=env), code)

    def validation_json(self, token, *extra):
        """certs --validate: exit 0, or 1 when a chain does not verify; the listing either way.
        (The contract does not say which; both are accepted, and the document must agree.)"""
        r = self.certs(token, "--json", "--validate", *extra)
        self.assertIn(r.rc, (0, 1), r.describe())
        doc = self.json_of(r, r.rc)
        failed = [c for c in doc["certificates"]
                  if c["error"] is None and not (c["validation"] or {}).get("ok")]
        if r.rc == 0:
            self.assertEqual(failed, [], "exit 0 although chains failed\n" + r.describe())
        return doc

    def pin_env(self):
        return dict(self.hsm.env, **{PIN_VAR: self.hsm.user_pin})

    def by_id_and_label(self, doc):
        out = {}
        for c in doc["certificates"]:
            key = (c["id"], c["label"])
            self.assertNotIn(key, out, "certificate listed twice: %r" % (key,))
            out[key] = c
        return out

    def check_certificate(self, got, cert, has_key):
        facts = testlib.cert_facts(cert.der_path)
        where = "certificate %r (id %s): " % (cert.label, cert.id_hex)
        self.assertIsNone(got["error"], where + "parses")
        for key in ("subject", "issuer", "serial", "not_before", "not_after", "sha256",
                    "key_type", "key_bits"):
            self.assertEqual(got[key], facts[key], where + key + " differs from openssl's")
        now = datetime.datetime.now(datetime.timezone.utc)
        days = (facts["not_after_dt"] - now).total_seconds() / 86400
        self.assertIsInstance(got["days_left"], int, where + "days_left is an integer")
        self.assertLessEqual(abs(got["days_left"] - days), 1.0,
                             where + "days_left %r, openssl's notAfter gives %.2f"
                             % (got["days_left"], days))
        if facts["key_usage"] is None:
            self.assertEqual(got["key_usage"], [], where + "no keyUsage extension")
        else:
            self.assertEqual(len(got["key_usage"]), len(facts["key_usage"]),
                             where + "key_usage %r vs openssl %r" % (got["key_usage"],
                                                                       facts["key_usage"]))
            for names in facts["key_usage"]:
                self.assertTrue(names & set(got["key_usage"]),
                                where + "key_usage %r lacks %s" % (got["key_usage"],
                                                                   " or ".join(sorted(names))))
        if facts["extended_key_usage"] is None:
            self.assertEqual(got["extended_key_usage"], [], where + "no EKU extension")
        else:
            why = eku_mismatch(got["extended_key_usage"], facts["extended_key_usage"])
            self.assertIsNone(why, where + "extended_key_usage %r: %s"
                              % (got["extended_key_usage"], why))
        self.assertIs(got["has_private_key"], has_key, where + "has_private_key")
        # SoftHSM2 is no PIV module and these labels are not PIV labels: an id of 01 there
        # says nothing about slot 9A.
        self.assertIsNone(got["piv_slot"], where + "piv_slot on a non-PIV token")
        self.assertIsNone(got["validation"], where + "validation is null without --validate")
        self.check_object_uri(got, cert.token, cert.id_hex, cert.label)

    def check_object_uri(self, got, token, id_hex, label):
        where = "certificate %r uri %r: " % (label, got["uri"])
        try:
            attrs = testlib.parse_pkcs11_uri(got["uri"])
        except ValueError as e:
            self.fail(where + str(e))
        self.assertTrue({"id", "object"} & set(attrs), where + "names the object")
        expected = {"token": token.rstrip(" ").encode(), "object": label.encode(),
                    "id": bytes.fromhex(id_hex), "type": b"cert",
                    "serial": self.hsm.tokens[token]["serial"].encode()}
        for key, value in expected.items():
            if key in attrs:
                self.assertEqual(attrs[key], value, where + key)
        if not testlib.require_tools("p11tool"):
            found = testlib.p11tool_list_certs(self.hsm.module, got["uri"], env=self.hsm.env)
            ids = [testlib.parse_pkcs11_uri(u).get("id") for u in found]
            self.assertEqual(ids, [bytes.fromhex(id_hex)],
                             where + "p11tool --list-all-certs finds %r" % found)


class ListingTest(CertsTestBase):
    def test_listing_matches_pkcs11_tool_on_every_token(self):
        for label in sf.TOKEN_LABELS:
            with self.subTest(token=label):
                want = testlib.pkcs11_tool_objects(self.hsm.module, label, env=self.hsm.env)
                uri = "pkcs11:serial=" + self.hsm.tokens[label]["serial"]
                doc = self.certs_json(uri)
                got = sorted((c["id"], c["label"]) for c in doc["certificates"])
                self.assertEqual(got, sorted((w["id"].lower(), w["label"]) for w in want),
                                 "certificates differ from pkcs11-tool --list-objects")

    def test_main_token_fields_without_login(self):
        # SoftHSM2's private keys are private objects: before login nobody can tell.
        doc = self.certs_json(sf.MAIN)
        self.assertEqual(doc["token"]["label"], sf.MAIN)
        got = self.by_id_and_label(doc)
        for cert in self.hsm.certs_on(sf.MAIN):
            with self.subTest(cert=cert.label):
                self.assertIn((cert.id_hex, cert.label), got)
                self.check_certificate(got[(cert.id_hex, cert.label)], cert, None)

    def test_main_token_fields_after_login(self):
        keys = testlib.pkcs11_tool_objects(self.hsm.module, sf.MAIN, "privkey",
                                           pin=self.hsm.user_pin, env=self.hsm.env)
        key_ids = {k["id"].lower() for k in keys}
        self.assertEqual(key_ids, {c.id_hex for c in self.hsm.certs_on(sf.MAIN)
                                   if c.key_imported}, "fixture sanity: keys as imported")
        doc = self.certs_json(sf.MAIN, "--login", "--pin-env", PIN_VAR, env=self.pin_env())
        got = self.by_id_and_label(doc)
        for cert in self.hsm.certs_on(sf.MAIN):
            with self.subTest(cert=cert.label):
                self.check_certificate(got[(cert.id_hex, cert.label)], cert,
                                       cert.id_hex in key_ids)

    def test_login_with_pin_on_stdin(self):
        r = self.certs(sf.MAIN, "--json", "--login", "--pin-stdin",
                       input_bytes=(self.hsm.user_pin + "\n").encode())
        doc = self.json_of(r)
        flags = {c["id"]: c["has_private_key"] for c in doc["certificates"]}
        self.assertEqual(flags, {"01": True, "02": False, "03": True, "04": False, "10": False})
        self.assertNoSecret(r, self.hsm.user_pin)

    def test_edge_cases_and_unparseable_objects(self):
        r = self.certs(sf.EDGE, "--json")
        doc = self.json_of(r)
        got = self.by_id_and_label(doc)
        for cert in self.hsm.certs_on(sf.EDGE):
            with self.subTest(cert=cert.label):
                self.assertIn((cert.id_hex, cert.label), got)
                self.check_certificate(got[(cert.id_hex, cert.label)], cert, None)
        for broken in self.hsm.broken_on(sf.EDGE):
            with self.subTest(cert=broken.label):
                entry = got.get((broken.id_hex, broken.label))
                self.assertIsNotNone(entry, "the unparseable object %r is listed"
                                     % broken.label)
                self.assertIsInstance(entry["error"], str, "error says why it did not parse")
                self.assertTrue(entry["error"].strip())
                self.check_object_uri(entry, sf.EDGE, broken.id_hex, broken.label)

    def test_text_output(self):
        r = self.certs(sf.MAIN)
        self.assertExit(r, 0)
        for cert in self.hsm.certs_on(sf.MAIN):
            self.assertIn(cert.label, r.stdout)
        r = self.certs(sf.EDGE)
        self.assertExit(r, 0)
        for broken in self.hsm.broken_on(sf.EDGE):
            self.assertIn(broken.label, r.stdout, "an unparseable object is still shown")


class ExportTest(CertsTestBase):
    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="cactool-export-"))

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def expected_ders(self):
        return sorted(c.der for c in self.hsm.certs_on(sf.MAIN))

    def exported_files(self):
        return sorted(p for p in self.tmp.iterdir() if p.is_file())

    def test_export_dir_pem(self):
        r = self.certs(sf.MAIN, "--export", self.tmp, "--format", "pem")
        self.assertExit(r, 0)
        files = self.exported_files()
        self.assertEqual(len(files), len(self.expected_ders()), "one file per certificate")
        ders = []
        for f in files:
            data = f.read_bytes()
            blocks = testlib.pem_blocks(data)
            self.assertEqual(len(blocks), 1, "%s holds one PEM certificate" % f.name)
            # openssl reads it back to the very DER on the token, and would write the same
            # PEM text.
            der = testlib.cert_facts(f, inform="PEM")["der"]
            self.assertEqual(data, testlib.der_to_pem_openssl(der),
                             "%s is not the canonical PEM of its certificate" % f.name)
            ders.append(der)
        self.assertEqual(sorted(ders), self.expected_ders())

    def test_export_dir_der(self):
        r = self.certs(sf.MAIN, "--export", self.tmp, "--format", "der")
        self.assertExit(r, 0)
        files = self.exported_files()
        self.assertEqual(sorted(f.read_bytes() for f in files), self.expected_ders(),
                         "DER files equal the imported certificates byte for byte")
        for f in files:
            testlib.cert_facts(f, inform="DER")  # openssl reads each

    def test_export_dir_default_format_is_readable(self):
        r = self.certs(sf.MAIN, "--export", self.tmp)
        self.assertExit(r, 0)
        ders = sorted(testlib.cert_facts(f)["der"] for f in self.exported_files())
        self.assertEqual(ders, self.expected_ders())

    def test_export_stdout_pem(self):
        r = self.certs(sf.MAIN, "--export", "-", "--format", "pem")
        self.assertExit(r, 0)
        ders = testlib.pem_blocks(r.stdout_bytes)
        self.assertEqual(sorted(ders), self.expected_ders())
        expected_text = b"".join(testlib.der_to_pem_openssl(d) for d in ders)
        stripped = b"".join(re.findall(rb"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE"
                                       rb"-----\n", r.stdout_bytes, re.S))
        self.assertEqual(stripped, expected_text, "PEM blocks are openssl's canonical form")

    def test_export_stdout_der(self):
        r = self.certs(sf.MAIN, "--export", "-", "--format", "der")
        self.assertExit(r, 0)
        try:
            ders = testlib.der_sequence_split(r.stdout_bytes)
        except ValueError as e:
            self.fail("stdout is not concatenated DER certificates: %s" % e)
        self.assertEqual(sorted(ders), self.expected_ders())


class ValidateTest(CertsTestBase):
    def leaves(self):
        return [c for c in self.hsm.certs_on(sf.MAIN)]

    def test_oracle_agrees_chain_is_good(self):
        for cert in self.leaves():
            self.assertTrue(testlib.openssl_verify(self.hsm.root_ca_pem, self.hsm.issuing_ca_pem,
                                                   cert.pem_path), cert.label)

    def check_all_ok(self, doc):
        root_subject = testlib.cert_facts(self.hsm.root_ca_pem)["subject"]
        got = self.by_id_and_label(doc)
        for cert in self.leaves():
            with self.subTest(cert=cert.label):
                v = got[(cert.id_hex, cert.label)]["validation"]
                self.assertIsNotNone(v, "--validate fills validation")
                self.assertIs(v["ok"], True, "chain to the test root: %r" % v)
                self.assertIsNone(v["error"])
                subject = testlib.cert_facts(cert.der_path)["subject"]
                self.assertEqual(v["chain"][0], subject, "the chain starts at the certificate")
                self.assertEqual(v["chain"][-1], root_subject, "the chain ends at the root")

    def test_validate_with_ca_file(self):
        # The issuing CA is found on the token; only the root comes from --ca-file.
        self.check_all_ok(self.validation_json(sf.MAIN, "--ca-file", self.hsm.root_ca_pem))

    def test_validate_with_ca_dir(self):
        self.check_all_ok(self.validation_json(sf.MAIN, "--ca-dir", self.hsm.ca_dir))

    def test_validate_with_unrelated_ca(self):
        for cert in self.leaves():
            self.assertFalse(testlib.openssl_verify(self.hsm.unrelated_ca_pem,
                                                    self.hsm.issuing_ca_pem, cert.pem_path))
        doc = self.validation_json(sf.MAIN, "--ca-file", self.hsm.unrelated_ca_pem)
        got = self.by_id_and_label(doc)
        for cert in self.leaves():
            with self.subTest(cert=cert.label):
                v = got[(cert.id_hex, cert.label)]["validation"]
                self.assertIsNotNone(v)
                self.assertIs(v["ok"], False, "no chain to an unrelated CA: %r" % v)
                self.assertIsInstance(v["error"], str)
                self.assertTrue(v["error"].strip(), "error says why")

    def test_validate_at_a_time_before_the_certificates(self):
        doc = self.validation_json(sf.MAIN, "--ca-file", self.hsm.root_ca_pem,
                                   "--at", "2001-01-01T00:00:00Z")
        for c in doc["certificates"]:
            self.assertIs(c["validation"]["ok"], False, "not yet valid in 2001: %r" % c)

    def test_validate_edge_cases_agrees_with_openssl(self):
        # The self-signed edge roots as anchors: each certificate's verdict, now and in
        # 2051 (GeneralizedTime dates), must be openssl verify's.
        anchors = self.tmp_anchor_file()
        for at, epoch in ((None, None),
                          ("2051-06-01T00:00:00Z",
                           datetime.datetime(2051, 6, 1, tzinfo=datetime.timezone.utc)
                           .timestamp())):
            extra = ["--at", at] if at else []
            doc = self.validation_json(sf.EDGE, "--ca-file", anchors, *extra)
            got = self.by_id_and_label(doc)
            for cert in self.hsm.certs_on(sf.EDGE):
                with self.subTest(cert=cert.label, at=at):
                    want = testlib.openssl_verify(anchors, None, cert.pem_path, epoch)
                    v = got[(cert.id_hex, cert.label)]["validation"]
                    self.assertIs(v["ok"], want, "openssl verify says %s: %r" % (want, v))

    def tmp_anchor_file(self):
        path = Path(self.hsm.root) / "edge-anchors.pem"
        if not path.exists():
            roots = [c for c in self.hsm.certs_on(sf.EDGE) if c.id_hex in ("24", "25", "26")]
            path.write_bytes(b"".join(Path(c.pem_path).read_bytes() for c in roots))
        return str(path)


class SelectionTest(CertsTestBase):
    def labels_of(self, doc):
        return sorted(c["label"] for c in doc["certificates"])

    def expected_labels(self, token):
        return sorted([c.label for c in self.hsm.certs_on(token)]
                      + [b.label for b in self.hsm.broken_on(token)])

    def test_token_by_label(self):
        doc = self.certs_json(sf.EDGE)
        self.assertEqual(self.labels_of(doc), self.expected_labels(sf.EDGE))

    def test_token_by_uri(self):
        doc = self.certs_json("pkcs11:token=cactool%20main")
        self.assertEqual(self.labels_of(doc), self.expected_labels(sf.MAIN))
        self.assertEqual(doc["token"]["label"], sf.MAIN)

    def test_token_by_p11tool_uris(self):
        if testlib.require_tools("p11tool"):
            self.skipTest("p11tool (gnutls-bin) is not installed")
        for tok in testlib.p11tool_tokens(self.hsm.module, env=self.hsm.env):
            label = tok["Label"]
            if label not in self.hsm.tokens:
                continue
            with self.subTest(token=label):
                doc = self.certs_json(tok["URL"])
                self.assertEqual(self.labels_of(doc), self.expected_labels(label))
                attrs = testlib.parse_pkcs11_uri(doc["token"]["uri"])
                if "token" in attrs:
                    self.assertEqual(attrs["token"], label.encode())

    def test_odd_label_by_label(self):
        doc = self.certs_json(sf.ODD)
        self.assertEqual(self.labels_of(doc), self.expected_labels(sf.ODD))

    def test_slot_by_id(self):
        r = self.cactool("certs", "--module", self.hsm.module, "--slot",
                         str(self.hsm.tokens[sf.MAIN]["slot_id"]), "--json")
        self.assertEqual(self.labels_of(self.json_of(r)), self.expected_labels(sf.MAIN))

    def test_no_token_matches_label(self):
        r = self.certs("no such token")
        self.assertExit(r, 3)
        self.assertTrue(r.stderr.strip(), "a message on stderr")
        self.assertErrorDocument(self.certs("no such token", "--json"), 3)

    def test_no_token_matches_uri(self):
        self.assertExit(self.certs("pkcs11:token=no%20such%20token"), 3)
        self.assertExit(self.certs("pkcs11:serial=0000000000000000"), 3)
        self.assertErrorDocument(self.certs("pkcs11:token=no%20such%20token", "--json"), 3)

    def test_malformed_uri_is_a_usage_error(self):
        self.assertExit(self.certs("pkcs11:token=%zz"), 2)


if __name__ == "__main__":
    base.main()
