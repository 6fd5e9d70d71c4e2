"""`certs --pcsc` on the test bed: the PIV containers read over PC/SC, and what the
recovery does when the card is reset, pulled out, put back or too slow.

Expected values: the certificates the card's profile holds (fingerprints recomputed with
openssl from the exported PEM files) and what OpenSC's pkcs11-tool reads through the same
pcscd; the card's own log (cardctl log) says what happened on the wire and when. The card
is disturbed on card-side triggers: answers held back with `cardctl delay MS COUNT`, and
the disturbance sent once the log shows the CHUID was read, so the certificates are still
to come whatever the machine's load.
"""

import json
import os
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import testbed  # noqa: E402

testbed.enter()

import testlib  # noqa: E402
from base import CactoolTestCase  # noqa: E402

EXIT_OK = 0
EXIT_NOT_FOUND = 3
EXIT_COMMUNICATION = 7

# SP 800-73-4 part 1 table 3: the CHUID and the four certificate containers.
CHUID = "5FC102"
CONTAINERS = {"9a": "5FC105", "9c": "5FC10A", "9d": "5FC10B", "9e": "5FC101"}
SELECT_PIV = "00A4040"


def get_data_of(entry):
    """The object a GET DATA (00 CB 3F FF .. 5C 03 tag) in the card's log asked for."""
    command = (entry.get("command") or "").upper()
    if not command.startswith("00CB3FFF") or "5C03" not in command:
        return None
    at = command.index("5C03") + 4
    return command[at:at + 6]


