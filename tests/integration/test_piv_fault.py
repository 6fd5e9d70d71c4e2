"""The fault module (tests/testbed/fault/) in front of OpenSC's PKCS#11 module, on the test
bed's virtual PIV card.

Expected values: the certificates the card's profile holds (fingerprints recomputed with
openssl), pkcs11-tool's view of the token through OpenSC directly, and the card's own log of
the APDUs it received.
"""

import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import testbed  # noqa: E402

testbed.enter()

import testlib  # noqa: E402
from base import CactoolTestCase  # noqa: E402


class FaultModuleOnTheCard(CactoolTestCase):
    @classmethod
    def setUpClass(cls):
        testlib.cactool_path()
        cls.module = testbed.opensc_module_or_skip()
        cls.fault = testlib.fault_module_or_skip()
        cls.folder = tempfile.TemporaryDirectory(prefix="cactool-fault-")

    @classmethod
    def tearDownClass(cls):
        cls.folder.cleanup()

    def setUp(self):
        testbed.restore_card()
        self.log = os.path.join(self.folder.name, "calls-%s.log" % self._testMethodName)

    def fault_env(self, **config):
        path = os.path.join(self.folder.name, "fault.json")
        with open(path, "w") as f:
            json.dump(dict(config, module=self.module), f)
        return testlib.clean_env(CACTOOL_FAULT_CONFIG=path, CACTOOL_FAULT_LOG=self.log)

    def calls(self, function):
        with open(self.log) as f:
            return [line.split()[3:5] for line in f if line.split()[1] == function]

    def test_opensc_through_the_module_reads_what_the_card_holds(self):
        env = self.fault_env()
        r = testlib.run_cactool(["certs", "--module", self.fault, "--json"], env)
        found = {c["sha256"] for c in self.json_of(r)["certificates"]}
        self.assertEqual(found, set(testbed.slot_fingerprints().values()))
        oracle = [s["token"] for s in testlib.pkcs11_tool_slots(self.module)
                  if testbed.reader_name() in s["description"]]
        doc = self.json_of(testlib.run_cactool(["slots", "--module", self.fault, "--json"],
                                               env))
        labels = [s["token"]["label"] for s in doc["modules"][0]["slots"]
                  if testbed.reader_name() in (s["description"] or "") and s["token"]]
        self.assertEqual(labels, [t["label_raw"].strip() for t in oracle])

    def test_a_login_whose_answer_is_lost_sends_the_pin_once(self):
        # The card verifies the PIN; the answer never reaches cactool, as when the card
        # is pulled right after it answered. Presenting the PIN again could cost a try.
        env = self.fault_env(faults=[{"function": "C_Login", "rv": "CKR_DEVICE_REMOVED",
                                      "when": "after"}])
        testbed.apdu_log(clear=True)
        r = testlib.run_cactool(["login", "--module", self.fault, "--pin-stdin", "--json"],
                                env, input_bytes=(testbed.DEFAULT_PIN + "\n").encode())
        self.assertNotEqual(r.rc, 0, r.describe())
        self.assertEqual(self.json_of(r, r.rc)["error"]["name"], "CKR_DEVICE_REMOVED")
        sent = [v for v in testbed.verify_commands(testbed.apdu_log()) if v[1]]
        self.assertEqual(len(sent), 1, "VERIFY with a PIN sent %d times" % len(sent))
        self.assertEqual(self.calls("C_Login"), [["CKR_DEVICE_REMOVED", "after"]])


if __name__ == "__main__":
    unittest.main(verbosity=2)
