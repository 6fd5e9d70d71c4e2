"""`cactool login --pcsc` on the PC/SC test bed: the PIV PIN verified with VERIFY.

Expected values: the card's own counters (`cardctl status`: pin_tries, verified), its log
of the APDUs it received (`cardctl log`), the profiles' settings (tests/testbed/README.md,
"Card profiles"), NIST SP 800-73-4 for the bytes of VERIFY (part 2 section 3.2.1:
00 20 00 <ref>, the PIN padded with FF to 8 bytes; key reference 80 the application PIN,
00 the Global PIN), yubico-piv-tool as a second client, and SPEC.md's exit codes.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import testbed  # noqa: E402

testbed.enter()

import testlib  # noqa: E402
from base import CactoolTestCase  # noqa: E402

WRONG_PIN = "999999"
PIN_HEX = testbed.DEFAULT_PIN.encode().hex().upper() + "FFFF"
WRONG_HEX = WRONG_PIN.encode().hex().upper() + "FFFF"


def verifies_with_data():
    return [v for v in testbed.verify_commands(testbed.apdu_log()) if v[1]]


def verify_apdus():
    """(command, response) of every VERIFY the card answered, hex upper case."""
    return [(e["command"].upper(), e["response"].upper()) for e in testbed.apdu_log()
            if e.get("event") == "apdu" and e["command"][2:4].upper() == "20"]


class LoginOverPcsc(CactoolTestCase):
    @classmethod
    def setUpClass(cls):
        testlib.cactool_path()
        cls.tmp = tempfile.TemporaryDirectory(prefix="cactool-login-pcsc-")
        cls.journal = Path(cls.tmp.name) / "journal.jsonl"
        cls.env = testlib.clean_env()
        cls.max = testbed.manifest()["pin"]["max"]

    @classmethod
    def tearDownClass(cls):
        testbed.use_profile("default.json")
        cls.tmp.cleanup()

    def setUp(self):
        testbed.use_profile("default.json")
        testbed.apdu_log(clear=True)
        self.journal.unlink(missing_ok=True)

    def login(self, *args, pin=None):
        input_bytes = (pin + "\n").encode() if pin is not None else None
        source = ["--pin-stdin"] if pin is not None else []
        return testlib.run_cactool(
            ["login", "--pcsc", "--journal", self.journal, *source, *args], self.env,
            input_bytes=input_bytes)

    def profile(self, **settings):
        path = Path(self.tmp.name) / "profile.json"
        path.write_text(json.dumps(settings))
        testbed.use_profile(path)
        testbed.apdu_log(clear=True)

    def assertNoPin(self, result, pin):
        for text in (result.stdout, result.stderr):
            self.assertNotIn(pin, text, result.describe())
            self.assertNotIn(pin.encode().hex(), text.lower(), result.describe())

    def test_the_right_pin_is_ok_and_the_counter_back_to_full(self):
        self.json_of(self.login("--json", pin=WRONG_PIN), 4)
        self.assertEqual(testbed.card_status()["pin_tries"], self.max - 1)
        r = self.login("--json", pin=testbed.DEFAULT_PIN)
        doc = self.json_of(r)
        self.assertEqual(doc["result"], "ok")
        status = testbed.card_status()
        self.assertEqual(status["pin_tries"], self.max)
        self.assertTrue(status["verified"], status)
        # The default card answers 9000 to the empty VERIFY once verified: no count.
        self.assertIsNone(doc["pin_status"]["retries_left"], doc)
        self.assertFalse(doc["pin_status"]["final_try"], doc)
        self.assertEqual(doc["reader"], testbed.reader_name())
        self.assertNoPin(r, testbed.DEFAULT_PIN)

    def test_a_wrong_pin_costs_one_try_and_says_how_many_are_left(self):
        r = self.login("--json", pin=WRONG_PIN)
        doc = self.json_of(r, 4)
        self.assertEqual(doc["result"], "incorrect")
        tries = testbed.card_status()["pin_tries"]
        self.assertEqual(tries, self.max - 1)
        self.assertEqual(doc["pin_status"]["retries_left"], tries)
        self.assertEqual(verifies_with_data(), [("80", True)], "one VERIFY with a PIN")
        self.assertNoPin(r, WRONG_PIN)

    def test_the_guard_refuses_at_the_final_try_without_a_verify(self):
        self.profile(pin_retries=1)
        r = self.login("--json", pin=WRONG_PIN)
        doc = self.json_of(r, 5)
        self.assertEqual(doc["result"], "refused")
        self.assertEqual(doc["pin_status"]["retries_left"], 1)
        self.assertTrue(doc["pin_status"]["final_try"], doc)
        self.assertEqual(verifies_with_data(), [], "the guard let a VERIFY with a PIN through")
        self.assertEqual(testbed.card_status()["pin_tries"], 1)
        records = [json.loads(line) for line in self.journal.read_text().splitlines()]
        guard = [rec for rec in records if rec.get("code") == "CACTOOL_LOCKOUT_GUARD"]
        self.assertEqual(len(guard), 1, records)
        self.assertEqual(guard[0]["reader"], testbed.reader_name())

    def test_force_sends_the_last_try_and_a_wrong_pin_then_blocks(self):
        self.profile(pin_retries=1)
        doc = self.json_of(self.login("--json", "--force", pin=WRONG_PIN), 5)
        self.assertEqual(doc["result"], "locked")
        self.assertTrue(doc["pin_status"]["locked"], doc)
        self.assertEqual(verifies_with_data(), [("80", True)])
        self.assertEqual(testbed.card_status()["pin_tries"], 0)

    def test_a_blocked_pin_is_locked_without_a_verify(self):
        self.profile(pin_retries=1)
        self.login("--force", pin=WRONG_PIN)
        testbed.apdu_log(clear=True)
        doc = self.json_of(self.login("--json", "--force", pin=testbed.DEFAULT_PIN), 5)
        self.assertEqual(doc["result"], "locked")
        self.assertEqual(doc["pin_status"]["retries_left"], 0)
        self.assertEqual(verifies_with_data(), [])
        self.assertEqual(verify_apdus(), [("00200080", "6983")])

    def test_check_sends_only_the_empty_verify(self):
        doc = self.json_of(self.login("--check", "--json"))
        self.assertEqual(doc["result"], "ok")
        self.assertTrue(doc["checked_only"])
        self.assertEqual(verify_apdus(), [("00200080", "63C%X" % self.max)])
        self.assertEqual(doc["pin_status"]["retries_left"], self.max)
        self.assertEqual(testbed.card_status()["pin_tries"], self.max)

    def test_count_low_is_the_same_after_a_wrong_pin_and_at_the_next_check(self):
        # cactool-login(1): with --pcsc, count_low is a count at most one above the lockout
        # threshold (1 by default), whichever command read it. The counts come from the
        # card itself (cardctl status); 3 tries and 5 tries are the profiles' settings.
        for retries, low in ((3, True), (5, False)):
            with self.subTest(pin_retries=retries):
                self.profile(pin_retries=retries)
                wrong = self.json_of(self.login("--json", pin=WRONG_PIN), 4)["pin_status"]
                check = self.json_of(self.login("--check", "--json"))["pin_status"]
                tries = testbed.card_status()["pin_tries"]
                self.assertEqual(tries, retries - 1)
                self.assertEqual((wrong["retries_left"], check["retries_left"]), (tries, tries))
                self.assertIs(wrong["count_low"], low, wrong)
                self.assertIs(check["count_low"], low, check)

    def test_check_repeats_a_read_whose_answer_was_lost(self):
        # The card answers its first command (SELECT) with one byte, no status word: the
        # answer is lost, the card still in. --check sends no PIN, so the recovery checks
        # the card, selects the application again and reads on.
        testbed.cardctl("garbage", "1")
        r = self.login("--check", "--json")
        doc = self.json_of(r)
        self.assertEqual(doc["result"], "ok")
        self.assertEqual(doc["pin_status"]["retries_left"], self.max)
        events = [(e["event"], e["command"][:8].upper()) for e in testbed.apdu_log()
                  if e["event"] in ("apdu", "garbage")]
        self.assertEqual(events[0], ("garbage", "00A40400"), events)
        self.assertEqual(events[1], ("apdu", "00A40400"), "selected again\n%r" % events)
        self.assertEqual(verify_apdus(), [("00200080", "63C%X" % self.max)])
        records = [json.loads(line) for line in self.journal.read_text().splitlines()]
        self.assertEqual([(x["kind"], x["code"], x["action"], x["outcome"]) for x in records],
                         [("recovery", "SCARD_E_COMM_DATA_LOST", "retry", "recovered")])

    def test_with_a_pin_a_lost_answer_is_not_repeated(self):
        # The same lost answer, with a PIN: nothing is repeated, since the card may have
        # counted the try. The first command's answer is lost, so no VERIFY is ever sent.
        testbed.cardctl("garbage", "1")
        r = self.login("--json", pin=testbed.DEFAULT_PIN)
        self.assertErrorDocument(r, 7)
        self.assertEqual(verifies_with_data(), [])
        self.assertEqual(len([e for e in testbed.apdu_log() if e["event"] == "apdu"]), 0)

    def test_the_legacy_630x_count_is_read_with_a_warning(self):
        testbed.use_profile("legacy-retries.json")
        self.login(pin=WRONG_PIN)
        testbed.apdu_log(clear=True)
        r = self.login("--check", "--json")
        doc = self.json_of(r)
        tries = testbed.card_status()["pin_tries"]
        self.assertEqual(verify_apdus(), [("00200080", "630%X" % tries)])
        self.assertEqual(doc["pin_status"]["retries_left"], tries)
        self.assertIn("63Cx", r.stderr, "no warning about the nonstandard count")

    def test_a_card_without_piv_is_not_found_with_a_hint_about_the_application(self):
        # The no-piv profile answers SELECT of the PIV AID (SP 800-73-4 part 2, 3.1.1) with
        # 6A82, ISO/IEC 7816-4's "no such application": SPEC.md's exit 3 (not found), not
        # the empty-slot hint that 6A82 to GET DATA earns.
        testbed.use_profile("no-piv.json")
        testbed.apdu_log(clear=True)
        runs = {"login": self.login("--check", "--json"),
                "certs": testlib.run_cactool(
                    ["--journal", self.journal, "--reader", "0", "certs", "--pcsc", "--json"],
                    self.env)}
        selects = [e["response"].upper() for e in testbed.apdu_log()
                   if e.get("event") == "apdu" and e["command"].upper().startswith("00A40400")]
        self.assertTrue(selects)
        self.assertTrue(all(sw.endswith("6A82") for sw in selects), selects)
        self.assertEqual(verify_apdus(), [])
        for name, result in runs.items():
            with self.subTest(name):
                error = self.assertErrorDocument(result, 3)
                self.assertEqual(error["name"], "CACTOOL_NOT_FOUND")
                self.assertIn("no PIV application", error["message"])
                self.assertIn("no PIV application", error["hint"])
                self.assertIn("readers --probe", error["hint"])
                self.assertNotIn("empty PIV slot", error["hint"])

    def test_a_global_pin_primary_card_gets_verify_p2_00(self):
        testbed.use_profile("global-pin.json")
        testbed.apdu_log(clear=True)
        doc = self.json_of(self.login("--json", pin=testbed.DEFAULT_PIN))
        self.assertEqual(doc["result"], "ok")
        self.assertEqual(doc["pin"], "global")
        self.assertEqual(verifies_with_data(), [("00", True)])

    def test_a_t0_card_verifies_the_same(self):
        # T=0: the SELECT's template and the discovery object come behind 61xx.
        testbed.use_profile("t0.json")
        testbed.apdu_log(clear=True)
        doc = self.json_of(self.login("--json", pin=testbed.DEFAULT_PIN))
        self.assertEqual(doc["result"], "ok")
        self.assertEqual(verifies_with_data(), [("80", True)])
        self.assertTrue(testbed.card_status()["verified"])

    def test_the_trace_masks_the_pin_that_the_card_log_shows_was_sent(self):
        r = self.login("--trace", "-vv", pin=testbed.DEFAULT_PIN)
        self.assertExit(r, 0)
        self.assertIn("SCardTransmit", r.stderr, "no trace at all")
        self.assertNoPin(r, testbed.DEFAULT_PIN)
        sent = [c for c, _ in verify_apdus() if len(c) > 8]
        self.assertEqual(sent, ["0020008008" + PIN_HEX])

    def test_the_timeout_lets_the_verify_finish_and_report(self):
        # Every answer held back 1 s: SELECT, GET DATA 7E and the empty VERIFY take 3 s, so
        # the watchdog's bound (--timeout 1.5 plus its 2 s of grace) falls inside the
        # VERIFY with the PIN. The card counts that try whatever happens; the run must wait
        # for the answer and say it.
        testbed.cardctl("delay", "1000")
        try:
            r = self.login("--timeout", "1.5", "--json", pin=WRONG_PIN)
        finally:
            testbed.cardctl("delay", "0")
        doc = self.json_of(r, 4)
        self.assertEqual(doc["result"], "incorrect")
        self.assertEqual(testbed.card_status()["pin_tries"], self.max - 1)
        self.assertEqual(doc["pin_status"]["retries_left"], self.max - 1)

    def test_a_pin_of_the_wrong_form_is_refused_before_the_card_sees_it(self):
        for pin in ("12345", "123456789", "12a456"):
            r = self.login(pin=pin)
            self.assertExit(r, 2)
            self.assertNoPin(r, pin)
        self.assertEqual(testbed.apdu_log(), [])

    def test_so_with_pcsc_is_a_usage_error_naming_the_puk(self):
        r = self.login("--so", pin=testbed.DEFAULT_PUK)
        self.assertExit(r, 2)
        self.assertIn("PUK", r.stderr)
        self.assertEqual(verify_apdus(), [])

    def test_yubico_piv_tool_sees_the_count_cactool_reports(self):
        if shutil.which("yubico-piv-tool") is None:
            self.skipTest("yubico-piv-tool is not installed")
        doc = self.json_of(self.login("--json", pin=WRONG_PIN), 4)
        # A wrong PIN through yubico-piv-tool reports the tries left after it.
        proc = subprocess.run(
            ["yubico-piv-tool", "-r", testbed.reader_name(), "-a", "verify-pin",
             "-P", WRONG_PIN], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            timeout=60)
        self.assertIn("%d tries left" % (doc["pin_status"]["retries_left"] - 1), proc.stdout,
                      proc.stdout)
        self.assertEqual(testbed.card_status()["pin_tries"], self.max - 2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
