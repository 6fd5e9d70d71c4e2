#!/usr/bin/python3
"""`cactool login` against SoftHSM2 tokens: every PIN source, wrong PINs, the refusal of
--pin, and no PIN in any output, trace or journal."""

import os
import tempfile
import unittest
from pathlib import Path

import base
import softhsm_fixture as sf
import testlib

PIN_VAR = "CACTOOL_TEST_PIN"


class LoginTestBase(base.CactoolTestCase):
    def login(self, token, *extra, env=None, input_bytes=None):
        return self.cactool("login", "--module", self.hsm.module, "--token", token, *extra,
                            env=env, input_bytes=input_bytes)

    def oracle_flags(self, token):
        for slot in testlib.pkcs11_tool_slots(self.hsm.module, env=self.hsm.env):
            tok = slot.get("token")
            if tok and tok["label_raw"].rstrip(" ") == token:
                return tok["flags"]
        self.fail("pkcs11-tool does not list token %r" % token)

    def assertLoginDocument(self, doc, result, user, token):
        self.assertEqual(doc["result"], result, doc)
        self.assertEqual(doc["user"], user, doc)
        self.assertEqual(doc["token"]["label"], token, doc)
        status = doc["pin_status"]
        for key in ("retries_left", "count_low", "final_try", "locked"):
            self.assertIn(key, status, "pin_status.%s" % key)
        # SoftHSM2 keeps no retry counter a PKCS#11 caller can read.
        self.assertIsNone(status["retries_left"], "SoftHSM2 does not report retries")


class PinSourcesTest(LoginTestBase):
    def test_pin_stdin(self):
        r = self.login(sf.MAIN, "--pin-stdin", "--json",
                       input_bytes=(self.hsm.user_pin + "\n").encode())
        self.assertLoginDocument(self.json_of(r), "ok", "user", sf.MAIN)
        self.assertNoSecret(r, self.hsm.user_pin)

    def test_pin_stdin_without_newline(self):
        r = self.login(sf.MAIN, "--pin-stdin", "--json", input_bytes=self.hsm.user_pin.encode())
        self.assertLoginDocument(self.json_of(r), "ok", "user", sf.MAIN)

    def test_pin_env(self):
        env = dict(self.hsm.env, **{PIN_VAR: self.hsm.user_pin})
        r = self.login(sf.MAIN, "--pin-env", PIN_VAR, "--json", env=env)
        self.assertLoginDocument(self.json_of(r), "ok", "user", sf.MAIN)
        self.assertNoSecret(r, self.hsm.user_pin)

    def test_pin_file(self):
        with tempfile.TemporaryDirectory(prefix="cactool-pin-") as tmp:
            path = Path(tmp) / "pin"
            path.write_text(self.hsm.user_pin + "\n")
            path.chmod(0o600)
            r = self.login(sf.MAIN, "--pin-file", path, "--json")
        self.assertLoginDocument(self.json_of(r), "ok", "user", sf.MAIN)
        self.assertNoSecret(r, self.hsm.user_pin)

    def test_so_pin(self):
        r = self.login(sf.MAIN, "--so", "--pin-stdin", "--json",
                       input_bytes=(self.hsm.so_pin + "\n").encode())
        self.assertLoginDocument(self.json_of(r), "ok", "so", sf.MAIN)
        self.assertNoSecret(r, self.hsm.so_pin)

    def test_token_by_uri(self):
        r = self.login("pkcs11:token=cactool%20main", "--pin-stdin", "--json",
                       input_bytes=(self.hsm.user_pin + "\n").encode())
        self.assertLoginDocument(self.json_of(r), "ok", "user", sf.MAIN)

    def test_text_output(self):
        r = self.login(sf.MAIN, "--pin-stdin", input_bytes=(self.hsm.user_pin + "\n").encode())
        self.assertExit(r, 0)
        self.assertNoSecret(r, self.hsm.user_pin)

    def test_check_needs_no_pin_and_matches_the_flags(self):
        r = self.login(sf.MAIN, "--check", "--json")
        doc = self.json_of(r)
        flags = self.oracle_flags(sf.MAIN)
        status = doc["pin_status"]
        self.assertIs(status["count_low"], "user_pin_count_low" in flags)
        self.assertIs(status["final_try"], "user_pin_final_try" in flags)
        self.assertIs(status["locked"], "user_pin_locked" in flags)

    def test_pin_on_the_command_line_is_refused(self):
        secret = "Qz7-cmdline-PIN-1234"
        for args in (["--pin", secret], ["--pin=" + secret]):
            with self.subTest(args=args):
                r = self.login(sf.MAIN, *args)
                self.assertExit(r, 2)
                for alternative in ("--pin-stdin", "--pin-env", "--pin-file"):
                    self.assertIn(alternative, r.stderr, "the message names the alternatives")
                self.assertNoSecret(r, secret)
                r = self.login(sf.MAIN, *args, "--json")
                self.assertErrorDocument(r, 2)
                self.assertNoSecret(r, secret)

    def test_certs_refuses_pin_on_the_command_line_too(self):
        r = self.cactool("certs", "--module", self.hsm.module, "--token", sf.MAIN, "--login",
                         "--pin", "Qz7-cmdline-PIN-1234")
        self.assertExit(r, 2)
        self.assertNoSecret(r, "Qz7-cmdline-PIN-1234")

    def test_a_pin_typed_in_the_wrong_place_is_not_repeated(self):
        # The likeliest reason for digits after --pin-env, --pin-file or as a stray
        # argument is the PIN itself; the error must not print it.
        secret = "86420975"
        for args in (["--pin-env", secret], ["--pin-file", secret], ["--pin-stdin", secret]):
            with self.subTest(args=args):
                r = self.login(sf.MAIN, *args, input_bytes=b"")
                self.assertNotEqual(r.rc, 0, r.describe())
                self.assertNoSecret(r, secret)
                self.assertIn("8 digits", r.stderr, r.describe())

    def test_unknown_token_is_not_found(self):
        r = self.login("no such token", "--pin-stdin", "--json",
                       input_bytes=(self.hsm.user_pin + "\n").encode())
        self.assertErrorDocument(r, 3)


