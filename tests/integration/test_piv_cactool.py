"""cactool's main job on the whole real stack: OpenSC's PKCS#11 module over a private pcscd,
vpcd and the virtual PIV card.

Expected values: the certificates the card's profile holds (fingerprints recomputed with
openssl from the exported PEM files), pkcs11-tool's view of the same token, and the card's
own retry counter and APDU log read through its control channel.
"""

import os
import pty
import re
import select
import signal
import subprocess
import sys
import termios
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import testbed  # noqa: E402

testbed.enter()

import testlib  # noqa: E402
from base import CactoolTestCase  # noqa: E402


class OnTheSimulatedCard(CactoolTestCase):
    @classmethod
    def setUpClass(cls):
        testlib.cactool_path()
        cls.module = testbed.opensc_module_or_skip()
        cls.env = testlib.clean_env()

    def setUp(self):
        testbed.restore_card()

    def run_on_card(self, *args, pin=None):
        return testlib.run_cactool(
            ["--module", self.module, *args], self.env,
            input_bytes=(pin + "\n").encode() if pin is not None else None)

    def our_slot(self, doc):
        for module in doc["modules"]:
            for slot in module["slots"]:
                if testbed.reader_name() in (slot.get("description") or ""):
                    return slot
        self.fail("no slot for reader %r in %r" % (testbed.reader_name(), doc))

    def test_slots_shows_the_cards_token_as_pkcs11_tool_does(self):
        doc = self.json_of(self.run_on_card("slots", "--json"))
        slot = self.our_slot(doc)
        self.assertIsNotNone(slot["token"], slot)
        oracle = [s for s in testlib.pkcs11_tool_slots(self.module)
                  if testbed.reader_name() in s["description"]]
        self.assertEqual(len(oracle), 1)
        self.assertEqual(slot["token"]["label"], oracle[0]["token"]["label_raw"].strip())
        self.assertEqual(slot["token"]["serial"], oracle[0]["token"]["serial"])

    def test_all_modules_include_the_card_through_opensc(self):
        # --all-modules loads every module p11-kit registers; OpenSC among them talks to
        # pcscd, which here is the bed's own.
        doc = self.json_of(testlib.run_cactool(["slots", "--all-modules", "--json"], self.env))
        paths = {os.path.realpath(m["path"]): m for m in doc["modules"]}
        for name, path in testlib.p11kit_modules().items():
            if os.path.isabs(path):
                self.assertIn(os.path.realpath(path), paths, "module %s is missing" % name)
        opensc = paths[os.path.realpath(self.module)]
        self.assertIsNone(opensc["error"], opensc)
        slot = self.our_slot({"modules": [opensc]})
        oracle = [s for s in testlib.pkcs11_tool_slots(self.module)
                  if testbed.reader_name() in s["description"]]
        self.assertEqual(slot["token"]["label"], oracle[0]["token"]["label_raw"].strip())

    def certificate_fingerprints(self, *extra):
        doc = self.json_of(self.run_on_card("certs", "--json", *extra))
        return {c["sha256"].lower(): c for c in doc["certificates"]}

    def test_certs_are_the_profiles_certificates(self):
        got = self.certificate_fingerprints()
        expected = testbed.slot_fingerprints()
        self.assertEqual(set(got), set(expected.values()))
        for slot, fingerprint in expected.items():
            self.assertEqual((got[fingerprint]["piv_slot"] or "").lower(), slot,
                             "the certificate of slot %s is shown in another slot" % slot)

    def test_compressed_certificates_are_read_the_same(self):
        testbed.use_profile("compressed.json")
        try:
            self.assertTrue(all(e["compressed"] for e in testbed.manifest()["slots"].values()))
            self.assertEqual(set(self.certificate_fingerprints()),
                             set(testbed.slot_fingerprints().values()))
        finally:
            testbed.use_profile(testbed.PROFILES / "default.json")

    def test_a_t0_card_without_extended_length_reads_the_same(self):
        # Under T=0 rules every long answer comes in 61xx pieces through GET RESPONSE.
        # A T=0 card answers a command with data (SELECT) with 61xx alone: proof that the
        # middleware went through the T=0 path rather than the card behaving as T=1.
        testbed.use_profile("t0.json")
        try:
            testbed.apdu_log(clear=True)
            self.assertEqual(set(self.certificate_fingerprints()),
                             set(testbed.slot_fingerprints().values()))
            selects = [e for e in testbed.apdu_log()
                       if (e.get("command") or "").upper().startswith("00A404")]
            self.assertTrue(any(len(e.get("response") or "") == 4
                                and e["response"].upper().startswith("61") for e in selects),
                            "no SELECT answered 61xx: %r" % selects)
        finally:
            testbed.use_profile(testbed.PROFILES / "default.json")

    def test_an_expired_certificate_shows_openssls_dates(self):
        testbed.use_profile("expired.json")
        try:
            got = self.certificate_fingerprints()
            der = testbed.slot_certificate_der("9a")
            facts = testlib.cert_facts(der=der)
            shown = got[testlib.sha256_of_der_openssl(der)]
            self.assertEqual(shown["not_after"], facts["not_after"])
            self.assertLess(shown["days_left"], 0)
        finally:
            testbed.use_profile(testbed.PROFILES / "default.json")

    def test_login_with_the_right_pin(self):
        r = self.run_on_card("login", "--pin-stdin", "--json", pin=testbed.DEFAULT_PIN)
        self.json_of(r)
        self.assertNoSecret(r, testbed.DEFAULT_PIN)
        self.assertEqual(testbed.card_status()["pin_tries"], testbed.manifest()["pin"]["max"])

    def test_a_right_pin_at_the_final_try_reports_the_counter_reset(self):
        for _ in range(testbed.manifest()["pin"]["max"] - 1):
            self.run_on_card("login", "--pin-stdin", "--force", pin="999999")
        self.assertEqual(testbed.card_status()["pin_tries"], 1)
        r = self.run_on_card("login", "--pin-stdin", "--force", "--json", pin=testbed.DEFAULT_PIN)
        doc = self.json_of(r)
        self.assertEqual(doc["result"], "ok")
        # The card's own counter is the witness: back to full after the good PIN.
        self.assertEqual(testbed.card_status()["pin_tries"], testbed.manifest()["pin"]["max"])
        self.assertFalse(doc["pin_status"]["final_try"], doc)
        self.assertFalse(doc["pin_status"]["count_low"], doc)
        self.assertNotEqual(doc["pin_status"]["retries_left"], 1, doc)

    def test_ctrl_c_at_the_pin_prompt_gives_the_terminal_its_echo_back(self):
        pid, master = pty.fork()
        if pid == 0:
            exe = testlib.cactool_path()
            os.execve(exe, [exe, "--module", self.module, "login"], self.env)
        try:
            seen, deadline = b"", time.monotonic() + 60
            while b"Enter" not in seen and time.monotonic() < deadline:
                if select.select([master], [], [], 1)[0]:
                    seen += os.read(master, 1024)
            self.assertIn(b"Enter", seen, "no PIN prompt")
            self.assertFalse(termios.tcgetattr(master)[3] & termios.ECHO,
                             "echo is on at the PIN prompt")
            os.write(master, b"\x03")  # Ctrl-C, as the line discipline delivers it
            _, status = os.waitpid(pid, 0)
            pid = None
            self.assertTrue(os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGINT,
                            "cactool did not end by SIGINT (status %d)" % status)
            self.assertTrue(termios.tcgetattr(master)[3] & termios.ECHO,
                            "the terminal was left without echo")
        finally:
            if pid is not None:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            os.close(master)
        self.assertEqual(testbed.card_status()["pin_tries"], testbed.manifest()["pin"]["max"])

    def test_a_wrong_pin_costs_exactly_one_try(self):
        before = testbed.card_status()["pin_tries"]
        testbed.apdu_log(clear=True)
        r = self.run_on_card("login", "--pin-stdin", "--json", pin="999999")
        self.assertEqual(self.json_of(r, 4)["result"], "incorrect")
        self.assertNoSecret(r, "999999")
        self.assertEqual(testbed.card_status()["pin_tries"], before - 1)
        sent = [v for v in testbed.verify_commands(testbed.apdu_log()) if v[1]]
        self.assertEqual(len(sent), 1, "VERIFY with a PIN sent %d times" % len(sent))

    def test_the_guard_sends_no_verify_at_the_last_try(self):
        for _ in range(testbed.manifest()["pin"]["max"] - 1):
            self.run_on_card("login", "--pin-stdin", "--force", pin="999999")
        self.assertEqual(testbed.card_status()["pin_tries"], 1)
        testbed.apdu_log(clear=True)
        r = self.run_on_card("login", "--pin-stdin", "--json", pin="999999")
        doc = self.json_of(r, 5)
        self.assertEqual(doc["result"], "refused")
        self.assertTrue(doc["pin_status"]["final_try"], doc)
        sent = [v for v in testbed.verify_commands(testbed.apdu_log()) if v[1]]
        self.assertEqual(sent, [], "the guard let a VERIFY with a PIN through")
        self.assertEqual(testbed.card_status()["pin_tries"], 1)

    def test_an_so_login_through_opensc_says_why_it_cannot_work(self):
        # OpenSC's PIV driver offers the PUK as the SO PIN; the card does not VERIFY a PUK.
        # pkcs11-tool is the oracle for what the module answers.
        proc = subprocess.run(
            ["pkcs11-tool", "--module", self.module, "--login", "--login-type", "so",
             "--so-pin", testbed.DEFAULT_PUK, "--list-objects"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
        found = re.search(r"C_Login failed: rv = (CKR_\w+)", proc.stdout + proc.stderr)
        self.assertIsNotNone(found, proc.stdout + proc.stderr)
        puk_tries = testbed.card_status()["puk_tries"]
        r = self.run_on_card("login", "--so", "--pin-stdin", "--json", pin=testbed.DEFAULT_PUK)
        self.assertNotEqual(r.rc, 0, r.describe())
        error = r.json()["error"]
        self.assertEqual(error["name"], found.group(1))
        self.assertIn("OpenSC's PIV driver has no SO login", error["hint"])
        self.assertNoSecret(r, testbed.DEFAULT_PUK)
        self.assertEqual(testbed.card_status()["puk_tries"], puk_tries)


if __name__ == "__main__":
    unittest.main(verbosity=2)
