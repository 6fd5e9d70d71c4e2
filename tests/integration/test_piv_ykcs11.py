"""Yubico's PKCS#11 module reads the same certificates from the virtual PIV card.

ykcs11 2.2.0 shows only readers whose name begins with "Yubico", so this file's bed names
its reader that way; the card behind it is the same default virtual PIV card.
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import testbed  # noqa: E402

testbed.enter("--reader-name", "Yubico Virtual PCD")



class Ykcs11(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.module = testbed.ykcs11_module()
        if not cls.module:
            raise unittest.SkipTest("ykcs11 is not installed")

    def test_certificates_are_the_profiles(self):
        found = testbed.pkcs11_tool_certificates(self.module)
        expected = [testbed.slot_certificate_der(s) for s in testbed.manifest()["slots"]]
        self.assertEqual(sorted(found.values()), sorted(expected))


if __name__ == "__main__":
    unittest.main(verbosity=2)
