#!/usr/bin/python3
"""The lockout guard, odd token labels and unreadable tokens, as SoftHSM2 cannot report them.

The fault module (tests/testbed/fault/) sits in front of SoftHSM2 and sets PIN flags,
re-pads the label or fails C_GetTokenInfo, as its configuration says; everything else is
SoftHSM2's.
What the flags mean comes from PKCS#11 (CKF_USER_PIN_FINAL_TRY: the next wrong PIN
locks it; CKF_USER_PIN_LOCKED: it is locked); the tokens' labels from pkcs11-tool.
"""

import os
import unittest

import base
import softhsm_fixture as sf
import testlib

CKF_USER_PIN_COUNT_LOW = 0x10000
CKF_USER_PIN_FINAL_TRY = 0x20000
CKF_USER_PIN_LOCKED = 0x40000


class ShimTestCase(base.FaultModuleTestCase):
    def flags_env(self, flags):
        return self.fault_env(token_info=[{"set_flags": flags}])

    def login(self, env, *extra, pin=None):
        pin = self.hsm.user_pin if pin is None else pin
        return self.cactool("login", "--module", self.fault, "--token", sf.PIN_TOKEN,
                            "--pin-stdin", "--json", *extra, env=env,
                            input_bytes=(pin + "\n").encode())


class LockoutGuardTest(ShimTestCase):
    def test_final_try_is_refused_without_trying(self):
        env = self.flags_env(CKF_USER_PIN_FINAL_TRY)
        # A wrong PIN: were it presented, SoftHSM2 would answer CKR_PIN_INCORRECT (exit 4).
        doc = self.json_of(self.login(env, pin=self.hsm.wrong_pin), 5)
        self.assertEqual(doc["result"], "refused")
        self.assertEqual(doc["pin_status"]["retries_left"], 1)
        self.assertTrue(doc["pin_status"]["final_try"])

    def test_force_presents_the_pin_at_the_final_try(self):
        env = self.flags_env(CKF_USER_PIN_FINAL_TRY)
        doc = self.json_of(self.login(env, "--force", pin=self.hsm.wrong_pin), 4)
        self.assertEqual(doc["result"], "incorrect")
        doc = self.json_of(self.login(env, "--force"), 0)
        self.assertEqual(doc["result"], "ok")

    def test_locked_pin_is_not_tried(self):
        env = self.flags_env(CKF_USER_PIN_LOCKED)
        doc = self.json_of(self.login(env, "--force"), 5)
        self.assertEqual(doc["result"], "locked")
        self.assertEqual(doc["pin_status"]["retries_left"], 0)

    def test_threshold_zero_turns_the_guard_off(self):
        env = self.flags_env(CKF_USER_PIN_FINAL_TRY)
        config = os.path.join(self.hsm.root, "threshold0.json")
        with open(config, "w") as f:
            f.write('{"lockout_threshold": 0}\n')
        doc = self.json_of(self.login(env, "--config", config), 0)
        self.assertEqual(doc["result"], "ok")

    def test_check_reports_the_flags(self):
        flags = CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY
        env = self.flags_env(flags)
        r = self.cactool("login", "--module", self.fault, "--token", sf.PIN_TOKEN, "--check",
                         "--json", env=env)
        status = self.json_of(r, 0)["pin_status"]
        self.assertEqual((status["count_low"], status["final_try"], status["locked"]),
                         (True, True, False))

    def test_certs_login_is_guarded_too(self):
        env = self.flags_env(CKF_USER_PIN_FINAL_TRY)
        r = self.cactool("certs", "--module", self.fault, "--token", sf.PIN_TOKEN, "--login",
                         "--pin-stdin", "--json", env=env,
                         input_bytes=(self.hsm.wrong_pin + "\n").encode())
        err = self.assertErrorDocument(r, 5)
        self.assertEqual(err["name"], "CACTOOL_LOCKOUT_GUARD")


class UnreadableTokenTest(ShimTestCase):
    def test_a_token_the_module_cannot_read_hides_no_other(self):
        CKR_TOKEN_NOT_RECOGNIZED = 0xE1
        broken = self.hsm.tokens[sf.EDGE]["slot_id"]
        env = self.fault_env(faults=[{"function": "C_GetTokenInfo", "slot": broken,
                                     "rv": CKR_TOKEN_NOT_RECOGNIZED}])
        doc = self.json_of(self.cactool("slots", "--module", self.fault, "--json", env=env))
        slots = {s["id"]: s for s in doc["modules"][0]["slots"]}
        oracle = [t["id"] for t in testlib.pkcs11_tool_slots(self.hsm.module, env=self.hsm.env)]
        self.assertEqual(sorted(slots), sorted(oracle), "every slot is still listed")
        self.assertIsNone(slots[broken]["token"])
        self.assertEqual(slots[broken]["error"]["name"], "CKR_TOKEN_NOT_RECOGNIZED")
        others = [s for i, s in slots.items() if i != broken]
        self.assertTrue(all(s["error"] is None and s["token"] for s in others), others)
        # Chosen on purpose, the unreadable slot answers with its own error.
        r = self.cactool("certs", "--module", self.fault, "--slot", str(broken), "--json",
                         env=env)
        self.assertEqual(self.assertErrorDocument(r, 3)["name"], "CKR_TOKEN_NOT_RECOGNIZED")


class PaddedLabelTest(ShimTestCase):
    def test_label_padded_each_way_is_found_by_label_and_uri(self):
        for padding in ("left", "nul"):
            with self.subTest(padding=padding):
                env = self.fault_env(token_info=[{"label": {"padding": padding}}])
                doc = self.json_of(self.cactool("slots", "--module", self.fault,
                                                "--token", sf.MAIN, "--json", env=env))
                tokens = [s["token"] for s in doc["modules"][0]["slots"]]
                self.assertEqual([t["label"] for t in tokens], [sf.MAIN])
                uri = tokens[0]["uri"]
                doc = self.json_of(self.cactool("certs", "--module", self.fault, "--token", uri,
                                                "--json", env=env))
                self.assertEqual(doc["token"]["label"], sf.MAIN)


if __name__ == "__main__":
    unittest.main(verbosity=2)
