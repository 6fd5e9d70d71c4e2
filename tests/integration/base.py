"""Test case base for cactool's integration tests: one SoftHSM2 fixture per test file."""

import json
import os
import re
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import softhsm_fixture  # noqa: E402
import testlib  # noqa: E402

ERROR_KEYS = ["code", "name", "category", "severity", "message", "hint", "recovery"]
RECOVERY_KEYS = ["action", "attempted", "succeeded"]

_fixture = None


def fixture():
    """The file's SoftHSM2 fixture, built on first use and removed at exit."""
    global _fixture
    if _fixture is None:
        missing = testlib.require_tools("softhsm2-util", "pkcs11-tool", "openssl")
        if missing:
            raise unittest.SkipTest("missing tools: " + ", ".join(missing))
        _fixture = softhsm_fixture.SoftHsmFixture()
        _fixture.__enter__()
    return _fixture


def tearDownModule():
    global _fixture
    if _fixture is not None:
        _fixture.__exit__(None, None, None)
        _fixture = None


class CactoolTestCase(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        testlib.cactool_path()
        cls.hsm = fixture()

    def cactool(self, *args, env=None, input_bytes=None, exe=None):
        return testlib.run_cactool(list(args), env or self.hsm.env, input_bytes, exe=exe)

    def assertExit(self, result, code):
        self.assertEqual(result.rc, code, "expected exit %d\n%s" % (code, result.describe()))

    def json_of(self, result, code=0):
        """Checks the exit code and that stdout is one JSON document led by schema_version."""
        self.assertExit(result, code)
        try:
            doc = result.json()
        except ValueError as e:
            self.fail("stdout is not exactly one JSON document (%s)\n%s" % (e, result.describe()))
        self.assertIsInstance(doc, dict, result.describe())
        self.assertEqual(
            getattr(doc, "key_order", [None])[0], "schema_version",
            "schema_version must be the first key\n" + result.describe())
        self.assertEqual(doc["schema_version"], 1, result.describe())
        return doc

    def assertErrorDocument(self, result, code):
        doc = self.json_of(result, code)
        self.assertIn("error", doc, result.describe())
        err = doc["error"]
        for key in ERROR_KEYS:
            self.assertIn(key, err, "error document lacks %r\n%s" % (key, result.describe()))
        for key in RECOVERY_KEYS:
            self.assertIn(key, err["recovery"] or {},
                          "error.recovery lacks %r\n%s" % (key, result.describe()))
        self.assertIsInstance(err["message"], str)
        self.assertTrue(err["message"], "error.message is empty\n" + result.describe())
        self.assertIsInstance(err["name"], str)
        self.assertTrue(re.fullmatch(r"[a-z0-9_]+", err["category"] or ""),
                        "error.category is not snake_case\n" + result.describe())
        return err

    def assertNoSecret(self, result, *secrets):
        """No PIN in any output, as text or as hex bytes in a trace."""
        for secret in secrets:
            raw = secret.encode()
            forms = {secret, raw.hex(), raw.hex().upper(), " ".join("%02x" % b for b in raw),
                     " ".join("%02X" % b for b in raw), ":".join("%02x" % b for b in raw)}
            for stream, text in (("stdout", result.stdout), ("stderr", result.stderr)):
                for form in forms:
                    self.assertNotIn(form, text,
                                     "the PIN appears in %s as %r\n%s"
                                     % (stream, form, result.describe()))


class FaultModuleTestCase(CactoolTestCase):
    """Tests with the fault module (tests/testbed/fault/) in front of the fixture's SoftHSM2."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.fault = testlib.fault_module_or_skip()

    def setUp(self):
        super().setUp()
        folder = tempfile.mkdtemp(prefix="fault-", dir=self.hsm.root)
        self.fault_config = os.path.join(folder, "fault.json")
        self.fault_log = os.path.join(folder, "calls.log")

    def fault_env(self, **config):
        """The environment that gives the fault module `config` and an empty call log."""
        with open(self.fault_config, "w") as f:
            json.dump(dict(config, module=self.hsm.module), f)
        open(self.fault_log, "w").close()
        return dict(self.hsm.env, CACTOOL_FAULT_CONFIG=self.fault_config,
                    CACTOOL_FAULT_LOG=self.fault_log)


def token_by_label(doc, label):
    for module in doc.get("modules", []):
        for slot in module.get("slots", []):
            tok = slot.get("token")
            if tok and tok.get("label") == label:
                return slot, tok
    return None, None


def main():
    unittest.main(verbosity=2)
