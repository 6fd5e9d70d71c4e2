"""`cactool apdu` on the PC/SC test bed: raw APDUs to the virtual PIV card.

Expected values: the card's own log of the APDUs it received and answered (`cardctl log`),
the certificate the card's profile holds (the exported PEM, read by openssl), the T=0
profile's transport rules, and the exit codes SPEC.md fixes.
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

# NIST SP 800-73-4 part 1 table 3 and part 2 clause 3.1: the PIV application's AID and
# GET DATA of the PIV Authentication certificate container (5FC105), short Le 00.
SELECT_PIV = "00A4040009A0000003080000100000"
GET_CERT_9A = "00CB3FFF055C035FC10500"
# The same GET DATA with an extended Le of 0000 (65536 bytes).
GET_CERT_9A_EXTENDED = "00CB3FFF0000055C035FC1050000"
PIN_HEX = "313233343536FFFF"  # the default card's PIN 123456, padded with FF (part 2, 3.2.1)


def card_apdus():
    """(command, response) of each APDU the card answered, hex upper case."""
    return [(e["command"].upper(), e["response"].upper())
            for e in testbed.apdu_log() if e.get("event") == "apdu"]


def wire(exchanges):
    """(command, response) of each APDU cactool put on the wire, in order."""
    return [(t["command"].upper(), t["response"].upper())
            for x in exchanges for t in x["transmissions"]]


def tlv_value(data, tag):
    """The value of the first top-level BER-TLV with a one-byte `tag` in `data`."""
    i = 0
    while i < len(data):
        t = data[i]
        length = data[i + 1]
        i += 2
        if length & 0x80:
            n = length & 0x7F
            length = int.from_bytes(data[i:i + n], "big")
            i += n
        if t == tag:
            return data[i:i + length]
        i += length
    raise AssertionError("no tag %02X" % tag)


def scriptor_answers(text):
    """The answers in scriptor's output: hex after "< " up to " : meaning", maybe wrapped."""
    answers, current = [], None
    for line in text.splitlines():
        if line.startswith("< "):
            current = line[2:]
        elif current is not None and not line.startswith(("> ", "Using", "Reading")):
            current += " " + line
        else:
            continue
        if ":" in current:
            answers.append(current.split(":")[0].replace(" ", "").upper())
            current = None
    return answers


