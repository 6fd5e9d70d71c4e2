"""`cactool readers --probe` on the PC/SC test bed: which applications the card answers,
and the PIV objects it shows without a PIN.

Expected values come from elsewhere than cactool: the card's profile (cardsim's default
FASC-N fields, the PIN usage policy the profile names), the bed's CA certificate (the
default CHUID's GUID is the first 16 bytes of its SHA-256, computed here with openssl),
the ICAM test card objects in tests/data loaded into the card by a profile (their
annotated dumps give the values), the bytes opensc-tool reads with its own APDUs, the
card's APDU log (what crossed the wire), and SPEC.md's exit codes.
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

HERE = Path(__file__).resolve().parent
ICAM = HERE.parent / "data" / "03-piv-cac-objects" / "icam-test-cards"
CARD46 = ICAM / "card46-golden-fips201-2-piv"
PROFILES = HERE.parent / "testbed" / "profiles"

EXIT_OK = 0
EXIT_MIDDLEWARE = 6
EXIT_COMMUNICATION = 7

SELECT_PIV = "00A404000BA000000308000010000100"
PIV_AID = "a000000308000010000100"
# The CAC applets' AIDs, as tests/data/03-piv-cac-objects/cac-gsc-is lists them.
CAC_AIDS = ["a0000000790100", "a0000000790101", "a0000000790102", "a000000116db00",
            "a0000000790300", "a0000000790200", "a0000000790201"]
CHUID = "5FC102"
PRINTED = "5FC109"
# cardsim's default FASC-N (tests/testbed/cardsim/objects.hpp, struct Fascn).
DEFAULT_FASCN = {"agency_code": "9999", "system_code": "9999", "credential_number": "999999",
                 "cs": "0", "ici": "1", "pi": "0000000000", "oc": "1", "oi": "9999",
                 "poa": "1"}


def get_data_of(entry):
    """The object a GET DATA (00 CB 3F FF .. 5C 03 tag) in the card's log asked for."""
    command = (entry.get("command") or "").upper()
    if not command.startswith("00CB3FFF") or "5C03" not in command:
        return None
    at = command.index("5C03") + 4
    return command[at:at + 6]


def tlv_fields(data):
    """One level of BER-TLV (one- or two-byte tags as PIV objects use), for the test's own
    reading of what opensc-tool got: {tag: value bytes}."""
    fields, i = {}, 0
    while i < len(data):
        tag = data[i]
        i += 1
        if tag & 0x1F == 0x1F:
            tag = tag << 8 | data[i]
            i += 1
        length = data[i]
        i += 1
        if length & 0x80:
            count = length & 0x7F
            length = int.from_bytes(data[i:i + count], "big")
            i += count
        fields[tag] = data[i:i + length]
        i += length
    return fields


def opensc_chuid():
    """The CHUID as opensc-tool reads it with its own SELECT and GET DATA."""
    out, _, _ = testlib.run_tool([
        "opensc-tool", "-r", testbed.reader_name(),
        "-s", "00 A4 04 00 0B A0 00 00 03 08 00 00 10 00 01 00 00",
        "-s", "00 CB 3F FF 05 5C 03 5F C1 02 00"])
    # opensc-tool prints each answer after "Received (SW1=0x90, SW2=0x00):" as lines of
    # 16 bytes in hex, 3 columns each, then the same bytes as text.
    data = bytearray()
    for line in out.split("Received")[-1].splitlines()[1:]:
        data += bytes.fromhex(line[:48])
    wrapper = tlv_fields(bytes(data))
    return tlv_fields(wrapper[0x53])


