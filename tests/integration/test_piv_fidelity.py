"""The virtual PIV card as independent clients see it, through a real pcscd and vpcd.

If opensc-tool, OpenSC's PKCS#11 module (with pkcs11-tool) and yubico-piv-tool all read
from the simulated card exactly what its profile put there, and a signature made through
OpenSC verifies with openssl against the certificate, then the test bed is a faithful
stand-in for a card and cactool's results on it mean something.
"""

import os
import re
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import testbed  # noqa: E402

testbed.enter()

import testlib  # noqa: E402


def opensc_readers():
    """[(index, has_card, name)] from `opensc-tool --list-readers`.

    Its table has fixed columns under a header "Nr.  Card  Features  Name"; the Features
    column is blank for readers without any, so the name starts where the header says.
    """
    out, _, _ = testlib.run_tool(["opensc-tool", "--list-readers"])
    readers, name_at = [], None
    for line in out.splitlines():
        if line.startswith("Nr.") and "Name" in line:
            name_at = line.index("Name")
            continue
        m = re.match(r"^(\d+)\s+(Yes|No)\b", line)
        if m and name_at is not None:
            readers.append((int(m.group(1)), m.group(2) == "Yes", line[name_at:].strip()))
    return readers


def hex_of(text):
    return re.sub(r"[^0-9a-fA-F]", "", text).lower()


class OpenscTool(unittest.TestCase):
    def test_the_virtual_reader_holds_a_card(self):
        readers = opensc_readers()
        names = {name: card for _, card, name in readers}
        self.assertIn(testbed.reader_name(), names, readers)
        self.assertTrue(names[testbed.reader_name()], "opensc-tool sees no card: %r" % readers)

    def test_atr_is_the_profiles(self):
        index = next(i for i, _, name in opensc_readers() if name == testbed.reader_name())
        out, _, _ = testlib.run_tool(["opensc-tool", "--reader", str(index), "--atr"])
        self.assertEqual(hex_of(out), hex_of(testbed.manifest()["atr"]))


class OpenscPkcs11(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.module = testbed.opensc_module_or_skip()

    def setUp(self):
        testbed.restore_card()

    def test_the_reader_has_a_token(self):
        slots = testlib.pkcs11_tool_slots(self.module)
        ours = [s for s in slots if testbed.reader_name() in s["description"]]
        self.assertEqual(len(ours), 1, slots)
        self.assertIsNotNone(ours[0]["token"], "OpenSC finds no token on the card: %r" % slots)

    def certificates_by_id(self):
        found = testbed.pkcs11_tool_certificates(self.module)
        self.assertTrue(found, "pkcs11-tool lists no certificate")
        return found

    def test_certificates_are_the_profiles(self):
        on_card = sorted(testbed.slot_certificate_der(s) for s in testbed.manifest()["slots"])
        self.assertEqual(sorted(self.certificates_by_id().values()), on_card)

    def id_of_slot(self, slot):
        der = testbed.slot_certificate_der(slot)
        for object_id, got in self.certificates_by_id().items():
            if got == der:
                return object_id
        self.fail("OpenSC shows no certificate equal to slot %s's" % slot)

    def sign_and_verify(self, slot, mechanism, digest, extra=()):
        object_id = self.id_of_slot(slot)
        with tempfile.TemporaryDirectory(prefix="cactool-fidelity-") as tmp:
            data = Path(tmp) / "data"
            data.write_bytes(os.urandom(200))
            signature = Path(tmp) / "signature"
            testlib.run_tool(["pkcs11-tool", "--module", self.module, "--login", "--pin",
                              testbed.DEFAULT_PIN, "--sign", "--id", object_id, "-m", mechanism,
                              *extra, "-i", data, "-o", signature])
            pub = testbed.public_key_pem(slot, tmp)
            out, err, rc = testlib.run_tool(
                ["openssl", "dgst", "-" + digest, "-verify", pub, "-signature", signature, data],
                check=False)
            self.assertEqual(rc, 0, "openssl rejects the signature: %s %s" % (out, err))
            self.assertIn("Verified OK", out)

    def test_rsa_signature_verifies_with_the_certificate(self):
        self.sign_and_verify("9a", "SHA256-RSA-PKCS", "sha256")

    def test_ecdsa_signature_verifies_with_the_certificate(self):
        slot = next((s for s, e in testbed.manifest()["slots"].items()
                     if e["algorithm"].startswith("ecc")), None)
        if slot is None:
            self.skipTest("the profile has no ECC key")
        self.sign_and_verify(slot, "ECDSA-SHA256", "sha256",
                             extra=("--signature-format", "openssl"))


class YubicoPivTool(unittest.TestCase):
    def setUp(self):
        testbed.restore_card()

    def test_status_shows_the_profiles_certificates_and_tries(self):
        # Its reader filter defaults to YubiKeys; -r takes a substring of the reader name.
        out, _, _ = testlib.run_tool(
            ["yubico-piv-tool", "-r", testbed.reader_name(), "-a", "status"])
        shown = {}
        for slot, body in re.findall(r"^Slot ([0-9a-f]{2}):(.*?)(?=^\S)", out + "\nEND",
                                     re.M | re.S):
            m = re.search(r"Fingerprint:\s*([0-9a-fA-F]+)", body)
            if m:
                shown[slot] = m.group(1).lower()
        self.assertEqual(shown, testbed.slot_fingerprints(), out)
        m = re.search(r"PIN tries left:\s*(\d+)", out)
        self.assertIsNotNone(m, out)
        self.assertEqual(int(m.group(1)), testbed.manifest()["pin"]["tries"], out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
