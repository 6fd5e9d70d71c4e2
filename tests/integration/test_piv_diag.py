"""`cactool diag` on the whole real stack: OpenSC's PKCS#11 module over a private pcscd,
vpcd and the virtual PIV card, healthy and then broken one way at a time.

Expected values: the card's profile (card.json: ATR, slots, PIN tries, CA), the card's own
counters (cardctl status), pkcs11-tool's view of the same token, and the dynamic loader's
own reason as Python's ctypes reports it.
"""

import ctypes
import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import testbed  # noqa: E402

testbed.enter()

import testlib  # noqa: E402
from base import CactoolTestCase, tearDownModule  # noqa: E402,F401 (the fixture's folder)

# Checks that may be skipped on a healthy card without a PIN or anchors, and why: OpenSC
# hides private keys until login, and no trust anchors were given.
HEALTHY_SKIPS = {"private_key", "certificate_chain"}
SPEC_KEYS = ["id", "status", "message", "hint", "duration_ms"]


class ExclusiveHolder:
    """Another PC/SC client holding the card with SCARD_SHARE_EXCLUSIVE, through
    pcsc-lite's own library (pcsclite.h: SCARDCONTEXT and SCARDHANDLE are longs)."""

    def __init__(self, reader):
        self.reader = reader.encode()
        self.lib = ctypes.CDLL("libpcsclite.so.1")
        self.context = ctypes.c_long()
        self.handle = ctypes.c_long()

    def __enter__(self):
        scope_system, share_exclusive, protocols_t0_t1 = 2, 1, 3
        rv = self.lib.SCardEstablishContext(ctypes.c_ulong(scope_system), None, None,
                                            ctypes.byref(self.context))
        assert rv == 0, "SCardEstablishContext: %#x" % (rv & 0xffffffff)
        protocol = ctypes.c_ulong()
        rv = self.lib.SCardConnect(self.context, self.reader, ctypes.c_ulong(share_exclusive),
                                   ctypes.c_ulong(protocols_t0_t1), ctypes.byref(self.handle),
                                   ctypes.byref(protocol))
        assert rv == 0, "SCardConnect: %#x" % (rv & 0xffffffff)
        return self

    def __exit__(self, *exc):
        self.lib.SCardDisconnect(self.handle, ctypes.c_ulong(0))  # SCARD_LEAVE_CARD
        self.lib.SCardReleaseContext(self.context)


def pcsc_reader_names():
    """pcscd's reader list through pcsc-lite's own SCardListReaders (a multi-string)."""
    lib = ctypes.CDLL("libpcsclite.so.1")
    context = ctypes.c_long()
    assert lib.SCardEstablishContext(ctypes.c_ulong(2), None, None, ctypes.byref(context)) == 0
    try:
        size = ctypes.c_ulong(0)
        assert lib.SCardListReaders(context, None, None, ctypes.byref(size)) == 0
        buffer = ctypes.create_string_buffer(size.value)
        assert lib.SCardListReaders(context, None, buffer, ctypes.byref(size)) == 0
        return [n.decode() for n in buffer.raw[:size.value].split(b"\0") if n]
    finally:
        lib.SCardReleaseContext(context)


