"""`cactool diag --sign-test`: a login, then a signature by each key with a certificate,
verified with that certificate.

Two stacks: a SoftHSM2 token holding an RSA and an EC key pair with their certificates and
a key stored under the CKA_ID of another key's certificate, all made with openssl here; and
the virtual PIV card through OpenSC's module on the test bed (default profile and
ecc-keys.json), where the 9C key asks for the PIN again before each signature.

Expected values: openssl's verification of signatures pkcs11-tool makes with the same keys
(which keys belong to which certificates), the card's own PIN counter and APDU log
(cardctl), and the profiles.
"""

import hashlib
import json
import os
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

# Unusual strings, so that a leak is found by a plain substring search.
HSM_PIN = "Qz7-sign-PIN-4711"
HSM_WRONG_PIN = "Qz7-sign-wrong-0815"
HSM_SO_PIN = "Qz7-sign-SO-2323"
TOKEN = "cactool sign"
WRONG_CARD_PIN = "97531864"

# name, openssl genpkey arguments
KEYS = [
    ("rsa", ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]),
    ("ec", ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]),
    ("stray", ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]),
    ("other", ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]),
]
# CKA_ID, label, the key stored, the key whose certificate is stored with it
OBJECTS = [
    ("01", "Sign RSA", "rsa", "rsa"),
    ("02", "Sign EC", "ec", "ec"),
    ("05", "Mismatched", "stray", "other"),
]


def pkcs11_tool_signature_verifies(module, env, key_id, mechanism, pem, data, pin, folder):
    """Signs `data` with pkcs11-tool and the token's key `key_id`, then asks openssl whether
    the certificate's public key verifies it: True or False."""
    folder = Path(folder)
    data_file, sig_file, pub = folder / "data", folder / ("sig-" + key_id), folder / "pub.pem"
    data_file.write_bytes(data)
    signed = data_file
    if mechanism == "ECDSA":
        # Not every token has ECDSA-SHA256 (SoftHSM has not): the token signs the hash.
        signed = folder / "digest"
        signed.write_bytes(hashlib.sha256(data).digest())
    args = ["pkcs11-tool", "--module", module, "--login", "--pin", pin, "--sign",
            "--id", key_id, "-m", mechanism, "-i", signed, "-o", sig_file]
    if mechanism == "ECDSA":
        args += ["--signature-format", "openssl"]
    testlib.run_tool(args, env=env)
    out, _, _ = testlib.run_tool(["openssl", "x509", "-in", pem, "-noout", "-pubkey"])
    pub.write_text(out)
    proc = subprocess.run(["openssl", "dgst", "-sha256", "-verify", pub, "-signature", sig_file,
                           data_file], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=60)
    return proc.returncode == 0


class SignTestCase(CactoolTestCase):
    """Runs diag and keeps every output, for the check that no PIN appears in any."""

    secrets = ()

    def setUp(self):
        self.outputs = []

    def tearDown(self):
        journal = Path(self.journal)
        text = "\n".join(self.outputs) + (journal.read_text() if journal.exists() else "")
        for secret in self.secrets:
            self.assertNotIn(secret, text, "a PIN appears in cactool's output or journal")

    def run_diag(self, *args, env_extra=None, stdin=None):
        env = dict(self.env, **(env_extra or {}))
        r = testlib.run_cactool(["--module", self.module, "--journal", self.journal, "--json",
                                 "diag", *args], env,
                                input_bytes=stdin.encode() if stdin else None)
        self.outputs += [r.stdout, r.stderr]
        return r

    def diag(self, *args, code=None, **kw):
        r = self.run_diag(*args, **kw)
        doc = self.json_of(r, r.rc if code is None else code)
        return doc

    @staticmethod
    def checks(doc, check_id):
        return [c for c in doc["checks"] if c["id"] == check_id]

    def by_subject(self, doc, check_id):
        found = {}
        for c in self.checks(doc, check_id):
            self.assertNotIn(c["subject"], found, doc)
            found[c["subject"]] = c
        return found

    def assertNothingSigned(self, doc):
        """The login was not tried: one signature line says that nothing was signed."""
        signature = self.checks(doc, "signature")
        self.assertEqual([c["status"] for c in signature], ["skip"], doc)
        self.assertIn("no login", signature[0]["message"])

    def journal_codes(self):
        path = Path(self.journal)
        if not path.exists():
            return []
        return [json.loads(line).get("code") for line in path.read_text().splitlines()]


