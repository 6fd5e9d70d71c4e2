#!/usr/bin/python3
"""The command-line contract at its edges: empty option values, options without effect,
unwritable output, existing export files, text from a token with control characters,
subcommands of later releases, PINs that do not exist, and PINs hidden in URIs."""

import os
import subprocess
import tempfile
import unittest
from pathlib import Path

import base
import softhsm_fixture as sf
import testlib

# A label a hostile or broken token might carry: a colour change, a forged line, a tab.
HOSTILE_LABEL = "\x1b[31mRED\x1b[0m evil\nprivate key  yes\tTAB"


class ContractTest(base.CactoolTestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="cactool-contract-")
        self.dir = Path(self.tmp.name)

    def tearDown(self):
        self.tmp.cleanup()

    def certs(self, *extra, env=None):
        return self.cactool("certs", "--module", self.hsm.module, "--token", sf.MAIN, *extra,
                            env=env)

    def test_empty_option_values_are_usage_errors(self):
        for option in ("--token", "--slot", "--module", "--config", "--timeout"):
            with self.subTest(option=option):
                r = self.cactool("certs", "--module", self.hsm.module, option, "")
                self.assertExit(r, 2)
                self.assertIn(option, r.stderr)
        for option in ("--export", "--at", "--ca-file", "--ca-dir"):
            with self.subTest(option=option):
                self.assertExit(self.certs("--validate", option, ""), 2)

    def test_options_without_effect_are_usage_errors(self):
        for extra in (["--format", "der"], ["--ca-file", str(self.hsm.root_ca_pem)],
                      ["--at", "2030-01-01T00:00:00Z"], ["--overwrite"], ["--force"]):
            with self.subTest(extra=extra):
                r = self.certs(*extra)
                self.assertExit(r, 2)
                self.assertIn("no effect without", r.stderr)
        r = self.cactool("login", "--module", self.hsm.module, "--token", sf.MAIN, "--check",
                         "--pin-stdin", input_bytes=b"123456\n")
        self.assertExit(r, 2)

    def test_output_that_cannot_be_written_fails(self):
        for extra in (["--json"], [], ["--export", "-"]):
            with self.subTest(extra=extra):
                with open("/dev/full", "wb") as full:
                    proc = subprocess.run(
                        [testlib.cactool_path(), "certs", "--module", self.hsm.module,
                         "--token", sf.MAIN] + extra,
                        stdout=full, stderr=subprocess.PIPE, env=self.hsm.env, timeout=60)
                self.assertEqual(proc.returncode, 1, proc.stderr.decode())
                self.assertIn(b"failed to write the output", proc.stderr)

    def test_export_never_replaces_files_unless_asked(self):
        out = self.dir / "out"
        self.assertExit(self.certs("--export", str(out)), 0)
        names = sorted(p.name for p in out.iterdir())
        self.assertTrue(names)
        precious = out / names[0]
        precious.write_bytes(b"precious\n")
        r = self.certs("--export", str(out))
        self.assertExit(r, 1)
        self.assertIn("already exists", r.stderr)
        self.assertEqual(precious.read_bytes(), b"precious\n", "the existing file is kept")
        self.assertEqual(sorted(p.name for p in out.iterdir()), names, "nothing else written")
        self.assertExit(self.certs("--export", str(out), "--overwrite"), 0)
        self.assertTrue(precious.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----"))

    def test_slots_lists_every_token_a_uri_fits(self):
        oracle = [t["id"] for t in
                  testlib.pkcs11_tool_slots(self.hsm.module, env=self.hsm.env)
                  if t.get("token") or t.get("uninitialized")]
        doc = self.json_of(self.cactool("slots", "--module", self.hsm.module, "--token",
                                        "pkcs11:model=SoftHSM%20v2", "--json"))
        got = [s["id"] for s in doc["modules"][0]["slots"]]
        self.assertEqual(sorted(got), sorted(oracle), "every SoftHSM2 token fits the URI")
        self.assertExit(self.cactool("slots", "--module", self.hsm.module, "--token",
                                     "no such token"), 3)

    def test_every_subcommand_of_the_spec_is_there(self):
        for name in ("readers", "watch", "slots", "login", "certs", "apdu", "diag",
                     "errors-report"):
            with self.subTest(subcommand=name):
                r = self.cactool(name, "--help")
                self.assertExit(r, 0)
                self.assertNotIn("not in this release", r.stderr)

    def test_json_without_a_subcommand_is_an_error_document(self):
        err = self.assertErrorDocument(self.cactool("--json"), 2)
        self.assertEqual(err["name"], "CACTOOL_USAGE")

    def test_a_token_without_a_user_pin(self):
        # p11-kit-trust's token has no user PIN (pkcs11-tool lists no
        # user_pin_initialized flag for it): there is nothing to verify or check.
        module = testlib.find_module("p11-kit-trust")
        if module is None:
            self.skipTest("p11-kit-trust is not installed")
        flags = [t["token"]["flags"] for t in testlib.pkcs11_tool_slots(module, env=self.hsm.env)
                 if t.get("token")]
        self.assertTrue(flags and all("user_pin_initialized" not in f for f in flags), flags)
        r = self.cactool("login", "--module", module, "--check", "--json")
        err = self.assertErrorDocument(r, 1)
        self.assertEqual(err["name"], "CKR_USER_PIN_NOT_INITIALIZED")

    def test_a_pin_inside_a_token_uri_is_refused_and_never_shown(self):
        secret = "Zq9-secret-7741"
        for uri in ("pkcs11:token=nomatch?pin-value=" + secret,
                    "pkcs11:token=nomatch%2?pin-value=" + secret,
                    "pkcs11:token=cactool%20main?PIN-VALUE=" + secret):
            with self.subTest(uri=uri):
                r = self.cactool("certs", "--module", self.hsm.module, "--token", uri, "--json")
                self.assertExit(r, 2)
                self.assertNotIn(secret, r.stdout + r.stderr)


class HostileLabelTest(base.CactoolTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cert = cls.hsm.certs[0]
        sf.create_raw_certificate(cls.hsm.module, cls.hsm.conf, sf.EDGE, cls.hsm.user_pin,
                                  bytes([0x7e]), HOSTILE_LABEL, cert.der)

    def test_text_output_escapes_control_characters(self):
        r = self.cactool("certs", "--module", self.hsm.module, "--token", sf.EDGE)
        self.assertExit(r, 0)
        self.assertNotIn("\x1b", r.stdout, "no escape sequence from the token reaches the terminal")
        self.assertIn("\\x1b[31mRED", r.stdout)
        self.assertNotIn("\nprivate key  yes", r.stdout, "the label cannot forge a line")

    def test_json_keeps_the_label_exactly(self):
        doc = self.json_of(self.cactool("certs", "--module", self.hsm.module, "--token", sf.EDGE,
                                        "--json"))
        labels = [c["label"] for c in doc["certificates"]]
        self.assertIn(HOSTILE_LABEL, labels)


if __name__ == "__main__":
    unittest.main(verbosity=2)