class DiagOnTheSimulatedCard(CactoolTestCase):
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
        testbed.restore_card()
        # A journal of this test's own: errors other tests left must not warn here.
        self.journal = os.path.join(self.tmp.name, self.id().rsplit(".", 1)[-1] + ".jsonl")

    def diag(self, *args, module=None, code=0, env=None):
        r = testlib.run_cactool(["--module", module or self.module, "--journal", self.journal,
                                 "--json", "diag", *args], env or self.env)
        return self.report_of(r, code)

    def report_of(self, r, code):
        """The --json report, checked against SPEC's keys and its own summary."""
        doc = self.json_of(r, code)
        self.assertEqual(list(doc)[:3], ["schema_version", "checks", "summary"], doc)
        for check in doc["checks"]:
            self.assertEqual(list(check)[:len(SPEC_KEYS)], SPEC_KEYS, check)
            self.assertIn(check["status"], ("pass", "warn", "fail", "skip"), check)
            self.assertIsInstance(check["duration_ms"], int, check)
        counted = {s: sum(c["status"] == s for c in doc["checks"])
                   for s in ("pass", "warn", "fail", "skip")}
        self.assertEqual(doc["summary"], counted)
        return doc

    def checks(self, doc, check_id):
        found = [c for c in doc["checks"] if c["id"] == check_id]
        self.assertTrue(found, "no %s check in %r" % (check_id, doc))
        return found

    def only(self, doc, check_id):
        found = self.checks(doc, check_id)
        self.assertEqual(len(found), 1, found)
        return found[0]

    def assertFailsWithHint(self, check):
        self.assertEqual(check["status"], "fail", check)
        self.assertTrue(check["hint"], check)

    def test_a_healthy_card_passes_every_check(self):
        doc = self.diag()
        for check in doc["checks"]:
            if check["status"] == "skip":
                self.assertIn(check["id"], HEALTHY_SKIPS, check)
            else:
                self.assertEqual(check["status"], "pass", check)
        card = [c for c in self.checks(doc, "card") if c["subject"] == testbed.reader_name()]
        self.assertEqual(len(card), 1, doc)
        self.assertIn(testbed.manifest()["atr"].lower(), card[0]["message"])
        oracle = [s for s in testlib.pkcs11_tool_slots(self.module)
                  if testbed.reader_name() in s["description"]]
        label = oracle[0]["token"]["label_raw"].strip()
        token = self.only(doc, "card_token")
        self.assertEqual(token["subject"], testbed.reader_name())
        self.assertIn('"%s"' % label, token["message"])
        self.assertEqual(self.only(doc, "pin_status")["subject"], label)
        self.assertEqual(len(self.checks(doc, "certificate_validity")),
                         len(testbed.manifest()["slots"]))
        views = {c["subject"].split()[0].lower(): c["message"]
                 for c in self.checks(doc, "certificate_views")}
        self.assertEqual(set(views), set(testbed.manifest()["slots"]), doc)
        for slot, fingerprint in testbed.slot_fingerprints().items():
            self.assertIn(fingerprint, views[slot])

    def test_a_healthy_card_in_text_exits_0_with_one_line_per_check(self):
        r = testlib.run_cactool(["--module", self.module, "--journal", self.journal, "diag"],
                                self.env)
        self.assertExit(r, 0)
        lines = [l for l in r.stdout.splitlines() if l.split()[:1] in (["pass"], ["skip"])]
        doc = self.diag()
        self.assertEqual(len(lines), len(doc["checks"]), r.stdout)

    def test_the_chain_reaches_the_cards_ca(self):
        ca = testbed.card_dir() / testbed.manifest()["ca"]
        doc = self.diag("--ca-file", ca)
        chain = self.checks(doc, "certificate_chain")
        self.assertEqual(len(chain), len(testbed.manifest()["slots"]), chain)
        self.assertTrue(all(c["status"] == "pass" for c in chain), chain)

    def test_a_foreign_ca_does_not_reach(self):
        other = os.path.join(self.tmp.name, "other-ca.pem")
        key = os.path.join(self.tmp.name, "other-ca.key")
        testlib.run_tool(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                          "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", other,
                          "-subj", "/CN=not the card's CA", "-days", "30"])
        doc = self.diag("--ca-file", other, code=8)
        for check in self.checks(doc, "certificate_chain"):
            self.assertFailsWithHint(check)
            self.assertIn("--ca-file", check["hint"])

    def foreign_certificate_der(self):
        key = os.path.join(self.tmp.name, "foreign.key")
        der = os.path.join(self.tmp.name, "foreign.der")
        testlib.run_tool(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                          "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", der,
                          "-outform", "DER", "-subj", "/CN=not on the card", "-days", "300"])
        with open(der, "rb") as f:
            return f.read()

    def test_a_module_showing_another_certificate_than_the_cards_fails_the_views(self):
        # OpenSC's PIV driver gives 9A's certificate CKA_ID 01; the fault module has it
        # show a certificate the card does not hold, as a stale cache would.
        fault = testlib.fault_module_or_skip()
        foreign = self.foreign_certificate_der()
        config = os.path.join(self.tmp.name, "rewrite-9a.json")
        with open(config, "w") as f:
            json.dump({"module": self.module, "attribute_values": [
                {"id": "01", "class": "CKO_CERTIFICATE", "type": "CKA_VALUE",
                 "hex": foreign.hex()}]}, f)
        env = testlib.clean_env(CACTOOL_FAULT_CONFIG=config)
        doc = self.diag(module=fault, env=env, code=8)
        failed = [c for c in doc["checks"] if c["status"] == "fail"]
        self.assertEqual([(c["id"], c["subject"]) for c in failed],
                         [("certificate_views", "9A (PIV Authentication)")], doc)
        self.assertFailsWithHint(failed[0])
        self.assertIn("card SHA-256 " + testbed.slot_fingerprints()["9a"], failed[0]["message"])
        self.assertIn("SHA-256 " + testlib.sha256_of_der_openssl(foreign), failed[0]["message"])
        self.assertIn("cache", failed[0]["hint"])
        passed = [c["subject"] for c in self.checks(doc, "certificate_views")
                  if c["status"] == "pass"]
        self.assertEqual(sorted(s.split()[0] for s in passed), ["9C", "9D", "9E"])

    def test_a_card_the_module_does_not_support(self):
        # The card answers 6A82 to SELECT of the PIV AID (SP 800-73-4 part 2, 3.1.1): OpenSC
        # has a slot for the reader and no token in it, as pkcs11-tool shows.
        testbed.use_profile("no-piv.json")
        try:
            oracle = [s for s in testlib.pkcs11_tool_slots(self.module)
                      if testbed.reader_name() in s["description"]]
            doc = self.diag(code=8)
        finally:
            testbed.use_profile(testbed.PROFILES / "default.json")
        self.assertEqual(len(oracle), 1, oracle)
        self.assertIsNone(oracle[0]["token"], oracle)
        card = [c for c in self.checks(doc, "card") if c["subject"] == testbed.reader_name()]
        self.assertEqual([c["status"] for c in card], ["pass"], doc)
        tokens = self.checks(doc, "token")
        # One cause, one failure: the slot's, not again as "the module shows no token".
        self.assertEqual(len(tokens), 1, tokens)
        for token in tokens:
            self.assertFailsWithHint(token)
            self.assertIn("the module does not support this card", token["hint"])
        self.assertIn(testbed.reader_name(), tokens[0]["subject"])
        card_token = self.only(doc, "card_token")
        self.assertFailsWithHint(card_token)
        self.assertIn("the module does not support this card", card_token["hint"])
        for later in ("pin_status", "certificates", "certificate_views"):
            self.assertEqual({c["status"] for c in self.checks(doc, later)}, {"skip"}, later)

    def test_compressed_certificates_pass_every_check(self):
        # CertInfo 0x01: each container holds its certificate gzip-compressed (SP 800-73-4
        # part 1, table 10); OpenSC and certs --pcsc both inflate them.
        testbed.use_profile("compressed.json")
        try:
            self.assertTrue(all(s["compressed"] for s in testbed.manifest()["slots"].values()))
            fingerprints = testbed.slot_fingerprints()
            doc = self.diag("--ca-file", testbed.card_dir() / testbed.manifest()["ca"])
        finally:
            testbed.use_profile(testbed.PROFILES / "default.json")
        for check in doc["checks"]:
            if check["id"] == "private_key" and check["status"] == "skip":
                continue
            self.assertEqual(check["status"], "pass", check)
        views = self.checks(doc, "certificate_views")
        self.assertEqual(len(views), len(fingerprints), views)
        for slot, fingerprint in fingerprints.items():
            self.assertTrue(any(c["subject"].lower().startswith(slot) and fingerprint in
                                c["message"] for c in views), (slot, views))

    def all_subjects(self, doc):
        return {c["subject"] for c in doc["checks"] if c["subject"]}

    def test_a_reader_option_that_matches_nothing_fails_the_readers_check(self):
        r = testlib.run_cactool(["--module", self.module, "--journal", self.journal,
                                 "--reader", "no such reader", "--json", "diag"], self.env)
        doc = self.report_of(r, 8)
        readers = self.only(doc, "readers")
        self.assertFailsWithHint(readers)
        self.assertIn("no such reader", readers["message"])
        self.assertIn("--reader", readers["hint"])
        self.assertIn(testbed.reader_name(), readers["message"])  # the candidates
        self.assertEqual(self.only(doc, "card")["status"], "skip")
        self.assertEqual(self.only(doc, "token")["status"], "skip")
        self.assertNotIn(testbed.reader_name(), self.all_subjects(doc))

    def narrowed(self, *options, code=0):
        r = testlib.run_cactool(["--module", self.module, "--journal", self.journal,
                                 *options, "--json", "diag"], self.env)
        return self.report_of(r, code)

    def test_the_reader_option_narrows_to_that_reader(self):
        # pcscd's own list (ctypes, not cactool) gives the empty second reader's name.
        names = pcsc_reader_names()
        self.assertIn(testbed.reader_name(), names)
        empty = next(n for n in names if n != testbed.reader_name())
        doc = self.narrowed("--reader", str(names.index(empty)), code=8)
        self.assertEqual(self.only(doc, "readers")["status"], "pass")
        self.assertIn(empty, self.only(doc, "readers")["message"])
        card = self.only(doc, "card")
        self.assertFailsWithHint(card)  # the chosen reader holds no card
        self.assertNotIn(testbed.reader_name(), self.all_subjects(doc))
        doc = self.narrowed("--reader", testbed.reader_name())
        card = self.checks(doc, "card")
        self.assertEqual([(c["status"], c["subject"]) for c in card],
                         [("pass", testbed.reader_name())])
        tokens = self.checks(doc, "token")
        self.assertEqual(len(tokens), 1, tokens)
        self.assertIn(testbed.reader_name(), tokens[0]["subject"])
        self.assertEqual(len(self.checks(doc, "certificate_views")),
                         len(testbed.manifest()["slots"]))

    def test_the_token_and_slot_options_narrow_to_that_token(self):
        oracle = [s for s in testlib.pkcs11_tool_slots(self.module)]
        card_slot = next(s for s in oracle if testbed.reader_name() in s["description"])
        label = card_slot["token"]["label_raw"].strip()
        doc = self.narrowed("--token", label)
        self.assertEqual([c["status"] for c in self.checks(doc, "token")], ["pass"])
        self.assertEqual(self.only(doc, "pin_status")["subject"], label)
        doc = self.narrowed("--slot", str(card_slot["id"]))
        self.assertEqual(self.only(doc, "pin_status")["subject"], label)
        empty = next(s for s in oracle if s["token"] is None)
        for option in (["--token", "no such token"], ["--slot", str(empty["id"])]):
            doc = self.narrowed(*option, code=8)
            token = self.only(doc, "token")
            self.assertFailsWithHint(token)
            self.assertIn(option[0], token["hint"])
            for later in ("card_token", "pin_status", "certificates", "certificate_views"):
                self.assertEqual({c["status"] for c in self.checks(doc, later)}, {"skip"},
                                 (option, later))

    def pkcs11_tool_ids(self, object_type, login=False):
        args = ["pkcs11-tool", "--module", self.module, "--list-objects", "--type", object_type]
        if login:
            args += ["--login", "--pin", testbed.DEFAULT_PIN]
        out, _, _ = testlib.run_tool(args)
        return {line.split(":", 1)[1].strip() for line in out.splitlines()
                if line.strip().startswith("ID:")}

    def test_a_certificate_whose_key_is_not_on_the_card_is_never_passed(self):
        # 9A holds a certificate, but GENERAL AUTHENTICATE finds no key (6A88). OpenSC
        # still shows a public key with 9A's ID 01 without login, and a private key after
        # it: both made from the certificate, so neither can tell diag the key is there.
        testbed.use_profile("key-missing.json")
        try:
            self.assertFalse(testbed.manifest()["slots"]["9a"]["key_on_card"])
            public_ids = self.pkcs11_tool_ids("pubkey")
            private_ids = self.pkcs11_tool_ids("privkey", login=True)
            doc = self.diag()
        finally:
            testbed.use_profile(testbed.PROFILES / "default.json")
        self.assertIn("01", public_ids)
        self.assertIn("01", private_ids)
        keys = {c["subject"]: c for c in self.checks(doc, "private_key")}
        auth = keys["Certificate for PIV Authentication"]
        self.assertEqual(auth["status"], "skip", auth)
        self.assertIn("--sign-test", auth["message"])

    def test_pcscd_not_running(self):
        testbed.cardctl("pcscd", "stop")
        try:
            doc = self.diag(code=8)
        finally:
            testbed.cardctl("pcscd", "start")
            testbed.cardctl("wait", "present", "--timeout", "10")
        pcscd = self.only(doc, "pcscd")
        self.assertFailsWithHint(pcscd)
        self.assertIn("pcscd", pcscd["hint"])
        self.assertEqual(self.only(doc, "readers")["status"], "skip")
        self.assertEqual(self.only(doc, "card")["status"], "skip")
        # OpenSC reaches the card through pcscd: the token check names that layer, not
        # the card or the module.
        token = self.only(doc, "token")
        self.assertFailsWithHint(token)
        self.assertIn("see the pcscd check", token["hint"])

    def test_no_card(self):
        testbed.cardctl("remove")
        try:
            testbed.cardctl("wait", "absent", "--timeout", "10")
            doc = self.diag(code=8)
        finally:
            testbed.cardctl("insert")
            testbed.cardctl("wait", "present", "--timeout", "10")
        self.assertEqual(self.only(doc, "readers")["status"], "pass")
        card = self.only(doc, "card")
        self.assertFailsWithHint(card)
        self.assertIn("insert", card["hint"])
        token = self.only(doc, "token")
        self.assertFailsWithHint(token)
        self.assertIn("insert the card", token["hint"])

    def test_a_card_held_exclusively_by_another_process(self):
        with ExclusiveHolder(testbed.reader_name()):
            doc = self.diag(code=8)
        access = [c for c in self.checks(doc, "card_access")
                  if c["subject"] == testbed.reader_name()]
        self.assertEqual(len(access), 1, doc)
        self.assertFailsWithHint(access[0])
        self.assertIn("exclusively", access[0]["message"])

    def test_a_module_path_that_does_not_exist(self):
        missing = os.path.join(self.tmp.name, "nonexistent.so")
        doc = self.diag(module=missing, code=8)
        module = [c for c in self.checks(doc, "module") if c["subject"] == missing]
        self.assertEqual(len(module), 1, doc)
        self.assertFailsWithHint(module[0])
        self.assertEqual(self.only(doc, "token")["status"], "skip")
        self.assertEqual(self.only(doc, "pin_status")["status"], "skip")

    def test_a_file_that_is_no_library_gets_the_loaders_reason(self):
        bogus = os.path.join(self.tmp.name, "bogus.so")
        with open(bogus, "w") as f:
            f.write("not a shared object\n")
        with self.assertRaises(OSError) as loader:
            ctypes.CDLL(bogus)
        reason = str(loader.exception).split(": ")[-1]
        doc = self.diag(module=bogus, code=8)
        module = [c for c in self.checks(doc, "module") if c["subject"] == bogus][0]
        self.assertFailsWithHint(module)
        self.assertIn(reason, module["message"])

    def assertModuleRefused(self, path, kind, reason):
        doc = self.diag(module=path, code=8)
        module = [c for c in self.checks(doc, "module") if c["subject"] == path]
        self.assertEqual(len(module), 1, doc)
        self.assertFailsWithHint(module[0])
        self.assertNotIn("no such file", module[0]["message"])
        self.assertIn("is %s, not a regular file" % kind, module[0]["message"])
        if reason:
            self.assertIn(reason, module[0]["message"])
        else:  # never handed to the loader: no reason of its own follows the kind
            self.assertNotIn("not a regular file:", module[0]["message"])
        self.assertEqual(self.only(doc, "token")["status"], "skip")

    def test_a_device_a_pipe_and_a_link_loop_are_named_as_what_they_are(self):
        # The loader's own reason, as Python's ctypes (dlopen) reports it.
        def loader_reason(path):
            with self.assertRaises(OSError) as loader:
                ctypes.CDLL(path)
            return str(loader.exception).split(": ")[-1]

        # A device is never opened (opening one can act on it): the reason is the kind.
        self.assertModuleRefused("/dev/null", "a character device", None)
        loop = os.path.join(self.tmp.name, "loop-a.so")
        os.symlink(os.path.join(self.tmp.name, "loop-b.so"), loop)
        os.symlink(loop, os.path.join(self.tmp.name, "loop-b.so"))
        self.assertModuleRefused(loop, "a loop of symbolic links", loader_reason(loop))
        # dlopen would wait on a pipe for a writer: the reason is the kind alone, and the
        # run must end (testlib's time limit fails the test otherwise).
        fifo = os.path.join(self.tmp.name, "pipe.so")
        os.mkfifo(fifo)
        self.assertModuleRefused(fifo, "a named pipe (FIFO)", None)

    def test_a_library_that_is_not_a_pkcs11_module(self):
        libz = testlib.find_shared_library("libz.so.1")
        if libz is None:
            self.skipTest("libz.so.1 is not in the library cache")
        self.assertFalse(hasattr(ctypes.CDLL(libz), "C_GetFunctionList"))
        doc = self.diag(module=libz, code=8)
        module = [c for c in self.checks(doc, "module") if c["subject"] == libz][0]
        self.assertFailsWithHint(module)
        self.assertTrue(module["message"].startswith("not a PKCS#11 module"), module)
        self.assertIn("C_GetFunctionList", module["message"])
        self.assertEqual(self.only(doc, "token")["status"], "skip")

    def wrong_pins(self, count):
        # pkcs11-tool, not cactool, spends the tries; the card's counter is the witness.
        for _ in range(count):
            subprocess.run(["pkcs11-tool", "--module", self.module, "--login", "--pin",
                            "999999", "--list-objects"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=60)

    def test_pin_at_its_final_try_warns(self):
        self.wrong_pins(testbed.manifest()["pin"]["max"] - 1)
        self.assertEqual(testbed.card_status()["pin_tries"], 1)
        doc = self.diag()
        pin = self.only(doc, "pin_status")
        self.assertEqual(pin["status"], "warn", pin)
        self.assertTrue(pin["hint"], pin)
        self.diag("--strict", code=8)

    def test_a_blocked_pin_fails(self):
        self.wrong_pins(testbed.manifest()["pin"]["max"])
        self.assertEqual(testbed.card_status()["pin_tries"], 0)
        pin = self.only(self.diag(code=8), "pin_status")
        self.assertFailsWithHint(pin)
        self.assertIn("PUK", pin["hint"])

    def test_an_expired_certificate_fails(self):
        testbed.use_profile("expired.json")
        try:
            facts = testlib.cert_facts(der=testbed.slot_certificate_der("9a"))
            doc = self.diag(code=8)
        finally:
            testbed.use_profile(testbed.PROFILES / "default.json")
        failed = [c for c in self.checks(doc, "certificate_validity") if c["status"] == "fail"]
        self.assertEqual(len(failed), 1, doc)
        self.assertIn(facts["not_after"], failed[0]["message"])
        self.assertIn("renew", failed[0]["hint"])

    def test_errors_in_the_journal_warn(self):
        r = testlib.run_cactool(["--module", os.path.join(self.tmp.name, "gone.so"),
                                 "--journal", self.journal, "certs"], self.env)
        self.assertNotEqual(r.rc, 0, r.describe())
        with open(self.journal) as f:
            codes = [json.loads(line)["code"] for line in f if line.strip()]
        self.assertEqual(len(codes), 1, codes)
        journal = self.only(self.diag(), "journal")
        self.assertEqual(journal["status"], "warn", journal)
        self.assertIn(codes[0], journal["message"])
        self.assertTrue(journal["hint"], journal)


class DiagOnSoftHsm(CactoolTestCase):
    """SoftHSM2 always offers one uninitialised token beside the initialised ones; the
    SoftHSM2 fixture's tokens, on the bed so that diag's PC/SC checks meet the bed's pcscd."""

    def diag(self, *options, code):
        r = self.cactool("--module", self.hsm.module, "--no-journal", *options, "--json",
                         "diag")
        return self.report_of(r, code)

    def spare_slot(self):
        # pkcs11-tool says "token state: uninitialized" of it (CKF_TOKEN_INITIALIZED clear).
        spare = [s for s in testlib.pkcs11_tool_slots(self.hsm.module, env=self.hsm.env)
                 if s.get("uninitialized")]
        self.assertEqual(len(spare), 1, spare)
        return spare[0]["id"]

    def test_the_uninitialised_token_is_named_so_and_its_checks_skipped(self):
        spare = "slot %d" % self.spare_slot()
        r = self.cactool("--module", self.hsm.module, "--no-journal", "--json", "diag")
        self.assertIn(r.rc, (0, 8), r.describe())
        doc = self.report_of(r, r.rc)
        about_spare = [c for c in doc["checks"]
                       if c["subject"] == spare or (c["subject"] or "").startswith(spare + " (")]
        self.assertEqual({c["id"] for c in about_spare}, {"token", "pin_status", "certificates"},
                         about_spare)
        for check in about_spare:
            self.assertEqual(check["status"], "skip", check)
            self.assertIn("token not initialised", check["message"])
        for check in doc["checks"]:
            self.assertNotIn("CKR_TOKEN_NOT_RECOGNIZED", check["message"], check)

    def test_only_the_uninitialised_token_fails_the_token_check(self):
        doc = self.diag("--slot", str(self.spare_slot()), code=8)
        tokens = self.checks(doc, "token")
        self.assertEqual([c["status"] for c in tokens], ["skip", "fail"], tokens)
        self.assertIn("token not initialised", tokens[0]["message"])
        self.assertIn("token not initialised", tokens[1]["hint"])
        self.assertIn("softhsm2-util --init-token", tokens[1]["hint"])
        for later in ("pin_status", "certificates"):
            check = self.only(doc, later)
            self.assertEqual(check["status"], "skip", check)
            self.assertIn("token not initialised", check["message"])

    checks = DiagOnTheSimulatedCard.checks
    only = DiagOnTheSimulatedCard.only
    report_of = DiagOnTheSimulatedCard.report_of


if __name__ == "__main__":
    unittest.main()