class ApduOnTheSimulatedCard(CactoolTestCase):
    @classmethod
    def setUpClass(cls):
        testlib.cactool_path()
        cls.env = testlib.clean_env()

    def setUp(self):
        testbed.restore_card()
        testbed.cardctl("delay", "0")
        testbed.apdu_log(clear=True)

    def apdu(self, *args, input_bytes=None):
        return testlib.run_cactool(["apdu", *args], self.env, input_bytes=input_bytes)

    def certificate_from(self, response_hex):
        container = tlv_value(bytes.fromhex(response_hex), 0x53)
        return tlv_value(container, 0x70)

    def test_61xx_joins_the_certificate_and_matches_the_card_log(self):
        doc = self.json_of(self.apdu("--json", SELECT_PIV, GET_CERT_9A))
        exchanges = doc["exchanges"]
        self.assertEqual([x["sw"] for x in exchanges], ["9000", "9000"], doc)
        self.assertEqual(wire(exchanges), card_apdus())
        purposes = [t["purpose"] for t in exchanges[1]["transmissions"]]
        self.assertIn("get_response", purposes, "a certificate over 256 bytes needs 61xx")
        self.assertTrue(any(r[-4:-2] == "61" for c, r in card_apdus()), card_apdus())
        self.assertEqual(self.certificate_from(exchanges[1]["response"]),
                         testbed.slot_certificate_der("9a"))

    def test_extended_le_gets_the_certificate_in_one_answer(self):
        doc = self.json_of(self.apdu("--json", SELECT_PIV, GET_CERT_9A_EXTENDED))
        exchanges = doc["exchanges"]
        self.assertEqual(len(exchanges[1]["transmissions"]), 1, exchanges[1])
        self.assertEqual(wire(exchanges), card_apdus())
        self.assertEqual(card_apdus()[1][0], GET_CERT_9A_EXTENDED)
        self.assertEqual(self.certificate_from(exchanges[1]["response"]),
                         testbed.slot_certificate_der("9a"))

    def test_6cxx_resends_with_the_length_the_card_names(self):
        testbed.use_profile("t0.json")
        try:
            testbed.apdu_log(clear=True)
            # The Discovery Object (7E) waits behind 61xx; a GET RESPONSE asking 256 bytes
            # of a T=0 card gets 6Cxx and is resent with that Le.
            doc = self.json_of(self.apdu("--json", "--no-get-response", SELECT_PIV,
                                         "00CB3FFF035C017E00", "00C0000000"))
            sent = card_apdus()
            self.assertEqual(wire(doc["exchanges"]), sent)
            fetch = sent[-2:]
            self.assertTrue(all(c.startswith("00C00000") for c, r in fetch), sent)
            self.assertEqual(fetch[0][1][:2], "6C", sent)
            self.assertEqual(fetch[1][0], "00C00000" + fetch[0][1][2:4], "resent with the card's Le")
            last = doc["exchanges"][2]
            self.assertEqual(last["sw"], "9000")
            self.assertEqual((last["response"] + last["sw"]).upper(), fetch[1][1])
        finally:
            testbed.use_profile("default.json")

    def test_chain_sends_cla_10_pieces(self):
        verify = "0020008008" + PIN_HEX
        challenge = "00" + "5A" * 255
        body = "7C820106" + "8200" + "818201" + "00" + challenge
        auth = "0087079A" + "00" + "%04X" % (len(body) // 2) + body + "0000"
        doc = self.json_of(self.apdu("--json", "--chain", SELECT_PIV, verify, auth))
        sent = card_apdus()
        # The VERIFY shows masked in cactool's output; the rest must match the card's log.
        self.assertEqual([w for w in wire(doc["exchanges"]) if w[0][2:4] != "20"],
                         [s for s in sent if s[0][2:4] != "20"])
        general = [c for c, r in sent if c[2:4] == "87"]
        self.assertGreaterEqual(len(general), 2, sent)
        self.assertTrue(all(c.startswith("10") for c in general[:-1]), general)
        self.assertTrue(general[-1].startswith("00"), general)
        self.assertEqual(doc["exchanges"][2]["sw"], "9000", doc["exchanges"][2])

    def test_pin_bytes_never_appear_in_output_or_trace(self):
        verify = "0020008008" + PIN_HEX
        for mode in (["--json"], []):
            r = self.apdu("--trace", *mode, SELECT_PIV, verify)
            self.assertExit(r, 0)
            self.assertNotIn(PIN_HEX, (r.stdout + r.stderr).upper().replace(" ", ""))
            self.assertNotIn("313233", (r.stdout + r.stderr).replace(" ", ""))
            self.assertIn("<masked 9 bytes>", r.stdout)
        sent = [c for c, r in card_apdus() if c[2:4] == "20"]
        self.assertEqual(sent, ["00200080" + "08" + PIN_HEX] * 2, "the card got the PIN")

    def test_script_with_reset_and_expectations(self):
        script = "\n".join([
            "# select, reset, then GET DATA without a select is refused",
            SELECT_PIV + " => 9000",
            "reset",
            "00 CB 3F FF 05 5C 03 5F C1 05 00 => 6Axx | 6D00 | 6985 | 9000",
            "exit",
            "00 A4 04 00 01 00",
        ]) + "\n"
        with tempfile.TemporaryDirectory(prefix="cactool-apdu-") as tmp:
            path = Path(tmp) / "s.txt"
            path.write_text(script)
            doc = self.json_of(self.apdu("--json", "--script", path))
        self.assertEqual(len(doc["exchanges"]), 2, "exit ends the script")
        self.assertTrue(all(x["ok"] for x in doc["exchanges"]), doc)
        events = [e["event"] for e in testbed.apdu_log()]
        self.assertIn("reset", events[events.index("apdu"):], events)
        self.assertEqual(wire(doc["exchanges"]), card_apdus())

    def test_script_from_stdin_failing_expectation_exits_9(self):
        script = (SELECT_PIV + " => 6A82\n" + GET_CERT_9A + " => 9000\n").encode()
        r = self.apdu("--json", "--script", "-", input_bytes=script)
        doc = self.json_of(r, 9)
        self.assertEqual([x["ok"] for x in doc["exchanges"]], [False, True])
        self.assertEqual(doc["exchanges"][0]["expected"], "6A82")
        self.assertEqual(len(card_apdus()), 1 + len(doc["exchanges"][1]["transmissions"]))

    def test_expect_option_for_hex_arguments(self):
        self.assertExit(self.apdu("--expect", "9000", SELECT_PIV), 0)
        self.assertExit(self.apdu("--expect", "6Axx", SELECT_PIV), 9)

    def test_malformed_hex_exits_2_with_position_and_sends_nothing(self):
        for bad, position in (("00A4040", "6"), ("00A4G400", "4"), ("00A404000500", None)):
            r = self.apdu(SELECT_PIV, bad)
            self.assertExit(r, 2)
            if position is not None:
                self.assertIn("position " + position, r.stderr)
        big = "00DA3FFF00FFFF" + "00" * 65535 + "00"
        r = self.apdu("--script", "-", input_bytes=(big + "\n").encode())
        self.assertExit(r, 2)
        self.assertIn("line 1, column", r.stderr)
        self.assertEqual(card_apdus(), [], "a malformed APDU reached the card")

    def remove_card_mid_script(self, lines, *options):
        """Runs `lines` as a script with slow answers, removes the card 2.5 s in, puts it
        back; returns the exit status, stdout and stderr."""
        testbed.cardctl("delay", "400")
        with tempfile.TemporaryDirectory(prefix="cactool-apdu-") as tmp:
            path = Path(tmp) / "slow.txt"
            path.write_text("\n".join(lines) + "\n")
            proc = subprocess.Popen(
                [testlib.cactool_path(), *options, "apdu", "--script", path],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env)
            time.sleep(2.5)
            testbed.cardctl("remove")
            out, err = proc.communicate(timeout=60)
        testbed.cardctl("delay", "0")
        testbed.cardctl("insert")
        return proc.returncode, out, err

    def test_a_script_that_is_a_folder_or_unreadable_exits_2_and_sends_nothing(self):
        folder = tempfile.mkdtemp()
        try:
            r = self.apdu("--script", folder)
            self.assertExit(r, 2)
            self.assertIn("folder", r.stderr)
            r = self.apdu("--script", os.path.join(folder, "missing.script"))
            self.assertExit(r, 2)
        finally:
            os.rmdir(folder)
        self.assertEqual(card_apdus(), [], "an APDU reached the card")

    def test_card_removed_mid_script_exits_7_with_earlier_exchanges(self):
        lines = [SELECT_PIV] + [GET_CERT_9A] * 20
        returncode, out, err = self.remove_card_mid_script(lines, "--json")
        self.assertEqual(returncode, 7, err.decode())
        doc = json.loads(out)
        done = [x for x in doc["exchanges"] if x["sw"] is not None]
        self.assertGreaterEqual(len(done), 1, doc)
        self.assertLess(len(done), len(lines), doc)
        self.assertEqual(done[0]["sw"], "9000")
        self.assertIn("error", doc)

    def test_card_removed_mid_script_in_text_still_prints_earlier_exchanges(self):
        # Into a pipe, text is written in blocks: what was done must still come out.
        lines = [SELECT_PIV] * 21
        returncode, out, err = self.remove_card_mid_script(lines)
        self.assertEqual(returncode, 7, err.decode())
        answered = [line for line in out.decode().splitlines() if line.startswith("  SW ")]
        self.assertGreaterEqual(len(answered), 1, out)
        self.assertLess(len(answered), len(lines), out)
        self.assertTrue(all(line.startswith("  SW 9000") for line in answered), out)
        self.assertIn("error", err.decode())

    def test_timeout_bounds_the_script_and_the_next_command_is_not_sent(self):
        # Each answer comes 2 s late; with a 1 s bound the first command's answer arrives
        # after the bound, so the card must see that command and no other.
        testbed.cardctl("delay", "2000")
        try:
            script = "\n".join([SELECT_PIV, GET_CERT_9A, GET_CERT_9A]) + "\n"
            r = self.apdu("--json", "--timeout", "1", "--script", "-",
                          input_bytes=script.encode())
        finally:
            testbed.cardctl("delay", "0")
        doc = self.json_of(r, 7)
        self.assertEqual([x["sw"] for x in doc["exchanges"]], ["9000"])
        self.assertEqual(doc["error"]["name"], "CACTOOL_TIMEOUT")
        self.assertIn("line 2", doc["error"]["message"])
        self.assertIn("--timeout (1 s)", doc["error"]["message"])
        self.assertEqual([c for c, _ in card_apdus()], [SELECT_PIV.upper()])

    def test_an_answer_held_back_far_past_the_bound_ends_the_run(self):
        # PC/SC cannot cancel a transmit in flight: the run itself is ended, with the
        # call it was stuck in named. The answer comes 8 s late against a 1 s bound (the
        # watchdog acts 2 s after the bound).
        testbed.cardctl("delay", "8000", "1")
        start = time.monotonic()
        r = self.apdu("--json", "--timeout", "1", SELECT_PIV)
        took = time.monotonic() - start
        # The card still answers the held command after the run is gone; wait for that,
        # so the next test finds the card idle.
        deadline = time.monotonic() + 30
        while not card_apdus() and time.monotonic() < deadline:
            time.sleep(0.2)
        doc = self.json_of(r, 7)
        self.assertLess(took, 7, "the run was not cut short")
        self.assertEqual(doc["error"]["name"], "CACTOOL_TIMEOUT")
        self.assertIn("SCardTransmit", doc["error"]["message"])
        self.assertEqual([c for c, _ in card_apdus()], [SELECT_PIV.upper()])

    def test_a_run_ended_in_a_held_answer_keeps_the_exchanges_before_it(self):
        # Every answer 4 s late against a 5 s bound: the first comes within the bound, the
        # second is sent before it and would come at 8 s, past the watchdog (bound + 2 s).
        testbed.cardctl("delay", "4000")
        try:
            start = time.monotonic()
            r = self.apdu("--json", "--timeout", "5", SELECT_PIV, GET_CERT_9A)
            took = time.monotonic() - start
            deadline = time.monotonic() + 30
            while len(card_apdus()) < 2 and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            testbed.cardctl("delay", "0")
        doc = self.json_of(r, 7)
        self.assertLess(took, 8, "the run was not cut short")
        self.assertEqual([x["sw"] for x in doc["exchanges"]], ["9000"])
        self.assertEqual(doc["error"]["name"], "CACTOOL_TIMEOUT")
        self.assertIn("SCardTransmit", doc["error"]["message"])
        self.assertEqual([c for c, _ in card_apdus()], [SELECT_PIV.upper(), GET_CERT_9A.upper()])

    def test_pcscd_stopped_exits_6_with_a_hint(self):
        testbed.cardctl("pcscd", "stop")
        try:
            r = self.apdu(SELECT_PIV)
        finally:
            testbed.cardctl("pcscd", "start")
        self.assertExit(r, 6)
        self.assertIn("hint:", r.stderr)
        self.assertIn("pcscd", r.stderr)

    def test_same_answers_as_scriptor(self):
        if not testlib.require_tools("scriptor") == []:
            raise unittest.SkipTest("scriptor (pcsc-tools) is not installed")
        script = SELECT_PIV + "\n" + GET_CERT_9A_EXTENDED + "\n"
        proc = subprocess.run(["scriptor", "-r", testbed.reader_name()],
                              input=script.encode(), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        theirs = scriptor_answers(proc.stdout.decode())
        doc = self.json_of(self.apdu("--json", "--no-get-response", "--script", "-",
                                     input_bytes=script.encode()))
        ours = [x["transmissions"][0]["response"].upper() for x in doc["exchanges"]]
        self.assertEqual(theirs, ours)


if __name__ == "__main__":
    unittest.main(verbosity=2)
