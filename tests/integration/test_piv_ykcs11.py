"""Yubico's PKCS#11 module reads the same certificates from the virtual PIV card.

ykcs11 2.2.0 shows only readers whose name begins with "Yubico", so this file's bed names
its reader that way; the card behind it is the same default virtual PIV card.
"""

import os
import re
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import testbed  # noqa: E402

testbed.enter("--reader-name", "Yubico Virtual PCD")

import testlib  # noqa: E402


class Ykcs11(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.module = testbed.ykcs11_module()
        if not cls.module:
            raise unittest.SkipTest("ykcs11 is not installed")

    def test_certificates_are_the_profiles(self):
        out, _, _ = testlib.run_tool(
            ["pkcs11-tool", "--module", self.module, "--list-objects", "--type", "cert"])
        ids = re.findall(r"^\s+ID:\s+([0-9a-fA-F]+)\s*$", out, re.M)
        found = []
        with tempfile.TemporaryDirectory(prefix="cactool-ykcs11-") as tmp:
            for object_id in ids:
                path = Path(tmp) / (object_id + ".der")
                testlib.run_tool(["pkcs11-tool", "--module", self.module, "--read-object",
                                  "--type", "cert", "--id", object_id, "-o", path])
                found.append(path.read_bytes())
        expected = [testbed.slot_certificate_der(s) for s in testbed.manifest()["slots"]]
        self.assertEqual(sorted(found), sorted(expected), out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
