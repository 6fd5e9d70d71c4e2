#!/usr/bin/python3
"""`cactool slots` against SoftHSM2 tokens, checked against pkcs11-tool and p11tool."""

import os
import shutil
import tempfile
import unittest

import base
import softhsm_fixture as sf
import testlib

# Names a module may give the same mechanism (PKCS#11 renamed some in later versions).
MECHANISM_ALIASES = {
    0x1040: {"CKM_EC_KEY_PAIR_GEN", "CKM_ECDSA_KEY_PAIR_GEN"},
    0x0220: {"CKM_SHA_1", "CKM_SHA1"},
    0x0221: {"CKM_SHA_1_HMAC", "CKM_SHA1_HMAC"},
}
MECHANISM_FLAG_ALIASES = {"ec_oid": "ec_namedcurve"}


class SlotsTest(base.CactoolTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        hsm = cls.hsm
        cls.oracle_slots = testlib.pkcs11_tool_slots(hsm.module, env=hsm.env)
        cls.oracle_info = testlib.pkcs11_tool_module_info(hsm.module, env=hsm.env)

    def slots_json(self, *extra):
        return self.json_of(self.cactool("slots", "--module", self.hsm.module, "--json", *extra))

    def test_module_info_matches_pkcs11_tool(self):
        doc = self.slots_json()
        self.assertEqual(len(doc["modules"]), 1, "one --module gives one module entry")
        module = doc["modules"][0]
        self.assertEqual(os.path.realpath(module["path"]), os.path.realpath(self.hsm.module))
        for key in ("manufacturer", "description", "cryptoki_version", "library_version"):
            self.assertEqual(module[key], self.oracle_info[key],
                             "module %s differs from pkcs11-tool --show-info" % key)

    def test_every_slot_and_token_matches_pkcs11_tool(self):
        doc = self.slots_json()
        slots = {s["id"]: s for s in doc["modules"][0]["slots"]}
        self.assertEqual(sorted(slots), sorted(s["id"] for s in self.oracle_slots),
                         "slot ids differ from pkcs11-tool --list-slots")
        for want in self.oracle_slots:
            got = slots[want["id"]]
            with self.subTest(slot=want["id"]):
                self.assertEqual(got["description"], want["description"])
                self.assertIs(got["token_present"], True)
                self.assertIsNone(got["error"])
                self.assertNotIn("mechanisms", got, "mechanisms are listed only on request")
                if want.get("uninitialized"):
                    self.assertIsNotNone(got["token"])
                    self.assertNotIn("token_initialized", got["token"]["flags"])
                    continue
                tok, wtok = got["token"], want["token"]
                raw = wtok["label_raw"]
                self.assertIn(tok["label"], {raw.rstrip(" "), raw.strip(" ")},
                              "label %r vs pkcs11-tool's %r" % (tok["label"], raw))
                for key in ("manufacturer", "model", "serial"):
                    self.assertEqual(tok[key], wtok[key], "token %s" % key)
                self.assertEqual(set(tok["flags"]), wtok["flags"],
                                 "token flags differ from pkcs11-tool's")
                self.assertEqual(len(tok["flags"]), len(set(tok["flags"])), "repeated flags")
                status = tok["pin_status"]
                for key, flag in (("count_low", "user_pin_count_low"),
                                  ("final_try", "user_pin_final_try"),
                                  ("locked", "user_pin_locked"),
                                  ("to_be_changed", "user_pin_to_be_changed")):
                    self.assertIs(status[key], flag in wtok["flags"], "pin_status." + key)

    def test_all_fixture_tokens_are_listed(self):
        doc = self.slots_json()
        for label in sf.TOKEN_LABELS:
            slot, tok = base.token_by_label(doc, label)
            if tok is None:
                slot, tok = base.token_by_label(doc, label.strip(" "))
            self.assertIsNotNone(tok, "token %r missing from slots --json" % label)
            self.assertEqual(slot["id"], self.hsm.tokens[label]["slot_id"])

    def test_token_uris_parse_and_find_their_token(self):
        doc = self.slots_json()
        p11tool_ok = not testlib.require_tools("p11tool")
        for want in self.oracle_slots:
            if not want.get("token"):
                continue
            wtok = want["token"]
            slot = next(s for s in doc["modules"][0]["slots"] if s["id"] == want["id"])
            uri = slot["token"]["uri"]
            with self.subTest(token=wtok["label_raw"], uri=uri):
                try:
                    attrs = testlib.parse_pkcs11_uri(uri)
                except ValueError as e:
                    self.fail("token uri %r does not parse: %s" % (uri, e))
                self.assertTrue({"token", "serial"} & set(attrs),
                                "a token URI names the token or its serial: %r" % uri)
                expected = {
                    "token": wtok["label_raw"].rstrip(" ").encode(),
                    "serial": wtok["serial"].encode(),
                    "manufacturer": wtok["manufacturer"].encode(),
                    "model": wtok["model"].encode(),
                }
                for key, value in expected.items():
                    if key in attrs:
                        self.assertEqual(attrs[key], value, "uri attribute %s" % key)
                for key in ("object", "id", "type"):
                    self.assertNotIn(key, attrs, "a token URI names no object")
                if p11tool_ok:
                    label = wtok["label_raw"].rstrip(" ")
                    certs = testlib.p11tool_list_certs(self.hsm.module, uri, env=self.hsm.env)
                    expect = len(self.hsm.certs_on(label)) + len(self.hsm.broken_on(label))
                    self.assertEqual(len(certs), expect,
                                     "p11tool --list-all-certs %s found %d certificates, the "
                                     "token has %d" % (uri, len(certs), expect))

    def test_mechanisms_match_p11tool_and_pkcs11_tool(self):
        if testlib.require_tools("p11tool"):
            self.skipTest("p11tool (gnutls-bin) is not installed")
        doc = self.slots_json("--mechanisms")
        slot_id = self.hsm.tokens[sf.MAIN]["slot_id"]
        slot = next(s for s in doc["modules"][0]["slots"] if s["id"] == slot_id)
        self.assertIn("mechanisms", slot, "--mechanisms adds a mechanisms list to each slot")
        got = slot["mechanisms"]
        serial = self.hsm.tokens[sf.MAIN]["serial"]
        want = testlib.p11tool_mechanisms(self.hsm.module, "pkcs11:serial=" + serial,
                                          env=self.hsm.env)
        want_tool = testlib.pkcs11_tool_mechanisms(self.hsm.module, sf.MAIN, env=self.hsm.env)
        self.assertEqual(len(want), len(want_tool), "the two oracles disagree on the count")
        self.assertEqual([len(m["flags"]) > 0 for m in want_tool], [True] * len(want_tool))
        self.assertEqual([m["id"] for m in got], [m["id"] for m in want],
                         "mechanism ids (in the module's order) differ from p11tool's")
        for g, w, t in zip(got, want, want_tool):
            with self.subTest(mechanism=w["name"]):
                if w["min_key_size"] is not None:
                    self.assertEqual((g["min_key_size"], g["max_key_size"]),
                                     (w["min_key_size"], w["max_key_size"]))
                if t["min_key_size"] is not None:
                    self.assertEqual((g["min_key_size"], g["max_key_size"]),
                                     (t["min_key_size"], t["max_key_size"]),
                                     "key sizes differ from pkcs11-tool's")
                flags = {MECHANISM_FLAG_ALIASES.get(f, f) for f in g["flags"]}
                self.assertEqual(flags, t["flags"], "mechanism flags differ from pkcs11-tool's")
                self.assertIn(g["name"], MECHANISM_ALIASES.get(w["id"], {w["name"]}),
                              "mechanism 0x%x is named as p11tool names it" % w["id"])

    def test_text_output_names_the_tokens(self):
        r = self.cactool("slots", "--module", self.hsm.module)
        self.assertExit(r, 0)
        for label in (sf.MAIN, sf.EDGE, sf.ODD, sf.FULL):
            self.assertIn(label, r.stdout, "token label missing from the text output")

    def test_module_by_p11kit_name(self):
        r = self.cactool("slots", "--module", "softhsm2", "--json")
        doc = self.json_of(r)
        self.assertEqual(os.path.realpath(doc["modules"][0]["path"]),
                         os.path.realpath(self.hsm.module))

    def test_module_from_pkcs11_lib_path(self):
        env = dict(self.hsm.env, PKCS11_LIB_PATH=self.hsm.module)
        doc = self.json_of(self.cactool("slots", "--json", env=env))
        self.assertEqual(os.path.realpath(doc["modules"][0]["path"]),
                         os.path.realpath(self.hsm.module))

    def test_options_after_and_before_the_subcommand(self):
        before = self.cactool("--json", "--module", self.hsm.module, "slots")
        after = self.cactool("slots", "--module", self.hsm.module, "--json")
        self.assertEqual(self.json_of(before), self.json_of(after))

    def test_busybox_link_form(self):
        tmp = tempfile.mkdtemp(prefix="cactool-link-")
        try:
            link = os.path.join(tmp, "cactool-slots")
            os.symlink(os.path.abspath(testlib.cactool_path()), link)
            by_link = self.cactool("--module", self.hsm.module, "--json", exe=link)
            direct = self.cactool("slots", "--module", self.hsm.module, "--json")
            self.assertEqual(self.json_of(by_link), self.json_of(direct),
                             "cactool-slots gives what cactool slots gives")
        finally:
            shutil.rmtree(tmp)


if __name__ == "__main__":
    base.main()