class SignTestOnSoftHsm(SignTestCase):
    secrets = (HSM_PIN, HSM_WRONG_PIN, HSM_SO_PIN)

    @classmethod
    def setUpClass(cls):
        testlib.cactool_path()
        missing = testlib.require_tools("softhsm2-util", "pkcs11-tool", "openssl")
        if missing:
            raise unittest.SkipTest("missing tools: " + ", ".join(missing))
        cls.module = testlib.find_module("softhsm2")
        if not cls.module:
            raise unittest.SkipTest("no softhsm2 module")
        cls.tmp = tempfile.TemporaryDirectory(prefix="cactool-sign-")
        root = Path(cls.tmp.name)
        (root / "tokens").mkdir()
        conf = root / "softhsm2.conf"
        conf.write_text("directories.tokendir = %s\nobjectstore.backend = file\n"
                        "log.level = ERROR\nslots.removable = false\n" % (root / "tokens"))
        cls.env = testlib.clean_env(SOFTHSM2_CONF=conf, XDG_CONFIG_HOME=root / "config",
                                    XDG_STATE_HOME=root / "state", HOME=root,
                                    LC_ALL="C.UTF-8", CACTOOL_SIGN_PIN=HSM_PIN,
                                    CACTOOL_WRONG_PIN=HSM_WRONG_PIN)
        cls.files = cls.make_keys(root)
        run = lambda args: testlib.run_tool(args, env=cls.env)  # noqa: E731
        run(["softhsm2-util", "--init-token", "--free", "--label", TOKEN, "--pin", HSM_PIN,
             "--so-pin", HSM_SO_PIN])
        for key_id, label, key, cert in OBJECTS:
            for path, kind in ((cls.files[cert]["der"], "cert"),
                               (cls.files[key]["key_der"], "privkey")):
                run(["pkcs11-tool", "--module", cls.module, "--token-label", TOKEN, "--login",
                     "--pin", HSM_PIN, "--write-object", path, "--type", kind, "--id", key_id,
                     "--label", label])

    @classmethod
    def make_keys(cls, root):
        files = {}
        for name, genpkey in KEYS:
            key, pem, der, key_der = (root / (name + ext)
                                      for ext in (".key", ".pem", ".der", ".key.der"))
            testlib.run_tool(["openssl", "genpkey", *genpkey, "-out", key])
            testlib.run_tool(["openssl", "req", "-new", "-x509", "-key", key, "-subj",
                              "/CN=cactool sign test " + name, "-days", "30", "-out", pem])
            testlib.run_tool(["openssl", "x509", "-in", pem, "-outform", "DER", "-out", der])
            testlib.run_tool(["openssl", "pkey", "-in", key, "-outform", "DER", "-out", key_der])
            files[name] = {"pem": pem, "der": der, "key_der": key_der}
        return files

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def setUp(self):
        super().setUp()
        self.journal = os.path.join(self.tmp.name, self.id().rsplit(".", 1)[-1] + ".jsonl")

    def test_each_key_is_verified_with_its_certificate_and_a_stranger_fails(self):
        # Which keys belong to their certificates, as pkcs11-tool and openssl see it.
        mechanisms = {"01": "SHA256-RSA-PKCS", "02": "ECDSA", "05": "ECDSA"}
        expected = {}
        for key_id, label, key, cert in OBJECTS:
            ok = pkcs11_tool_signature_verifies(self.module, self.env, key_id,
                                                mechanisms[key_id], self.files[cert]["pem"],
                                                os.urandom(32), HSM_PIN, self.tmp.name)
            expected[label] = "pass" if ok else "fail"
        self.assertEqual(expected, {"Sign RSA": "pass", "Sign EC": "pass", "Mismatched": "fail"})

        doc = self.diag("--sign-test", "--pin-env", "CACTOOL_SIGN_PIN", "--token", TOKEN,
                        code=8)
        login = self.checks(doc, "login")
        self.assertEqual([(c["status"], c["subject"]) for c in login], [("pass", TOKEN)], doc)
        signatures = self.by_subject(doc, "signature")
        self.assertEqual({s: c["status"] for s, c in signatures.items()}, expected)
        self.assertIn("CKM_SHA256_RSA_PKCS", signatures["Sign RSA"]["message"])
        self.assertIn("CKM_ECDSA", signatures["Sign EC"]["message"])
        bad = signatures["Mismatched"]
        self.assertIn("does not belong", bad["message"])
        self.assertIn('"Mismatched" (id 05)', bad["message"])  # the key, and the certificate
        self.assertIn("id 05", bad["message"])
        self.assertTrue(bad["hint"], bad)
        # Only the --sign-test checks fail here.
        failed = {c["id"] for c in doc["checks"] if c["status"] == "fail"}
        self.assertEqual(failed - {"card_token", "certificates", "token"}, {"signature"}, doc)

    def test_text_report_names_each_signature(self):
        r = testlib.run_cactool(["--module", self.module, "--journal", self.journal, "--token",
                                 TOKEN, "diag", "--sign-test", "--pin-stdin"], self.env,
                                input_bytes=(HSM_PIN + "\n").encode())
        self.outputs += [r.stdout, r.stderr]
        self.assertEqual(r.rc, 8, r.describe())
        lines = [line.split() for line in r.stdout.splitlines()]
        rows = [(w[0], w[2].rstrip(":")) for w in lines if len(w) > 2 and w[1] == "signature"]
        self.assertIn(("pass", "Sign"), rows)
        self.assertIn(("fail", "Mismatched"), rows)

    def test_a_wrong_pin_fails_the_login_once_and_signs_nothing(self):
        doc = self.diag("--token", TOKEN, "--sign-test", "--pin-env", "CACTOOL_WRONG_PIN",
                        code=8)
        login = self.checks(doc, "login")
        self.assertEqual(len(login), 1, doc)
        self.assertEqual(login[0]["status"], "fail")
        self.assertIn("incorrect", login[0]["message"])
        self.assertEqual([c["status"] for c in self.checks(doc, "signature")], ["skip"])
        self.assertEqual(self.journal_codes().count("CKR_PIN_INCORRECT"), 1)

    def through_fault_module(self, config, *args):
        """diag through the fault module in front of SoftHSM2; returns the document and the
        functions of the module's call log, one per call."""
        folder = Path(tempfile.mkdtemp(dir=self.tmp.name))
        (folder / "fault.json").write_text(json.dumps(dict(config, module=self.module)))
        log = folder / "calls.log"
        env = dict(self.env, CACTOOL_FAULT_CONFIG=str(folder / "fault.json"),
                   CACTOOL_FAULT_LOG=str(log))
        r = testlib.run_cactool(["--module", self.fault, "--journal", self.journal, "--json",
                                 "--token", TOKEN, "diag", *args], env)
        self.outputs += [r.stdout, r.stderr]
        doc = self.json_of(r, r.rc)
        calls = [line.split()[1] for line in log.read_text().splitlines()] if log.exists() else []
        return doc, calls

    def test_a_token_without_sha256_rsa_signs_a_digest_info_with_the_raw_mechanism(self):
        self.fault = testlib.fault_module_or_skip()
        # C_GetMechanismInfo is asked once per mechanism, in the module's order: failing the
        # call for CKM_SHA256_RSA_PKCS takes it out of what the token offers for signing.
        names = [m["name"] for m in testlib.pkcs11_tool_mechanisms(self.module, TOKEN,
                                                                   env=self.env)]
        call = names.index("SHA256-RSA-PKCS") + 1
        self.assertIn("RSA-PKCS", names)
        doc, calls = self.through_fault_module(
            {"faults": [{"function": "C_GetMechanismInfo", "call": call,
                         "rv": "CKR_FUNCTION_FAILED"}]},
            "--sign-test", "--pin-env", "CACTOOL_SIGN_PIN")
        self.assertEqual(calls.count("C_GetMechanismInfo"), len(names))
        rsa = self.by_subject(doc, "signature")["Sign RSA"]
        self.assertEqual(rsa["status"], "pass", rsa)
        self.assertIn("CKM_RSA_PKCS", rsa["message"])
        self.assertNotIn("CKM_SHA256_RSA_PKCS", rsa["message"])

    def test_a_wrong_pin_reaches_the_module_once(self):
        self.fault = testlib.fault_module_or_skip()
        doc, calls = self.through_fault_module({}, "--sign-test", "--pin-env",
                                               "CACTOOL_WRONG_PIN")
        self.assertEqual(self.checks(doc, "login")[0]["status"], "fail", doc)
        self.assertEqual(calls.count("C_Login"), 1, calls)
        self.assertEqual(calls.count("C_SignInit"), 0, calls)

    def test_a_token_at_its_final_try_gets_no_pin_without_force(self):
        self.fault = testlib.fault_module_or_skip()
        config = {"token_info": [{"set_flags": ["CKF_USER_PIN_FINAL_TRY"]}]}
        doc, calls = self.through_fault_module(config, "--sign-test", "--pin-env",
                                               "CACTOOL_SIGN_PIN")
        self.assertEqual([c["status"] for c in self.checks(doc, "login")], ["warn"], doc)
        self.assertNothingSigned(doc)
        self.assertNotIn("C_Login", calls)
        doc, calls = self.through_fault_module(config, "--sign-test", "--force", "--pin-env",
                                               "CACTOOL_SIGN_PIN")
        self.assertEqual([c["status"] for c in self.checks(doc, "login")], ["pass"], doc)
        self.assertEqual(calls.count("C_Login"), 1, calls)

    def test_no_pin_source_off_a_terminal_fails_the_login_without_trying(self):
        doc = self.diag("--token", TOKEN, "--sign-test", code=8)
        login = self.checks(doc, "login")
        self.assertEqual([c["status"] for c in login], ["fail"], doc)
        self.assertIn("--pin-stdin", login[0]["hint"])
        self.assertNothingSigned(doc)
        self.assertNotIn("CKR_PIN_INCORRECT", self.journal_codes())

    def test_without_the_option_there_is_no_login_and_no_signature(self):
        doc = self.diag("--token", TOKEN)
        self.assertEqual(self.checks(doc, "login") + self.checks(doc, "signature"), [])

    def test_a_pin_source_or_force_without_the_option_is_a_usage_error(self):
        for args in (["--pin-env", "CACTOOL_SIGN_PIN"], ["--force"]):
            r = self.run_diag(*args)
            self.assertErrorDocument(r, 2)
            self.assertIn("--sign-test", r.json()["error"]["message"])

    def test_a_pin_on_the_command_line_is_refused(self):
        r = self.run_diag("--sign-test", "--pin", HSM_PIN)
        self.assertErrorDocument(r, 2)

    def test_the_spare_uninitialised_token_is_no_candidate(self):
        # SoftHSM always adds an empty slot with an uninitialised token (pkcs11-tool: "token
        # state: uninitialized"): the one initialised token is the one tested.
        slots = testlib.pkcs11_tool_slots(self.module, env=self.env)
        self.assertEqual(sum(1 for s in slots if s.get("uninitialized")), 1, slots)
        self.assertEqual(sum(1 for s in slots if s["token"] and not s.get("uninitialized")), 1,
                         slots)
        doc = self.diag("--sign-test", "--pin-env", "CACTOOL_SIGN_PIN", code=8)
        login = self.checks(doc, "login")
        self.assertEqual([(c["status"], c["subject"]) for c in login], [("pass", TOKEN)], doc)
        self.assertEqual(len(self.checks(doc, "signature")), len(OBJECTS), doc)

    def test_several_tokens_and_none_chosen_is_a_skip(self):
        # A SoftHSM2 of its own with two initialised tokens (and the spare one).
        root = Path(tempfile.mkdtemp(dir=self.tmp.name))
        (root / "tokens").mkdir()
        conf = root / "softhsm2.conf"
        conf.write_text("directories.tokendir = %s\nobjectstore.backend = file\n"
                        "log.level = ERROR\nslots.removable = false\n" % (root / "tokens"))
        env = dict(self.env, SOFTHSM2_CONF=str(conf))
        for label in ("cactool one", "cactool two"):
            testlib.run_tool(["softhsm2-util", "--init-token", "--free", "--label", label,
                              "--pin", HSM_PIN, "--so-pin", HSM_SO_PIN], env=env)
        initialised = [s for s in testlib.pkcs11_tool_slots(self.module, env=env)
                       if s["token"] and not s.get("uninitialized")]
        self.assertEqual(len(initialised), 2, initialised)
        r = testlib.run_cactool(["--module", self.module, "--journal", self.journal, "--json",
                                 "diag", "--sign-test", "--pin-env", "CACTOOL_SIGN_PIN"], env)
        self.outputs += [r.stdout, r.stderr]
        doc = self.json_of(r, r.rc)
        login = self.checks(doc, "login")
        self.assertEqual([c["status"] for c in login], ["skip"], doc)
        self.assertIn("2 tokens fit", login[0]["message"])
        self.assertIn("--token", login[0]["message"])
        self.assertEqual(self.checks(doc, "signature"), [])
        self.assertNotIn("CKR_PIN_INCORRECT", self.journal_codes())