class WrongPinTest(LoginTestBase):
    """One test, in order: a wrong PIN changes the token's state for what follows."""

    def test_wrong_pin_then_recovery(self):
        token, env = sf.PIN_TOKEN, self.hsm.env
        self.assertNotIn("user_pin_count_low", self.oracle_flags(token), "fresh token")

        r = self.login(token, "--pin-stdin", "--json",
                       input_bytes=(self.hsm.wrong_pin + "\n").encode())
        self.assertLoginDocument(self.json_of(r, 4), "incorrect", "user", token)
        self.assertNoSecret(r, self.hsm.wrong_pin)

        flags = self.oracle_flags(token)
        check = self.json_of(self.login(token, "--check", "--json"))
        self.assertIs(check["pin_status"]["count_low"], "user_pin_count_low" in flags,
                      "--check agrees with pkcs11-tool after a wrong PIN (flags %s)" % flags)

        # A count that is low but not at the final try is no reason to refuse: PKCS#11
        # says only that a try was lost, and the default threshold refuses at the last one.
        r = self.login(token, "--pin-stdin", "--json",
                       input_bytes=(self.hsm.user_pin + "\n").encode())
        self.assertLoginDocument(self.json_of(r), "ok", "user", token)
        self.assertNotIn("user_pin_count_low", self.oracle_flags(token),
                         "a good login resets SoftHSM2's count")

    def test_wrong_pin_text_mode(self):
        r = self.login(sf.PIN_TOKEN, "--pin-stdin", "--force",
                       input_bytes=(self.hsm.wrong_pin + "\n").encode())
        self.assertExit(r, 4)
        self.assertRegex(r.stdout + r.stderr, r"(?i)(incorrect|wrong)",
                         "a message says the PIN was wrong\n" + r.describe())
        # Not at the final try (pkcs11-tool would show user_pin_final_try): PKCS#11 then
        # gives no count, and the line says so rather than that no try was lost.
        self.assertNotIn("user_pin_final_try", self.oracle_flags(sf.PIN_TOKEN))
        self.assertIn("user PIN incorrect (the card did not say how many tries are left)",
                      r.stdout)
        self.assertNoSecret(r, self.hsm.wrong_pin)
        # Leave the token as found.
        self.assertExit(self.login(sf.PIN_TOKEN, "--pin-stdin", "--force",
                                   input_bytes=(self.hsm.user_pin + "\n").encode()), 0)


class NoSecretInOutputTest(LoginTestBase):
    def test_trace_and_debug_never_show_a_pin(self):
        with tempfile.TemporaryDirectory(prefix="cactool-journal-") as tmp:
            journal = Path(tmp) / "journal.jsonl"
            common = ["--trace", "-vv", "--journal", journal]
            env = dict(self.hsm.env, CAC_DEBUG="true", **{PIN_VAR: self.hsm.user_pin})
            runs = [
                self.login(sf.MAIN, *common, "--pin-stdin",
                           input_bytes=(self.hsm.user_pin + "\n").encode(), env=env),
                self.login(sf.MAIN, *common, "--pin-env", PIN_VAR, "--json", env=env),
                self.login(sf.MAIN, *common, "--so", "--pin-stdin",
                           input_bytes=(self.hsm.so_pin + "\n").encode(), env=env),
                self.login(sf.PIN_TOKEN, *common, "--force", "--pin-stdin",
                           input_bytes=(self.hsm.wrong_pin + "\n").encode(), env=env),
                self.login(sf.PIN_TOKEN, *common, "--force", "--pin-stdin", "--json",
                           input_bytes=(self.hsm.user_pin + "\n").encode(), env=env),
                self.cactool("certs", "--module", self.hsm.module, "--token", sf.MAIN,
                             "--login", "--pin-env", PIN_VAR, *common, env=env),
            ]
            for r in runs:
                self.assertNoSecret(r, self.hsm.user_pin, self.hsm.so_pin, self.hsm.wrong_pin)
            self.assertTrue(any("C_Login" in r.stderr for r in runs),
                            "--trace logs the PKCS#11 calls, C_Login among them")
            self.assertEqual([r.rc for r in runs], [0, 0, 0, 4, 0, 0],
                             "\n\n".join(r.describe() for r in runs))
            if journal.exists():
                text = journal.read_text(errors="replace")
                for secret in (self.hsm.user_pin, self.hsm.so_pin, self.hsm.wrong_pin):
                    self.assertNotIn(secret, text, "a PIN in the error journal")
                    self.assertNotIn(secret.encode().hex(), text.lower())


if __name__ == "__main__":
    base.main()