class Probe(CactoolTestCase):
    @classmethod
    def setUpClass(cls):
        testlib.cactool_path()
        cls.env = testlib.clean_env()

    def setUp(self):
        testbed.cardctl("delay", "0")
        testbed.cardctl("pcscd", "start", check=False)
        self.profile = None
        testbed.restore_card()
        folder = tempfile.mkdtemp(prefix="piv-probe-")
        self.journal = os.path.join(folder, "journal.jsonl")
        testbed.apdu_log(clear=True)

    def tearDown(self):
        testbed.cardctl("delay", "0")
        if self.profile:
            testbed.use_profile(PROFILES / "default.json")

    def args(self, *extra):
        return ["--journal", self.journal, "--reader", testbed.reader_name(), *extra,
                "readers", "--probe"]

    def probe(self, *extra):
        return testlib.run_cactool(self.args(*extra), self.env)

    def probe_json(self, *extra, code=EXIT_OK):
        r = self.probe("--json", *extra)
        doc = self.json_of(r, code)
        self.assertEqual(len(doc["readers"]), 1, r.describe())
        # SPEC.md: absent values are null, not missing.
        self.assertIn("probe_error", doc["readers"][0])
        return doc["readers"][0], r

    def use(self, profile):
        self.profile = profile
        testbed.use_profile(profile)
        testbed.apdu_log(clear=True)

    def applications(self, reader):
        return {a["aid"]: a for a in reader["probe"]["applications"]}

    def test_default_card_answers_piv_and_no_cac_applet(self):
        reader, r = self.probe_json()
        apps = self.applications(reader)
        self.assertEqual(list(apps), [PIV_AID] + CAC_AIDS)
        self.assertTrue(apps[PIV_AID]["answered"])
        self.assertEqual(apps[PIV_AID]["sw"], "9000")
        for aid in CAC_AIDS:
            # ISO/IEC 7816-4: 6A82, no such application.
            self.assertEqual((apps[aid]["answered"], apps[aid]["sw"]), (False, "6a82"), aid)
        # Each AID went to the card in a SELECT by name (00 A4 04 00 Lc AID).
        selects = [e["command"].upper() for e in testbed.apdu_log()
                   if e["event"] == "apdu" and e["command"].upper().startswith("00A40400")]
        for aid in [PIV_AID] + CAC_AIDS:
            self.assertTrue(any(aid.upper() in c for c in selects), (aid, selects))

    def test_default_chuid_is_the_profiles(self):
        reader, r = self.probe_json()
        chuid = reader["probe"]["chuid"]
        self.assertEqual(chuid["fascn"], DEFAULT_FASCN)
        ca_sha256 = testlib.sha256_of_der_openssl(
            testlib._der_of(testbed.card_dir() / testbed.manifest()["ca"], "PEM")[0])
        self.assertEqual(chuid["guid"], ca_sha256.lower()[:32])
        self.assertFalse(chuid["signature_present"])
        # The bytes opensc-tool reads with its own commands.
        fields = opensc_chuid()
        self.assertEqual(chuid["fascn_hex"], fields[0x30].hex())
        self.assertEqual(chuid["guid"], fields[0x34].hex())
        written = fields[0x35].decode()
        self.assertEqual(chuid["expiration_as_written"], written)
        self.assertEqual(chuid["expiration"],
                         f"{written[0:4]}-{written[4:6]}-{written[6:8]}")  # RFC 3339 full-date

    def test_chuid_and_ccc_as_yubico_piv_tool_prints_them(self):
        if testlib.require_tools("yubico-piv-tool"):
            self.skipTest("yubico-piv-tool is not installed")
        out, _, _ = testlib.run_tool(["yubico-piv-tool", "-r", testbed.reader_name(),
                                      "-a", "status"])
        printed = dict(line.split(":\t", 1) for line in out.splitlines()
                       if line.startswith(("CHUID:", "CCC:")))
        chuid_fields = tlv_fields(bytes.fromhex(printed["CHUID"].strip()))
        ccc_fields = tlv_fields(bytes.fromhex(printed["CCC"].strip()))
        reader, r = self.probe_json()
        probe = reader["probe"]
        self.assertEqual(probe["chuid"]["fascn_hex"], chuid_fields[0x30].hex())
        self.assertEqual(probe["chuid"]["guid"], chuid_fields[0x34].hex())
        self.assertEqual(probe["ccc"]["card_identifier"], ccc_fields[0xF0].hex())
        self.assertEqual(probe["ccc"]["container_version"], ccc_fields[0xF1].hex())
        self.assertEqual(probe["ccc"]["grammar_version"], ccc_fields[0xF2].hex())
        self.assertEqual(probe["ccc"]["data_model_number"], ccc_fields[0xF5].hex())

    def test_default_discovery_ccc_and_key_history(self):
        reader, r = self.probe_json()
        probe = reader["probe"]
        # The default profile's policy, 4010: the application PIN, which is primary.
        self.assertEqual(probe["discovery"]["pin_usage_policy"], "4010")
        self.assertTrue(probe["discovery"]["application_pin"])
        self.assertFalse(probe["discovery"]["global_pin_primary"])
        self.assertEqual(probe["discovery"]["aid"], PIV_AID)
        # cardsim's CCC: GSC-RID A0 00 00 01 16, manufacturer FF, card type 02, PIV model 10.
        ccc = probe["ccc"]
        self.assertEqual((ccc["gsc_rid"], ccc["manufacturer_id"], ccc["card_type"]),
                         ("a000000116", "ff", "02"))
        self.assertEqual(ccc["data_model_number"], "10")
        self.assertEqual(len(ccc["card_identifier"]), 42)
        # cardsim's key history: no retired keys.
        self.assertEqual(probe["key_history"]["keys_with_on_card_certs"], 0)
        self.assertEqual(probe["key_history"]["keys_with_off_card_certs"], 0)

    def test_printed_information_needs_the_pin_and_none_is_sent(self):
        reader, r = self.probe_json()
        probe = reader["probe"]
        self.assertIsNone(probe["printed_information"])
        self.assertEqual(probe["notes"], {"printed_information": "needs the PIN"})
        log = testbed.apdu_log()
        self.assertFalse([e for e in log if (e.get("command") or "").upper().startswith("0020")])
        printed = [e for e in log if get_data_of(e) == PRINTED]
        self.assertTrue(printed and printed[-1]["response"].upper().endswith("6982"), printed)

    def test_printed_information_is_decoded_once_another_program_verified_the_pin(self):
        testlib.run_tool([
            "opensc-tool", "-r", testbed.reader_name(),
            "-s", "00 A4 04 00 0B A0 00 00 03 08 00 00 10 00 01 00 00",
            "-s", "00 20 00 80 08 " + " ".join("%02X" % b for b in
                                              testbed.DEFAULT_PIN.encode().ljust(8, b"\xff"))])
        self.assertTrue(testbed.card_status()["verified"])
        reader, r = self.probe_json()
        printed = reader["probe"]["printed_information"]
        # cardsim's generated printed information (objects.cpp, profile.cpp).
        self.assertEqual(printed["name"], "Test Cardholder")
        self.assertEqual(printed["employee_affiliation"], "Test")
        self.assertEqual(printed["agency_card_serial"], "0000000001")
        self.assertEqual(printed["issuer"], "cactool test")
        self.assertEqual(len(printed["expiration_as_written"]), 9)
        written = printed["expiration_as_written"]
        months = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV",
                  "DEC"]
        self.assertEqual(printed["expiration"], "%s-%02d-%s" % (
            written[0:4], months.index(written[4:7].upper()) + 1, written[7:9]))
        self.assertEqual(printed["warnings"], [])

    def icam_profile(self):
        folder = Path(tempfile.mkdtemp(prefix="piv-probe-profile-"))
        profile = folder / "icam.json"
        profile.write_text(json.dumps({
            "discovery": {"pin_usage_policy": "6020"},
            "global_pin": True,
            "objects": {
                "chuid": "file:" + str(CARD46 / "chuid_5FC102.bin"),
                "ccc": "file:" + str(CARD46 / "ccc_5FC107.bin"),
                "printed_information": "file:" + str(CARD46 / "printed_information_5FC109.bin"),
                "key_history": "file:" + str(ICAM / "card37-golden-piv-pps" /
                                             "key_history_5FC10C.bin"),
            }}))
        return profile

    def test_icam_card_objects_read_as_their_annotated_dumps_say(self):
        self.use(self.icam_profile())
        reader, r = self.probe_json()
        probe = reader["probe"]
        chuid = probe["chuid"]
        # SOURCES.md: agency 4700, system 0257; chuid_5FC102.txt: GUID, date, UUID, signed.
        self.assertEqual(chuid["fascn"]["agency_code"], "4700")
        self.assertEqual(chuid["fascn"]["system_code"], "0257")
        self.assertEqual(chuid["guid"], "94e28c6884db44db8a0ef502d6689b14")
        self.assertEqual(chuid["expiration"], "2032-12-02")
        self.assertEqual(chuid["expiration_as_written"], "20321202")
        self.assertEqual(chuid["cardholder_uuid"], "db17539147494a32977d7a3843775e8a")
        self.assertTrue(chuid["signature_present"])
        # ccc_5FC107.txt.
        ccc = probe["ccc"]
        self.assertEqual(ccc["card_identifier"],
                         "a00000007950495620322e332e3220636172642020")
        self.assertEqual((ccc["container_version"], ccc["grammar_version"], ccc["pkcs15"],
                          ccc["data_model_number"]), ("21", "21", "11", "10"))
        self.assertEqual(ccc["access_control_rule_table"], "00" * 17)
        # key_history_5FC10C.txt of card 37: five keys with their certificates on the card.
        self.assertEqual((probe["key_history"]["keys_with_on_card_certs"],
                          probe["key_history"]["keys_with_off_card_certs"]), (5, 0))
        # The profile's policy: the Global PIN, primary.
        self.assertEqual(probe["discovery"]["pin_usage_policy"], "6020")
        self.assertTrue(probe["discovery"]["global_pin_primary"])
        self.assertIsNone(probe["printed_information"])

    def test_a_card_without_piv_is_no_error(self):
        self.use(PROFILES / "no-piv.json")
        reader, r = self.probe_json()
        probe = reader["probe"]
        apps = self.applications(reader)
        self.assertEqual((apps[PIV_AID]["answered"], apps[PIV_AID]["sw"]), (False, "6a82"))
        for key in ["chuid", "ccc", "discovery", "printed_information", "key_history"]:
            self.assertIsNone(probe[key], key)
        # Nothing but SELECTs was sent.
        commands = [e["command"].upper() for e in testbed.apdu_log() if e["event"] == "apdu"]
        self.assertTrue(commands and all(c.startswith("00A40400") for c in commands), commands)
        text = self.probe()
        self.assertExit(text, EXIT_OK)
        self.assertIn("no PIV application", text.stdout)

    def test_a_t0_card_answering_in_pieces_probes_the_same(self):
        self.use(PROFILES / "t0.json")
        reader, r = self.probe_json()
        self.assertTrue(self.applications(reader)[PIV_AID]["answered"])
        self.assertEqual(reader["probe"]["chuid"]["fascn"], DEFAULT_FASCN)
        self.assertEqual(reader["probe"]["discovery"]["pin_usage_policy"], "4010")
        # T=0: the answers came with GET RESPONSE (00 C0).
        commands = [e["command"].upper() for e in testbed.apdu_log() if e["event"] == "apdu"]
        self.assertTrue(any(c.startswith("00C0") for c in commands), commands)

    def test_text_lists_each_application_and_object(self):
        r = self.probe()
        self.assertExit(r, EXIT_OK)
        lines = r.stdout.splitlines()
        self.assertIn("reader 0 probe:", lines)
        self.assertTrue(any(l.split()[:2] == ["PIV", PIV_AID] and "yes" in l for l in lines),
                        r.stdout)
        self.assertIn("  printed information: needs the PIN", lines)
        self.assertTrue(any(l.startswith("  CHUID: FASC-N 9999-9999-999999") for l in lines),
                        r.stdout)

    def test_an_empty_reader_is_listed_with_probe_null(self):
        testbed.cardctl("remove")
        testbed.cardctl("wait", "absent", "--timeout", "10")
        try:
            reader, r = self.probe_json()
            self.assertEqual(reader["state"], "empty")
            self.assertIsNone(reader["probe"])
        finally:
            testbed.cardctl("insert")
            testbed.cardctl("wait", "present", "--timeout", "10")

    def start_probe(self, *extra):
        return subprocess.Popen([testlib.cactool_path(), *self.args("--json", *extra)],
                                env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def finish(self, proc, timeout=60):
        out, err = proc.communicate(timeout=timeout)
        return testlib.Result(self.args(), subprocess.CompletedProcess(
            proc.args, proc.returncode, out, err))

    def wait_for_log(self, accept, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(accept(e) for e in testbed.apdu_log()):
                return
            time.sleep(0.05)
        self.fail("the card's log never showed the entry waited for")

    def journal_records(self):
        if not os.path.exists(self.journal):
            return []
        with open(self.journal) as f:
            return [json.loads(line) for line in f if line.strip()]

    def journal_outcomes(self):
        return [record.get("outcome") for record in self.journal_records()]

    def use_card_without_printed_information(self):
        """A recovery is recorded as recovered when the read it repeats succeeds: on a card
        without printed information, every read after the CHUID does, wherever the
        disturbance lands (the printed information would be refused without the PIN)."""
        folder = Path(tempfile.mkdtemp(prefix="piv-probe-profile-"))
        profile = folder / "no-printed.json"
        profile.write_text(json.dumps({"objects": {"printed_information": "absent"}}))
        self.use(profile)

    def test_a_card_pulled_out_mid_probe_and_put_back_is_probed_to_the_end(self):
        self.use_card_without_printed_information()
        # Every answer held back a little, so the reads after the CHUID are still to come
        # when the card vanishes on its next command and comes back.
        testbed.cardctl("delay", "300")
        proc = self.start_probe("--timeout", "30")
        self.wait_for_log(lambda e: get_data_of(e) == CHUID)
        testbed.cardctl("drop", "--reinsert-after", "400")
        r = self.finish(proc)
        doc = self.json_of(r)
        probe = doc["readers"][0]["probe"]
        self.assertEqual(probe["chuid"]["fascn"], DEFAULT_FASCN)
        self.assertEqual(probe["key_history"]["keys_with_on_card_certs"], 0)
        events = [e["event"] for e in testbed.apdu_log()]
        self.assertIn("drop", events)
        self.assertIn("insert", events)
        # Back in: the PIV application selected again before any GET DATA.
        back = testbed.apdu_log()[events.index("insert"):]
        commands = [e["command"].upper() for e in back if e["event"] == "apdu"]
        self.assertTrue(commands[0].startswith(SELECT_PIV), commands)
        self.assertIn("recovered", self.journal_outcomes(), self.journal_records())

    def test_a_reset_mid_probe_is_recovered(self):
        self.use_card_without_printed_information()
        testbed.cardctl("delay", "800")
        proc = self.start_probe("--timeout", "30")
        self.wait_for_log(lambda e: get_data_of(e) == CHUID)
        testbed.cardctl("reset")
        testbed.cardctl("delay", "0")
        r = self.finish(proc)
        probe = self.json_of(r)["readers"][0]["probe"]
        self.assertEqual(probe["chuid"]["fascn"], DEFAULT_FASCN)
        self.assertEqual(probe["discovery"]["pin_usage_policy"], "4010")
        records = self.journal_records()
        self.assertEqual([(x["kind"], x["code"], x["action"], x["outcome"]) for x in records],
                         [("recovery", "SCARD_W_RESET_CARD", "reconnect", "recovered")], records)

    def test_a_card_that_stays_out_keeps_the_listing_and_exits_7(self):
        testbed.cardctl("delay", "300")
        proc = self.start_probe("--timeout", "6")
        self.wait_for_log(lambda e: get_data_of(e) == CHUID)
        testbed.cardctl("remove")
        try:
            r = self.finish(proc)
            doc = self.json_of(r, EXIT_COMMUNICATION)
            reader = doc["readers"][0]
            self.assertIsNone(reader["probe"])
            self.assertTrue({"code", "name", "category", "message", "hint"}
                            <= set(reader["probe_error"]), reader)
            self.assertIn("error", r.stderr)
        finally:
            testbed.cardctl("insert")
            testbed.cardctl("wait", "present", "--timeout", "10")

    def test_pcscd_stopped_exits_6(self):
        testbed.cardctl("pcscd", "stop")
        try:
            r = self.probe()
            self.assertExit(r, EXIT_MIDDLEWARE)
            self.assertIn("pcscd", r.stderr)
        finally:
            testbed.cardctl("pcscd", "start")


if __name__ == "__main__":
    unittest.main(verbosity=2)