class SignTestOnTheSimulatedCard(SignTestCase):
    @classmethod
    def setUpClass(cls):
        testlib.cactool_path()
        cls.module = testbed.opensc_module_or_skip()
        cls.env = testlib.clean_env()
        cls.tmp = tempfile.TemporaryDirectory()

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def setUp(self):
        super().setUp()
        testbed.restore_card()
        testbed.apdu_log(clear=True)
        self.pin = testbed.manifest()["pin"]["value"]
        self.secrets = (self.pin, WRONG_CARD_PIN)
        self.journal = os.path.join(self.tmp.name, self.id().rsplit(".", 1)[-1] + ".jsonl")

    def sign_test(self, *args, pin=None, code=None):
        return self.diag("--sign-test", "--pin-stdin", *args,
                         stdin=(pin or self.pin) + "\n", code=code)

    def pin_verifies(self):
        return [v for v in testbed.verify_commands(testbed.apdu_log()) if v[1]]

    def wrong_pins(self, count):
        # pkcs11-tool, not cactool, spends the tries; the card's counter is the witness.
        for _ in range(count):
            subprocess.run(["pkcs11-tool", "--module", self.module, "--login", "--pin",
                            WRONG_CARD_PIN, "--list-objects"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=60)
        testbed.apdu_log(clear=True)

    def expected_by_slot(self):
        """{certificate label: status} from the profile: 9D's key only decrypts or agrees
        keys (OpenSC gives it no CKA_SIGN), the others sign."""
        labels = {"9a": "Certificate for PIV Authentication",
                  "9c": "Certificate for Digital Signature",
                  "9d": "Certificate for Key Management",
                  "9e": "Certificate for Card Authentication"}
        return {labels[slot]: ("skip" if slot == "9d" else "pass")
                for slot in testbed.manifest()["slots"]}

    def check_every_key(self, doc):
        self.assertEqual([c["status"] for c in self.checks(doc, "login")], ["pass"], doc)
        signatures = self.by_subject(doc, "signature")
        self.assertEqual({s: c["status"] for s, c in signatures.items()},
                         self.expected_by_slot(), doc)
        # 9C asks for the PIN again: one VERIFY with the PIN for the login, one for 9C.
        self.assertIn("the PIN given again",
                      signatures["Certificate for Digital Signature"]["message"])
        self.assertEqual(len(self.pin_verifies()), 2)
        self.assertEqual(testbed.card_status()["pin_tries"], testbed.manifest()["pin"]["max"])
        return signatures

    def test_every_signing_key_of_the_default_card_verifies(self):
        # What the result should be, from pkcs11-tool and openssl on the same key.
        pem = testbed.card_dir() / testbed.manifest()["slots"]["9a"]["certificate"]
        self.assertTrue(pkcs11_tool_signature_verifies(
            self.module, self.env, "01", "SHA256-RSA-PKCS", pem, os.urandom(32), self.pin,
            self.tmp.name))
        testbed.apdu_log(clear=True)
        signatures = self.check_every_key(self.sign_test(code=0))
        self.assertIn("CKM_SHA256_RSA_PKCS",
                      signatures["Certificate for PIV Authentication"]["message"])

    def test_every_signing_key_of_an_ec_card_verifies(self):
        testbed.use_profile("ecc-keys.json")
        try:
            testbed.apdu_log(clear=True)
            signatures = self.check_every_key(self.sign_test(code=0))
            self.assertIn("CKM_ECDSA",
                          signatures["Certificate for PIV Authentication"]["message"])
        finally:
            testbed.use_profile(testbed.PROFILES / "default.json")

    def test_a_certificate_without_its_key_on_the_card_fails_its_signature(self):
        # OpenSC makes key objects from the certificates, so only a signature shows that
        # the card has no key behind 9A's certificate (it answers 6A88 to the signing).
        testbed.use_profile("key-missing.json")
        try:
            missing = [slot for slot, entry in testbed.manifest()["slots"].items()
                       if entry.get("key_on_card") is False]
            expected = self.expected_by_slot()
            doc = self.sign_test(code=8)
        finally:
            testbed.use_profile(testbed.PROFILES / "default.json")
        self.assertEqual(missing, ["9a"])
        self.assertEqual([c["status"] for c in self.checks(doc, "login")], ["pass"], doc)
        signatures = self.by_subject(doc, "signature")
        expected["Certificate for PIV Authentication"] = "fail"
        self.assertEqual({s: c["status"] for s, c in signatures.items()}, expected, doc)
        self.assertTrue(signatures["Certificate for PIV Authentication"]["hint"], doc)

    def test_a_wrong_pin_costs_exactly_one_try(self):
        before = testbed.card_status()["pin_tries"]
        doc = self.sign_test(pin=WRONG_CARD_PIN, code=8)
        login = self.checks(doc, "login")
        self.assertEqual([c["status"] for c in login], ["fail"], doc)
        self.assertIn("incorrect", login[0]["message"])
        self.assertEqual([c["status"] for c in self.checks(doc, "signature")], ["skip"])
        self.assertEqual(testbed.card_status()["pin_tries"], before - 1)
        self.assertEqual(len(self.pin_verifies()), 1)

    def test_the_final_try_is_not_spent_without_force(self):
        self.wrong_pins(testbed.manifest()["pin"]["max"] - 1)
        self.assertEqual(testbed.card_status()["pin_tries"], 1)
        doc = self.sign_test()
        login = self.checks(doc, "login")
        self.assertEqual([c["status"] for c in login], ["warn"], doc)
        self.assertIn("--force", login[0]["hint"])
        self.assertNothingSigned(doc)
        self.assertEqual(self.pin_verifies(), [], "the guard let a VERIFY with a PIN through")
        self.assertEqual(testbed.card_status()["pin_tries"], 1)
        self.assertEqual(self.journal_codes().count("CACTOOL_LOCKOUT_GUARD"), 1)

        doc = self.sign_test("--force")
        self.assertEqual([c["status"] for c in self.checks(doc, "login")], ["pass"], doc)
        self.assertEqual(testbed.card_status()["pin_tries"], testbed.manifest()["pin"]["max"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