class CertsOverPcsc(CactoolTestCase):
    @classmethod
    def setUpClass(cls):
        testlib.cactool_path()
        cls.env = testlib.clean_env()

    def setUp(self):
        testbed.cardctl("delay", "0")
        testbed.restore_card()
        folder = tempfile.mkdtemp(prefix="pcsc-recovery-")
        self.journal = os.path.join(folder, "journal.jsonl")
        testbed.apdu_log(clear=True)

    def tearDown(self):
        testbed.cardctl("delay", "0")

    def args(self, *extra):
        return ["--journal", self.journal, "--reader", testbed.reader_name(), "certs",
                "--pcsc", *extra]

    def certs(self, *extra, timeout=120):
        return testlib.run_cactool(self.args(*extra), self.env, timeout=timeout)

    def start_certs(self, *extra):
        return subprocess.Popen([testlib.cactool_path(), *self.args(*extra)], env=self.env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def finish(self, proc, timeout=60):
        out, err = proc.communicate(timeout=timeout)
        return testlib.Result(self.args(), subprocess.CompletedProcess(
            proc.args, proc.returncode, out, err))

    def wait_for_log(self, accept, timeout=20):
        """Waits until the card's log holds an entry `accept` takes; returns the log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            log = testbed.apdu_log()
            if any(accept(e) for e in log):
                return log
            time.sleep(0.05)
        self.fail("the card's log never showed the entry waited for: %r" % testbed.apdu_log())

    def journal_records(self):
        if not os.path.exists(self.journal):
            return []
        with open(self.journal) as f:
            return [json.loads(line) for line in f if line.strip()]

    def report_totals(self):
        r = testlib.run_cactool(["--journal", self.journal, "errors-report", "--json"],
                                self.env)
        return self.json_of(r)["totals"]

    def listed(self, doc):
        return {c["sha256"].lower(): c for c in doc["certificates"]}

    def assertProfilesCertificates(self, doc, result):
        got = self.listed(doc)
        expected = testbed.slot_fingerprints()
        self.assertEqual(len(doc["certificates"]), len(expected), result.describe())
        self.assertEqual(set(got), set(expected.values()), result.describe())
        for slot, fingerprint in expected.items():
            self.assertEqual(got[fingerprint]["piv_slot"].lower(), slot)

    def test_the_certificates_are_the_profiles_and_pkcs11_tools(self):
        r = self.certs("--json")
        doc = self.json_of(r)
        self.assertProfilesCertificates(doc, r)
        self.assertEqual(doc["reader"], testbed.reader_name())
        self.assertEqual(doc["atr"], testbed.manifest()["atr"].lower())
        for entry in doc["certificates"]:
            self.assertEqual(entry["source"], "pcsc")
            self.assertEqual(entry["object"],
                             CONTAINERS[entry["piv_slot"].lower()].lower())
            # What only PKCS#11 knows is null, never missing.
            for key in ("id", "uri", "has_private_key"):
                self.assertIn(key, entry)
                self.assertIsNone(entry[key])
        # OpenSC, through the same pcscd, reads the same four certificates.
        module = testbed.opensc_module_or_skip()
        oracle = testbed.pkcs11_tool_certificates(module)
        self.assertEqual({testlib.sha256_of_der_openssl(der) for der in oracle.values()},
                         set(self.listed(doc)))
        self.assertEqual(self.journal_records(), [])

    def test_compressed_containers_are_inflated(self):
        testbed.use_profile("compressed.json")
        try:
            self.assertTrue(all(s["compressed"] for s in testbed.manifest()["slots"].values()))
            r = self.certs("--json")
            doc = self.json_of(r)
            self.assertProfilesCertificates(doc, r)
            self.assertTrue(all(c["compressed"] for c in doc["certificates"]), r.describe())
        finally:
            testbed.use_profile(testbed.PROFILES / "default.json")

    def test_a_t0_card_answering_in_pieces_reads_the_same(self):
        # Under T=0 rules every long answer comes in 61xx pieces through GET RESPONSE.
        testbed.use_profile("t0.json")
        try:
            r = self.certs("--json")
            self.assertProfilesCertificates(self.json_of(r), r)
            self.assertTrue(any((e.get("command") or "").upper().startswith("00C0")
                                for e in testbed.apdu_log()), "no GET RESPONSE was sent")
        finally:
            testbed.use_profile(testbed.PROFILES / "default.json")

    def test_export_writes_what_openssl_reads_from_the_profile(self):
        out = tempfile.mkdtemp(prefix="pcsc-export-")
        r = self.certs("--export", out, "--format", "der")
        self.assertExit(r, EXIT_OK)
        written = {testlib.sha256_of_der_openssl(Path(out, n).read_bytes())
                   for n in os.listdir(out)}
        self.assertEqual(written, set(testbed.slot_fingerprints().values()))

    def test_validate_against_the_beds_ca(self):
        ca = str(testbed.card_dir() / testbed.manifest()["ca"])
        doc = self.json_of(self.certs("--json", "--validate", "--ca-file", ca))
        self.assertTrue(all(c["validation"]["ok"] for c in doc["certificates"]), doc)

    def test_login_is_refused_with_pcsc(self):
        r = self.certs("--login")
        self.assertExit(r, 2)
        self.assertIn("--login", r.stderr)
        self.assertEqual([e for e in testbed.apdu_log() if e["event"] == "apdu"], [])

    def test_a_pkcs11_token_selection_is_refused_with_pcsc(self):
        for option in (["--token", "PIV_II"], ["--slot", "0"]):
            r = testlib.run_cactool([*option, *self.args()], self.env)
            self.assertExit(r, 2)
            self.assertIn("--reader", r.stderr)
        self.assertEqual([e for e in testbed.apdu_log() if e["event"] == "apdu"], [])

    def test_an_empty_reader_at_the_start_is_not_found_at_once(self):
        testbed.cardctl("remove")
        try:
            testbed.cardctl("wait", "absent", "--timeout", "10")
            started = time.monotonic()
            r = self.certs("--json", "--timeout", "20")
            elapsed = time.monotonic() - started
        finally:
            testbed.cardctl("insert")
            testbed.cardctl("wait", "present", "--timeout", "10")
        err = self.assertErrorDocument(r, 3)
        self.assertEqual(err["name"], "SCARD_E_NO_SMARTCARD")
        self.assertFalse(err["recovery"]["attempted"])
        self.assertLess(elapsed, 5, "an empty reader was waited for\n" + r.describe())

    def test_a_card_pulled_out_mid_certificate_and_put_back_is_read_to_the_end(self):
        # SELECT, CHUID and the first containers answer slowly; once the CHUID is in, the
        # card vanishes on its next command (a certificate's GET DATA) and comes back.
        testbed.cardctl("delay", "700", "4")
        proc = self.start_certs("--json", "--timeout", "30")
        self.wait_for_log(lambda e: get_data_of(e) == CHUID)
        testbed.cardctl("drop", "--reinsert-after", "400")
        r = self.finish(proc)
        doc = self.json_of(r)
        self.assertProfilesCertificates(doc, r)

        log = testbed.apdu_log()
        drops = [i for i, e in enumerate(log) if e["event"] == "drop"]
        self.assertEqual(len(drops), 1, log)
        # The command cut off is a container's GET DATA, or a GET RESPONSE fetching the
        # rest of its answer (the reader carries short APDUs only).
        asked = [get_data_of(e) for e in log[:drops[0] + 1] if get_data_of(e)]
        cut = asked[-1]
        self.assertIn(cut, CONTAINERS.values(), log[drops[0]])
        after = log[drops[0]:]
        events = [e["event"] for e in after]
        self.assertIn("insert", events)
        # Back in: the application selected again, and the CHUID compared, before the
        # certificate that was cut off is asked for again.
        back = after[events.index("insert"):]
        commands = [(e.get("command") or "").upper() for e in back if e["event"] == "apdu"]
        self.assertTrue(commands[0].startswith(SELECT_PIV), commands)
        reads = [get_data_of({"command": c}) for c in commands if get_data_of({"command": c})]
        self.assertEqual(reads[:2], [CHUID, cut], commands)

        records = self.journal_records()
        self.assertTrue(records and all(r["kind"] == "recovery" for r in records), records)
        self.assertEqual([r["outcome"] for r in records].count("recovered"), 1, records)
        self.assertEqual(records[-1]["outcome"], "recovered")
        self.assertEqual(records[-1]["action"], "reconnect")
        self.assertEqual(records[-1]["reader"], testbed.reader_name())
        totals = self.report_totals()
        self.assertEqual((totals["errors"], totals["recovery_attempts"], totals["recovered"]),
                         (0, len(records), 1))
        self.assertEqual(totals["recovery_rate"], 1.0)

    def assertNotFoundAtOnce(self, r, elapsed):
        err = self.assertErrorDocument(r, EXIT_NOT_FOUND)
        self.assertEqual(err["name"], "SCARD_E_NO_SMARTCARD", r.describe())
        self.assertFalse(err["recovery"]["attempted"], r.describe())
        self.assertLess(elapsed, 5, "a card missing at the start was waited for\n" +
                        r.describe())
        self.assertEqual([x["kind"] for x in self.journal_records()], ["error"])

    def test_a_card_gone_on_the_first_command_is_not_found_at_once(self):
        # The card vanishes as the first command (SELECT) reaches it: pcscd still shows it
        # present, as it does for a card pulled out just before the run started.
        testbed.cardctl("drop")
        started = time.monotonic()
        r = self.certs("--json", "--timeout", "20")
        elapsed = time.monotonic() - started
        testbed.cardctl("insert")
        testbed.cardctl("wait", "present", "--timeout", "10")
        self.assertNotFoundAtOnce(r, elapsed)

    def test_a_card_pulled_out_right_before_the_start_is_not_found_at_once(self):
        # Whether pcscd has looked at the reader yet (every 400 ms for vpcd) or not, the
        # answer is the same; the empty-reader test above covers a pcscd that knows.
        testbed.cardctl("remove")
        try:
            started = time.monotonic()
            r = self.certs("--json", "--timeout", "20")
            elapsed = time.monotonic() - started
        finally:
            testbed.cardctl("insert")
            testbed.cardctl("wait", "present", "--timeout", "10")
        self.assertNotFoundAtOnce(r, elapsed)

    def test_a_card_that_stays_out_past_the_timeout_exits_7(self):
        # Once the CHUID is in, the card vanishes on its next command, for good.
        testbed.cardctl("delay", "700", "4")
        started = time.monotonic()
        proc = self.start_certs("--json", "--timeout", "5")
        self.wait_for_log(lambda e: get_data_of(e) == CHUID)
        testbed.cardctl("drop")
        r = self.finish(proc)
        elapsed = time.monotonic() - started
        testbed.cardctl("insert")
        testbed.cardctl("wait", "present", "--timeout", "10")
        err = self.assertErrorDocument(r, EXIT_COMMUNICATION)
        self.assertTrue(err["recovery"]["attempted"], r.describe())
        self.assertEqual(r.json().get("certificates", []), [], r.describe())
        self.assertGreaterEqual(elapsed, 4.5, r.describe())
        self.assertLess(elapsed, 5 + 5, r.describe())

        records = self.journal_records()
        attempts = [x for x in records if x["kind"] == "recovery"]
        self.assertTrue(attempts, records)
        self.assertTrue(all(x["outcome"] == "failed" for x in attempts), records)
        errors = [x for x in records if x["kind"] == "error"]
        self.assertEqual(len(errors), 1, records)
        self.assertEqual(errors[0]["outcome"], "gave_up", records)
        totals = self.report_totals()
        self.assertEqual((totals["errors"], totals["recovery_attempts"], totals["recovered"]),
                         (1, len(attempts), 0))
        self.assertEqual(totals["recovery_rate"], 0.0)

    def reset_mid_listing(self, *extra):
        """certs --pcsc with the card reset by another client once the CHUID was read."""
        # Every answer is held back, so the four certificates take seconds: time enough
        # for cardctl to start and reach pcscd on a loaded machine.
        testbed.cardctl("delay", "800")
        proc = self.start_certs("--timeout", "30", *extra)
        self.wait_for_log(lambda e: get_data_of(e) == CHUID)
        # cardctl resets through pcscd (SCardReconnect with SCARD_RESET_CARD); pcscd does
        # it once the command in flight is answered.
        testbed.cardctl("reset")
        return self.finish(proc)

    def test_a_card_reset_by_another_client_between_two_reads_is_selected_again(self):
        r = self.reset_mid_listing("--json")
        doc = self.json_of(r)
        self.assertProfilesCertificates(doc, r)

        log = testbed.apdu_log()
        resets = [i for i, e in enumerate(log) if e["event"] == "reset"]
        self.assertEqual(len(resets), 1, log)
        after = [(e.get("command") or "").upper() for e in log[resets[0]:]
                 if e["event"] == "apdu"]
        # A command that raced the reset may reach the reset card first (pcscd checks for
        # a reset before it waits for the reader); the next GET DATA comes after a SELECT.
        reads = [i for i, c in enumerate(after) if get_data_of({"command": c})]
        selects = [i for i, c in enumerate(after) if c.startswith(SELECT_PIV)]
        self.assertTrue(reads and selects and selects[0] < reads[0], after)
        self.assertIn(get_data_of({"command": after[reads[0]]}), CONTAINERS.values(), after)

        records = self.journal_records()
        self.assertEqual([(x["kind"], x["code"], x["action"], x["attempt"], x["outcome"])
                          for x in records],
                         [("recovery", "SCARD_W_RESET_CARD", "reconnect", 1, "recovered")])
        totals = self.report_totals()
        self.assertEqual((totals["errors"], totals["recovery_attempts"], totals["recovered"]),
                         (0, 1, 1))
        self.assertEqual(totals["recovery_rate"], 1.0)

    def test_text_names_each_certificate_once_after_a_recovery(self):
        r = self.reset_mid_listing()
        self.assertExit(r, EXIT_OK)
        self.assertIn("4 certificates", r.stdout)
        for name in ("PIV Authentication", "Digital Signature", "Key Management",
                     "Card Authentication"):
            titles = [line for line in r.stdout.splitlines() if line.startswith(name)]
            self.assertEqual(len(titles), 1, "%r shown %d times\n%s"
                             % (name, len(titles), r.describe()))
        self.assertEqual(len([x for x in self.journal_records() if x["outcome"] == "recovered"]),
                         1)

    def test_another_card_put_in_mid_listing_ends_it_with_nothing_listed(self):
        # The same ATR (no profile sets one) but a CHUID generated afresh: only the
        # identity check can tell the two cards apart.
        before = testbed.manifest()["atr"]
        testbed.cardctl("delay", "700", "4")
        proc = self.start_certs("--json", "--timeout", "30")
        self.wait_for_log(lambda e: get_data_of(e) == CHUID)
        try:
            testbed.cardctl("profile", testbed.PROFILES / "compressed.json")
            r = self.finish(proc)
            self.assertEqual(testbed.manifest()["atr"], before)
        finally:
            testbed.use_profile(testbed.PROFILES / "default.json")
        err = self.assertErrorDocument(r, EXIT_COMMUNICATION)
        self.assertEqual(err["name"], "CACTOOL_CARD_CHANGED", r.describe())
        self.assertEqual(r.json().get("certificates", []), [], r.describe())
        # How the swap shows first (an answer lost, the card removed) depends on when pcscd
        # looked at the reader; every attempt failed, and the last error is the swap.
        records = self.journal_records()
        attempts = [x["outcome"] for x in records if x["kind"] == "recovery"]
        self.assertTrue(attempts and set(attempts) == {"failed"}, records)
        self.assertEqual([x["code"] for x in records if x["kind"] == "error"],
                         ["CACTOOL_CARD_CHANGED"], records)
        totals = self.report_totals()
        self.assertEqual((totals["recovered"], totals["recovery_rate"]), (0, 0.0))

    def test_pcscd_restarted_mid_listing_is_reached_again_and_the_card_read_on(self):
        testbed.cardctl("delay", "700", "5")
        proc = self.start_certs("--json", "--timeout", "30")
        self.wait_for_log(lambda e: get_data_of(e) == CHUID)
        testbed.cardctl("pcscd", "restart")
        r = self.finish(proc)
        doc = self.json_of(r)
        self.assertProfilesCertificates(doc, r)

        records = self.journal_records()
        self.assertTrue(records and all(x["kind"] == "recovery" for x in records), records)
        self.assertEqual(records[-1]["outcome"], "recovered", records)
        self.assertIn("reestablish_context", [x["action"] for x in records], records)
        totals = self.report_totals()
        self.assertEqual((totals["errors"], totals["recovered"], totals["recovery_rate"]),
                         (0, 1, 1.0))

    # SCardTransmit cannot be cancelled: the watchdog in src/cli bounds a call stuck in
    # the card at --timeout.
    def test_answers_held_past_the_timeout_exit_7_soon_after_it(self):
        testbed.cardctl("delay", "5000")
        started = time.monotonic()
        r = self.certs("--json", "--timeout", "2", timeout=90)
        elapsed = time.monotonic() - started
        self.assertErrorDocument(r, EXIT_COMMUNICATION)
        self.assertLess(elapsed, 2 + 3, r.describe())


if __name__ == "__main__":
    unittest.main(verbosity=2)
